//! One integration-test binary: every test starts Docket on a random port against a fresh
//! PostgreSQL database of its own and talks to it over real HTTP.

mod account;
mod api;
mod auth;
mod binary;
mod caldav;
mod capture;
mod common;
mod data_layer;
mod dav_server;
mod export;
mod feed;
mod foundation;
mod ics;
mod import;
mod meeting_loop;
mod meetings;
mod notes;
mod oidc;
mod page_cache;
mod resilience;
mod round_trip;
mod security;
mod summaries;
mod sync;
