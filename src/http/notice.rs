//! One-time messages about what the user just did, shown at the top of the page that follows.
//!
//! Without script, an action is a POST answered by a redirect (303) to a page; the message
//! rides in that page's address (`?ticked=<item>` after an item was ticked done, with an Undo
//! button; `?restored=<version>` after an old version of a note was restored), so it costs no
//! query and no session write. With script (`static/editor.js`), the same messages appear in
//! place, in the same live region.

use std::convert::Infallible;

use axum::{extract::FromRequestParts, http::request::Parts};
use uuid::Uuid;

/// The address parameters that carry a notice.
const TICKED: &str = "ticked";
const RESTORED: &str = "restored";

/// A message, and the button that undoes what it reports.
#[derive(Debug, Clone, Hash)]
pub struct Notice {
    pub text: String,
    pub undo: Option<Undo>,
}

/// An Undo button: a form posting to `action`, which then sends the browser to `back`.
#[derive(Debug, Clone, Hash)]
pub struct Undo {
    pub action: String,
    /// The label's hidden part, naming what is undone for screen readers.
    pub what: String,
    pub back: String,
}

/// The notice a page's address carries, if any (an extractor that never fails: a damaged
/// parameter is no notice).
#[derive(Debug, Clone, Default)]
pub struct PageNotice(pub Option<Notice>);

impl<S: Send + Sync> FromRequestParts<S> for PageNotice {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PageNotice(notice(
            parts.uri.path(),
            parts.uri.query().unwrap_or(""),
        )))
    }
}

fn notice(path: &str, query: &str) -> Option<Notice> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    // The page itself, without the notice: where Undo comes back to.
    let rest: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, _)| k != TICKED && k != RESTORED)
        .collect();
    let back = if rest.is_empty() {
        path.to_owned()
    } else {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(rest);
        format!("{path}?{}", query.finish())
    };
    if let Some(item) = value(TICKED).and_then(|v| Uuid::parse_str(v).ok()) {
        return Some(Notice {
            text: "Marked done.".into(),
            undo: Some(Undo {
                action: format!("/items/{item}/done"),
                what: "marking the item done".into(),
                back,
            }),
        });
    }
    let version = value(RESTORED).and_then(|v| v.parse::<u32>().ok())?;
    Some(Notice {
        text: format!(
            "Version {version} restored: it is the note's newest version now. Its earlier text stays in the history."
        ),
        undo: None,
    })
}

/// `path` (a local path, perhaps with a query and a `#fragment`) with `key=value` added to its
/// query, replacing an earlier value of `key`.
pub fn with_param(path: &str, key: &str, value: &str) -> String {
    let (path, fragment) = path
        .split_once('#')
        .map_or((path, None), |(p, f)| (p, Some(f)));
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut out = form_urlencoded::Serializer::new(String::new());
    out.extend_pairs(form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != key));
    out.append_pair(key, value);
    let mut url = format!("{path}?{}", out.finish());
    if let Some(fragment) = fragment {
        url.push('#');
        url.push_str(fragment);
    }
    url
}

/// Where to go after ticking `item` done from the page `back`: that page, with the notice.
pub fn ticked(back: &str, item: Uuid) -> String {
    with_param(back, TICKED, &item.to_string())
}

/// The note's page after `version` was restored.
pub fn restored(page: &str, version: i32) -> String {
    with_param(page, RESTORED, &version.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_is_added_before_the_fragment_and_replaces_an_old_one() {
        assert_eq!(with_param("/people/x", "ticked", "1"), "/people/x?ticked=1");
        assert_eq!(
            with_param("/action-items?filter=mine&ticked=0", "ticked", "1"),
            "/action-items?filter=mine&ticked=1"
        );
        assert_eq!(
            with_param("/meetings/x#notes", "restored", "3"),
            "/meetings/x?restored=3#notes"
        );
    }

    #[test]
    fn a_ticked_notice_undoes_back_to_the_same_page_without_the_notice() {
        let item = Uuid::new_v4();
        let notice = notice(
            "/action-items",
            &format!("filter=mine&ticked={item}&after=x"),
        )
        .unwrap();
        let undo = notice.undo.unwrap();
        assert_eq!(undo.action, format!("/items/{item}/done"));
        assert_eq!(undo.back, "/action-items?filter=mine&after=x");
    }

    #[test]
    fn damaged_parameters_are_no_notice() {
        assert!(notice("/", "ticked=nope").is_none());
        assert!(notice("/", "restored=-1").is_none());
        assert!(notice("/", "").is_none());
    }
}
