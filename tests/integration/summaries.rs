//! Pages that summarise (issue 13 part 5): people completion for `@` and the assignee picker,
//! an assignee picked by name, Today's follow-up counted beyond what it lists, and a series
//! collapsed into one line on a person page.

use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{Browser, World, html, synced, texts, world_with};

const ADA: &str = "ada@northwind.example";
const ALAN: &str = "alan@bletchley.example";

#[derive(serde::Deserialize)]
struct Suggestion {
    id: Uuid,
    name: String,
    email: String,
}

async fn suggest(browser: &Browser, q: &str) -> Vec<Suggestion> {
    // The URL parser percent-encodes what a query string cannot hold (spaces).
    let response = browser.get(&format!("/people/suggest?q={q}")).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn user_id(world: &World, email: &str) -> Uuid {
    sqlx::query_scalar("select id from users where email = $1")
        .bind(email)
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn completion_offers_your_own_people_a_few_at_a_time() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let _alan = synced(&world, ALAN).await;
    let found = suggest(&ada, "char").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].name, "Charles Babbage");
    assert_eq!(found[0].email, "charles@northwind.example");
    // A letter most names have: ten at most, and every one Ada's.
    let many = suggest(&ada, "e").await;
    assert!(!many.is_empty() && many.len() <= 10, "{}", many.len());
    let ids: Vec<Uuid> = many.iter().map(|s| s.id).collect();
    let hers: i64 = sqlx::query_scalar(
        "select count(*) from people where id = any($1) and user_id = $2 and not is_me",
    )
    .bind(&ids)
    .bind(user_id(&world, ADA).await)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert_eq!(
        hers,
        many.len() as i64,
        "only Ada's own people, never herself"
    );
    // SQL metacharacters are text.
    assert!(suggest(&ada, "' or 1=1--").await.is_empty());
}

async fn item_for(world: &World, ada: &Browser, line: &str) -> Uuid {
    let meeting = crate::common::meeting_id(world, ADA, "Q1 planning review").await;
    crate::common::save_meeting_note(ada, meeting, line).await;
    sqlx::query_scalar("select id from items where meeting_id = $1")
        .bind(meeting)
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

async fn assignee_of(world: &World, item: Uuid) -> Option<String> {
    sqlx::query_scalar(
        "select p.name from items i left join people p on p.id = i.assignee_id where i.id = $1",
    )
    .bind(item)
    .fetch_one(&world.app.db)
    .await
    .unwrap()
}

#[tokio::test]
async fn an_assignee_is_picked_by_name_or_given_by_address() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let item = item_for(&world, &ada, "- [ ] send the budget deck").await;
    let edit = |who: &'static str| {
        let ada = &ada;
        async move {
            ada.post_form(
                &format!("/items/{item}"),
                &[("assignee", who), ("back", "/action-items")],
            )
            .await
        }
    };
    let picked = edit("katherine johnson").await;
    assert_eq!(picked.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        assignee_of(&world, item).await.as_deref(),
        Some("Katherine Johnson")
    );
    let by_address = edit("charles@northwind.example").await;
    assert_eq!(by_address.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        assignee_of(&world, item).await.as_deref(),
        Some("Charles Babbage")
    );
    // Nobody by that name: a clear message, and nothing changed.
    let unknown = edit("Zoe Nobody").await;
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    let page = html(&unknown.text().await.unwrap());
    assert!(
        texts(&page, "main")
            .concat()
            .contains("Nobody called \"Zoe Nobody\""),
        "{:?}",
        texts(&page, "main")
    );
    assert_eq!(
        assignee_of(&world, item).await.as_deref(),
        Some("Charles Babbage")
    );
    // The picker's field on the action-items page offers people, not a typed address.
    let doc = ada.get_html("/action-items").await;
    let field = doc
        .select(&scraper::Selector::parse("input[name=assignee]").unwrap())
        .next()
        .expect("the assignee field");
    assert_eq!(field.attr("list"), Some("people-choices"));
    assert_eq!(field.attr("type"), Some("text"));
}

#[tokio::test]
async fn today_counts_the_follow_up_it_does_not_list() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let today = chrono::Utc::now().date_naive();
    let lines: String = (1..=40)
        .map(|n| format!("- [ ] follow-up number {n} due:{today}\n"))
        .collect();
    let meeting = crate::common::meeting_id(&world, ADA, "Q1 planning review").await;
    crate::common::save_meeting_note(&ada, meeting, &lines).await;
    let due: i64 = sqlx::query_scalar(
        "select count(*) from items where user_id = $1 and kind = 'action' and not done
           and not removed and due <= $2",
    )
    .bind(user_id(&world, ADA).await)
    .bind(today + chrono::Duration::days(7))
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let doc = ada.get_html("/").await;
    let listed = texts(&doc, "aside .items .item-text").len() as i64;
    assert_eq!(listed, 30);
    let more = texts(&doc, "aside p a");
    let expected = format!(
        "{} more due within a week: all action items →",
        due - listed
    );
    assert!(more.contains(&expected), "{more:?}, expected {expected:?}");
}

#[tokio::test]
async fn a_person_page_shows_a_series_as_one_line_with_its_count() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let charles: Uuid =
        sqlx::query_scalar("select id from people where email = 'charles@northwind.example'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let doc = ada.get_html(&format!("/people/{charles}")).await;
    let upcoming = texts(&doc, ".series-list > li");
    let standups: Vec<&String> = upcoming
        .iter()
        .filter(|l| l.contains("Engineering stand-up"))
        .collect();
    assert_eq!(standups.len(), 1, "{upcoming:?}");
    assert!(standups[0].contains("recurring, next of"), "{standups:?}");
    // The picture's text alternative lists who Charles meets, each a link.
    let listed = texts(&doc, ".picture-list a");
    assert!(listed.iter().any(|l| l.starts_with("You: ")), "{listed:?}");
    assert!(listed.len() >= 2, "{listed:?}");
}
