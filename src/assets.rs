//! The files of `static/`, embedded in the binary at build time (see `build.rs`) and served
//! under `/static` by memory-serve: each also on a content-hashed route (`/static/app.<hash>.css`)
//! that pages link to and browsers may keep for a year, an ETag answered with 304, and brotli
//! and gzip variants prepared once rather than per request. Nothing is read from disk at run
//! time, so the binary serves its assets from any working directory.

use std::{collections::HashMap, sync::LazyLock};

use axum::{
    Router,
    http::{HeaderValue, header::CACHE_CONTROL},
};
use memory_serve::{CacheControl, MemoryServe};
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the router is nested.
const PREFIX: &str = "/static";

/// What a hashed route carries: the content never changes under that name. `public` lets
/// shared caches (a CDN in front of Docket) keep it too.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

fn assets() -> MemoryServe {
    memory_serve::load!()
        .index_file(None)
        .enable_hashed_routes(true)
        // Plain names (`/static/app.css`) stay served for links made before a deploy; they
        // revalidate with the ETag, unlike the hashed names.
        .cache_control(CacheControl::NoCache)
        .enable_brotli(true)
        .enable_gzip(true)
}

/// Every asset's hashed URL, by its file name under `static/` (`/app.css`).
static HASHED: LazyLock<HashMap<&'static str, String>> = LazyLock::new(|| {
    assets()
        .manifest()
        .iter()
        .map(|(route, served)| (route, format!("{PREFIX}{served}")))
        .collect()
});

/// The URL a page links to for `file` (`"/app.css"` → `/static/app.0123456789abcdef.css`).
///
/// # Panics
/// When `file` is not in `static/`: a template naming a missing asset is a bug that the first
/// test rendering it finds.
pub fn href(file: &str) -> &'static str {
    HASHED
        .get(file)
        .unwrap_or_else(|| panic!("static{file} is not an embedded asset"))
}

/// The `/static` router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    // memory-serve's long-lived value lacks `public`; hashed routes are the only ones carrying it.
    let long = HeaderValue::from_static("max-age=31536000, immutable");
    Router::new().nest(
        PREFIX,
        assets()
            .into_router()
            .layer(SetResponseHeaderLayer::overriding(
                CACHE_CONTROL,
                move |response: &axum::response::Response| {
                    let value = response.headers().get(CACHE_CONTROL)?;
                    Some(if *value == long {
                        HeaderValue::from_static(IMMUTABLE)
                    } else {
                        value.clone()
                    })
                },
            )),
    )
}
