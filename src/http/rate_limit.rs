//! Per-client request limits for the routes anyone can reach without signing in (sign-in, the
//! calendar feed): beyond the limit a 429 with `Retry-After`.

use std::{sync::Arc, time::Duration};

use axum::Router;
use tower_governor::{
    GovernorLayer,
    governor::GovernorConfigBuilder,
    key_extractor::{KeyExtractor, PeerIpKeyExtractor, SmartIpKeyExtractor},
};

use crate::{AppState, config::Config};

/// Allows `per_minute` requests per minute (all at once, then evenly) to `routes` from one
/// client address. Behind a trusted proxy the client is the first `X-Forwarded-For` hop;
/// otherwise the peer address, so a forged header cannot dodge the limit.
pub fn per_client(routes: Router<AppState>, config: &Config, per_minute: u32) -> Router<AppState> {
    if config.trust_proxy {
        limited(routes, per_minute, SmartIpKeyExtractor)
    } else {
        limited(routes, per_minute, PeerIpKeyExtractor)
    }
}

fn limited<K>(routes: Router<AppState>, per_minute: u32, key: K) -> Router<AppState>
where
    K: KeyExtractor + Send + Sync + 'static,
    K::Key: Send + Sync + 'static,
{
    let per_minute = per_minute.max(1);
    let config = GovernorConfigBuilder::default()
        // Nanoseconds, so even a very high limit keeps a non-zero replenish period.
        .period(Duration::from_nanos(60_000_000_000 / u64::from(per_minute)))
        .burst_size(per_minute)
        .key_extractor(key)
        .finish()
        .expect("period and burst are non-zero");
    routes.layer(GovernorLayer {
        config: Arc::new(config),
    })
}
