//! Sign-in with a generic OpenID Connect provider, against a real one: panva's oidc-provider
//! (tests/oidc/provider.mjs, run with Node from node_modules, which `npm ci` fills), over real
//! HTTP, with Docket on its own PostgreSQL database.

use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Browser, TestApp, World, html, location, texts};

/// One oidc-provider process on a free loopback port; stopped when dropped.
struct Issuer {
    child: Child,
    url: String,
    control: reqwest::Client,
}

impl Issuer {
    async fn start() -> Issuer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc/provider.mjs");
        let child = Command::new("node")
            .arg(script)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "node runs tests/oidc/provider.mjs (scripts/test installs Node.js and `npm ci`)",
            );
        let issuer = Issuer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            control: reqwest::Client::new(),
        };
        // Up to 30 s: Node loads the provider slowly on a loaded two-core machine.
        for _ in 0..300 {
            let stats = issuer.control.get(issuer.at("/_test/stats")).send().await;
            if stats.is_ok_and(|r| r.status().is_success()) {
                return issuer;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!(
            "oidc-provider did not start at {}: is node_modules installed (npm ci)?",
            issuer.url
        );
    }

    fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Registers Docket (at `docket`) as the client, with the account every sign-in logs in.
    async fn configure(&self, docket: &str, options: Value) {
        let mut body = json!({
            "redirect_uri": format!("{docket}/auth/oidc/callback"),
            "alg": "RS256",
            "account": ada(),
        });
        for (k, v) in options.as_object().unwrap() {
            body[k] = v.clone();
        }
        let response = self
            .control
            .post(self.at("/_test/configure"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    async fn rotate_keys(&self) {
        let response = self
            .control
            .post(self.at("/_test/rotate"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    async fn jwks_fetches(&self) -> u64 {
        let stats: Value = self
            .control
            .get(self.at("/_test/stats"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stats["jwks_fetches"].as_u64().unwrap()
    }

    /// Docket's variables for this issuer (a confidential client).
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("OIDC_ISSUER", self.url.clone()),
            ("OIDC_CLIENT_ID", "docket".into()),
            ("OIDC_CLIENT_SECRET", "docket-test-secret".into()),
            ("OIDC_NAME", "Acme SSO".into()),
            ("DOCKET_SYNC_WORKER", "false".into()),
        ]
    }
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn ada() -> Value {
    json!({"sub": "ada-0001", "email": "ada@acme.example", "email_verified": true, "name": "Ada Lovelace"})
}

fn vars<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn docket_for(issuer: &Issuer, extra: &[(&'static str, &str)]) -> TestApp {
    let env = issuer.env();
    let mut all = vars(&env);
    all.extend_from_slice(extra);
    TestApp::spawn_with(&all).await
}

/// Starts the sign-in at Docket and follows the provider's redirects (its login and consent
/// are automatic) until it sends the browser back to Docket; returns that callback URL.
async fn through_provider(browser: &Browser) -> String {
    let mut url = browser.start_sign_in("oidc", "").await;
    for _ in 0..10 {
        if url.starts_with(&browser.base) {
            assert!(
                url.contains("/auth/oidc/callback?"),
                "back at Docket: {url}"
            );
            return url;
        }
        let response = browser.client.get(&url).send().await.unwrap();
        assert!(
            response.status().is_redirection(),
            "the provider answered {} at {url}: {}",
            response.status(),
            response.text().await.unwrap_or_default()
        );
        let next = location(&response);
        url = url::Url::parse(&url)
            .unwrap()
            .join(&next)
            .unwrap()
            .to_string();
    }
    panic!("the provider never sent the browser back to Docket");
}

async fn sign_in(browser: &Browser) -> reqwest::Response {
    let callback = through_provider(browser).await;
    browser.get(&callback).await
}

/// The error page's message.
async fn refusal(response: reqwest::Response) -> (StatusCode, String) {
    let status = response.status();
    let doc = html(&response.text().await.unwrap());
    (status, texts(&doc, "main p").join(" "))
}

#[derive(Debug, sqlx::FromRow, PartialEq)]
struct AccountRow {
    user_id: uuid::Uuid,
    provider: String,
    subject: String,
    email: String,
    status: String,
}

async fn accounts(db: &sqlx::PgPool) -> Vec<AccountRow> {
    sqlx::query_as(
        "select user_id, provider, subject, email, status from accounts order by created_at",
    )
    .fetch_all(db)
    .await
    .unwrap()
}

async fn count(db: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(db)
        .await
        .unwrap()
}

#[tokio::test]
async fn signing_in_makes_a_user_with_no_calendar_who_links_google_on_the_settings_page() {
    let issuer = Issuer::start().await;
    let env = issuer.env();
    let world = World::with(&vars(&env)).await;
    issuer.configure(&world.app.base, json!({})).await;
    let browser = Browser::new(&world.app);

    let home = browser.get_html("/").await;
    assert_eq!(texts(&home, "#sign-in-oidc"), ["Sign in with Acme SSO"]);
    let response = sign_in(&browser).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    assert!(browser.is_signed_in().await);

    let rows = accounts(&world.app.db).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].provider, "oidc");
    assert_eq!(rows[0].subject, format!("{} ada-0001", issuer.url));
    assert_eq!(rows[0].email, "ada@acme.example");
    assert_eq!(rows[0].status, "sign_in_only");
    assert_eq!(
        count(&world.app.db, "account_tokens").await,
        0,
        "no tokens kept"
    );
    assert_eq!(
        count(&world.app.db, "sync_state").await,
        0,
        "nothing to sync"
    );

    // Nothing to show yet: every page says where to connect a calendar.
    let today = browser.get_html("/").await;
    assert!(
        texts(&today, ".banner span")
            .iter()
            .any(|t| t.contains("No calendar is connected yet")),
        "{:?}",
        texts(&today, ".banner span")
    );
    let settings = browser.get_html("/settings").await;
    assert_eq!(texts(&settings, "#no-calendar").len(), 1);
    let rows_text = texts(&settings, "tbody tr td");
    assert!(rows_text.contains(&"Acme SSO · ada@acme.example".to_owned()));
    assert!(rows_text.contains(&"Signs you in (no calendar)".to_owned()));
    let offered = texts(&settings, "a.button");
    assert!(offered.contains(&"Connect a Google account".to_owned()));
    assert!(!offered.iter().any(|t| t.contains("Acme SSO")));
    assert!(!offered.contains(&"Reconnect".to_owned()));

    // Linking works as it does for anyone signed in.
    let linked = browser.sign_in("google", "ada@northwind.example").await;
    assert_eq!(linked.status(), StatusCode::SEE_OTHER);
    let rows = accounts(&world.app.db).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1].provider, "google");
    assert_eq!(rows[1].user_id, rows[0].user_id, "linked to the same user");
    assert_eq!(rows[1].status, "active");
    docket::sync::run_due(&world.app.server.as_ref().unwrap().state, "test")
        .await
        .unwrap();
    let meetings: i64 = sqlx::query_scalar("select count(*) from meetings where user_id = $1")
        .bind(rows[0].user_id)
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert!(meetings > 0, "the linked calendar synced");
    let today = browser.get_html("/").await;
    assert!(
        !texts(&today, ".banner span")
            .iter()
            .any(|t| t.contains("No calendar is connected yet"))
    );

    // Signing in again finds the same user; signing out ends the session.
    let again = Browser::new(&world.app);
    assert_eq!(sign_in(&again).await.status(), StatusCode::SEE_OTHER);
    assert_eq!(count(&world.app.db, "users").await, 1);
    let out = again.post_form("/auth/logout", &[]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(!again.is_signed_in().await);
    assert!(
        browser.is_signed_in().await,
        "the other browser stays signed in"
    );
}

#[tokio::test]
async fn es256_and_eddsa_tokens_and_a_public_client_sign_in() {
    for (alg, public_client) in [("ES256", false), ("EdDSA", true)] {
        let issuer = Issuer::start().await;
        let app = if public_client {
            // No secret: PKCE alone authenticates the exchange.
            let env: Vec<_> = issuer
                .env()
                .into_iter()
                .filter(|(k, _)| *k != "OIDC_CLIENT_SECRET")
                .collect();
            TestApp::spawn_with(&vars(&env)).await
        } else {
            docket_for(&issuer, &[]).await
        };
        issuer
            .configure(
                &app.base,
                json!({"alg": alg, "public_client": public_client}),
            )
            .await;
        let browser = Browser::new(&app);
        let response = sign_in(&browser).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{alg}");
        assert!(browser.is_signed_in().await, "{alg}");
    }
}

#[tokio::test]
async fn tampered_id_tokens_are_refused_with_a_clear_page_and_no_session() {
    let issuer = Issuer::start().await;
    let app = docket_for(&issuer, &[]).await;
    // The unknown key last: it sets off a refetch of the key set.
    for (tamper, reason) in [
        ("wrong-issuer", "it comes from another issuer (iss)"),
        (
            "wrong-audience",
            "it was issued to another application (aud)",
        ),
        ("several-audiences", "names none as its holder (azp)"),
        ("expired", "it has expired (exp)"),
        (
            "unknown-key",
            "it is signed with a key the provider does not publish",
        ),
    ] {
        issuer.configure(&app.base, json!({"tamper": tamper})).await;
        let browser = Browser::new(&app);
        let (status, message) = refusal(sign_in(&browser).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{tamper}");
        assert!(
            message.contains("could not verify the identity Acme SSO sent")
                && message.contains(reason),
            "{tamper}: {message}"
        );
        assert!(!browser.is_signed_in().await, "{tamper}");
        assert_eq!(count(&app.db, "users").await, 0, "{tamper}");
    }
    // The authorization response itself naming another issuer (RFC 9207).
    issuer
        .configure(&app.base, json!({"tamper": "response-issuer"}))
        .await;
    let browser = Browser::new(&app);
    let callback = through_provider(&browser).await;
    assert!(
        callback.contains("iss=https%3A%2F%2Fissuer.invalid"),
        "{callback}"
    );
    let (status, message) = refusal(browser.get(&callback).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("comes from another issuer than Acme SSO"),
        "{message}"
    );
    assert!(!browser.is_signed_in().await);

    // The same issuer, untampered, signs in: the refusals were the tokens' fault.
    issuer.configure(&app.base, json!({})).await;
    let browser = Browser::new(&app);
    assert_eq!(sign_in(&browser).await.status(), StatusCode::SEE_OTHER);
    assert!(browser.is_signed_in().await);
}

#[tokio::test]
async fn a_replayed_state_is_refused() {
    let issuer = Issuer::start().await;
    let app = docket_for(&issuer, &[]).await;
    issuer.configure(&app.base, json!({})).await;
    let browser = Browser::new(&app);
    let callback = through_provider(&browser).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::SEE_OTHER);

    // The same response again, in the same browser or in another one.
    let (status, message) = refusal(browser.get(&callback).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("has expired or was started in another browser"),
        "{message}"
    );
    let attacker = Browser::new(&app);
    let (status, _) = refusal(attacker.get(&callback).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(!attacker.is_signed_in().await);

    // A state that is not this browser's sign-in's.
    let victim = Browser::new(&app);
    let started = victim.start_sign_in("oidc", "").await;
    assert!(started.starts_with(&issuer.url));
    let forged = callback.replace("state=", "state=x");
    let (status, message) = refusal(victim.get(&forged).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        message.contains("does not belong to this browser"),
        "{message}"
    );
    assert!(!victim.is_signed_in().await);
    assert_eq!(count(&app.db, "users").await, 1);
}

#[tokio::test]
async fn the_authorize_request_uses_pkce_s256_state_and_nonce_from_discovery() {
    let issuer = Issuer::start().await;
    let app = docket_for(&issuer, &[]).await;
    issuer.configure(&app.base, json!({})).await;
    let browser = Browser::new(&app);
    let authorize = url::Url::parse(&browser.start_sign_in("oidc", "").await).unwrap();
    assert_eq!(
        authorize.as_str().split('?').next().unwrap(),
        format!("{}/auth", issuer.url),
        "the endpoint discovery named"
    );
    let query: std::collections::HashMap<_, _> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], "docket");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(query["scope"], "openid email profile");
    assert_eq!(
        query["redirect_uri"],
        format!("{}/auth/oidc/callback", app.base)
    );
    assert!(query["state"].len() >= 22 && query["nonce"].len() >= 22);
}

#[tokio::test]
async fn oidc_only_hides_the_other_buttons_and_refuses_their_sign_in_until_signed_in() {
    let issuer = Issuer::start().await;
    let mut env = issuer.env();
    env.push(("OIDC_ONLY", "true".into()));
    let world = World::with(&vars(&env)).await;
    issuer.configure(&world.app.base, json!({})).await;
    let browser = Browser::new(&world.app);

    let home = browser.get_html("/").await;
    assert_eq!(texts(&home, ".signin a"), ["Sign in with Acme SSO"]);
    let (status, message) = refusal(browser.get("/auth/google/login").await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        message.contains("signs people in with Acme SSO only"),
        "{message}"
    );
    assert_eq!(count(&world.app.db, "users").await, 0);

    // Signed in through the company's provider, Google links a calendar.
    assert_eq!(sign_in(&browser).await.status(), StatusCode::SEE_OTHER);
    let linked = browser.sign_in("google", "ada@northwind.example").await;
    assert_eq!(linked.status(), StatusCode::SEE_OTHER);
    let rows = accounts(&world.app.db).await;
    assert_eq!(
        rows.iter().map(|r| r.provider.as_str()).collect::<Vec<_>>(),
        ["oidc", "google"]
    );
    assert_eq!(rows[0].user_id, rows[1].user_id);
}

#[tokio::test]
async fn an_unverified_email_is_not_used() {
    let issuer = Issuer::start().await;
    let app = docket_for(&issuer, &[]).await;
    let mut account = ada();
    account["email_verified"] = json!(false);
    account["email"] = json!("ceo@acme.example");
    issuer
        .configure(&app.base, json!({"account": account}))
        .await;
    let browser = Browser::new(&app);
    assert_eq!(sign_in(&browser).await.status(), StatusCode::SEE_OTHER);
    let rows = accounts(&app.db).await;
    assert_eq!(rows[0].email, "");
    let emails: Vec<String> = sqlx::query_scalar("select email from users")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(emails, [""]);
}

#[tokio::test]
async fn an_id_token_with_only_the_identity_is_completed_from_userinfo() {
    let issuer = Issuer::start().await;
    let app = docket_for(&issuer, &[]).await;
    issuer
        .configure(&app.base, json!({"claims_in_id_token": false}))
        .await;
    let browser = Browser::new(&app);
    assert_eq!(sign_in(&browser).await.status(), StatusCode::SEE_OTHER);
    let user: (String, String) = sqlx::query_as("select name, email from users")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(user, ("Ada Lovelace".into(), "ada@acme.example".into()));

    // Unverified there too: still no e-mail.
    let mut account = ada();
    account["sub"] = json!("bob-0002");
    account["email_verified"] = json!(false);
    issuer
        .configure(
            &app.base,
            json!({"claims_in_id_token": false, "account": account}),
        )
        .await;
    assert_eq!(
        sign_in(&Browser::new(&app)).await.status(),
        StatusCode::SEE_OTHER
    );
    let emails: Vec<String> = sqlx::query_scalar("select email from users order by created_at")
        .fetch_all(&app.db)
        .await
        .unwrap();
    assert_eq!(emails, ["ada@acme.example", ""]);
}

#[tokio::test]
async fn the_same_sub_from_another_issuer_is_another_user() {
    let first = Issuer::start().await;
    let second = Issuer::start().await;
    let app = docket_for(&first, &[]).await;
    // A second instance on the same database, configured with the other issuer.
    let env = second.env();
    let sibling = app.sibling(&vars(&env)).await;
    let sibling_base = format!("http://{}", sibling.addr);
    first.configure(&app.base, json!({})).await;
    second.configure(&sibling_base, json!({})).await;

    let at_first = Browser::new(&app);
    assert_eq!(sign_in(&at_first).await.status(), StatusCode::SEE_OTHER);
    let at_second = Browser {
        client: crate::common::browser(),
        base: sibling_base,
    };
    assert_eq!(sign_in(&at_second).await.status(), StatusCode::SEE_OTHER);

    let rows = accounts(&app.db).await;
    assert_eq!(rows.len(), 2);
    assert_ne!(rows[0].user_id, rows[1].user_id, "two issuers, two users");
    assert_eq!(rows[0].subject, format!("{} ada-0001", first.url));
    assert_eq!(rows[1].subject, format!("{} ada-0001", second.url));
    sibling.stop().await.unwrap();
}

#[tokio::test]
async fn a_rotated_key_is_fetched_and_forged_key_ids_do_not_hammer_the_issuer() {
    let issuer = Issuer::start().await;
    let app = docket_for(&issuer, &[]).await;
    issuer.configure(&app.base, json!({})).await;
    assert_eq!(
        sign_in(&Browser::new(&app)).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(issuer.jwks_fetches().await, 1);

    // The issuer signs with a new key: Docket fetches the key set again, once.
    issuer.rotate_keys().await;
    let browser = Browser::new(&app);
    assert_eq!(sign_in(&browser).await.status(), StatusCode::SEE_OTHER);
    assert!(browser.is_signed_in().await);
    assert_eq!(issuer.jwks_fetches().await, 2);

    // Unknown key ids right after: refused without asking the issuer again.
    issuer
        .configure(&app.base, json!({"tamper": "unknown-key"}))
        .await;
    for _ in 0..3 {
        let (status, _) = refusal(sign_in(&Browser::new(&app)).await).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    assert_eq!(issuer.jwks_fetches().await, 2);
}

#[tokio::test]
async fn discovery_naming_another_issuer_stops_the_sign_in_before_the_provider() {
    let issuer = Issuer::start().await;
    // The configured issuer differs from the one the metadata names (a trailing slash).
    let configured = format!("{}/", issuer.url);
    let app = docket_for(&issuer, &[("OIDC_ISSUER", configured.as_str())]).await;
    issuer.configure(&app.base, json!({})).await;
    let browser = Browser::new(&app);
    let response = browser.get("/auth/oidc/login").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("location").is_none());
    assert!(!browser.is_signed_in().await);
}
