//! Full-text search (PostgreSQL `tsvector`) across meetings, notes, action items, decisions and
//! people: stemmed in the configured language (`DOCKET_SEARCH_LANGUAGE`), the last word matched
//! as a prefix while it is typed, a meeting found by its title and its note's words together,
//! ranked, grouped by kind with counts, and with snippets as plain text, matches highlighted.

use askama::Template;
use axum::{
    Router,
    extract::{Query, State},
    response::Html,
    routing::get,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, notice::PageNotice},
    page_cache::Lasts,
};
use axum::body::Bytes;
use sqlx::types::Json;

pub fn router() -> Router<AppState> {
    Router::new().route("/search", get(page))
}

/// Highlight markers: control characters that cannot occur in stored text, so the snippet can
/// be split safely and every piece HTML-escaped by the template.
const START: char = '\u{2}';
const STOP: char = '\u{3}';

/// Builds every text vector with the configured language (`DOCKET_SEARCH_LANGUAGE`), which
/// must be one of the database's text search configurations. A language other than the one in
/// use re-indexes once: each searched table is rewritten, under a lock that waits for it.
pub async fn use_language(db: &sqlx::PgPool, language: &str) -> anyhow::Result<()> {
    // Unqualified names are looked up in pg_catalog and on the search path, as PostgreSQL does.
    let known = sqlx::query_scalar!(
        r#"select exists(select 1 from pg_ts_config c join pg_namespace n on n.oid = c.cfgnamespace
                         where n.nspname || '.' || c.cfgname = $1
                            or (c.cfgname = $1 and pg_ts_config_is_visible(c.oid))) as "known!""#,
        language,
    )
    .fetch_one(db)
    .await?;
    if !known {
        let names = sqlx::query_scalar!(
            r#"select string_agg(cfgname, ', ' order by cfgname) as "names!" from pg_ts_config"#
        )
        .fetch_one(db)
        .await?;
        anyhow::bail!(
            "DOCKET_SEARCH_LANGUAGE: PostgreSQL has no text search configuration {language:?} (it has: {names})"
        );
    }
    let reindexed = sqlx::query_scalar!(
        r#"select search_use_language($1::text::regconfig) as "reindexed!""#,
        language
    )
    .fetch_one(db)
    .await?;
    if reindexed {
        tracing::info!(language, "search re-indexed in a new language");
    }
    Ok(())
}

/// A search hit. `id` is the meeting, the note (of a standalone note or an item) or the
/// person; `source` the record that matched (the item itself, for an item); items also carry
/// the meeting they belong to, if any. A meeting's note is found as its meeting. The snippet
/// marks matches between [`START`] and [`STOP`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hit {
    /// `meeting`, `note`, `action`, `decision`, `question` or `person`.
    pub kind: String,
    pub id: Uuid,
    pub source: Uuid,
    pub meeting_id: Option<Uuid>,
    pub title: String,
    pub snippet: String,
}

/// How many results of one kind matched; counted up to [`COUNT_CAP`], then "200+".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KindCount {
    pub kind: String,
    pub count: i64,
}

impl KindCount {
    pub fn label(&self) -> String {
        if self.count > COUNT_CAP {
            format!("{COUNT_CAP}+")
        } else {
            self.count.to_string()
        }
    }
}

/// What a search found: the hits shown, best first, and how many matched of each kind.
#[derive(Clone, Serialize)]
pub struct Found {
    pub hits: Vec<Hit>,
    pub counts: Vec<KindCount>,
}

/// Each kind contributes at most this many candidates (one more than is counted, to tell "200"
/// from "200+"), so a common word costs the same in a long history as in a short one; only the
/// results shown get snippets.
const COUNT_CAP: i64 = 200;
const CANDIDATES_PER_KIND: i64 = COUNT_CAP + 1;

/// The kinds of results, in the order the page groups them: the query value and the heading.
pub const KINDS: [(&str, &str); 6] = [
    ("meeting", "Meetings"),
    ("note", "Notes"),
    ("action", "Action items"),
    ("decision", "Decisions"),
    ("question", "Questions"),
    ("person", "People"),
];

/// A piece of a snippet, highlighted or not.
pub struct Piece {
    pub text: String,
    pub marked: bool,
}

pub struct Result {
    pub link: String,
    pub title: String,
    pub snippet: Vec<Piece>,
}

/// The results of one kind, as the page shows them.
pub struct Group {
    pub kind: &'static str,
    pub heading: &'static str,
    pub count: String,
    pub results: Vec<Result>,
    /// The page of this kind alone, when it holds more than is shown here.
    pub more: Option<String>,
}

impl Group {
    /// This kind's results alone.
    pub fn link_alone(&self, q: &str) -> String {
        search_link(q, Some(self.kind))
    }
}

/// A snippet cut into its highlighted and plain pieces.
pub fn pieces(snippet: &str) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut marked = false;
    let mut current = String::new();
    for c in snippet.chars() {
        if c == START || c == STOP {
            if !current.is_empty() {
                out.push(Piece {
                    text: std::mem::take(&mut current),
                    marked,
                });
            }
            marked = c == START;
        } else if !c.is_control() || c == '\n' {
            current.push(c);
        }
    }
    if !current.is_empty() {
        out.push(Piece {
            text: current,
            marked,
        });
    }
    out
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    q: String,
    /// The kind the page is narrowed to, with the link back to every kind.
    narrowed: Option<(&'static str, String)>,
    groups: Vec<Group>,
}

/// Longest search accepted, in characters.
const MAX_QUERY_CHARS: usize = 200;

/// The search text of a query string, trimmed; refused when too long.
pub fn query_text(raw: Option<String>) -> AppResult<String> {
    let q = raw.unwrap_or_default().trim().to_owned();
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::BadRequest(format!(
            "Search for at most {MAX_QUERY_CHARS} characters."
        )));
    }
    Ok(q)
}

/// The kind a search is narrowed to (`kind=`), if any.
pub fn query_kind(raw: Option<&str>) -> AppResult<Option<&'static str>> {
    match raw.map(str::trim).filter(|k| !k.is_empty()) {
        None => Ok(None),
        Some(k) => KINDS
            .iter()
            .find(|(kind, _)| *kind == k)
            .map(|(kind, _)| Some(*kind))
            .ok_or_else(|| {
                AppError::BadRequest(format!(
                    "kind must be one of {}, not {k:?}.",
                    KINDS.map(|(kind, _)| kind).join(", ")
                ))
            }),
    }
}

/// The query as typed, split into the words before the last one (web-search syntax) and the
/// last word, which is matched as a prefix while it is being typed (`roll` finds "rollback"):
/// only a plain word of letters and digits standing on its own, not negated (`-roll`), inside
/// quotes, or the operator `or`.
pub fn split_prefix(q: &str) -> (&str, &str) {
    let start = q
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric())
        .last()
        .map(|(i, _)| i);
    let Some(start) = start else {
        return (q, "");
    };
    let (head, last) = q.split_at(start);
    let alone = head.chars().last().is_none_or(char::is_whitespace);
    let quoted = head.matches('"').count() % 2 == 1;
    if alone && !quoted && !last.eq_ignore_ascii_case("or") {
        (head, last)
    } else {
        (q, "")
    }
}

/// What matches `q` among the user's meetings, notes, items and people: per kind (or of
/// `kind` only) the best `per_kind`, at most `limit` in all, best first, with the count of
/// each kind.
pub async fn search(
    db: &sqlx::PgPool,
    user_id: Uuid,
    q: &str,
    kind: Option<&str>,
    per_kind: i64,
    limit: i64,
) -> sqlx::Result<Found> {
    if q.is_empty() {
        return Ok(Found {
            hits: Vec::new(),
            counts: Vec::new(),
        });
    }
    let (words, prefix) = split_prefix(q);
    let found = sqlx::query!(
        r#"with q as (select search_query($2, $3) as query),
     candidates as (select c.* from q cross join lateral search_candidates($1, q.query, $4) c),
     -- A meeting's note is found as its meeting (its title and its note's words together).
     -- One result per (kind, key): its best-ranked candidate. A sort of the few hundred
     -- candidates; grouping with array_agg spilled its hash table to disk (8 kB of state per group).
     results as (
         select distinct on (r.kind, r.key) r.kind, r.key, r.rank,
                case when r.kind = 'meeting' then r.key else r.id end as id, r.meeting_id
         from (select case when c.kind = 'note' and c.meeting_id is not null then 'meeting'
                           else c.kind end as kind,
                      case when c.kind in ('meeting', 'note') and c.meeting_id is not null
                           then c.meeting_id else c.source end as key,
                      c.rank, c.id, c.meeting_id
               from candidates c) r
         order by r.kind, r.key, r.rank desc),
     counts as (select kind, count(*) as count from results group by kind),
     best as (
         select * from (
             select r.*, row_number() over (partition by r.kind order by r.rank desc, r.key) as n
             from results r where $5::text is null or r.kind = $5) r
         where r.n <= $6 order by r.rank desc, r.key limit $7)
     -- Titles and snippets for the results shown only, each looked up by primary key.
     select
        coalesce((select json_agg(h order by h.rank desc, h.source) from (
            select b.kind, b.id, b.key as source, b.meeting_id, b.rank, d.title,
                   ts_headline(search_language(), d.text, q.query,
                       'StartSel=' || chr(2) || ', StopSel=' || chr(3)
                       || ', MaxWords=25, MinWords=8, MaxFragments=2') as snippet
            from best b cross join q
            cross join lateral (
                select m.title,
                       concat_ws(' · ', m.title,
                                 (select n.plain_body from notes n
                                  where n.user_id = $1 and n.meeting_id = m.id),
                                 nullif(search_plain(m.description), ''), nullif(m.location, '')) as text
                from meetings m where b.kind = 'meeting' and m.id = b.key
                union all
                select coalesce(nullif(n.title, ''), 'Untitled note'), n.plain_body
                from notes n where b.kind = 'note' and n.id = b.key
                union all
                select i.text, search_plain(i.text)
                from items i where b.kind in ('action', 'decision', 'question') and i.id = b.key
                union all
                select coalesce(p.name, p.email), coalesce(p.name, '') || ' ' || p.email
                from people p where b.kind = 'person' and p.id = b.key) d) h), '[]')
            as "hits!: Json<Vec<Hit>>",
        coalesce((select json_agg(c) from counts c), '[]') as "counts!: Json<Vec<KindCount>>""#,
        user_id,
        words,
        prefix,
        CANDIDATES_PER_KIND,
        kind,
        per_kind,
        limit,
    )
    .fetch_one(db)
    .await?;
    Ok(Found {
        hits: found.hits.0,
        counts: found.counts.0,
    })
}

/// Results per kind on the page of every kind; a page of one kind shows up to [`PAGE_SIZE`].
const SHOWN_PER_KIND: i64 = 5;
const PAGE_SIZE: i64 = 50;

/// Where a hit opens: notes and items link to their meeting, or to the standalone note they
/// sit in.
fn link(hit: &Hit) -> String {
    let place = match hit.meeting_id {
        Some(meeting) => format!("/meetings/{meeting}"),
        None => format!("/notes/{}", hit.id),
    };
    match hit.kind.as_str() {
        "meeting" => format!("/meetings/{}", hit.id),
        "person" => format!("/people/{}", hit.id),
        _ => place,
    }
}

fn search_link(q: &str, kind: Option<&str>) -> String {
    let mut pairs = form_urlencoded::Serializer::new(String::new());
    pairs.append_pair("q", q);
    if let Some(kind) = kind {
        pairs.append_pair("kind", kind);
    }
    format!("/search?{}", pairs.finish())
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    q: Option<String>,
    kind: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    user: SignedIn,
    Query(query): Query<SearchQuery>,
) -> AppResult<Html<Bytes>> {
    let html = state
        .page_cache
        .html(
            &user,
            "search",
            format!("{query:?}"),
            &PageNotice::default(),
            page_html(&state, &user, query),
        )
        .await?;
    Ok(Html(html))
}

async fn page_html(state: &AppState, user: &SignedIn, query: SearchQuery) -> AppResult<String> {
    let q = query_text(query.q)?;
    let kind = query_kind(query.kind.as_deref())?;
    let per_kind = if kind.is_some() {
        PAGE_SIZE
    } else {
        SHOWN_PER_KIND
    };
    let found = state
        .page_cache
        .get_or_load(
            user,
            "search",
            format!("{kind:?}/{q}"),
            Lasts::UntilChange,
            search(&state.db, user.id, &q, kind, per_kind, PAGE_SIZE),
        )
        .await?;
    let mut hits = found.hits;
    let groups = KINDS
        .iter()
        .filter_map(|&(key, heading)| {
            let count = found.counts.iter().find(|c| c.kind == key)?;
            let results: Vec<Result> = hits
                .extract_if(.., |h| h.kind == key)
                .map(|h| Result {
                    link: link(&h),
                    title: h.title,
                    snippet: pieces(&h.snippet),
                })
                .collect();
            let shown = results.len() as i64;
            Some(Group {
                kind: key,
                heading,
                count: count.label(),
                more: (kind.is_none() && count.count > shown).then(|| search_link(&q, Some(key))),
                results,
            })
        })
        .collect();
    let view = SearchPage {
        layout: Layout::for_user(user, "Search", "search"),
        narrowed: kind.map(|k| (k, search_link(&q, None))),
        q,
        groups,
    };
    Ok(view.render().map_err(anyhow::Error::from)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_plain_word_is_a_prefix() {
        assert_eq!(split_prefix("roll"), ("", "roll"));
        assert_eq!(split_prefix("budget roll"), ("budget ", "roll"));
        assert_eq!(split_prefix("café"), ("", "café"));
        // Negated, quoted, joined to punctuation, or the operator: left to web-search syntax.
        for q in [
            "-roll", "\"roll", "\"a roll", "x-roll", "a or", "roll:*", "roll)", "a@b",
        ] {
            assert_eq!(split_prefix(q), (q, ""), "{q}");
        }
        assert_eq!(split_prefix("\"a b\" roll"), ("\"a b\" ", "roll"));
    }

    #[test]
    fn kinds_are_checked() {
        assert_eq!(query_kind(Some("action")).unwrap(), Some("action"));
        assert_eq!(query_kind(Some("")).unwrap(), None);
        assert!(query_kind(Some("meetings")).is_err());
    }

    #[test]
    fn snippets_split_into_marked_pieces() {
        let p = pieces("the \u{2}deck\u{3} is <late>");
        assert_eq!(p.len(), 3);
        assert!(p[1].marked && p[1].text == "deck");
        assert_eq!(p[2].text, " is <late>");
    }
}
