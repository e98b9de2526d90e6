//! Pages' data kept in memory between requests, per user and per version of the user's data.
//!
//! Every request already loads the session in one statement (`auth::session_store`); that
//! statement also reads the user's data version, a number that moves in the same transaction as
//! any write to what their pages show (migrations/0024). A page's data is cached under
//! (user, version, page, parameters), so an entry is used only while nothing it was read from
//! has changed, on whichever instance wrote it: no invalidation messages, no time-to-live on
//! data, no stale page after a save on another instance. A repeated page view then costs the
//! session statement and the rendering.
//!
//! Two layers: a page's data ([`PageCache::get_or_load`]), and its finished HTML
//! ([`PageCache::html`]), which is also keyed by everything else the page shows: the minute (it
//! prints "overdue", "in 5 minutes", "Synced 3 minutes ago"), the zone, and the layout's
//! per-request parts (the session's CSRF token in every form, the banners and sync line loaded
//! with the session, a notice from the address). A view whose HTML is kept costs the session
//! statement and a copy; one a minute later renders again from the kept data.
//!
//! Entries of older versions are never looked up again and make room as the cache fills (it is
//! bounded in bytes, `DOCKET_PAGE_CACHE_MIB`). Pages whose data also depends on the clock
//! (Today, upcoming lists) put the minute in their parameters.

use std::{
    any::Any,
    future::Future,
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

use quick_cache::{Weighter, sync::Cache};
use serde::Serialize;
use uuid::Uuid;

use crate::{auth::session::SignedIn, http::notice::PageNotice};

#[derive(Clone)]
pub struct PageCache {
    entries: Option<Arc<Cache<Key, Entry, ByBytes>>>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    user: Uuid,
    version: i64,
    page: &'static str,
    layer: Layer,
    params: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Layer {
    Data,
    Html,
}

impl Layer {
    fn label(self) -> &'static str {
        match self {
            Layer::Data => "data",
            Layer::Html => "html",
        }
    }
}

#[derive(Clone)]
struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    bytes: u64,
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<Key, Entry> for ByBytes {
    fn weight(&self, key: &Key, entry: &Entry) -> u64 {
        entry.bytes + key.params.len() as u64 + 64
    }
}

/// A rough size for an entry: its JSON length, which follows the strings that dominate it.
fn size_of(value: &impl Serialize) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    serde_json::to_writer(&mut count, value).ok();
    count.0
}

/// Typical entries are a few kilobytes: the capacity in items is only a sizing hint.
const TYPICAL_ENTRY_BYTES: u64 = 8 * 1024;

impl PageCache {
    /// A cache of at most `mib` MiB; 0 keeps nothing (every view reads the database).
    pub fn new(mib: u64) -> PageCache {
        let bytes = mib * 1024 * 1024;
        PageCache {
            entries: (bytes > 0).then(|| {
                Arc::new(Cache::with_weighter(
                    (bytes / TYPICAL_ENTRY_BYTES).max(16) as usize,
                    bytes,
                    ByBytes,
                ))
            }),
        }
    }

    /// The data of `page` with `params` for this user, from memory when the user's data has not
    /// changed since it was loaded, otherwise from `load` (and kept). Errors are not kept.
    pub async fn get_or_load<T, E, F>(
        &self,
        user: &SignedIn,
        page: &'static str,
        params: String,
        load: F,
    ) -> Result<T, E>
    where
        T: Clone + Serialize + Send + Sync + 'static,
        F: Future<Output = Result<T, E>>,
    {
        self.cached(user, page, Layer::Data, params, load).await
    }

    /// The page as sent (its HTML, or where it redirects), kept like its data and also keyed
    /// by the minute, the zone and the layout's per-request parts (see the module's comment).
    pub async fn html<T, E, F>(
        &self,
        user: &SignedIn,
        page: &'static str,
        params: String,
        notice: &PageNotice,
        render: F,
    ) -> Result<T, E>
    where
        T: Clone + Serialize + Send + Sync + 'static,
        F: Future<Output = Result<T, E>>,
    {
        let mut layout = DefaultHasher::new();
        (
            &user.time_zone,
            &user.csrf_token,
            &user.name,
            &user.email,
            &user.accounts,
            &notice.0,
        )
            .hash(&mut layout);
        let params = format!("{params}/{}/{:x}", minute(), layout.finish());
        self.cached(user, page, Layer::Html, params, render).await
    }

    async fn cached<T, E, F>(
        &self,
        user: &SignedIn,
        page: &'static str,
        layer: Layer,
        params: String,
        load: F,
    ) -> Result<T, E>
    where
        T: Clone + Serialize + Send + Sync + 'static,
        F: Future<Output = Result<T, E>>,
    {
        let Some(entries) = &self.entries else {
            return load.await;
        };
        let key = Key {
            user: user.id,
            version: user.data_version,
            page,
            layer,
            params,
        };
        let outcome = |result| {
            metrics::counter!("docket_page_cache_total", "page" => page, "layer" => layer.label(), "result" => result)
                .increment(1);
        };
        if let Some(hit) = entries
            .get(&key)
            .and_then(|entry| entry.value.downcast_ref::<T>().cloned())
        {
            outcome("hit");
            return Ok(hit);
        }
        outcome("miss");
        let value = load.await?;
        let bytes = size_of(&value);
        entries.insert(
            key,
            Entry {
                value: Arc::new(value.clone()),
                bytes,
            },
        );
        Ok(value)
    }
}

/// The current minute, for the parameters of pages that change with the clock: such a page is
/// at most a minute behind it.
pub fn minute() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(60)
}
