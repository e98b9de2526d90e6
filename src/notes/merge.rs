//! Saving from an editor, and the merge view when the save meets a newer version.
//!
//! A save based on an older version than the note's (two tabs, an item ticked elsewhere) writes
//! nothing: the text is kept as the user's draft and the browser is sent (303) to the merge
//! view, a page of its own, so Back never offers to send a form again. The merge view names the
//! note, shows the lines that differ (a line diff made here), and saves "mine", "theirs" or an
//! edited text the same way.

use std::time::Duration;

use askama::Template;
use axum::{
    Form, Router,
    extract::{Path, State},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use similar::{Algorithm, ChangeTag, DiffOp, TextDiff};

use super::{
    Saved,
    drafts::{self, DraftKey, Kept},
};
use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, layout::Layout, params},
    meetings::base_version,
    time,
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/meetings/{id}/merge",
            get(meeting_page).post(merge_meeting),
        )
        .route("/notes/{id}/merge", get(note_page).post(merge_note))
}

/// Saves what an editor sent, based on `base` (the version it opened): on success the draft is
/// gone and the note's page follows; when the note was saved since, the text becomes the draft
/// and the merge view follows. Either way a redirect (303), never a page answering the POST.
pub async fn save_edit(
    state: &AppState,
    user: &SignedIn,
    key: DraftKey,
    title: &str,
    body: &str,
    base: i32,
) -> AppResult<Response> {
    let saved = super::save(
        &state.db,
        user.id,
        &user.time_zone,
        key.target(),
        title,
        body,
        base,
    )
    .await?;
    after_save(state, user, key, saved, title, body, base).await
}

/// What follows a save of `body` based on `base` for the editor of `key`.
pub async fn after_save(
    state: &AppState,
    user: &SignedIn,
    key: DraftKey,
    saved: Saved,
    title: &str,
    body: &str,
    base: i32,
) -> AppResult<Response> {
    match saved {
        Saved::Saved(note) => {
            drafts::discard(&state.db, user.id, key).await?;
            let page = match key {
                DraftKey::NewNote => DraftKey::Note(note.id).page(),
                key => key.page(),
            };
            Ok(Redirect::to(&page).into_response())
        }
        Saved::NotFound => Err(AppError::NotFound),
        Saved::Conflict { current } => {
            // The draft goes where the note's editor finds it: a meeting's note under its meeting.
            let key = match (key, current.meeting_id) {
                (DraftKey::Meeting(_), _) => key,
                (_, Some(meeting)) => DraftKey::Meeting(meeting),
                (_, None) => DraftKey::Note(current.id),
            };
            match drafts::keep(&state.db, user.id, key, title, body, base).await? {
                Kept::NotFound => Err(AppError::NotFound),
                // The text is what the note says now: nothing to merge.
                Kept::Unchanged => Ok(Redirect::to(&key.page()).into_response()),
                Kept::Kept(_) | Kept::Stale(_) => {
                    let merge = key.merge_url().expect("a saved note can be merged");
                    Ok(Redirect::to(&merge).into_response())
                }
            }
        }
    }
}

/// Lines of unchanged text shown around each difference; longer runs are folded.
const CONTEXT: usize = 2;

/// A line diff gives up looking for the best alignment after this long and settles for a good
/// one: a megabyte of text must not hold a request.
const DIFF_TIME: Duration = Duration::from_millis(300);

/// Which text a line of a [`Diff`] is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Both,
    /// Only in the first text (the saved note, or an old version).
    Old,
    /// Only in the second (the draft, or the current note).
    New,
    /// Unchanged lines folded away; `text` says how many.
    Folded,
}

#[derive(Debug, Clone)]
pub struct DiffLine {
    pub side: Side,
    pub text: String,
}

impl DiffLine {
    pub fn class(&self) -> &'static str {
        match self.side {
            Side::Both => "same",
            Side::Old => "old",
            Side::New => "new",
            Side::Folded => "folded",
        }
    }
}

/// The lines that differ between two texts of a note, with a little context, as the merge
/// view and the version view show them.
#[derive(Debug, Clone)]
pub struct Diff {
    pub lines: Vec<DiffLine>,
    pub old_only: usize,
    pub new_only: usize,
    /// What each side is called: "the saved version", "your text".
    pub old_label: String,
    pub new_label: String,
}

impl Diff {
    pub fn same(&self) -> bool {
        self.old_only == 0 && self.new_only == 0
    }

    /// "1 line", "3 lines" only in the first text.
    pub fn old_count(&self) -> String {
        lines(self.old_only)
    }

    pub fn new_count(&self) -> String {
        lines(self.new_only)
    }
}

fn lines(n: usize) -> String {
    if n == 1 {
        "1 line".into()
    } else {
        format!("{n} lines")
    }
}

/// Line endings as a text area has them, and a last line ended like the others (so that adding
/// a line after it does not show it as changed).
fn lines_of(text: &str) -> String {
    let mut text = text.replace("\r\n", "\n");
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// The line diff of `old` and `new` (patience: lines that occur once anchor the alignment, which
/// keeps moved paragraphs of notes readable).
pub fn diff(old: &str, new: &str, old_label: &str, new_label: &str) -> Diff {
    let (old, new) = (lines_of(old), lines_of(new));
    let text_diff = TextDiff::configure()
        .algorithm(Algorithm::Patience)
        .timeout(DIFF_TIME)
        .diff_lines(&old, &new);
    let (mut lines, mut old_only, mut new_only) = (Vec::new(), 0, 0);
    let mut shown_to = 0;
    let fold = |lines: &mut Vec<DiffLine>, n: usize| {
        if n > 0 {
            let text = if n == 1 {
                "1 unchanged line".to_owned()
            } else {
                format!("{n} unchanged lines")
            };
            lines.push(DiffLine {
                side: Side::Folded,
                text,
            });
        }
    };
    for group in text_diff.grouped_ops(CONTEXT) {
        let Some(start) = group.first().map(|op| op.old_range().start) else {
            continue;
        };
        fold(&mut lines, start.saturating_sub(shown_to));
        for op in &group {
            for change in text_diff.iter_changes(op) {
                let side = match change.tag() {
                    ChangeTag::Equal => Side::Both,
                    ChangeTag::Delete => {
                        old_only += 1;
                        Side::Old
                    }
                    ChangeTag::Insert => {
                        new_only += 1;
                        Side::New
                    }
                };
                lines.push(DiffLine {
                    side,
                    text: change.value().trim_end_matches('\n').to_owned(),
                });
            }
        }
        shown_to = group
            .last()
            .map_or(shown_to, |op: &DiffOp| op.old_range().end);
    }
    if !lines.is_empty() {
        fold(&mut lines, text_diff.old_len().saturating_sub(shown_to));
    }
    Diff {
        lines,
        old_only,
        new_only,
        old_label: old_label.to_owned(),
        new_label: new_label.to_owned(),
    }
}

/// The merge view's data: what the note is, its saved text, and the user's draft.
struct MergeData {
    name: String,
    day: Option<String>,
    title: String,
    body: String,
    version: i32,
    updated_at: Option<DateTime<Utc>>,
    draft_title: Option<String>,
    draft_body: Option<String>,
    draft_saved_at: Option<DateTime<Utc>>,
}

async fn merge_data(state: &AppState, user: &SignedIn, key: DraftKey) -> AppResult<MergeData> {
    let tz = time::zone(&user.time_zone);
    let data = match key {
        DraftKey::Meeting(id) => {
            let row = sqlx::query!(
                r#"select m.title, m.starts_at, m.all_day, m.start_date,
                          coalesce(n.body, '') as "body!", coalesce(n.version, 0) as "version!",
                          n.updated_at as "updated_at?", d.title as "draft_title?",
                          d.body as "draft_body?", d.saved_at as "draft_saved_at?"
                   from meetings m
                   left join notes n on n.user_id = m.user_id and n.meeting_id = m.id
                   left join drafts d on d.user_id = m.user_id and d.meeting_id = m.id
                   where m.user_id = $1 and m.id = $2"#,
                user.id,
                id,
            )
            .fetch_optional(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
            let day: NaiveDate = match (row.all_day, row.start_date) {
                (true, Some(d)) => d,
                _ => time::local_date(row.starts_at, tz),
            };
            MergeData {
                name: if row.title.trim().is_empty() {
                    "(no title)".into()
                } else {
                    row.title
                },
                day: Some(time::long_day(day)),
                title: String::new(),
                body: row.body,
                version: row.version,
                updated_at: row.updated_at,
                draft_title: row.draft_title,
                draft_body: row.draft_body,
                draft_saved_at: row.draft_saved_at,
            }
        }
        DraftKey::Note(id) => {
            let row = sqlx::query!(
                r#"select n.title, n.body, n.version, n.updated_at, d.title as "draft_title?",
                          d.body as "draft_body?", d.saved_at as "draft_saved_at?"
                   from notes n
                   left join drafts d on d.user_id = n.user_id and d.note_id = n.id
                   where n.user_id = $1 and n.id = $2 and n.meeting_id is null"#,
                user.id,
                id,
            )
            .fetch_optional(&state.db)
            .await?
            .ok_or(AppError::NotFound)?;
            MergeData {
                name: if row.title.is_empty() {
                    "Untitled note".into()
                } else {
                    row.title.clone()
                },
                day: None,
                title: row.title,
                body: row.body,
                version: row.version,
                updated_at: Some(row.updated_at),
                draft_title: row.draft_title,
                draft_body: row.draft_body,
                draft_saved_at: row.draft_saved_at,
            }
        }
        DraftKey::NewNote => return Err(AppError::NotFound),
    };
    Ok(data)
}

#[derive(Template)]
#[template(path = "merge.html")]
struct MergePage {
    layout: Layout,
    /// The meeting's or note's name, and the meeting's day.
    name: String,
    day: Option<String>,
    is_meeting: bool,
    diff: Diff,
    /// The merged text the form opens with (the user's), and a standalone note's title.
    merged: String,
    title: String,
    version: i32,
    action: String,
    back: String,
}

async fn page(state: &AppState, user: &SignedIn, key: DraftKey) -> AppResult<Response> {
    let data = merge_data(state, user, key).await?;
    let tz = time::zone(&user.time_zone);
    let (Some(yours), Some(saved_at)) = (data.draft_body, data.draft_saved_at) else {
        // Merged already (Back to this page after saving): the note is what there is.
        return Ok(Redirect::to(&key.page()).into_response());
    };
    let draft_title = data.draft_title.unwrap_or_default();
    if super::same_text(&yours, &data.body) && draft_title == data.title {
        return Ok(Redirect::to(&key.page()).into_response());
    }
    let saved_label = match data.updated_at {
        Some(at) if data.version > 0 => format!(
            "the version saved {} (version {})",
            drafts::when_label(at, tz),
            data.version
        ),
        _ => "the saved version".to_owned(),
    };
    let yours_label = format!("your text from {}", drafts::when_label(saved_at, tz));
    let view = MergePage {
        layout: Layout::for_user(
            user,
            &format!("Merge notes: {}", data.name),
            match key {
                DraftKey::Meeting(_) => "meetings",
                _ => "notes",
            },
        ),
        diff: diff(&data.body, &yours, &saved_label, &yours_label),
        name: data.name,
        day: data.day,
        is_meeting: matches!(key, DraftKey::Meeting(_)),
        merged: yours,
        title: if draft_title.is_empty() {
            data.title
        } else {
            draft_title
        },
        version: data.version,
        action: key.merge_url().expect("a merge key"),
        back: key.page(),
    };
    Ok(Html(view.render().map_err(anyhow::Error::from)?).into_response())
}

async fn meeting_page(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    page(&state, &user, DraftKey::Meeting(params::id(&id)?)).await
}

async fn note_page(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
) -> AppResult<Response> {
    page(&state, &user, DraftKey::Note(params::id(&id)?)).await
}

#[derive(Deserialize)]
struct MergeForm {
    /// `mine`, `theirs`, or (the default, as Ctrl+Enter sends it) `merged`.
    choice: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    base_version: String,
}

async fn merge(
    state: &AppState,
    user: &SignedIn,
    key: DraftKey,
    form: MergeForm,
) -> AppResult<Response> {
    let base = base_version(&form.base_version)?;
    if form.title.chars().count() > 300 {
        return Err(AppError::BadRequest(
            "A note's title can be at most 300 characters.".into(),
        ));
    }
    let data = merge_data(state, user, key).await?;
    let (title, body) = match form.choice.as_deref().unwrap_or("merged") {
        "theirs" => {
            drafts::discard(&state.db, user.id, key).await?;
            return Ok(Redirect::to(&key.page()).into_response());
        }
        "mine" => match data.draft_body {
            Some(body) => (data.draft_title.unwrap_or_default(), body),
            // Merged in another tab meanwhile: the note is what there is.
            None => return Ok(Redirect::to(&key.page()).into_response()),
        },
        "merged" => (form.title.trim().to_owned(), form.body),
        _ => {
            return Err(AppError::BadRequest(
                "choice must be mine, theirs or merged.".into(),
            ));
        }
    };
    // A meeting's note has no title of its own.
    let title = if matches!(key, DraftKey::Meeting(_)) {
        String::new()
    } else {
        title
    };
    save_edit(state, user, key, &title, &body, base).await
}

async fn merge_meeting(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<MergeForm>,
) -> AppResult<Response> {
    merge(&state, &user, DraftKey::Meeting(params::id(&id)?), form).await
}

async fn merge_note(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<MergeForm>,
) -> AppResult<Response> {
    merge(&state, &user, DraftKey::Note(params::id(&id)?), form).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sides(diff: &Diff) -> Vec<(Side, &str)> {
        diff.lines
            .iter()
            .map(|l| (l.side, l.text.as_str()))
            .collect()
    }

    #[test]
    fn a_changed_line_shows_as_one_line_out_and_one_in_with_context() {
        let diff = diff("a\nb\nc\n", "a\nB\nc\n", "saved", "yours");
        assert_eq!(
            sides(&diff),
            [
                (Side::Both, "a"),
                (Side::Old, "b"),
                (Side::New, "B"),
                (Side::Both, "c"),
            ]
        );
        assert_eq!((diff.old_only, diff.new_only), (1, 1));
    }

    #[test]
    fn line_endings_and_a_missing_last_newline_are_no_difference() {
        let diff = diff("one\r\ntwo", "one\ntwo\n", "saved", "yours");
        assert!(diff.same());
        assert!(diff.lines.is_empty());
    }

    #[test]
    fn long_unchanged_runs_are_folded_and_counted() {
        let old: String = (0..20).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 10\n", "line ten\n");
        let diff = diff(&old, &new, "saved", "yours");
        let folded: Vec<&str> = diff
            .lines
            .iter()
            .filter(|l| l.side == Side::Folded)
            .map(|l| l.text.as_str())
            .collect();
        assert_eq!(folded, ["8 unchanged lines", "7 unchanged lines"]);
        assert_eq!(diff.lines.len(), 2 + 2 + 2 + 2);
    }

    #[test]
    fn clearing_a_note_shows_every_line_as_gone() {
        let diff = diff("- [ ] a\nDecision: b\n", "", "saved", "yours");
        assert_eq!(
            sides(&diff),
            [(Side::Old, "- [ ] a"), (Side::Old, "Decision: b")]
        );
    }
}
