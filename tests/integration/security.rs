//! The security sweep of SECURITY.md, over every route the application declares. Routes are
//! read from the source (every `.route("…", …)` call under src/, except the fake provider), so
//! a new route is covered the moment it is written.

use std::{collections::BTreeSet, path::Path};

use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{Browser, World, browser, html, texts};

const ADA: &str = "ada@northwind.example";
const ALAN: &str = "alan@bletchley.example";

/// Every Rust file under src/, outside the fake provider, with its text.
fn sources() -> Vec<(std::path::PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("fake_provider") {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    files
        .into_iter()
        .map(|file| {
            let source = std::fs::read_to_string(&file).unwrap();
            (file, source)
        })
        .collect()
}

/// (method, path) of every route declared in src/, outside the fake provider. A route whose
/// handler uses no method the sweep knows fails here rather than escape the sweep.
pub fn routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    for (file, source) in sources() {
        for chunk in source.split(".route(").skip(1) {
            // The path may start on the next line, where rustfmt puts a long route.
            let Some(chunk) = chunk.trim_start().strip_prefix('"') else {
                continue;
            };
            let (path, rest) = chunk.split_once('"').unwrap();
            // The handler expression runs to the closing parenthesis of `.route(`.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i);
            let handler = &rest[..end];
            let methods: Vec<&str> = ["get", "post", "put", "patch", "delete"]
                .into_iter()
                .filter(|method| handler.contains(&format!("{method}(")))
                .collect();
            assert!(
                !methods.is_empty(),
                "{}: the handler of {path} uses no method the sweep knows: {handler}",
                file.display()
            );
            for method in methods {
                routes.insert((method.to_uppercase(), path.to_owned()));
            }
        }
    }
    routes
}

/// The API's routes take a bearer token, never the session: they have their own sweep
/// (tests/integration/api.rs).
pub fn api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// The routes a browser session reaches.
fn page_routes() -> BTreeSet<(String, String)> {
    routes().into_iter().filter(|(_, p)| !api(p)).collect()
}

/// Routes anyone may use without signing in (the calendar feed's token is its own credential:
/// tests/integration/feed.rs).
fn public(path: &str) -> bool {
    matches!(path, "/" | "/healthz" | "/readyz" | "/metrics")
        || path.starts_with("/auth/")
        || path.starts_with("/feeds/")
}

struct Ids {
    meeting: Uuid,
    person: Uuid,
    organization: Uuid,
    note: Uuid,
    item: Uuid,
    account: Uuid,
}

/// Fills a route's parameters with Ada's ids.
fn concrete(path: &str, ids: &Ids) -> String {
    let id = if path.starts_with("/meetings") {
        ids.meeting
    } else if path.starts_with("/people") {
        ids.person
    } else if path.starts_with("/organizations") {
        ids.organization
    } else if path.starts_with("/notes") {
        ids.note
    } else if path.starts_with("/items") {
        ids.item
    } else {
        ids.account
    };
    path.replace("{id}", &id.to_string())
        .replace("{provider}", "google")
}

async fn ada_world() -> (World, Browser, Ids) {
    let world = World::with(&[("DOCKET_SYNC_WORKER", "false")]).await;
    let ada = Browser::new(&world.app);
    ada.sign_in("google", ADA).await;
    let state = &world.app.server.as_ref().unwrap().state;
    docket::sync::run_due(state, "test").await.unwrap();
    let meeting: Uuid =
        sqlx::query_scalar("select id from meetings where title = 'Globex renewal'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let version = "0";
    ada.post_form(
        &format!("/meetings/{meeting}/notes"),
        &[
            ("body", "- [ ] @hank send terms\nDecision: renew"),
            ("base_version", version),
        ],
    )
    .await;
    let one = |sql: &'static str| {
        let db = world.app.db.clone();
        async move {
            sqlx::query_scalar::<_, Uuid>(sql)
                .fetch_one(&db)
                .await
                .unwrap()
        }
    };
    let ids = Ids {
        meeting,
        person: one("select id from people where email = 'hank@globex.example'").await,
        organization: one("select id from organizations where domain = 'globex.example'").await,
        note: one("select id from notes").await,
        item: one("select id from items where kind = 'action'").await,
        account: one("select id from accounts").await,
    };
    (world, ada, ids)
}

async fn snapshot(world: &World) -> String {
    sqlx::query_scalar(
        "select concat_ws('|', (select string_agg(body || version, ',') from notes),
                               (select string_agg(text || done::text || coalesce(due::text, ''), ',' order by id) from items),
                               (select string_agg(status, ',' order by id) from accounts),
                               (select count(*)::text from sessions))",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap()
}

#[test]
fn the_route_list_is_read_from_the_source() {
    let routes = routes();
    assert!(routes.contains(&("GET".into(), "/meetings/{id}".into())));
    assert!(routes.contains(&("POST".into(), "/items/{id}/done".into())));
    assert!(routes.contains(&("POST".into(), "/auth/logout".into())));
    // Every `.route(` names its path with a literal, which is what the sweep reads.
    for (file, source) in sources() {
        for chunk in source.split(".route(").skip(1) {
            assert!(
                chunk.trim_start().starts_with('"'),
                "{}: a route whose path the sweep cannot read",
                file.display()
            );
        }
    }
    // Each page module contributes its routes.
    for (method, path) in [
        ("GET", "/"),
        ("GET", "/people/{id}"),
        ("GET", "/organizations/{id}"),
        ("GET", "/decisions"),
        ("GET", "/search"),
        ("GET", "/notes/{id}"),
        ("GET", "/settings"),
        ("GET", "/action-items"),
    ] {
        assert!(
            routes.contains(&(method.into(), path.into())),
            "{method} {path} missing from {routes:?}"
        );
    }
}

#[tokio::test]
async fn every_private_route_requires_sign_in() {
    let (world, _ada, ids) = ada_world().await;
    let anonymous = browser();
    for (method, path) in page_routes().into_iter().filter(|(_, p)| !public(p)) {
        let url = world.app.url(&concrete(&path, &ids));
        let response = match method.as_str() {
            "GET" => anonymous.get(&url).send().await.unwrap(),
            _ => anonymous
                .post(&url)
                .form(&[("x", "1")])
                .send()
                .await
                .unwrap(),
        };
        let status = response.status();
        let refused = if method == "GET" {
            status == StatusCode::SEE_OTHER
                && response.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with("/?next=")
        } else {
            status == StatusCode::FORBIDDEN
        };
        assert!(
            refused,
            "{method} {path} answered {status} to an anonymous visitor"
        );
    }
}

#[tokio::test]
async fn every_unsafe_route_refuses_forged_requests_and_changes_nothing() {
    let (world, ada, ids) = ada_world().await;
    let alan = Browser::new(&world.app);
    alan.sign_in("google", ALAN).await;
    let alans_token = alan.csrf_token().await;
    let adas_token = ada.csrf_token().await;
    let before = snapshot(&world).await;
    for (method, path) in page_routes().into_iter().filter(|(m, _)| m != "GET") {
        let url = world.app.url(&concrete(&path, &ids));
        let attempts = [
            (
                "no token",
                ada.client.post(&url).form(&[
                    ("body", "x"),
                    ("base_version", "1"),
                    ("done", "true"),
                ]),
            ),
            (
                "another session's token",
                ada.client
                    .post(&url)
                    .form(&[("csrf_token", alans_token.as_str()), ("done", "true")]),
            ),
            (
                "another origin",
                ada.client
                    .post(&url)
                    .header("origin", "https://evil.example")
                    .form(&[("csrf_token", adas_token.as_str()), ("done", "true")]),
            ),
            (
                "a cross-site fetch",
                ada.client
                    .post(&url)
                    .header("sec-fetch-site", "cross-site")
                    .form(&[("csrf_token", adas_token.as_str()), ("done", "true")]),
            ),
        ];
        for (what, request) in attempts {
            let status = request.send().await.unwrap().status();
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path} with {what}");
        }
    }
    assert_eq!(
        snapshot(&world).await,
        before,
        "no forged request changed anything"
    );
    assert!(ada.is_signed_in().await);
}

#[tokio::test]
async fn another_users_ids_are_not_found_and_nothing_changes() {
    let (world, _ada, ids) = ada_world().await;
    let alan = Browser::new(&world.app);
    alan.sign_in("google", ALAN).await;
    let before = snapshot(&world).await;
    for (method, path) in page_routes()
        .into_iter()
        .filter(|(_, p)| p.contains("{id}"))
    {
        let path = concrete(&path, &ids);
        let status = if method == "GET" {
            alan.get(&path).await.status()
        } else {
            alan.post_form(
                &path,
                &[
                    ("body", "x"),
                    ("base_version", "1"),
                    ("done", "true"),
                    ("due", "2030-01-01"),
                ],
            )
            .await
            .status()
        };
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
    }
    // Ids in query strings are scoped too.
    for path in [
        format!("/meetings?person={}", ids.person),
        format!("/decisions?organization={}", ids.organization),
    ] {
        let page = alan.get(&path).await;
        assert!(
            matches!(page.status(), StatusCode::OK | StatusCode::NOT_FOUND),
            "{path}"
        );
        let body = page.text().await.unwrap();
        assert!(
            !body.contains("Globex renewal") && !body.contains("Decision: renew"),
            "{path} leaks"
        );
    }
    assert_eq!(snapshot(&world).await, before);
}

#[tokio::test]
async fn sql_metacharacters_and_bad_values_are_harmless() {
    let (world, ada, ids) = ada_world().await;
    let before = snapshot(&world).await;
    let evil = [
        "' OR 1=1--",
        "; DROP TABLE meetings; --",
        "\" OR \"\"=\"",
        "%27%20OR%201=1",
        "1' AND pg_sleep(5)--",
    ];
    for value in evil {
        let v: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
        for path in [
            format!("/search?q={v}"),
            format!("/people?q={v}"),
            format!("/meetings?when={v}"),
            format!("/meetings?from={v}"),
            format!("/meetings?person={v}"),
            format!("/meetings?after={v}"),
            format!("/people?after={v}"),
            format!("/action-items?after={v}"),
            format!("/decisions?after={v}"),
            format!("/action-items?filter={v}"),
            format!("/decisions?series={v}"),
            format!("/people/{}?from={v}", ids.person),
            format!("/meetings/{v}"),
        ] {
            let status = ada.get(&path).await.status();
            assert!(
                matches!(
                    status,
                    StatusCode::OK | StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND
                ),
                "{path}: {status}"
            );
        }
    }
    assert!(scalar_count(&world, "meetings").await > 0);
    assert_eq!(snapshot(&world).await, before);
}

async fn scalar_count(world: &World, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn bad_input_gets_clear_4xx_pages_never_500() {
    let (world, ada, ids) = ada_world().await;
    let checks: Vec<(String, StatusCode)> = vec![
        ("/meetings?from=2026-02-30".into(), StatusCode::BAD_REQUEST),
        // Damaged page cursors: no id, an impossible time, a bad date, a bad count.
        ("/meetings?after=0".into(), StatusCode::BAD_REQUEST),
        (
            "/meetings?after=2026-13-45T00:00:00Z~00000000-0000-0000-0000-000000000000".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/action-items?after=2026-02-30~00000000-0000-0000-0000-000000000000".into(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/people?after=many:ada~00000000-0000-0000-0000-000000000000".into(),
            StatusCode::BAD_REQUEST,
        ),
        ("/decisions?after=-3".into(), StatusCode::BAD_REQUEST),
        ("/meetings/not-a-uuid".into(), StatusCode::NOT_FOUND),
        (
            "/people/00000000-0000-0000-0000-000000000000".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            format!("/people/{}?to=2026-13-01", ids.person),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/action-items?filter=everything".into(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (path, expected) in checks {
        let response = ada.get(&path).await;
        assert_eq!(response.status(), expected, "{path}");
        let doc = html(&response.text().await.unwrap());
        assert_eq!(texts(&doc, "h1").len(), 1, "{path}: a friendly page");
    }
    let token = ada.csrf_token().await;
    // A form with 10,000 fields.
    let mut many: Vec<(String, String)> =
        (0..10_000).map(|i| (format!("f{i}"), "x".into())).collect();
    many.push(("csrf_token".into(), token.clone()));
    many.push(("body".into(), "ten thousand fields".into()));
    many.push(("base_version".into(), "1".into()));
    let status = ada
        .client
        .post(world.app.url(&format!("/meetings/{}/notes", ids.meeting)))
        .form(&many)
        .send()
        .await
        .unwrap()
        .status();
    // SECURITY.md 16: refused with a clear 400, and nothing is saved.
    assert_eq!(status, StatusCode::BAD_REQUEST, "10,000 fields");
    let body: Option<String> = sqlx::query_scalar("select body from notes where meeting_id = $1")
        .bind(ids.meeting)
        .fetch_optional(&world.app.db)
        .await
        .unwrap();
    assert_ne!(body.as_deref(), Some("ten thousand fields"));
    // Invalid UTF-8 in a form body.
    let mut body = format!("csrf_token={token}&base_version=1&body=").into_bytes();
    body.extend_from_slice(&[0xff, 0xfe, 0xfd]);
    let response = ada
        .client
        .post(world.app.url(&format!("/meetings/{}/notes", ids.meeting)))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // Other users' requests are unaffected.
    assert!(ada.is_signed_in().await);
}

#[tokio::test]
async fn script_in_notes_and_provider_data_stays_inert() {
    let world = World::with(&[("DOCKET_SYNC_WORKER", "false")]).await;
    world.fake.edit_calendars(ADA, |calendars, tick| {
        let mut e = calendars[0]
            .events
            .iter()
            .find(|e| e.title == "Globex renewal")
            .unwrap()
            .clone();
        e.id = "xss1".into();
        e.title = "<script>alert('title')</script>".into();
        e.description =
            "<img src=x onerror=alert(1)><a href=\"javascript:alert(2)\">agenda</a>".into();
        e.location = "<svg onload=alert(3)>".into();
        e.attendees[1].name = "<b onmouseover=alert(4)>Hank</b>".into();
        e.changed = tick();
        calendars[0].events.push(e);
    });
    let ada = Browser::new(&world.app);
    ada.sign_in("google", ADA).await;
    docket::sync::run_due(&world.app.server.as_ref().unwrap().state, "test")
        .await
        .unwrap();
    let meeting: Uuid =
        sqlx::query_scalar("select id from meetings where provider_event_id = 'xss1'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let notes = "<script>alert(5)</script>\n\n<img src=x onerror=alert(6)>\n\n[x](javascript:alert(7))\n\n<svg><animate onbegin=alert(8) attributeName=x dur=1s>\n\n<math><annotation-xml encoding=\"text/html\"><img src=x onerror=alert(9)></annotation-xml></math>\n\n[d](data:text/html;base64,PHNjcmlwdD4=)\n\n[ok](https://example.com)";
    ada.post_form(
        &format!("/meetings/{meeting}/notes"),
        &[("body", notes), ("base_version", "0")],
    )
    .await;
    for path in [
        format!("/meetings/{meeting}"),
        "/".into(),
        "/meetings".into(),
        "/people".into(),
    ] {
        let page = ada.get(&path).await.text().await.unwrap();
        let doc = html(&page);
        // No executable markup made it into the DOM: every script is ours, from /static.
        for script in doc.select(&scraper::Selector::parse("script").unwrap()) {
            let src = script.attr("src").unwrap_or_default();
            assert!(src.starts_with("/static/"), "{path}: a script {src:?}");
        }
        for element in doc.select(&scraper::Selector::parse("*").unwrap()) {
            for (name, value) in element.value().attrs() {
                assert!(
                    !name.starts_with("on"),
                    "{path}: event handler {name}={value}"
                );
                let v = value.trim().to_ascii_lowercase();
                assert!(
                    !v.starts_with("javascript:") && !v.starts_with("data:"),
                    "{path}: {name}={value}"
                );
            }
            assert!(
                !matches!(
                    element.value().name(),
                    "svg" | "math" | "img" | "iframe" | "object"
                ),
                "{path}: <{}>",
                element.value().name()
            );
        }
        for link in doc.select(&scraper::Selector::parse(".rendered a").unwrap()) {
            assert_eq!(
                link.attr("rel"),
                Some("noopener noreferrer nofollow"),
                "{path}"
            );
        }
    }
}

#[tokio::test]
async fn logs_of_a_whole_session_hold_no_tokens_codes_or_secrets() {
    // A real process in demo mode, whose logs are read back whole.
    let log = std::env::temp_dir().join(format!("docket-logs-{}.log", Uuid::new_v4().simple()));
    let (mut child, base, db) = crate::common::spawn_process(
        &[
            (
                "RUST_LOG",
                "debug,hyper=info,h2=info,reqwest=debug,sqlx=info",
            ),
            ("DOCKET_DEMO", "true"),
        ],
        std::fs::File::create(&log).unwrap().into(),
    )
    .await;
    let b = Browser {
        client: browser(),
        base: base.clone(),
    };
    let response = b.sign_in("google", ADA).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    b.post_form("/sync", &[]).await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    b.get("/").await;
    b.post_form("/auth/logout", &[]).await;
    child.kill().ok();
    child.wait().ok();
    let logs = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).ok();
    crate::common::drop_database(&db).await;
    assert!(logs.contains("signed in"), "the logs were captured");
    for secret in [
        "fake-access-",
        "fake-refresh-",
        "fake-code-",
        docket::fake_provider::GOOGLE_CLIENT_SECRET,
        "eyJ",
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
    // Every request line carries its request id.
    for line in logs.lines().filter(|l| l.contains("\"request finished\"")) {
        assert!(line.contains("\"request_id\""), "{line}");
    }
}
