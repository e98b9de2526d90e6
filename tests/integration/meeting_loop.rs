//! The loop around a meeting, over HTTP: a series' note template, the ranked agenda of an
//! upcoming meeting, Today's prep and wrap-up, and the recap (its mailto link, the Markdown,
//! the "sent" mark). Each user sees and changes only their own.

use reqwest::StatusCode;
use scraper::Selector;
use uuid::Uuid;

use crate::common::{World, html, location, save_meeting_note, synced, texts, world_with};

const ADA: &str = "ada@northwind.example";
const ALAN: &str = "alan@bletchley.example";

/// The ids of Ada's meetings called `title`, in time order, split into past and upcoming.
async fn occurrences(world: &World, title: &str) -> (Vec<Uuid>, Vec<Uuid>) {
    let rows: Vec<(Uuid, bool)> = sqlx::query_as(
        "select m.id, m.ends_at < now() from meetings m join users u on u.id = m.user_id
         where u.email = $1 and m.title = $2 and m.status <> 'cancelled' order by m.starts_at",
    )
    .bind(ADA)
    .bind(title)
    .fetch_all(&world.app.db)
    .await
    .unwrap();
    let past = rows.iter().filter(|r| r.1).map(|r| r.0).collect();
    let upcoming = rows.iter().filter(|r| !r.1).map(|r| r.0).collect();
    (past, upcoming)
}

fn textarea(doc: &scraper::Html, id: &str) -> String {
    doc.select(&Selector::parse(&format!("textarea#{id}")).unwrap())
        .next()
        .map(|t| t.text().collect())
        .unwrap_or_default()
}

fn attr(doc: &scraper::Html, selector: &str, name: &str) -> Option<String> {
    doc.select(&Selector::parse(selector).unwrap())
        .next()
        .and_then(|e| e.attr(name))
        .map(str::to_owned)
}

#[tokio::test]
async fn a_new_occurrence_starts_its_note_from_the_series_template() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let (past, upcoming) = occurrences(&world, "Ada / Charles 1:1").await;
    let (first, next) = (past[0], upcoming[0]);

    let template = "## Agenda\n- Wins\n- Blockers\n- Career";
    let saved = ada
        .post_form(
            &format!("/meetings/{first}/template"),
            &[("body", &template.replace('\n', "\r\n"))],
        )
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), format!("/meetings/{first}#template"));

    // Another occurrence without notes: its editor holds the template, and says so.
    let page = ada.get_html(&format!("/meetings/{next}")).await;
    assert_eq!(textarea(&page, "body"), template);
    assert!(
        texts(&page, ".notice")
            .iter()
            .any(|t| t.contains("template"))
    );
    assert_eq!(textarea(&page, "template-body"), template);
    // Nothing is saved until the user saves.
    let notes: i64 = sqlx::query_scalar("select count(*) from notes where meeting_id = $1")
        .bind(next)
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(notes, 0);

    // A meeting with a note keeps its note.
    save_meeting_note(&ada, past[1], "We talked about the roadmap").await;
    let page = ada.get_html(&format!("/meetings/{}", past[1])).await;
    assert_eq!(textarea(&page, "body"), "We talked about the roadmap");
    assert!(texts(&page, ".notice").is_empty());

    // An empty template removes it.
    ada.post_form(&format!("/meetings/{first}/template"), &[("body", "")])
        .await;
    let page = ada.get_html(&format!("/meetings/{next}")).await;
    assert_eq!(textarea(&page, "body"), "");

    // A one-off meeting has no series to template; someone else's meeting is not found.
    let one_off = occurrences(&world, "Q1 planning review").await;
    let one_off = one_off.0.iter().chain(&one_off.1).next().copied().unwrap();
    let refused = ada
        .post_form(&format!("/meetings/{one_off}/template"), &[("body", "x")])
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("not part of a series")
    );
    let alan = synced(&world, ALAN).await;
    let foreign = alan
        .post_form(
            &format!("/meetings/{first}/template"),
            &[("body", "mine now")],
        )
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let too_long = ada
        .post_form(
            &format!("/meetings/{first}/template"),
            &[("body", &"x".repeat(20_001))],
        )
        .await;
    assert_eq!(too_long.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_upcoming_meeting_lists_its_series_items_first_as_its_agenda() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let (past, upcoming) = occurrences(&world, "Ada / Charles 1:1").await;
    // Charles owes something from another meeting; the series has its own open item.
    let (standups, _) = occurrences(&world, "Engineering stand-up").await;
    save_meeting_note(
        &ada,
        *standups.last().unwrap(),
        "- [ ] @charles fix the build",
    )
    .await;
    save_meeting_note(
        &ada,
        *past.last().unwrap(),
        "- [ ] @ada draft the hiring plan\nDecision: hire two engineers",
    )
    .await;

    let page = ada.get_html(&format!("/meetings/{}", upcoming[0])).await;
    let agenda = texts(&page, "#agenda .item-text");
    assert_eq!(agenda.len(), 3, "{agenda:?}");
    // This series first (open items before its decisions), then what the attendees owe.
    assert!(agenda[0].contains("draft the hiring plan"), "{agenda:?}");
    assert!(agenda[1].contains("hire two engineers"), "{agenda:?}");
    assert!(agenda[2].contains("fix the build"), "{agenda:?}");

    // A past meeting keeps "Carried forward" at the bottom and has no agenda.
    let page = ada
        .get_html(&format!("/meetings/{}", past[past.len() - 1]))
        .await;
    assert!(texts(&page, "#agenda").is_empty());
}

#[tokio::test]
async fn the_recap_is_addressed_to_the_attendees_and_lists_what_came_out() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let (past, upcoming) = occurrences(&world, "Engineering stand-up").await;
    let meeting = *past.last().unwrap();
    save_meeting_note(
        &ada,
        meeting,
        "- [ ] @charles send the deck due:2026-12-04\nDecision: ship on Friday\n?? who owns the migration",
    )
    .await;

    let page = ada.get_html(&format!("/meetings/{meeting}")).await;
    let mailto = attr(&page, "a[data-recap-mailto]", "href").expect("a recap link");
    let (to, query) = mailto
        .strip_prefix("mailto:")
        .unwrap()
        .split_once('?')
        .unwrap();
    let mut to: Vec<&str> = to.split(',').collect();
    to.sort();
    // The attendees but not Ada herself, and never the room.
    assert_eq!(
        to,
        [
            "charles@northwind.example",
            "hedy@northwind.example",
            "katherine@northwind.example",
            "mary@northwind.example"
        ]
    );
    let decoded = percent_encoding::percent_decode_str(query)
        .decode_utf8()
        .unwrap()
        .into_owned();
    assert!(
        decoded.starts_with("subject=Recap: Engineering stand-up ("),
        "{decoded}"
    );
    assert!(decoded.contains("- ship on Friday"), "{decoded}");
    assert!(
        decoded.contains("send the deck — Charles Babbage, due "),
        "{decoded}"
    );
    assert!(
        decoded.contains("Open questions:\n- who owns the migration"),
        "{decoded}"
    );
    let markdown = textarea(&page, "recap-markdown");
    assert!(
        markdown.starts_with("# Recap: Engineering stand-up"),
        "{markdown}"
    );
    assert!(
        markdown.contains("## Decisions\n\n- ship on Friday"),
        "{markdown}"
    );

    // Until it is marked sent, Today lists the meeting as waiting for its recap.
    let today = ada.get_html("/").await;
    let waiting = texts(&today, ".wrap-up li");
    assert!(
        waiting
            .iter()
            .any(|w| w.contains("Engineering stand-up") && w.contains("Recap not sent")),
        "{waiting:?}"
    );
    let marked = ada
        .post_form(&format!("/meetings/{meeting}/recap"), &[("sent", "true")])
        .await;
    assert_eq!(marked.status(), StatusCode::SEE_OTHER);
    let page = ada.get_html(&format!("/meetings/{meeting}")).await;
    assert!(
        texts(&page, "[data-recap-status]")
            .iter()
            .any(|t| t.starts_with("Recap sent"))
    );
    let today = ada.get_html("/").await;
    let links: Vec<String> = today
        .select(&Selector::parse(".wrap-up li a").unwrap())
        .filter_map(|a| a.attr("href").map(str::to_owned))
        .collect();
    assert!(
        !links.contains(&format!("/meetings/{meeting}#recap")),
        "{links:?}"
    );

    // Bad input and other people's meetings.
    let bad = ada
        .post_form(&format!("/meetings/{meeting}/recap"), &[("sent", "maybe")])
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let alan = synced(&world, ALAN).await;
    let foreign = alan
        .post_form(&format!("/meetings/{meeting}/recap"), &[("sent", "false")])
        .await;
    assert_eq!(foreign.status(), StatusCode::NOT_FOUND);
    let still: bool =
        sqlx::query_scalar("select recap_sent_at is not null from meetings where id = $1")
            .bind(meeting)
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert!(still, "another user could not unmark it");

    // An upcoming meeting offers no recap yet.
    let page = ada.get_html(&format!("/meetings/{}", upcoming[1])).await;
    assert!(attr(&page, "a[data-recap-mailto]", "href").is_none());
}

#[tokio::test]
async fn today_prepares_the_next_meeting_and_counts_what_waits_for_a_wrap_up() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    // Charles owes an item: every upcoming meeting with Charles has it on its agenda.
    let (standups, _) = occurrences(&world, "Engineering stand-up").await;
    save_meeting_note(&ada, standups[0], "- [ ] @charles fix the build").await;

    let today = html(&ada.get("/").await.text().await.unwrap());
    let next: Uuid = sqlx::query_scalar(
        "select m.id from meetings m join users u on u.id = m.user_id
         where u.email = $1 and m.is_meeting and not m.all_day and m.status <> 'cancelled'
           and m.ends_at > now() order by m.starts_at, m.id limit 1",
    )
    .bind(ADA)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let prep_link = attr(&today, ".prep h2 a", "href").expect("a prep panel");
    assert_eq!(prep_link, format!("/meetings/{next}"));
    let with_charles: bool = sqlx::query_scalar(
        "select exists (select 1 from attendees a join people p on p.id = a.person_id
                        where a.meeting_id = $1 and p.email = 'charles@northwind.example')",
    )
    .bind(next)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let prep_items = texts(&today, ".prep .item-text");
    assert_eq!(
        prep_items.iter().any(|t| t.contains("fix the build")),
        with_charles,
        "{prep_items:?}"
    );

    // The last week's meetings with others wait for notes or a recap: five shown, the rest
    // counted.
    let waiting: i64 = sqlx::query_scalar(
        "select count(*) from meetings m join users u on u.id = m.user_id
         where u.email = $1 and m.is_meeting and not m.all_day and m.status <> 'cancelled'
           and m.ends_at <= now() and m.starts_at >= now() - interval '7 days'
           and m.attendee_names <> ''",
    )
    .bind(ADA)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert!(
        waiting > 5,
        "the demo week has more than five meetings: {waiting}"
    );
    assert_eq!(texts(&today, ".wrap-up li").len(), 5);
    let more = texts(&today, "aside p a")
        .into_iter()
        .find(|t| t.contains("more from the last week"))
        .expect("an N more link");
    assert!(
        more.starts_with(&format!("{} more", waiting - 5)),
        "{more} for {waiting} waiting"
    );
}
