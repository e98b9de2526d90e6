//! CalDAV (RFC 4791) accounts: discovery of the user's calendars, and their events through
//! `sync-collection` (RFC 6578), or `getctag` and a `calendar-query` time range on servers
//! without it.
//!
//! **Discovery.** The address the user gave is asked for its resource type,
//! `current-user-principal` and `calendar-home-set`; if it names neither a calendar nor a
//! principal, `/.well-known/caldav` (RFC 6764) is asked instead. A calendar collection selects
//! that calendar alone; otherwise the home set's `VEVENT` calendars are listed.
//!
//! **Listing.** A listing first finds which resources to read, then reads them with
//! `calendar-multiget`, a page per [`MULTIGET`] resources:
//! - with a stored sync token (and a window that has not moved since): `sync-collection` from
//!   it, whose changed resources replace their stored events (each resource's events are
//!   cancelled, then its current ones written) and whose removed ones are cancelled;
//! - with a `getctag` equal to the stored one: nothing to do;
//! - otherwise a full listing (`sync-collection` without a token, or a `calendar-query` of the
//!   window), swept when complete. A token the server rejects becomes [`ApiError::Gone`], which
//!   the sync engine answers with a full listing.
//!
//! The cursor records the day of the last full listing: recurring events are expanded within a
//! window that moves daily, so each day starts with a full listing.

use std::collections::VecDeque;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use url::Url;

use super::{
    Change,
    api::ApiError,
    fetch::{FetchError, Fetcher, Request},
    ical,
    store::{CalendarInfo, Listing, Step},
};

const DAV: &str = "DAV:";
const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
const CALSERVER: &str = "http://calendarserver.org/ns/";

/// Resources read per `calendar-multiget`.
const MULTIGET: usize = 100;

/// What Docket keeps (sealed) to reach a CalDAV account.
#[derive(Clone, Serialize, Deserialize)]
pub struct Credentials {
    /// The calendar home set, or the one calendar the user's address named.
    pub url: String,
    pub username: String,
    pub password: String,
    /// `url` is a calendar itself, not a home set.
    pub single_calendar: bool,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// A calendar collection as the server describes it.
#[derive(Debug, Clone)]
pub struct Collection {
    pub url: Url,
    pub name: String,
    /// Present when the server supports `sync-collection` on it.
    pub sync_token: Option<String>,
    pub ctag: Option<String>,
}

impl Collection {
    pub fn info(&self, primary: bool) -> CalendarInfo {
        CalendarInfo {
            provider_calendar_id: self.url.to_string(),
            name: self.name.clone(),
            time_zone: None,
            is_primary: primary,
            access_role: "owner".into(),
        }
    }
}

/// A client for one account: guarded requests with its credentials.
pub struct Client {
    fetcher: Fetcher,
    username: String,
    password: String,
}

impl Client {
    pub fn new(fetcher: Fetcher, username: &str, password: &str) -> Self {
        Client {
            fetcher,
            username: username.to_owned(),
            password: password.to_owned(),
        }
    }

    async fn dav(
        &mut self,
        method: &str,
        url: &Url,
        depth: Option<&str>,
        body: String,
    ) -> Result<Multistatus, ApiError> {
        let mut headers = vec![("content-type", "application/xml; charset=utf-8".to_owned())];
        if let Some(depth) = depth {
            headers.push(("depth", depth.to_owned()));
        }
        let fetched = self
            .fetcher
            .send(Request {
                method: Method::from_bytes(method.as_bytes())
                    .map_err(|e| ApiError::Malformed(e.to_string()))?,
                url: url.clone(),
                headers,
                body: Some(body),
                basic: Some((&self.username, &self.password)),
            })
            .await
            .map_err(api_error)?;
        match fetched.status {
            StatusCode::MULTI_STATUS | StatusCode::OK => {
                let text = String::from_utf8_lossy(&fetched.body);
                Multistatus::parse(&text, &fetched.url)
            }
            StatusCode::UNAUTHORIZED => Err(ApiError::Unauthorized),
            StatusCode::NOT_FOUND | StatusCode::GONE => Err(ApiError::NotFound),
            StatusCode::TOO_MANY_REQUESTS => Err(ApiError::Throttled { retry_after: None }),
            // A rejected sync token (RFC 6578 `valid-sync-token`, or a server's own wording).
            s if s.is_client_error()
                && String::from_utf8_lossy(&fetched.body).contains("valid-sync-token") =>
            {
                Err(ApiError::Gone)
            }
            StatusCode::FORBIDDEN => Err(ApiError::Forbidden("the server refused".into())),
            s if s.is_server_error() => Err(ApiError::Transient(format!("HTTP {}", s.as_u16()))),
            s => Err(ApiError::Malformed(format!(
                "unexpected HTTP {}",
                s.as_u16()
            ))),
        }
    }

    async fn propfind(&mut self, url: &Url, depth: &str) -> Result<Multistatus, ApiError> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="{DAV}" xmlns:C="{CALDAV}" xmlns:CS="{CALSERVER}"><D:prop>
<D:resourcetype/><D:displayname/><D:current-user-principal/><C:calendar-home-set/>
<C:supported-calendar-component-set/><CS:getctag/><D:sync-token/>
</D:prop></D:propfind>"#
        );
        self.dav("PROPFIND", url, Some(depth), body).await
    }

    /// Finds the calendars behind the address a user typed (see the module documentation).
    pub async fn discover(
        &mut self,
        url: &Url,
    ) -> Result<(Credentials, Vec<Collection>), ApiError> {
        let mut home = None;
        for candidate in [Some(url.clone()), url.join("/.well-known/caldav").ok()]
            .into_iter()
            .flatten()
        {
            let found = match self.propfind(&candidate, "0").await {
                Ok(found) => found,
                // Not a DAV resource (a web page, a 404): the next candidate may be.
                Err(ApiError::NotFound | ApiError::Malformed(_) | ApiError::Forbidden(_)) => {
                    continue;
                }
                Err(e) => return Err(e),
            };
            let Some(me) = found.responses.first() else {
                continue;
            };
            if me.is_calendar() {
                let collection = me
                    .collection(&found.base)
                    .ok_or_else(|| ApiError::Malformed("no calendar".into()))?;
                return Ok((self.credentials(&collection.url, true), vec![collection]));
            }
            if let Some(set) = me.href_of(CALDAV, "calendar-home-set", &found.base) {
                home = Some(set);
                break;
            }
            if let Some(principal) = me.href_of(DAV, "current-user-principal", &found.base) {
                let found = self.propfind(&principal, "0").await?;
                if let Some(set) = found
                    .responses
                    .first()
                    .and_then(|p| p.href_of(CALDAV, "calendar-home-set", &found.base))
                {
                    home = Some(set);
                    break;
                }
            }
        }
        let home = home.ok_or(ApiError::NotFound)?;
        let calendars = self.calendars(&home).await?;
        Ok((self.credentials(&home, false), calendars))
    }

    fn credentials(&self, url: &Url, single_calendar: bool) -> Credentials {
        Credentials {
            url: url.to_string(),
            username: self.username.clone(),
            password: self.password.clone(),
            single_calendar,
        }
    }

    /// The event calendars of a home set, in a stable order (by address).
    pub async fn calendars(&mut self, home: &Url) -> Result<Vec<Collection>, ApiError> {
        let found = self.propfind(home, "1").await?;
        let mut calendars: Vec<Collection> = found
            .responses
            .iter()
            .filter(|r| r.is_calendar() && r.holds_events())
            .filter_map(|r| r.collection(&found.base))
            .collect();
        calendars.sort_by(|a, b| a.url.as_str().cmp(b.url.as_str()));
        calendars.dedup_by(|a, b| a.url == b.url);
        Ok(calendars)
    }

    /// The calendars of an account as stored: its one calendar, or its home set's.
    pub async fn list(&mut self, credentials: &Credentials) -> Result<Vec<Collection>, ApiError> {
        let url = Url::parse(&credentials.url).map_err(|e| ApiError::Malformed(e.to_string()))?;
        if credentials.single_calendar {
            let found = self.propfind(&url, "0").await?;
            Ok(found
                .responses
                .first()
                .filter(|r| r.is_calendar())
                .and_then(|r| r.collection(&found.base))
                .into_iter()
                .collect())
        } else {
            self.calendars(&url).await
        }
    }
}

fn api_error(e: FetchError) -> ApiError {
    match e {
        FetchError::Unreachable(reason) => ApiError::Transient(reason),
        FetchError::Refused(refused) => ApiError::Forbidden(refused.to_string()),
        other => ApiError::Malformed(other.to_string()),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A calendar's cursor: how its last listing ended.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    /// The day (UTC) of the last full listing: the window it expanded recurrences in.
    day: Option<NaiveDate>,
    sync_token: Option<String>,
    ctag: Option<String>,
}

/// One calendar's events, page by page (see the module documentation).
pub struct EventPages<'a> {
    client: &'a mut Client,
    collection: &'a Collection,
    window: (DateTime<Utc>, DateTime<Utc>),
    today: NaiveDate,
    previous: Cursor,
    /// Whether this listing returns everything in the window (and is swept).
    full: bool,
    next: Next,
}

enum Next {
    Start,
    Read {
        hrefs: VecDeque<String>,
        cursor: Cursor,
    },
    Finished,
}

impl<'a> EventPages<'a> {
    pub fn new(
        client: &'a mut Client,
        collection: &'a Collection,
        cursor: Option<&str>,
        window: (DateTime<Utc>, DateTime<Utc>),
    ) -> Self {
        EventPages {
            client,
            collection,
            window,
            today: Utc::now().date_naive(),
            // An unreadable cursor is no cursor: a full listing.
            previous: cursor
                .and_then(|c| serde_json::from_str(c).ok())
                .unwrap_or_default(),
            full: true,
            next: Next::Start,
        }
    }

    pub async fn next(&mut self) -> Result<Step, ApiError> {
        match std::mem::replace(&mut self.next, Next::Finished) {
            Next::Start => self.start().await,
            Next::Read { mut hrefs, cursor } => {
                if hrefs.is_empty() {
                    return Ok(Step::End(Listing {
                        cursor: Some(
                            serde_json::to_string(&cursor)
                                .map_err(|e| ApiError::Malformed(e.to_string()))?,
                        ),
                        full_window: self.full.then_some(self.window),
                    }));
                }
                let batch: Vec<String> = hrefs.drain(..hrefs.len().min(MULTIGET)).collect();
                let changes = self.read(&batch).await?;
                self.next = Next::Read { hrefs, cursor };
                Ok(Step::Page {
                    items: batch.len(),
                    changes,
                })
            }
            Next::Finished => Err(ApiError::Malformed("listing already ended".into())),
        }
    }

    /// Finds what to read: the changes since the stored token, or everything.
    async fn start(&mut self) -> Result<Step, ApiError> {
        let same_day = self.previous.day == Some(self.today);
        let collection = self.collection;
        if collection.sync_token.is_some() {
            let since = self.previous.sync_token.clone().filter(|_| same_day);
            self.full = since.is_none();
            let (token, changed, removed) = match self.sync_collection(since.as_deref()).await {
                Ok(found) => found,
                // RFC 6578 servers refuse an unknown token with 403 `valid-sync-token`, but some
                // (Xandikos) fail with a 500: a full listing is always safe, so try one.
                Err(ApiError::Transient(reason))
                    if since.is_some() && reason.starts_with("HTTP ") =>
                {
                    return Err(ApiError::Gone);
                }
                Err(e) => return Err(e),
            };
            let cursor = Cursor {
                day: Some(if self.full {
                    self.today
                } else {
                    self.previous.day.unwrap_or(self.today)
                }),
                sync_token: Some(token),
                ctag: None,
            };
            let items = changed.len() + removed.len();
            self.next = Next::Read {
                hrefs: changed.into(),
                cursor,
            };
            return Ok(Step::Page {
                items,
                changes: removed
                    .into_iter()
                    .map(|provider_event_id| Change::Cancelled { provider_event_id })
                    .collect(),
            });
        }
        // No sync-collection: the ctag says whether anything changed; if so, read the window.
        let cursor = Cursor {
            day: Some(self.today),
            sync_token: None,
            ctag: collection.ctag.clone(),
        };
        if same_day && collection.ctag.is_some() && collection.ctag == self.previous.ctag {
            self.full = false;
            self.next = Next::Read {
                hrefs: VecDeque::new(),
                cursor,
            };
            return Ok(Step::Page {
                items: 0,
                changes: Vec::new(),
            });
        }
        self.full = true;
        let hrefs = self.query_window().await?;
        self.next = Next::Read {
            hrefs: hrefs.into(),
            cursor,
        };
        Ok(Step::Page {
            items: 0,
            changes: Vec::new(),
        })
    }

    /// `sync-collection` from `since` (or from nothing): the new token, the changed resources
    /// and the removed ones. A truncated answer (507 on the collection) is continued.
    async fn sync_collection(
        &mut self,
        since: Option<&str>,
    ) -> Result<(String, Vec<String>, Vec<String>), ApiError> {
        let mut token = since.map(str::to_owned);
        let (mut changed, mut removed) = (Vec::new(), Vec::new());
        for _ in 0..100 {
            let body = format!(
                r#"<?xml version="1.0" encoding="utf-8"?>
<D:sync-collection xmlns:D="{DAV}"><D:sync-token>{}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#,
                escape(token.as_deref().unwrap_or(""))
            );
            let found = self
                .client
                .dav("REPORT", &self.collection.url, None, body)
                .await?;
            let new_token = found.sync_token.clone().ok_or_else(|| {
                ApiError::Malformed("sync-collection returned no sync-token".into())
            })?;
            let mut truncated = false;
            for response in &found.responses {
                let Some(path) = member(&found.base, &response.href, &self.collection.url) else {
                    truncated |= response.status == Some(507);
                    continue;
                };
                if response.status == Some(404) {
                    changed.retain(|h| h != &path);
                    removed.push(path);
                } else {
                    removed.retain(|h| h != &path);
                    if !changed.contains(&path) {
                        changed.push(path);
                    }
                }
            }
            token = Some(new_token);
            if !truncated {
                break;
            }
        }
        let token = token.ok_or_else(|| ApiError::Malformed("no sync-token".into()))?;
        Ok((token, changed, removed))
    }

    /// The resources with events in the window (`calendar-query` with a time range).
    async fn query_window(&mut self) -> Result<Vec<String>, ApiError> {
        let format = "%Y%m%dT%H%M%SZ";
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="{DAV}" xmlns:C="{CALDAV}"><D:prop><D:getetag/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
<C:time-range start="{}" end="{}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#,
            self.window.0.format(format),
            self.window.1.format(format)
        );
        let found = self
            .client
            .dav("REPORT", &self.collection.url, Some("1"), body)
            .await?;
        Ok(found
            .responses
            .iter()
            .filter(|r| r.status.is_none_or(|s| s < 300))
            .filter_map(|r| member(&found.base, &r.href, &self.collection.url))
            .collect())
    }

    /// Reads resources with `calendar-multiget` into changes. After an incremental listing,
    /// each resource's stored events are cancelled before its current ones are written, so an
    /// occurrence the resource no longer has does not linger.
    async fn read(&mut self, hrefs: &[String]) -> Result<Vec<Change>, ApiError> {
        let listed: String = hrefs
            .iter()
            .map(|h| format!("<D:href>{}</D:href>", escape(h)))
            .collect();
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<C:calendar-multiget xmlns:D="{DAV}" xmlns:C="{CALDAV}"><D:prop><D:getetag/><C:calendar-data/></D:prop>{listed}</C:calendar-multiget>"#
        );
        let found = self
            .client
            .dav("REPORT", &self.collection.url, Some("1"), body)
            .await?;
        let mut changes = Vec::new();
        for response in &found.responses {
            let Some(path) = member(&found.base, &response.href, &self.collection.url) else {
                continue;
            };
            if !self.full {
                changes.push(Change::Cancelled {
                    provider_event_id: path.clone(),
                });
            }
            // Gone since it was listed: the cancellation above (or the sweep) covers it.
            let Some(data) = response.text_of(CALDAV, "calendar-data") else {
                continue;
            };
            match ical::Calendar::parse(data) {
                Ok(calendar) => changes.extend(
                    calendar
                        .events(Some(&path), self.window)
                        .into_iter()
                        .map(|e| Change::Upsert(Box::new(e))),
                ),
                // One unreadable resource never blocks the calendar.
                Err(_) => {
                    tracing::warn!(resource = %path, "skipped a resource that is not iCalendar")
                }
            }
        }
        Ok(changes)
    }
}

/// A member resource's path, the key of its events; `None` for the collection itself.
fn member(base: &Url, href: &str, collection: &Url) -> Option<String> {
    let url = base.join(href).ok()?;
    let path = url.path().to_owned();
    (path.trim_end_matches('/') != collection.path().trim_end_matches('/')).then_some(path)
}

/// A WebDAV multistatus response, read into owned values.
#[derive(Debug)]
struct Multistatus {
    /// The address the answer came from, against which hrefs resolve.
    base: Url,
    responses: Vec<DavResponse>,
    sync_token: Option<String>,
}

#[derive(Debug, Default)]
struct DavResponse {
    href: String,
    /// The response's own status (a removed member in `sync-collection`).
    status: Option<u16>,
    /// Properties found (2xx propstats only).
    props: Vec<Property>,
}

#[derive(Debug)]
struct Property {
    namespace: String,
    name: String,
    text: String,
    /// The `DAV:href`s inside it.
    hrefs: Vec<String>,
    /// Its child elements (resource types), and the `name` attributes of `comp` elements.
    children: Vec<(String, String)>,
    components: Vec<String>,
}

fn status_code(text: &str) -> Option<u16> {
    // "HTTP/1.1 404 Not Found"
    text.split_whitespace().nth(1)?.parse().ok()
}

impl Multistatus {
    fn parse(text: &str, base: &Url) -> Result<Multistatus, ApiError> {
        let doc = roxmltree::Document::parse(text)
            .map_err(|e| ApiError::Malformed(format!("XML: {e}")))?;
        let root = doc.root_element();
        if !root.has_tag_name((DAV, "multistatus")) {
            return Err(ApiError::Malformed("not a WebDAV multistatus".into()));
        }
        let mut out = Multistatus {
            base: base.clone(),
            responses: Vec::new(),
            sync_token: None,
        };
        for child in root.children().filter(|n| n.is_element()) {
            if child.has_tag_name((DAV, "sync-token")) {
                out.sync_token = child.text().map(|t| t.trim().to_owned());
            }
            if !child.has_tag_name((DAV, "response")) {
                continue;
            }
            let mut response = DavResponse::default();
            for part in child.children().filter(|n| n.is_element()) {
                if part.has_tag_name((DAV, "href")) {
                    response.href = part.text().unwrap_or("").trim().to_owned();
                } else if part.has_tag_name((DAV, "status")) {
                    response.status = part.text().and_then(status_code);
                } else if part.has_tag_name((DAV, "propstat")) {
                    let ok = part
                        .children()
                        .find(|n| n.has_tag_name((DAV, "status")))
                        .and_then(|s| s.text())
                        .and_then(status_code)
                        .is_some_and(|s| (200..300).contains(&s));
                    let Some(prop) = part.children().find(|n| n.has_tag_name((DAV, "prop"))) else {
                        continue;
                    };
                    if !ok {
                        continue;
                    }
                    for p in prop.children().filter(|n| n.is_element()) {
                        response.props.push(Property {
                            namespace: p.tag_name().namespace().unwrap_or("").to_owned(),
                            name: p.tag_name().name().to_owned(),
                            text: p
                                .descendants()
                                .filter(|n| n.is_text())
                                .filter_map(|n| n.text())
                                .collect(),
                            hrefs: p
                                .descendants()
                                .filter(|n| n.has_tag_name((DAV, "href")))
                                .filter_map(|n| n.text().map(|t| t.trim().to_owned()))
                                .collect(),
                            children: p
                                .children()
                                .filter(|n| n.is_element())
                                .map(|n| {
                                    (
                                        n.tag_name().namespace().unwrap_or("").to_owned(),
                                        n.tag_name().name().to_owned(),
                                    )
                                })
                                .collect(),
                            components: p
                                .descendants()
                                .filter(|n| n.has_tag_name((CALDAV, "comp")))
                                .filter_map(|n| n.attribute("name").map(str::to_ascii_uppercase))
                                .collect(),
                        });
                    }
                }
            }
            out.responses.push(response);
        }
        Ok(out)
    }
}

impl DavResponse {
    fn prop(&self, namespace: &str, name: &str) -> Option<&Property> {
        self.props
            .iter()
            .find(|p| p.namespace == namespace && p.name == name)
    }

    fn is_calendar(&self) -> bool {
        self.prop(DAV, "resourcetype").is_some_and(|p| {
            p.children
                .iter()
                .any(|(ns, n)| ns == CALDAV && n == "calendar")
        })
    }

    /// Whether the calendar takes events (a server that does not say is taken at its word).
    fn holds_events(&self) -> bool {
        self.prop(CALDAV, "supported-calendar-component-set")
            .is_none_or(|p| p.components.is_empty() || p.components.iter().any(|c| c == "VEVENT"))
    }

    fn href_of(&self, namespace: &str, name: &str, base: &Url) -> Option<Url> {
        let href = self.prop(namespace, name)?.hrefs.first()?;
        base.join(href).ok()
    }

    fn text_of(&self, namespace: &str, name: &str) -> Option<&str> {
        self.prop(namespace, name)
            .map(|p| p.text.as_str())
            .filter(|t| !t.trim().is_empty())
    }

    fn collection(&self, base: &Url) -> Option<Collection> {
        let url = base.join(&self.href).ok()?;
        let name = self
            .text_of(DAV, "displayname")
            .map(|n| n.trim().to_owned())
            .unwrap_or_else(|| {
                url.path_segments()
                    .and_then(|mut s| s.rfind(|p| !p.is_empty()).map(str::to_owned))
                    .unwrap_or_else(|| "Calendar".into())
            });
        Some(Collection {
            url,
            name,
            sync_token: self.text_of(DAV, "sync-token").map(str::to_owned),
            ctag: self.text_of(CALSERVER, "getctag").map(str::to_owned),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multistatus_reads_into_calendars_with_their_tokens() {
        let base = Url::parse("https://dav.example.com/ada/").unwrap();
        let found = Multistatus::parse(
            r#"<?xml version="1.0"?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/">
 <response><href>/ada/</href><propstat><prop><resourcetype><collection/></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response>
 <response><href>/ada/work/</href>
  <propstat><prop><resourcetype><collection/><C:calendar/></resourcetype><displayname>Work</displayname>
   <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
   <sync-token>http://radicale.org/ns/sync/1</sync-token><CS:getctag>"abc"</CS:getctag></prop><status>HTTP/1.1 200 OK</status></propstat>
  <propstat><prop><C:calendar-home-set/></prop><status>HTTP/1.1 404 Not Found</status></propstat>
 </response>
 <response><href>/ada/tasks/</href><propstat><prop><resourcetype><collection/><C:calendar/></resourcetype>
   <C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set></prop><status>HTTP/1.1 200 OK</status></propstat></response>
</multistatus>"#,
            &base,
        )
        .unwrap();
        let calendars: Vec<Collection> = found
            .responses
            .iter()
            .filter(|r| r.is_calendar() && r.holds_events())
            .filter_map(|r| r.collection(&found.base))
            .collect();
        assert_eq!(calendars.len(), 1);
        assert_eq!(
            calendars[0].url.as_str(),
            "https://dav.example.com/ada/work/"
        );
        assert_eq!(calendars[0].name, "Work");
        assert_eq!(
            calendars[0].sync_token.as_deref(),
            Some("http://radicale.org/ns/sync/1")
        );
        assert_eq!(calendars[0].ctag.as_deref(), Some("\"abc\""));
    }

    #[test]
    fn members_are_paths_and_the_collection_is_not_a_member() {
        let collection = Url::parse("https://dav.example.com/ada/work/").unwrap();
        assert_eq!(
            member(&collection, "/ada/work/a%20b.ics", &collection).as_deref(),
            Some("/ada/work/a%20b.ics")
        );
        assert_eq!(
            member(
                &collection,
                "https://dav.example.com/ada/work/x.ics",
                &collection
            )
            .as_deref(),
            Some("/ada/work/x.ics")
        );
        assert_eq!(member(&collection, "/ada/work", &collection), None);
    }

    #[test]
    fn the_password_never_shows_in_debug_output() {
        let credentials = Credentials {
            url: "https://dav.example.com/".into(),
            username: "ada".into(),
            password: "app-password-123".into(),
            single_calendar: false,
        };
        assert!(!format!("{credentials:?}").contains("app-password-123"));
    }
}
