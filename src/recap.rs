//! Following up a meeting: a recap of what came out of it — decisions, action items with who
//! and when, open questions — as an e-mail to the attendees (a `mailto:` link, so it leaves from
//! the user's own mail client) and as Markdown to paste anywhere; and the mark that it was sent.

use axum::{
    Form, Router,
    extract::{Path, State},
    response::Redirect,
    routing::post,
};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use uuid::Uuid;

use crate::{
    AppState,
    auth::session::SignedIn,
    http::{AppError, AppResult, params},
    items::ItemView,
    meetings::AttendeeView,
};

pub fn router() -> Router<AppState> {
    Router::new().route("/meetings/{id}/recap", post(mark_sent))
}

/// What a recap is made of, as the meeting page has it.
pub struct RecapSource<'a> {
    pub title: &'a str,
    pub when: &'a str,
    pub attendees: &'a [AttendeeView],
    pub decisions: &'a [ItemView],
    pub actions: &'a [ItemView],
    pub questions: &'a [ItemView],
}

/// The recap, ready for the page.
pub struct Recap {
    /// `mailto:` addressed to the other attendees, with subject and body.
    pub mailto: String,
    /// How many people it is addressed to.
    pub recipients: usize,
    /// The same content as Markdown.
    pub markdown: String,
}

/// Mail clients cut (or refuse) long `mailto:` links: Outlook at about 2,000 characters. The
/// body's lines stop before the whole link passes this, with a pointer to the rest.
const MAILTO_MAX: usize = 1_900;

// RFC 6068: everything but unreserved characters is percent-encoded in header values, so a
// `&`, `#` or `?` in a title cannot end the subject early.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
// An address keeps its `@`; `,` separates addresses, so it (and `?`, `&`, `%`) is encoded.
const ADDRESS: &AsciiSet = &COMPONENT.remove(b'@').remove(b'+');

pub fn build(source: &RecapSource<'_>) -> Recap {
    let recipients: Vec<&AttendeeView> = source.attendees.iter().filter(|a| !a.is_me).collect();
    let to = recipients
        .iter()
        .map(|a| utf8_percent_encode(&a.email, ADDRESS).to_string())
        .collect::<Vec<_>>()
        .join(",");
    let title = if source.title.trim().is_empty() {
        "(no title)"
    } else {
        source.title
    };
    let subject = format!("Recap: {title} ({})", source.when);
    let open_questions: Vec<&ItemView> = source.questions.iter().filter(|q| !q.done).collect();

    let sections: [(&str, Vec<String>); 3] = [
        (
            "Decisions",
            source.decisions.iter().map(|d| d.text.clone()).collect(),
        ),
        (
            "Action items",
            source.actions.iter().map(action_line).collect(),
        ),
        (
            "Open questions",
            open_questions.iter().map(|q| q.text.clone()).collect(),
        ),
    ];

    let mut markdown = format!("# Recap: {title}\n\n{}\n", source.when);
    for (heading, lines) in &sections {
        if lines.is_empty() {
            continue;
        }
        markdown.push_str(&format!("\n## {heading}\n\n"));
        for line in lines {
            markdown.push_str(&format!("- {line}\n"));
        }
    }
    if sections.iter().all(|(_, lines)| lines.is_empty()) {
        markdown.push_str("\nNo decisions, action items or questions were recorded.\n");
    }

    let head = format!(
        "mailto:{to}?subject={}&body=",
        utf8_percent_encode(&subject, COMPONENT)
    );
    let mut body = format!("Recap of “{title}”, {}.\n", source.when);
    if sections.iter().all(|(_, lines)| lines.is_empty()) {
        body.push_str("\nNo decisions, action items or questions were recorded.\n");
    }
    let encoded_len = |text: &str| utf8_percent_encode(text, COMPONENT).to_string().len();
    let mut left_out = 0;
    for (heading, lines) in &sections {
        if lines.is_empty() {
            continue;
        }
        let section_head = format!("\n{heading}:\n");
        for (n, line) in lines.iter().enumerate() {
            let addition = if n == 0 {
                format!("{section_head}- {line}\n")
            } else {
                format!("- {line}\n")
            };
            if left_out == 0
                && head.len() + encoded_len(&body) + encoded_len(&addition) <= MAILTO_MAX - 80
            {
                body.push_str(&addition);
            } else {
                left_out += 1;
            }
        }
    }
    if left_out > 0 {
        body.push_str(&format!("\n…and {left_out} more in the meeting's notes.\n"));
    }
    Recap {
        mailto: format!("{head}{}", utf8_percent_encode(&body, COMPONENT)),
        recipients: recipients.len(),
        markdown,
    }
}

/// "Send the deck — Charles Babbage, due Fri 4 Dec"
fn action_line(item: &ItemView) -> String {
    let mut line = item.text.clone();
    let mut fields = vec![item.who()];
    if item.due.is_some() {
        fields.push(format!("due {}", item.due_label()));
    }
    if item.done {
        fields.push("done".into());
    }
    line.push_str(" — ");
    line.push_str(&fields.join(", "));
    line
}

#[derive(Deserialize)]
struct MarkForm {
    sent: Option<String>,
}

/// The user says the recap went out (or takes that back): Today stops listing the meeting as
/// waiting for one.
async fn mark_sent(
    State(state): State<AppState>,
    user: SignedIn,
    Path(id): Path<String>,
    Form(form): Form<MarkForm>,
) -> AppResult<Redirect> {
    let id = params::id(&id)?;
    let sent = match form.sent.as_deref() {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => None,
    };
    // Someone else's meeting is not found, whatever the form says.
    if !set_sent(&state.db, user.id, id, sent).await? {
        return Err(AppError::NotFound);
    }
    if sent.is_none() {
        return Err(AppError::BadRequest(format!(
            "sent must be true or false, not {:?}.",
            form.sent.unwrap_or_default()
        )));
    }
    Ok(Redirect::to(&format!("/meetings/{id}#recap")))
}

/// Marks (or unmarks) the recap of one of the user's meetings (`None` changes nothing); false
/// when it is not theirs.
pub async fn set_sent(
    db: &sqlx::PgPool,
    user_id: Uuid,
    meeting_id: Uuid,
    sent: Option<bool>,
) -> sqlx::Result<bool> {
    let updated = sqlx::query!(
        "update meetings set recap_sent_at = case
             when $3::boolean is null then recap_sent_at
             when $3 then coalesce(recap_sent_at, now()) end
         where id = $2 and user_id = $1",
        user_id,
        meeting_id,
        sent,
    )
    .execute(db)
    .await?;
    Ok(updated.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::ItemKind;
    use chrono::NaiveDate;

    fn attendee(email: &str, name: &str, is_me: bool) -> AttendeeView {
        AttendeeView {
            person_id: Uuid::new_v4(),
            name: name.into(),
            email: email.into(),
            response_status: "accepted".into(),
            is_organizer: false,
            is_me,
            organization: None,
        }
    }

    /// An item as the page's query sends it.
    fn item(kind: ItemKind, text: &str) -> ItemView {
        serde_json::from_value(serde_json::json!({
            "id": Uuid::new_v4(), "kind": kind, "text": text, "done": false, "answer": null,
            "due": null, "hints": [], "assignee_id": null, "assignee_name": null,
            "assignee_is_me": null, "meeting_id": null, "meeting_title": null,
            "meeting_at": null, "note_id": Uuid::new_v4(),
        }))
        .unwrap()
    }

    fn decode(text: &str) -> String {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .unwrap()
            .into_owned()
    }

    #[test]
    fn the_recap_goes_to_the_others_and_lists_what_came_out() {
        let attendees = [
            attendee("me@example.com", "Me", true),
            attendee("charles+work@example.com", "Charles", false),
            attendee("mary@example.org", "Mary", false),
        ];
        let mut action = item(ItemKind::Action, "Send the deck");
        action.assignee_name = Some("Charles Babbage".into());
        action.due = NaiveDate::from_ymd_opt(2026, 12, 4);
        let mut answered = item(ItemKind::Question, "Who owns it?");
        answered.done = true;
        let recap = build(&RecapSource {
            title: "Q4 review & plan #2",
            when: "Mon 30 Nov",
            attendees: &attendees,
            decisions: &[item(ItemKind::Decision, "Ship on Friday")],
            actions: &[action],
            questions: &[item(ItemKind::Question, "Budget?"), answered],
        });
        assert_eq!(recap.recipients, 2);
        let (to, query) = recap
            .mailto
            .strip_prefix("mailto:")
            .unwrap()
            .split_once('?')
            .unwrap();
        assert_eq!(to, "charles+work@example.com,mary@example.org");
        let (subject, body) = query.split_once("&body=").unwrap();
        // The title's `&` and `#` are encoded: the subject does not end early.
        assert_eq!(
            decode(subject.strip_prefix("subject=").unwrap()),
            "Recap: Q4 review & plan #2 (Mon 30 Nov)"
        );
        let body = decode(body);
        assert!(body.contains("Decisions:\n- Ship on Friday\n"), "{body}");
        assert!(
            body.contains("- Send the deck — Charles Babbage, due "),
            "{body}"
        );
        assert!(body.contains("Open questions:\n- Budget?\n"), "{body}");
        assert!(
            !body.contains("Who owns it?"),
            "answered questions are not open"
        );
        assert!(recap.markdown.starts_with("# Recap: Q4 review & plan #2\n"));
        assert!(
            recap
                .markdown
                .contains("## Action items\n\n- Send the deck")
        );
    }

    #[test]
    fn a_long_recap_stays_a_link_mail_clients_open() {
        let actions: Vec<ItemView> = (0..200)
            .map(|n| {
                item(
                    ItemKind::Action,
                    &format!("Follow up on topic number {n} with care"),
                )
            })
            .collect();
        let recap = build(&RecapSource {
            title: "Planning",
            when: "Mon 30 Nov",
            attendees: &[attendee("a@example.com", "A", false)],
            decisions: &[],
            actions: &actions,
            questions: &[],
        });
        assert!(recap.mailto.len() <= MAILTO_MAX, "{}", recap.mailto.len());
        let body = decode(recap.mailto.split_once("&body=").unwrap().1);
        assert!(body.contains("more in the meeting's notes"), "{body}");
        // The Markdown copy has everything.
        assert_eq!(recap.markdown.matches("Follow up on topic").count(), 200);
    }

    #[test]
    fn an_empty_meeting_says_so() {
        let recap = build(&RecapSource {
            title: "",
            when: "Mon 30 Nov",
            attendees: &[],
            decisions: &[],
            actions: &[],
            questions: &[],
        });
        assert_eq!(recap.recipients, 0);
        assert!(
            recap
                .markdown
                .contains("No decisions, action items or questions")
        );
        assert!(decode(&recap.mailto).contains("(no title)"));
    }
}
