//! The test harness: a running Docket with its own database, and an HTTP client with a cookie jar.

use std::collections::HashMap;

use docket::{RunningServer, config::Config};
use reqwest::{Client, Response, redirect::Policy};
use scraper::{Html, Selector};
use sqlx::PgPool;

pub const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestApp {
    pub base: String,
    pub server: Option<RunningServer>,
    pub db: PgPool,
    pub db_name: String,
    pub client: Client,
}

/// The test defaults (own database, real bound address, fixed key, small pool), then `extra`.
fn test_config(db_name: &str, addr: std::net::SocketAddr, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = [
        (
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:5432/{db_name}"),
        ),
        ("DOCKET_ADDR", addr.to_string()),
        ("DOCKET_PUBLIC_URL", format!("http://{addr}")),
        ("DOCKET_LOG_FORMAT", "json".into()),
        ("DOCKET_DB_MAX_CONNECTIONS", "4".into()),
        ("DOCKET_DEMO", "false".into()),
        ("DOCKET_SECRET_KEY", "11".repeat(32)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    // `{db}` in a value stands for this test's database name (e.g. a DATABASE_URL through a proxy).
    for (k, v) in extra {
        vars.insert((*k).to_owned(), v.replace("{db}", db_name));
    }
    Config::from_vars(&vars).expect("test configuration is valid")
}

/// Docket as a separate process (real signals, real stdout), on a free port with its own
/// database. Returns the child, its base URL and the database name (drop it afterwards).
pub async fn spawn_process(
    env: &[(&str, &str)],
    stdout: std::process::Stdio,
) -> (std::process::Child, String, String) {
    let db = format!("docket_test_{}", uuid::Uuid::new_v4().simple());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let base = format!("http://127.0.0.1:{port}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_docket"))
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:5432/{db}"),
        )
        .env("DOCKET_ADDR", format!("127.0.0.1:{port}"))
        .env("DOCKET_PUBLIC_URL", &base)
        .env("DOCKET_LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .stdout(stdout)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = browser();
    for _ in 0..100 {
        let ready = client.get(format!("{base}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return (child, base, db);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    child.kill().ok();
    child.wait().ok();
    panic!("docket did not become ready at {base}");
}

pub async fn drop_database(db: &str) {
    let admin = PgPool::connect(ADMIN_URL).await.unwrap();
    sqlx::query(&format!("drop database if exists \"{db}\" with (force)"))
        .execute(&admin)
        .await
        .unwrap();
}

/// A client that keeps cookies like a browser but shows redirects to the test.
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client builds")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    /// Starts Docket with extra environment variables on top of the test defaults.
    pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
        let db_name = format!("docket_test_{}", uuid::Uuid::new_v4().simple());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let config = test_config(&db_name, addr, extra);
        // Tests are silent unless TEST_LOG is set: `TEST_LOG=1 cargo test -- --nocapture`.
        if std::env::var_os("TEST_LOG").is_some() {
            docket::telemetry::init_logging(config.log_format);
        }
        let server = docket::start_on(config, listener)
            .await
            .expect("Docket starts");
        let db = server.state.db.clone();
        TestApp {
            base,
            server: Some(server),
            db,
            db_name,
            client: browser(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Drop the test's database from a fresh runtime: Drop cannot await.
        let name = self.db_name.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(admin) = PgPool::connect(ADMIN_URL).await {
                    let _ =
                        sqlx::query(&format!("drop database if exists \"{name}\" with (force)"))
                            .execute(&admin)
                            .await;
                }
            });
        })
        .join()
        .ok();
    }
}

/// Parses HTML so assertions can select nodes instead of matching raw strings.
pub fn html(body: &str) -> Html {
    Html::parse_document(body)
}

/// The text of every node matching `selector`.
pub fn texts(doc: &Html, selector: &str) -> Vec<String> {
    let selector = Selector::parse(selector).expect("valid selector");
    doc.select(&selector)
        .map(|e| e.text().collect::<String>().trim().to_owned())
        .collect()
}

/// A Docket wired to its own fake Google/Microsoft.
pub struct World {
    pub app: TestApp,
    pub fake: docket::fake_provider::FakeProvider,
}

impl World {
    pub async fn new() -> World {
        Self::with(&[]).await
    }

    pub async fn with(extra: &[(&str, &str)]) -> World {
        let (fake, _) = docket::fake_provider::FakeProvider::start().await;
        let env = fake.env();
        let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        vars.extend_from_slice(extra);
        let app = TestApp::spawn_with(&vars).await;
        World { app, fake }
    }
}

/// One person's browser: a cookie jar and the sign-in dance with the fake provider.
pub struct Browser {
    pub client: Client,
    pub base: String,
}

pub fn location(response: &Response) -> String {
    response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on a {} response", response.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            client: browser(),
            base: app.base.clone(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{}", self.base, path)
        }
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_html(&self, path: &str) -> Html {
        let response = self.get(path).await;
        assert!(
            response.status().is_success(),
            "GET {path}: {}",
            response.status()
        );
        html(&response.text().await.unwrap())
    }

    /// Starts a sign-in and returns the provider's authorize URL.
    pub async fn start_sign_in(&self, provider: &str, query: &str) -> String {
        let response = self.get(&format!("/auth/{provider}/login{query}")).await;
        assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
        location(&response)
    }

    /// At the provider: picks the account with `email`; returns the callback URL.
    pub async fn approve(&self, authorize_url: &str, email: &str, grant_calendar: bool) -> String {
        let page = self.client.get(authorize_url).send().await.unwrap();
        assert!(
            page.status().is_success(),
            "authorize page: {}",
            page.status()
        );
        let doc = html(&page.text().await.unwrap());
        let mut form: Vec<(String, String)> = doc
            .select(&Selector::parse("input[type=hidden]").unwrap())
            .map(|i| {
                (
                    i.attr("name").unwrap().to_owned(),
                    i.attr("value").unwrap_or("").to_owned(),
                )
            })
            .collect();
        let button = doc
            .select(&Selector::parse("button[name=user]").unwrap())
            .find(|b| b.text().collect::<String>().contains(email))
            .unwrap_or_else(|| panic!("{email} is not offered"));
        form.push(("user".into(), button.attr("value").unwrap().into()));
        if grant_calendar {
            form.push(("grant_calendar".into(), "on".into()));
        }
        let response = self
            .client
            .post(authorize_url)
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), reqwest::StatusCode::SEE_OTHER);
        location(&response)
    }

    /// The whole sign-in; returns the callback's response.
    pub async fn sign_in(&self, provider: &str, email: &str) -> Response {
        let authorize = self.start_sign_in(provider, "").await;
        let callback = self.approve(&authorize, email, true).await;
        self.get(&callback).await
    }

    /// The CSRF token of the signed-in session, read from a page's forms.
    pub async fn csrf_token(&self) -> String {
        let doc = self.get_html("/settings").await;
        doc.select(&Selector::parse("input[name=csrf_token]").unwrap())
            .next()
            .expect("a form with a CSRF token")
            .attr("value")
            .unwrap()
            .to_owned()
    }

    /// Submits a form the way the page would (with the CSRF token).
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let token = self.csrf_token().await;
        let mut form: Vec<(&str, &str)> = vec![("csrf_token", token.as_str())];
        form.extend_from_slice(fields);
        self.client
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub async fn is_signed_in(&self) -> bool {
        let response = self.get("/settings").await;
        response.status() == reqwest::StatusCode::OK
    }
}

impl TestApp {
    /// A second Docket instance on the same database and secret key, as behind a load balancer.
    pub async fn sibling(&self, extra: &[(&str, &str)]) -> RunningServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let config = test_config(&self.db_name, addr, extra);
        docket::start_on(config, listener)
            .await
            .expect("sibling starts")
    }
}

/// A Docket with its fake providers whose sync worker is off: tests sync when they say.
pub async fn world_with(extra: &[(&str, &str)]) -> World {
    let mut vars = vec![("DOCKET_SYNC_WORKER", "false")];
    vars.extend_from_slice(extra);
    World::with(&vars).await
}

/// Signs `email` in with Google in a new browser and runs a sync, so their calendar is there.
pub async fn synced(world: &World, email: &str) -> Browser {
    let browser = Browser::new(&world.app);
    browser.sign_in("google", email).await;
    let state = &world.app.server.as_ref().unwrap().state;
    docket::sync::run_due(state, "test").await.unwrap();
    browser
}

/// The id of `email`'s first meeting called `title`.
pub async fn meeting_id(world: &World, email: &str, title: &str) -> uuid::Uuid {
    sqlx::query_scalar(
        "select m.id from meetings m join users u on u.id = m.user_id
         where u.email = $1 and m.title = $2 order by m.starts_at limit 1",
    )
    .bind(email)
    .bind(title)
    .fetch_one(&world.app.db)
    .await
    .unwrap()
}

/// Saves the first version of a meeting's note through the meeting page's form.
pub async fn save_meeting_note(browser: &Browser, meeting: uuid::Uuid, body: &str) {
    let response = browser
        .post_form(
            &format!("/meetings/{meeting}/notes"),
            &[("body", body), ("base_version", "0")],
        )
        .await;
    assert_eq!(
        response.status(),
        reqwest::StatusCode::SEE_OTHER,
        "saving the note"
    );
}
