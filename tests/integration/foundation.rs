//! The foundation: health, readiness, error pages, security headers, configuration errors.

use std::process::Command;

use reqwest::StatusCode;
use sqlx::Connection as _;

use crate::common::{TestApp, html, texts};

#[tokio::test]
async fn healthz_answers_ok() {
    let app = TestApp::spawn().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok\n");
}

#[tokio::test]
async fn readyz_is_ready_once_migrations_are_applied() {
    let app = TestApp::spawn().await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    let admin = sqlx::PgPool::connect(crate::common::ADMIN_URL)
        .await
        .unwrap();
    sqlx::query(&format!("drop database \"{}\" with (force)", app.db_name))
        .execute(&admin)
        .await
        .unwrap();
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "not ready");
    // Liveness is about the process, not its dependencies.
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn readyz_reports_pending_migrations() {
    let app = TestApp::spawn().await;
    sqlx::query("delete from _sqlx_migrations")
        .execute(&app.db)
        .await
        .unwrap();
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["reason"]
            .as_str()
            .unwrap()
            .contains("migrations pending")
    );
}

#[tokio::test]
async fn unknown_page_gets_a_friendly_404_page() {
    let app = TestApp::spawn().await;
    let response = app.get("/no/such/page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    let doc = html(&response.text().await.unwrap());
    assert_eq!(texts(&doc, "h1"), ["Page not found"]);
}

#[tokio::test]
async fn wrong_method_gets_a_405_page_with_allow() {
    let app = TestApp::spawn().await;
    let response = app.client.post(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(response.headers().contains_key("allow"));
    let doc = html(&response.text().await.unwrap());
    assert_eq!(texts(&doc, "h1"), ["Method not allowed"]);
}

#[tokio::test]
async fn oversized_body_gets_a_413_page() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .post(app.url("/healthz"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let doc = html(&response.text().await.unwrap());
    assert_eq!(texts(&doc, "h1"), ["Too large"]);
}

#[tokio::test]
async fn every_html_response_carries_security_headers() {
    let app = TestApp::spawn().await;
    for path in ["/", "/no/such/page"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
            "script-src 'self'",
        ] {
            assert!(csp.contains(directive), "{path}: CSP lacks {directive}");
        }
        assert!(
            !csp.contains("unsafe-inline"),
            "{path}: CSP allows inline code"
        );
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers.contains_key("referrer-policy"));
        assert_eq!(headers["cache-control"], "no-store");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .contains("charset=utf-8")
        );
        assert!(
            !headers.contains_key("strict-transport-security"),
            "no HSTS over http"
        );
    }
}

#[tokio::test]
async fn request_ids_are_set_and_propagated() {
    let app = TestApp::spawn().await;
    let generated = app.get("/healthz").await;
    let id = generated.headers()["x-request-id"].to_str().unwrap();
    assert!(
        uuid::Uuid::parse_str(id).is_ok(),
        "generated id is a uuid: {id}"
    );
    let given = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-me-123");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    app.get("/healthz").await;
    app.get("/no/such/page").await;
    let body = app.get("/metrics").await.text().await.unwrap();
    assert!(body.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"));
    assert!(body.contains("route=\"unmatched\",status=\"404\""));
    assert!(body.contains("http_request_duration_seconds_bucket"));
    assert!(body.contains("db_pool_connections"));
}

/// How many files `static/` holds: every page links each of them (stylesheet, scripts, icon).
/// What the signed-out home page links: the stylesheet, app.js and the icon (the other scripts
/// of static/ serve signed-in pages only).
pub const SIGNED_OUT_ASSETS: usize = 3;

/// The asset URLs a page links to: stylesheet, scripts, icon.
pub fn asset_links(page: &scraper::Html) -> Vec<String> {
    let select = |css: &str, attr: &str| {
        page.select(&scraper::Selector::parse(css).unwrap())
            .map(|e| e.attr(attr).unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    [
        select("link[rel=stylesheet]", "href"),
        select("script[src]", "src"),
        select("link[rel=icon]", "href"),
    ]
    .concat()
}

/// `/static/app.<16 hex digits>.css` names `static/app.css`.
pub fn source_file(hashed: &str) -> &'static str {
    let (stem, rest) = hashed
        .strip_prefix("/static/")
        .and_then(|n| n.split_once('.'))
        .unwrap_or_else(|| panic!("{hashed} is not under /static/"));
    let (hash, extension) = rest.split_once('.').unwrap();
    assert!(
        hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()),
        "{hashed} carries no content hash"
    );
    match (stem, extension) {
        ("app", "css") => include_str!("../../static/app.css"),
        ("app", "js") => include_str!("../../static/app.js"),
        ("editor", "js") => include_str!("../../static/editor.js"),
        ("followup", "js") => include_str!("../../static/followup.js"),
        ("keys", "js") => include_str!("../../static/keys.js"),
        ("complete", "js") => include_str!("../../static/complete.js"),
        ("favicon", "svg") => include_str!("../../static/favicon.svg"),
        _ => panic!("{hashed} names no file of static/"),
    }
}

#[tokio::test]
async fn pages_link_assets_by_content_hash_and_browsers_may_keep_them_for_a_year() {
    let app = TestApp::spawn().await;
    let links = asset_links(&html(&app.get("/").await.text().await.unwrap()));
    assert_eq!(links.len(), SIGNED_OUT_ASSETS, "{links:?}");
    for link in links {
        let response = app.get(&link).await;
        assert_eq!(response.status(), StatusCode::OK, "{link}");
        assert_eq!(
            response.headers()["cache-control"],
            docket::assets::IMMUTABLE,
            "{link}"
        );
        assert_eq!(response.text().await.unwrap(), source_file(&link), "{link}");
    }
}

#[tokio::test]
async fn an_unchanged_asset_is_answered_304_and_compressed_variants_are_served() {
    let app = TestApp::spawn().await;
    let links = asset_links(&html(&app.get("/").await.text().await.unwrap()));
    let css = &links[0];
    let first = app.get(css).await;
    let etag = first.headers()["etag"].clone();
    let again = app
        .client
        .get(app.url(css))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let changed = app
        .client
        .get(app.url(css))
        .header("if-none-match", "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    for encoding in ["br", "gzip"] {
        let response = app
            .client
            .get(app.url(css))
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["content-encoding"], encoding);
        let length = response.bytes().await.unwrap().len();
        assert!(
            length < include_str!("../../static/app.css").len() / 2,
            "{encoding}: {length} bytes"
        );
    }
    // The plain name still answers (links cached before a deploy), revalidated each time.
    let plain = app.get("/static/app.css").await;
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(plain.headers()["cache-control"], "no-cache");
    assert_eq!(
        app.get("/static/missing.css").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn stopping_lets_an_in_flight_request_finish() {
    let mut app = TestApp::spawn().await;
    // Hold /readyz inside its database query: the test locks the table it reads.
    let mut lock = sqlx::PgConnection::connect(&format!(
        "postgres://postgres@127.0.0.1:5432/{}",
        app.db_name
    ))
    .await
    .unwrap();
    sqlx::query("begin").execute(&mut lock).await.unwrap();
    sqlx::query("lock table _sqlx_migrations in access exclusive mode")
        .execute(&mut lock)
        .await
        .unwrap();
    let in_flight = tokio::spawn(app.client.get(app.url("/readyz")).send());
    wait_until("/readyz waits on the lock", || async {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where datname = current_database()
             and wait_event_type = 'Lock'",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        waiting == 1
    })
    .await;
    // Stop while that request is inside its handler.
    let server = app.server.take().unwrap();
    server.shutdown_token().cancel();
    let stopped = tokio::spawn(server.wait());
    wait_until("new connections are refused", || async {
        app.client.get(app.url("/healthz")).send().await.is_err()
    })
    .await;
    assert!(
        !stopped.is_finished(),
        "stopping waits for the request in flight"
    );
    sqlx::query("commit").execute(&mut lock).await.unwrap();
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), StatusCode::OK);
    stopped.await.unwrap().unwrap();
}

/// Polls `condition` (a hundred times, 50 ms apart) and fails the test naming `what`.
async fn wait_until<F, Fut>(what: &str, condition: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..100 {
        if condition().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("never happened: {what}");
}

fn docket(vars: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_docket"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(vars.iter().copied())
        .arg("migrate")
        .output()
        .expect("docket runs")
}

#[test]
fn an_unreachable_database_is_a_short_clear_message() {
    let out = docket(&[("DATABASE_URL", "postgres://postgres@127.0.0.1:1/docket")]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach PostgreSQL at 127.0.0.1:1"),
        "{stderr}"
    );
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn bad_configuration_names_the_variable_and_exits_2() {
    let out = docket(&[("DOCKET_ENV", "production"), ("DOCKET_ADDR", "nowhere")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("DOCKET_SECRET_KEY: required"), "{stderr}");
    assert!(
        stderr.contains("DOCKET_ADDR: expected a socket address"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_very_high_sign_in_rate_limit_still_starts() {
    let app = TestApp::spawn_with(&[("DOCKET_AUTH_RATE_PER_MINUTE", "1000000")]).await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
}
