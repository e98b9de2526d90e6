//! Request limits: per client address for the routes anyone can reach without signing in
//! (sign-in, the calendar feed), and per key for what a bearer secret opens (a feed, an API
//! token). Beyond a limit: a 429 with `Retry-After`.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use axum::Router;
use governor::{DefaultKeyedRateLimiter, Quota, clock::Clock as _};
use tower_governor::{
    GovernorLayer,
    governor::GovernorConfigBuilder,
    key_extractor::{KeyExtractor, PeerIpKeyExtractor, SmartIpKeyExtractor},
};

use uuid::Uuid;

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

/// Allows `per_minute` requests a minute (all at once, then evenly) per key: the owner of a
/// calendar feed, an API token. Keys are only ever ids of rows that exist, so the limiter holds
/// at most one entry per such row.
pub struct PerKey(DefaultKeyedRateLimiter<Uuid>);

impl PerKey {
    pub fn per_minute(per_minute: u32) -> PerKey {
        let per_minute = NonZeroU32::new(per_minute.max(1)).expect("at least 1");
        PerKey(DefaultKeyedRateLimiter::keyed(Quota::per_minute(
            per_minute,
        )))
    }

    /// Counts one request of `key`; beyond the limit, the whole seconds to wait (at least 1).
    pub fn check(&self, key: &Uuid) -> Result<(), u64> {
        self.0.check_key(key).map_err(|wait| {
            let seconds = wait.wait_time_from(self.0.clock().now()).as_secs_f64();
            (seconds.ceil() as u64).max(1)
        })
    }
}
