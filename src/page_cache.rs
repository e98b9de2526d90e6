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
//! A page with given parameters has one slot, stamped with the version (and, where the page
//! follows the clock, the minute) it was made for: a view with another stamp loads anew and
//! replaces it. So what is kept is bounded by the pages users look at, not by how often their
//! data changes or how long they stay, and in bytes by `DOCKET_PAGE_CACHE_MIB`. Finished HTML
//! is kept as shared bytes, so a view sends it without copying it.

use std::{
    any::Any,
    future::Future,
    hash::{DefaultHasher, Hash, Hasher},
    sync::Arc,
};

use axum::body::Bytes;
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

/// How long kept data holds: until the user's data changes, or also only within the minute
/// (data that depends on the clock, such as what is upcoming).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Lasts {
    UntilChange,
    ForTheMinute,
}

impl Lasts {
    fn stamp(self, user: &SignedIn) -> Stamp {
        Stamp {
            version: user.data_version,
            minute: (self == Lasts::ForTheMinute).then(minute),
        }
    }
}

/// What an entry was made for; it serves only views with the same stamp. Stamps order by
/// version, then minute: a later one replaces an earlier one in a slot.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Stamp {
    version: i64,
    minute: Option<i64>,
}

#[derive(Clone)]
struct Entry {
    stamp: Stamp,
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

/// A rough size for kept data: twice its JSON length, which follows the strings that dominate
/// it; the factor covers what JSON leaves out (string and vector headers, allocator rounding).
fn size_of<T: Serialize>(value: &T) -> u64 {
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
    2 * count.0
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

    /// The data of `page` with `params` for this user, from memory when it was loaded for the
    /// same stamp (`lasts`), otherwise from `load` (and kept). Errors are not kept.
    pub async fn get_or_load<T, E, F>(
        &self,
        user: &SignedIn,
        page: &'static str,
        params: String,
        lasts: Lasts,
        load: F,
    ) -> Result<T, E>
    where
        T: Clone + Serialize + Send + Sync + 'static,
        F: Future<Output = Result<T, E>>,
    {
        let key = self.key(user, page, Layer::Data, params);
        self.cached(key, lasts.stamp(user), size_of, load).await
    }

    /// The page as sent (its HTML, or where it redirects), kept like its data for the minute,
    /// and keyed also by the zone and the layout's per-request parts (see the module's comment).
    pub async fn html<T, E, F>(
        &self,
        user: &SignedIn,
        page: &'static str,
        params: String,
        notice: &PageNotice,
        render: F,
    ) -> Result<T::Kept, E>
    where
        T: Sent,
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
        let key = self.key(
            user,
            page,
            Layer::Html,
            format!("{params}/{:x}", layout.finish()),
        );
        let stamp = Lasts::ForTheMinute.stamp(user);
        let render = async { render.await.map(T::keep) };
        self.cached(key, stamp, T::bytes, render).await
    }

    fn key(&self, user: &SignedIn, page: &'static str, layer: Layer, params: String) -> Key {
        Key {
            user: user.id,
            page,
            layer,
            params,
        }
    }

    async fn cached<T, E, F>(
        &self,
        key: Key,
        stamp: Stamp,
        weigh: fn(&T) -> u64,
        load: F,
    ) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = Result<T, E>>,
    {
        let Some(entries) = &self.entries else {
            return load.await;
        };
        let (page, layer) = (key.page, key.layer.label());
        let outcome = |result| {
            metrics::counter!("docket_page_cache_total", "page" => page, "layer" => layer, "result" => result)
                .increment(1);
        };
        // Views that miss together load once: the first holds the slot's placeholder while it
        // loads, the others wait for its value (a page whose data just changed, or at the turn
        // of the minute, is not read by every request that arrives meanwhile). A failed load
        // keeps nothing and lets the next waiter try.
        for _ in 0..2 {
            match entries.get_value_or_guard_async(&key).await {
                Ok(entry) if entry.stamp == stamp => {
                    if let Some(hit) = entry.value.downcast_ref::<T>() {
                        outcome("hit");
                        return Ok(hit.clone());
                    }
                    break;
                }
                // Made for an earlier stamp: it makes way (unless another view has replaced
                // it meanwhile) and the loop loads, or waits for the view that does.
                Ok(entry) if entry.stamp < stamp => {
                    entries.remove_if(&key, |kept| kept.stamp < stamp);
                }
                // Made for a later stamp than this view's (which read an older version, or
                // began in the previous minute): this view loads its own, without keeping it.
                Ok(_) => break,
                Err(placeholder) => {
                    outcome("miss");
                    let value = load.await?;
                    let bytes = weigh(&value);
                    let entry = Entry {
                        stamp,
                        value: Arc::new(value.clone()),
                        bytes,
                    };
                    let _ = placeholder.insert(entry);
                    return Ok(value);
                }
            }
        }
        outcome("miss");
        load.await
    }
}

/// A page as rendered (its HTML, or for a page shown at another address, that address's id),
/// kept with its HTML as shared bytes: a view sends them without copying them.
pub trait Sent {
    type Kept: Clone + Send + Sync + 'static;
    fn keep(self) -> Self::Kept;
    fn bytes(kept: &Self::Kept) -> u64;
}

impl Sent for String {
    type Kept = Bytes;
    fn keep(self) -> Bytes {
        Bytes::from(self)
    }
    fn bytes(kept: &Bytes) -> u64 {
        kept.len() as u64
    }
}

impl Sent for Result<String, Uuid> {
    type Kept = Result<Bytes, Uuid>;
    fn keep(self) -> Self::Kept {
        self.map(Bytes::from)
    }
    fn bytes(kept: &Self::Kept) -> u64 {
        kept.as_ref().map_or(16, <String as Sent>::bytes)
    }
}

/// The current minute, for the stamps of what changes with the clock: such a page is at most a
/// minute behind it.
pub fn minute() -> i64 {
    chrono::Utc::now().timestamp().div_euclid(60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(params: &str) -> Key {
        Key {
            user: Uuid::nil(),
            page: "today",
            layer: Layer::Html,
            params: params.into(),
        }
    }

    fn stamp(version: i64) -> Stamp {
        Stamp {
            version,
            minute: Some(1),
        }
    }

    async fn view(cache: &PageCache, key: Key, stamp: Stamp, html: &str) -> Bytes {
        let render = async { Ok::<_, ()>(html.to_owned().keep()) };
        cache
            .cached(key, stamp, <String as Sent>::bytes, render)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_page_has_one_slot_whatever_how_often_its_data_changed() {
        let cache = PageCache::new(1);
        for version in 0..200 {
            let page = format!("version {version}");
            assert_eq!(view(&cache, slot("a"), stamp(version), &page).await, page);
        }
        view(&cache, slot("b"), stamp(0), "another page").await;
        let entries = cache.entries.as_ref().unwrap();
        assert_eq!(entries.len(), 2);
        // The slot holds the newest version's page, and no longer serves an older one.
        assert_eq!(view(&cache, slot("a"), stamp(199), "").await, "version 199");
        assert_eq!(view(&cache, slot("a"), stamp(198), "older").await, "older");
    }

    #[tokio::test]
    async fn views_that_miss_together_load_once() {
        let cache = PageCache::new(1);
        let loads = std::sync::atomic::AtomicUsize::new(0);
        let loaded = tokio::sync::Notify::new();
        let view = || async {
            let render = async {
                loads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                loaded.notified().await;
                Ok::<_, ()>("<html>…</html>".to_owned().keep())
            };
            cache
                .cached(slot("a"), stamp(1), <String as Sent>::bytes, render)
                .await
                .unwrap()
        };
        let views = futures_util::future::join_all((0..8).map(|_| view()));
        let finish = async {
            // Every view has started (join_all polls each once) before the load ends.
            tokio::task::yield_now().await;
            loaded.notify_waiters();
        };
        let (pages, ()) = tokio::join!(views, finish);
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(pages.iter().all(|page| page == "<html>…</html>"));
    }

    #[tokio::test]
    async fn a_view_of_an_older_version_does_not_replace_a_newer_page() {
        let cache = PageCache::new(1);
        view(&cache, slot("a"), stamp(2), "version 2").await;
        assert_eq!(
            view(&cache, slot("a"), stamp(1), "version 1").await,
            "version 1"
        );
        assert_eq!(view(&cache, slot("a"), stamp(2), "").await, "version 2");
    }

    #[tokio::test]
    async fn a_kept_page_is_sent_without_a_copy() {
        let cache = PageCache::new(1);
        let first = view(&cache, slot("a"), stamp(1), "<html>…</html>").await;
        let again = view(&cache, slot("a"), stamp(1), "not rendered").await;
        assert_eq!(again, "<html>…</html>");
        assert_eq!(first.as_ptr(), again.as_ptr());
    }

    #[tokio::test]
    async fn what_is_kept_stays_within_its_bytes() {
        let cache = PageCache::new(1);
        let page = "x".repeat(100 * 1024);
        for n in 0..100 {
            view(&cache, slot(&n.to_string()), stamp(1), &page).await;
        }
        let entries = cache.entries.as_ref().unwrap();
        assert!(entries.weight() <= 1024 * 1024, "{}", entries.weight());
        assert!(
            entries.len() < 11,
            "{} pages of 100 KiB in 1 MiB",
            entries.len()
        );
    }
}
