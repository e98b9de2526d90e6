//! The JSON API as a program uses it: a token made in Settings, sent as `Authorization: Bearer`
//! from a client without cookies, over real HTTP against data synced from the fake provider.

use std::collections::{BTreeSet, HashSet};

use reqwest::{Client, Method, StatusCode, header};
use scraper::Selector;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{
    common::{Browser, World, location, meeting_id, save_meeting_note, synced, texts, world_with},
    security,
};

const ADA: &str = "ada@northwind.example";
const ALAN: &str = "alan@bletchley.example";

/// Makes a token in Settings and reads its secret off the page, as a person does.
async fn make_token(browser: &Browser, name: &str, scope: &str) -> String {
    let response = browser
        .post_form("/settings/api-tokens", &[("name", name), ("scope", scope)])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings#api-tokens");
    let doc = browser.get_html("/settings").await;
    doc.select(&Selector::parse("input#new-api-token").unwrap())
        .next()
        .expect("the new token is shown")
        .attr("value")
        .unwrap()
        .to_owned()
}

/// A program using the API: no cookie jar, only the token.
struct Api {
    client: Client,
    base: String,
    token: String,
}

impl Api {
    fn new(world: &World, token: &str) -> Api {
        Api {
            client: Client::new(),
            base: world.app.base.clone(),
            token: token.to_owned(),
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.request(Method::GET, path).send().await.unwrap()
    }

    /// GET that must succeed, as JSON.
    async fn json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    async fn send(&self, method: Method, path: &str, body: &Value) -> reqwest::Response {
        self.request(method, path).json(body).send().await.unwrap()
    }

    async fn put_note(&self, meeting: Uuid, body: &str, base_version: i32) -> reqwest::Response {
        let note = json!({"body": body, "base_version": base_version});
        let path = format!("/api/v1/meetings/{meeting}/note");
        self.send(Method::PUT, &path, &note).await
    }
}

/// The problem detail of `response`, checked to be one with `status`.
async fn problem(response: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{:?}", response.url().path());
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "application/problem+json",
        "{}",
        response.url()
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16(), "{body}");
    for member in ["type", "title", "detail"] {
        assert!(body[member].is_string(), "{member} in {body}");
    }
    body
}

/// Every page of a list, following `next_cursor` until it is null.
async fn walk(api: &Api, path: &str) -> (Vec<Value>, usize) {
    let (mut all, mut pages) = (Vec::new(), 0);
    let separator = if path.contains('?') { '&' } else { '?' };
    let mut url = path.to_owned();
    loop {
        let page = api.json(&url).await;
        pages += 1;
        all.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => url = format!("{path}{separator}cursor={cursor}"),
            None => {
                assert!(page["next_cursor"].is_null());
                return (all, pages);
            }
        }
    }
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn note_of(world: &World, meeting: Uuid) -> (String, i32) {
    sqlx::query_as("select body, version from notes where meeting_id = $1")
        .bind(meeting)
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

async fn item_id(world: &World, starts: &str) -> Uuid {
    sqlx::query_scalar("select id from items where text like $1 || '%' and not removed")
        .bind(starts)
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_token_is_shown_once_kept_hashed_noted_when_used_and_revoked_in_settings() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let doc = ada.get_html("/settings").await;
    assert_eq!(texts(&doc, "#api-tokens-empty"), ["No tokens yet."]);

    let secret = make_token(&ada, "Weekly report script", "read").await;
    let random = secret.strip_prefix("dkt_").expect("dkt_ prefix");
    assert_eq!(random.len(), 43, "256 bits in base64url");
    assert!(
        random
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    // Only the hash is stored, nowhere the secret.
    let (hash, row): (Vec<u8>, String) =
        sqlx::query_as("select token_hash, row_to_json(t)::text from api_tokens t")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(hash.len(), 32);
    assert!(!row.contains(random) && !String::from_utf8_lossy(&hash).contains(random));

    // Shown once: the next view lists the token, not its secret.
    let doc = ada.get_html("/settings").await;
    assert!(
        doc.select(&Selector::parse("input#new-api-token").unwrap())
            .next()
            .is_none()
    );
    assert!(!doc.html().contains(random));
    let cells = texts(&doc, "#api-token-list tbody td");
    assert_eq!(cells[0], "Weekly report script");
    assert_eq!(cells[1], "Read only");
    assert_eq!(cells[3], "never");

    // Used: the time is recorded, then left alone for a minute (a read does not always write).
    let api = Api::new(&world, &secret);
    api.json("/api/v1/people").await;
    let used = || async {
        sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>(
            "select last_used_at from api_tokens",
        )
        .fetch_one(&world.app.db)
        .await
        .unwrap()
    };
    let first = used().await.expect("last use recorded");
    api.json("/api/v1/people").await;
    assert_eq!(used().await, Some(first), "not rewritten within a minute");
    sqlx::query("update api_tokens set last_used_at = last_used_at - interval '2 minutes'")
        .execute(&world.app.db)
        .await
        .unwrap();
    api.json("/api/v1/people").await;
    assert!(
        used().await.unwrap() >= first,
        "recorded again after a minute"
    );
    let doc = ada.get_html("/settings").await;
    assert_eq!(texts(&doc, "#api-token-list tbody td")[3], "just now");

    // Revoked: 401 from the next request on.
    let id: Uuid = sqlx::query_scalar("select id from api_tokens")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    let response = ada
        .post_form(&format!("/settings/api-tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let refused = api.get("/api/v1/people").await;
    assert_eq!(refused.headers()[header::WWW_AUTHENTICATE], "Bearer");
    problem(refused, StatusCode::UNAUTHORIZED).await;
    let doc = ada.get_html("/settings").await;
    assert_eq!(texts(&doc, "#api-tokens-empty"), ["No tokens yet."]);

    // Bad names and scopes are refused with a message; nothing is made.
    for (name, scope) in [("", "read"), (" ", "read"), ("ok", "admin"), ("ok", "")] {
        let response = ada
            .post_form("/settings/api-tokens", &[("name", name), ("scope", scope)])
            .await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "{name:?} {scope:?}"
        );
    }
    let long = "x".repeat(101);
    let response = ada
        .post_form(
            "/settings/api-tokens",
            &[("name", &long), ("scope", "read")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let count: i64 = sqlx::query_scalar("select count(*) from api_tokens")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn without_a_valid_token_every_request_is_a_401_problem_and_cookies_open_nothing() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let secret = make_token(&ada, "script", "read_write").await;
    let unknown = format!("dkt_{}", "A".repeat(43));
    let url = world.app.url("/api/v1/meetings");
    let client = Client::new();
    let attempts = [
        client.get(&url),
        client.get(&url).header(header::AUTHORIZATION, "Bearer"),
        client.get(&url).header(header::AUTHORIZATION, "Bearer "),
        client.get(&url).bearer_auth("dkt_short"),
        client.get(&url).bearer_auth(&unknown),
        client
            .get(&url)
            .bearer_auth(secret.trim_start_matches("dkt_")),
        client.get(&url).bearer_auth(format!("{secret}x")),
        client.get(&url).basic_auth("dkt", Some(&secret)),
        client
            .get(&url)
            .header(header::AUTHORIZATION, format!("Token {secret}")),
        // A signed-in browser: its session cookie is not a credential here.
        ada.client.get(&url),
        ada.client
            .get(&url)
            .header("x-csrf-token", ada.csrf_token().await),
    ];
    for (i, request) in attempts.into_iter().enumerate() {
        let response = request.send().await.unwrap();
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer",
            "attempt {i}"
        );
        let body = problem(response, StatusCode::UNAUTHORIZED).await;
        assert!(
            !body["detail"].as_str().unwrap().contains("revoked"),
            "nothing about why"
        );
    }
    // Every API route but the document, read from the source: no token, no entry.
    for (method, path) in security::routes()
        .into_iter()
        .filter(|(_, p)| security::api(p) && p != "/api/v1/openapi.json")
    {
        let path = path.replace("{id}", &Uuid::new_v4().to_string());
        let method: Method = method.parse().unwrap();
        let response = client
            .request(method.clone(), world.app.url(&path))
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer",
            "{method} {path}"
        );
        problem(response, StatusCode::UNAUTHORIZED).await;
    }
    // A write with the browser's session and CSRF token is refused too, and changes nothing.
    let meeting = meeting_id(&world, ADA, "Globex renewal").await;
    let response = ada
        .client
        .put(world.app.url(&format!("/api/v1/meetings/{meeting}/note")))
        .header("x-csrf-token", ada.csrf_token().await)
        .json(&json!({"body": "from a cookie", "base_version": 0}))
        .send()
        .await
        .unwrap();
    problem(response, StatusCode::UNAUTHORIZED).await;
    let notes: i64 = sqlx::query_scalar("select count(*) from notes where body = 'from a cookie'")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(notes, 0);

    // The API never starts a session; a valid token from a cross-site context needs no CSRF.
    let api = Api::new(&world, &secret);
    let response = api
        .request(Method::PUT, &format!("/api/v1/meetings/{meeting}/note"))
        .header(header::ORIGIN, "https://elsewhere.example")
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"body": "- [ ] @hank send terms", "base_version": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn a_read_only_token_reads_and_is_refused_every_write() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let meeting = meeting_id(&world, ADA, "Globex renewal").await;
    save_meeting_note(&ada, meeting, "- [ ] @hank send terms\n").await;
    let item = item_id(&world, "@hank send terms").await;
    let api = Api::new(&world, &make_token(&ada, "reader", "read").await);

    let note = api.json(&format!("/api/v1/meetings/{meeting}/note")).await;
    assert_eq!(note["version"], 1);
    let writes = [
        (
            Method::PUT,
            format!("/api/v1/meetings/{meeting}/note"),
            json!({"body": "overwritten", "base_version": 1}),
        ),
        (
            Method::PATCH,
            format!("/api/v1/action-items/{item}"),
            json!({"done": true, "due": "2030-01-01"}),
        ),
        // Refused before the body is read: a malformed body makes no difference.
        (
            Method::PATCH,
            format!("/api/v1/action-items/{item}"),
            json!("not an object"),
        ),
    ];
    for (method, path, body) in writes {
        let response = api.send(method.clone(), &path, &body).await;
        let body = problem(response, StatusCode::FORBIDDEN).await;
        assert_eq!(
            body["type"], "urn:docket:problem:read-only-token",
            "{method} {path}"
        );
    }
    assert_eq!(
        note_of(&world, meeting).await,
        ("- [ ] @hank send terms\n".to_owned(), 1)
    );
    let (done, due): (bool, Option<chrono::NaiveDate>) =
        sqlx::query_as("select done, due from items where id = $1")
            .bind(item)
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert!(!done && due.is_none());
}

#[tokio::test]
async fn every_endpoint_answers_with_the_users_own_data() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let api = Api::new(&world, &make_token(&ada, "everything", "read_write").await);
    let meeting = meeting_id(&world, ADA, "Globex renewal").await;

    // Meetings: upcoming and past, one with its attendees, filtered by person.
    let upcoming = api.json("/api/v1/meetings?limit=100").await;
    let past = api.json("/api/v1/meetings?when=past&limit=100").await;
    let titles = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!titles(&upcoming).is_empty() && !titles(&past).is_empty());
    let all: Vec<String> = [titles(&upcoming), titles(&past)].concat();
    assert!(all.iter().any(|t| t == "Globex renewal"), "{all:?}");
    let starts = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["starts_at"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut newest_first = starts(&past);
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(starts(&past), newest_first, "past meetings newest first");
    let detail = api.json(&format!("/api/v1/meetings/{meeting}")).await;
    assert_eq!(detail["title"], "Globex renewal");
    assert_eq!(detail["note_version"], 0);
    let attendees: Vec<&str> = detail["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap())
        .collect();
    assert!(attendees.contains(&"hank@globex.example"), "{attendees:?}");
    let hank = detail["attendees"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["email"] == "hank@globex.example")
        .unwrap()["person_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let with_hank = api
        .json(&format!("/api/v1/meetings?when=past&person={hank}"))
        .await;
    let with_hank_upcoming = api.json(&format!("/api/v1/meetings?person={hank}")).await;
    let hank_titles = [titles(&with_hank), titles(&with_hank_upcoming)].concat();
    assert!(hank_titles.contains(&"Globex renewal".to_owned()));
    assert!(!hank_titles.contains(&"Ada / Charles 1:1".to_owned()));

    // The note: empty at version 0, then saved, with its items derived.
    let note = api.json(&format!("/api/v1/meetings/{meeting}/note")).await;
    assert_eq!(
        note,
        json!({"meeting_id": meeting, "body": "", "version": 0, "updated_at": null})
    );
    let body = "Terms\n- [ ] @hank send the terms due:2030-05-01\nDecision: renew for two years\n";
    let response = api.put_note(meeting, body, 0).await;
    assert_eq!(response.status(), StatusCode::OK);
    let saved: Value = response.json().await.unwrap();
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["body"], body);
    assert!(saved["updated_at"].is_string());
    let detail = api.json(&format!("/api/v1/meetings/{meeting}")).await;
    assert_eq!(detail["note_version"], 1);
    let kinds: Vec<&str> = detail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["action", "decision"]);

    // Action items: the new one, with its assignee and date; filters as on the page.
    let items = api.json("/api/v1/action-items").await;
    let item = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["text"] == "@hank send the terms")
        .expect("the new item is listed")
        .clone();
    assert_eq!(item["due"], "2030-05-01");
    assert_eq!(item["assignee_id"], hank.as_str());
    assert_eq!(item["assignee_name"], "Hank Scorpio");
    assert_eq!(item["assignee_is_me"], false);
    assert_eq!(item["meeting_id"], meeting.to_string());
    let others = api.json("/api/v1/action-items?filter=others").await;
    assert!(
        ids(others["items"].as_array().unwrap()).contains(&item["id"].as_str().unwrap().to_owned())
    );
    let mine = api.json("/api/v1/action-items?filter=mine").await;
    assert!(
        !ids(mine["items"].as_array().unwrap()).contains(&item["id"].as_str().unwrap().to_owned())
    );
    let hanks = api
        .json(&format!("/api/v1/action-items?assignee={hank}"))
        .await;
    assert!(
        hanks["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["assignee_id"] == hank.as_str())
    );

    // People and organizations.
    let people = api.json("/api/v1/people?q=SCORPIO").await;
    assert_eq!(people["items"][0]["email"], "hank@globex.example");
    assert_eq!(people["items"][0]["organization"], "Globex");
    let everyone = api.json("/api/v1/people?limit=100").await;
    let emails: Vec<&str> = everyone["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["email"].as_str().unwrap())
        .collect();
    assert!(!emails.contains(&ADA), "the user is not among their people");
    let organizations = api.json("/api/v1/organizations").await;
    assert!(
        organizations["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["domain"] == "globex.example")
    );

    // Decisions and search.
    let decisions = api.json("/api/v1/decisions").await;
    assert_eq!(decisions["items"][0]["text"], "renew for two years");
    assert_eq!(decisions["items"][0]["meeting_id"], meeting.to_string());
    let found = api.json("/api/v1/search?q=terms").await;
    let kinds: BTreeSet<&str> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    // The meeting is found through its note's words, as the meeting.
    assert!(
        kinds.contains("action") && kinds.contains("meeting"),
        "{found}"
    );
    assert!(
        found["counts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "action" && c["count"] == 1),
        "{found}"
    );
    let hit = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "action")
        .unwrap();
    assert_eq!(hit["id"], item["id"]);
    assert_eq!(hit["meeting_id"], meeting.to_string());
    assert!(
        hit["snippet"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["marked"] == true && p["text"] == "terms"),
        "{hit}"
    );
    assert_eq!(api.json("/api/v1/search?q=").await["items"], json!([]));
}

#[tokio::test]
async fn cursors_walk_every_page_once_in_order() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let api = Api::new(&world, &make_token(&ada, "walker", "read").await);
    let meeting = meeting_id(&world, ADA, "Q1 planning review").await;
    let mut note = String::new();
    for (i, due) in [
        "2030-01-03",
        "",
        "2030-01-01",
        "2030-01-03",
        "",
        "2030-01-02",
        "2030-01-05",
    ]
    .iter()
    .enumerate()
    {
        let due = if due.is_empty() {
            String::new()
        } else {
            format!(" due:{due}")
        };
        note.push_str(&format!(
            "- [ ] task number {i}{due}\nDecision: choice number {i}\n"
        ));
    }
    save_meeting_note(&ada, meeting, &note).await;

    for (path, size) in [
        ("/api/v1/meetings?when=past", 7),
        ("/api/v1/meetings", 5),
        ("/api/v1/people", 3),
        ("/api/v1/organizations", 1),
        ("/api/v1/action-items", 2),
        ("/api/v1/decisions", 3),
    ] {
        let separator = if path.contains('?') { '&' } else { '?' };
        let whole = api.json(&format!("{path}{separator}limit=100")).await;
        assert!(whole["next_cursor"].is_null(), "{path}: one page holds all");
        let expected = ids(whole["items"].as_array().unwrap());
        let (rows, pages) = walk(&api, &format!("{path}{separator}limit={size}")).await;
        let walked = ids(&rows);
        assert_eq!(walked, expected, "{path}: the same rows in the same order");
        let unique: HashSet<&String> = walked.iter().collect();
        assert_eq!(unique.len(), walked.len(), "{path}: no duplicates");
        assert_eq!(pages, expected.len().div_ceil(size).max(1), "{path}");
        assert!(expected.len() > size, "{path}: more than one page to walk");
    }
    // Soonest due first, undated last, as the page orders them.
    let (items, _) = walk(&api, "/api/v1/action-items?limit=2").await;
    let dues: Vec<Value> = items.iter().map(|i| i["due"].clone()).collect();
    assert_eq!(
        dues,
        [
            json!("2030-01-01"),
            json!("2030-01-02"),
            json!("2030-01-03"),
            json!("2030-01-03"),
            json!("2030-01-05"),
            Value::Null,
            Value::Null
        ]
    );
}

#[tokio::test]
async fn a_stale_note_save_is_a_409_with_both_versions_and_changes_nothing() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let api = Api::new(&world, &make_token(&ada, "editor", "read_write").await);
    let meeting = meeting_id(&world, ADA, "Globex renewal").await;
    let first = api.put_note(meeting, "first", 0).await;
    assert_eq!(first.status(), StatusCode::OK);
    // Another tab saves on top of version 1 through the meeting page.
    let response = ada
        .post_form(
            &format!("/meetings/{meeting}/notes"),
            &[("body", "from the page"), ("base_version", "1")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    let stale = api.put_note(meeting, "mine", 1).await;
    let body = problem(stale, StatusCode::CONFLICT).await;
    assert_eq!(body["type"], "urn:docket:problem:version-conflict");
    assert_eq!(body["your_version"], json!({"body": "mine", "version": 1}));
    assert_eq!(
        body["current"],
        json!({"body": "from the page", "version": 2})
    );
    assert_eq!(
        note_of(&world, meeting).await,
        ("from the page".to_owned(), 2)
    );

    // A version the note never had, on a meeting whose note was never saved: a conflict too.
    let other = meeting_id(&world, ADA, "Q1 planning review").await;
    let response = api.put_note(other, "x", 4).await;
    let body = problem(response, StatusCode::CONFLICT).await;
    assert_eq!(body["current"], json!({"body": "", "version": 0}));

    // Merged and saved on the current version.
    let merged = api.put_note(meeting, "from the page\nmine", 2).await;
    assert_eq!(merged.status(), StatusCode::OK);
    assert_eq!(merged.json::<Value>().await.unwrap()["version"], 3);
}

#[tokio::test]
async fn changing_an_action_item_works_as_the_pages_do() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let alan = synced(&world, ALAN).await;
    let api = Api::new(&world, &make_token(&ada, "editor", "read_write").await);
    let meeting = meeting_id(&world, ADA, "Globex renewal").await;
    save_meeting_note(
        &ada,
        meeting,
        "Notes\n- [ ] @hank send terms due:2030-01-01\n- [ ] book the room\n",
    )
    .await;
    let terms = item_id(&world, "@hank send terms").await;
    let path = format!("/api/v1/action-items/{terms}");

    // Done: the note line is rewritten, as ticking it on a page does.
    let response = api.send(Method::PATCH, &path, &json!({"done": true})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let item: Value = response.json().await.unwrap();
    assert_eq!(item["done"], true);
    let (body, version) = note_of(&world, meeting).await;
    assert_eq!(
        body,
        "Notes\n- [x] @hank send terms due:2030-01-01\n- [ ] book the room\n"
    );
    assert_eq!(version, 2);
    // Done again changes nothing: no new version.
    api.send(Method::PATCH, &path, &json!({"done": true})).await;
    assert_eq!(note_of(&world, meeting).await.1, 2);

    // Due and assignee: set on the item, and they win over the note line from then on.
    let frank: Uuid = sqlx::query_scalar(
        "select p.id from people p join users u on u.id = p.user_id
         where u.email = $1 and p.email = 'frank.grimes@globex.example'",
    )
    .bind(ADA)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let response = api
        .send(
            Method::PATCH,
            &path,
            &json!({"due": "2030-02-14", "assignee_id": frank, "done": false}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let item: Value = response.json().await.unwrap();
    assert_eq!(item["due"], "2030-02-14");
    assert_eq!(item["assignee_id"], frank.to_string());
    assert_eq!(item["done"], false);
    assert!(
        note_of(&world, meeting)
            .await
            .0
            .contains("- [ ] @hank send terms")
    );
    // The note saved again (its line unchanged): the hand-set values stay.
    let (body, version) = note_of(&world, meeting).await;
    let resaved = api
        .put_note(meeting, &format!("{body}\nmore"), version)
        .await;
    assert_eq!(resaved.status(), StatusCode::OK);
    let item = api
        .json(&format!("/api/v1/action-items?assignee={frank}"))
        .await;
    assert_eq!(item["items"][0]["id"], terms.to_string());
    assert_eq!(item["items"][0]["due"], "2030-02-14");

    // Null clears; a field left out stays.
    let response = api.send(Method::PATCH, &path, &json!({"due": null})).await;
    let item: Value = response.json().await.unwrap();
    assert_eq!(item["due"], Value::Null);
    assert_eq!(item["assignee_id"], frank.to_string());
    let response = api
        .send(Method::PATCH, &path, &json!({"assignee_id": null}))
        .await;
    assert_eq!(
        response.json::<Value>().await.unwrap()["assignee_id"],
        Value::Null
    );

    // Someone else's person is not one of Ada's: not found, and nothing changes.
    let alans_person: Uuid = sqlx::query_scalar(
        "select p.id from people p join users u on u.id = p.user_id where u.email = $1 limit 1",
    )
    .bind(ALAN)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let response = api
        .send(
            Method::PATCH,
            &path,
            &json!({"assignee_id": alans_person, "due": "2031-01-01"}),
        )
        .await;
    problem(response, StatusCode::NOT_FOUND).await;
    let item = api.json(&format!("/api/v1/meetings/{meeting}")).await;
    assert_eq!(item["items"][0]["due"], Value::Null);
    drop(alan);
}

#[tokio::test]
async fn another_users_ids_are_not_found_and_nothing_changes() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let alan = synced(&world, ALAN).await;
    let meeting = meeting_id(&world, ADA, "Globex renewal").await;
    save_meeting_note(&ada, meeting, "- [ ] @hank send terms\n").await;
    let item = item_id(&world, "@hank send terms").await;
    let person: Uuid =
        sqlx::query_scalar("select id from people where email = 'hank@globex.example'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let alans = Api::new(&world, &make_token(&alan, "alan's", "read_write").await);

    // Every API route with an id, read from the source as the security sweep does.
    let routes: Vec<(String, String)> = security::routes()
        .into_iter()
        .filter(|(_, p)| security::api(p) && p.contains("{id}"))
        .collect();
    assert!(routes.len() >= 4, "{routes:?}");
    for (method, path) in routes {
        let id = if path.starts_with("/api/v1/action-items") {
            item
        } else {
            meeting
        };
        let path = path.replace("{id}", &id.to_string());
        let method: Method = method.parse().unwrap();
        let body =
            json!({"body": "alan was here", "base_version": 1, "done": true, "due": "2030-01-01"});
        let response = alans.send(method.clone(), &path, &body).await;
        problem(response, StatusCode::NOT_FOUND).await;
        // Unknown and malformed ids answer exactly the same.
        for other in [Uuid::new_v4().to_string(), "not-a-uuid".to_owned()] {
            let path = path.replace(&id.to_string(), &other);
            let response = alans.send(method.clone(), &path, &body).await;
            problem(response, StatusCode::NOT_FOUND).await;
        }
    }
    // Ids in query strings: filters naming someone else's person are not found, as on the page,
    // or find nothing.
    problem(
        alans
            .get(&format!("/api/v1/meetings?person={person}"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    for path in [
        format!("/api/v1/decisions?person={person}"),
        format!("/api/v1/action-items?assignee={person}"),
    ] {
        assert_eq!(alans.json(&path).await["items"], json!([]), "{path}");
    }
    assert_eq!(
        note_of(&world, meeting).await,
        ("- [ ] @hank send terms\n".to_owned(), 1)
    );
    let done: bool = sqlx::query_scalar("select done from items where id = $1")
        .bind(item)
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert!(!done);
}

#[tokio::test]
async fn bad_requests_are_problems_never_pages_or_500s() {
    let world = world_with(&[]).await;
    let ada = synced(&world, ADA).await;
    let api = Api::new(&world, &make_token(&ada, "fuzzer", "read_write").await);
    let meeting = meeting_id(&world, ADA, "Globex renewal").await;
    let note = format!("/api/v1/meetings/{meeting}/note");

    // Bodies: not JSON, the wrong shape, no JSON content type, too large, unstorable text.
    let raw = |body: &'static str, content_type: Option<&'static str>| {
        let mut request = api.request(Method::PUT, &note).body(body);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        request
    };
    let cases = [
        (
            raw("{\"body\": ", Some("application/json")),
            StatusCode::BAD_REQUEST,
        ),
        (
            raw(
                "{\"body\": 1, \"base_version\": 0}",
                Some("application/json"),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw("{\"base_version\": 0}", Some("application/json")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(
                "{\"body\": \"x\", \"base_version\": \"0\"}",
                Some("application/json"),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw(
                "{\"body\": \"x\", \"base_version\": -1}",
                Some("application/json"),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            raw("{\"body\": \"x\", \"base_version\": 0}", None),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            raw(
                "body=x&base_version=0",
                Some("application/x-www-form-urlencoded"),
            ),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            raw(
                "{\"body\": \"a\\u0000b\", \"base_version\": 0}",
                Some("application/json"),
            ),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (i, (request, status)) in cases.into_iter().enumerate() {
        let response = request.send().await.unwrap();
        let body = problem(response, status).await;
        assert!(!body["detail"].as_str().unwrap().is_empty(), "case {i}");
    }
    let huge = json!({"body": "x".repeat(2 * 1024 * 1024), "base_version": 0});
    problem(
        api.send(Method::PUT, &note, &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    let response = api
        .send(
            Method::PATCH,
            &format!("/api/v1/action-items/{}", Uuid::new_v4()),
            &json!({"due": "2030-02-30"}),
        )
        .await;
    problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        sqlx::query_scalar::<_, i64>("select count(*) from notes")
            .fetch_one(&world.app.db)
            .await
            .unwrap(),
        0,
        "nothing was saved"
    );

    // Query values: each invalid one is a 400 naming it; unknown parameters are ignored.
    for path in [
        "/api/v1/meetings?when=sometime",
        "/api/v1/meetings?from=2026-02-30",
        "/api/v1/meetings?person=hank",
        "/api/v1/meetings?limit=0",
        "/api/v1/meetings?limit=101",
        "/api/v1/meetings?limit=many",
        "/api/v1/meetings?cursor=not-a-cursor",
        "/api/v1/meetings?cursor=bm90IGEgY3Vyc29y",
        "/api/v1/action-items?filter=everything",
        "/api/v1/action-items?cursor=MjAyNi0wMi0zMH4w",
        "/api/v1/people?cursor=%25%25",
        "/api/v1/organizations?limit=-5",
        "/api/v1/decisions?series=1",
        "/api/v1/search?q=%00",
    ] {
        problem(api.get(path).await, StatusCode::BAD_REQUEST).await;
    }
    let long = "x".repeat(201);
    problem(
        api.get(&format!("/api/v1/search?q={long}")).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    api.json("/api/v1/meetings?sort=whatever&page=9").await;

    // Paths and methods the API does not have.
    problem(api.get("/api/v1/nothing-here").await, StatusCode::NOT_FOUND).await;
    problem(api.get("/api/v2/meetings").await, StatusCode::NOT_FOUND).await;
    let response = api
        .request(Method::DELETE, "/api/v1/meetings")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[header::ALLOW], "GET,HEAD");
    problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    let response = api.send(Method::POST, &note, &json!({})).await;
    problem(response, StatusCode::METHOD_NOT_ALLOWED).await;
    // Pages keep their HTML errors.
    let page = ada.get("/nothing-here").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
    assert!(
        page.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

#[tokio::test]
async fn each_token_is_rate_limited_with_retry_after() {
    let world = world_with(&[("DOCKET_API_RATE_PER_MINUTE", "3")]).await;
    let ada = synced(&world, ADA).await;
    let first = Api::new(&world, &make_token(&ada, "busy", "read").await);
    let second = Api::new(&world, &make_token(&ada, "quiet", "read").await);
    for _ in 0..3 {
        first.json("/api/v1/people").await;
    }
    let limited = first.get("/api/v1/people").await;
    let retry: u64 = limited.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After: {retry}");
    problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
    // Per token: the user's other token is not held back.
    second.json("/api/v1/people").await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let world = world_with(&[]).await;
    // Public: it describes the API, not anyone's data.
    let response = Client::new()
        .get(world.app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: Value = response.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    assert!(doc["components"]["schemas"]["Problem"].is_object());

    // Every route declared in src/ under /api/v1 is described, with its method.
    let declared: Vec<(String, String)> = security::routes()
        .into_iter()
        .filter(|(_, p)| security::api(p) && p != "/api/v1/openapi.json")
        .collect();
    assert_eq!(declared.len(), 10, "{declared:?}");
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 9, "{:?}", paths.keys());
    for (method, path) in declared {
        let operation = &paths
            .get(&path)
            .unwrap_or_else(|| panic!("{path} is not described"))[method.to_lowercase()];
        assert!(operation.is_object(), "{method} {path} is not described");
        let responses = operation["responses"].as_object().unwrap();
        for status in ["200", "400", "401", "429"] {
            let response = &responses[status];
            assert!(response.is_object(), "{method} {path}: no {status}");
        }
        assert_eq!(
            responses["401"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        assert!(responses["429"]["headers"]["Retry-After"].is_object());
        if method != "GET" {
            for status in ["403", "409", "422"] {
                assert!(
                    responses[status].is_object(),
                    "{method} {path}: no {status}"
                );
            }
        }
        if path.contains("{id}") {
            assert!(responses["404"].is_object(), "{method} {path}: no 404");
            let id = operation["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == "id")
                .unwrap();
            assert_eq!(id["schema"]["format"], "uuid");
        }
    }
    // Nullable fields and formats as the responses write them.
    let meeting = &doc["components"]["schemas"]["Meeting"]["properties"];
    assert_eq!(meeting["starts_at"]["format"], "date-time");
    assert_eq!(meeting["start_date"]["type"], json!(["string", "null"]));
    assert_eq!(meeting["start_date"]["format"], "date");
    assert_eq!(
        doc["components"]["schemas"]["MeetingStatus"]["enum"],
        json!(["confirmed", "tentative", "cancelled"])
    );
}
