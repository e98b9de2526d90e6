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
        let mut vars: HashMap<String, String> = [
            (
                "DATABASE_URL",
                format!("postgres://postgres@127.0.0.1:5432/{db_name}"),
            ),
            ("DOCKET_ADDR", addr.to_string()),
            ("DOCKET_PUBLIC_URL", base.clone()),
            ("DOCKET_LOG_FORMAT", "json".into()),
            ("DOCKET_DB_MAX_CONNECTIONS", "4".into()),
            ("DOCKET_DEMO", "false".into()),
            ("DOCKET_SECRET_KEY", "11".repeat(32)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (k, v) in extra {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        let config = Config::from_vars(&vars).expect("test configuration is valid");
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
