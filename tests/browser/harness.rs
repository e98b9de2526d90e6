//! What a browser test stands on: a demo-mode Docket with a database of its own, and a headless
//! Chromium driven through a chromedriver of its own. Both are torn down on drop, so tests stay
//! parallel-safe and leave no database or browser behind, even when they panic.

use std::{
    collections::HashMap,
    io::{Read as _, Write as _},
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use docket::{RunningServer, config::Config};
use fantoccini::{Client, ClientBuilder, Locator, elements::Element, wd::TimeoutConfiguration};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use sqlx::PgPool;

const ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The only Chromium flags we use: headless, no network of its own, a fresh profile per test.
const CHROMIUM_ARGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
];
/// Long enough for a loaded 2-core CI machine, short enough to fail a stuck test quickly.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The repository root: node_modules, .htmlvalidate.json and target/ are found from here.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A file under `target/<dir>/`, its folder created.
pub fn target_file(dir: &str, name: &str) -> PathBuf {
    let dir = repo().join("target").join(dir);
    std::fs::create_dir_all(&dir).expect("creating a folder under target/");
    dir.join(name)
}

/// Installs the pinned npm tools (axe-core, html-validate) once, when a fresh clone lacks them,
/// so `cargo test` alone runs the whole suite.
pub fn node_tools() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        if repo().join("node_modules/.bin/html-validate").exists() {
            return;
        }
        let status = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(repo())
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "`npm ci` failed: Node.js and npm are needed for the browser checks"
        );
    });
}

/// Panics (never skips) when a tool the suite needs is not installed, saying how to get it.
pub fn require(path: &Path, what: &str) {
    assert!(
        path.exists(),
        "{what} is missing ({}). Install the browser-test tools with `.ci/run`, or by hand: \
         `apt-get install chromium chromium-driver` and `npm ci` at the repository root.",
        path.display()
    );
}

/// Docket in demo mode (its built-in fake Google and Microsoft) on a random port.
pub struct Docket {
    pub base: String,
    pub db: PgPool,
    db_name: String,
    _server: RunningServer,
}

impl Docket {
    pub async fn start() -> Docket {
        let db_name = format!("docket_test_{}", uuid::Uuid::new_v4().simple());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let vars: HashMap<String, String> = [
            (
                "DATABASE_URL",
                format!("postgres://postgres@127.0.0.1:5432/{db_name}"),
            ),
            ("DOCKET_ADDR", addr.to_string()),
            // The real bound URL: the fake provider redirects the browser back to it.
            ("DOCKET_PUBLIC_URL", base.clone()),
            ("DOCKET_LOG_FORMAT", "json".into()),
            ("DOCKET_DB_MAX_CONNECTIONS", "4".into()),
            ("DOCKET_DEMO", "true".into()),
            ("DOCKET_SECRET_KEY", "11".repeat(32)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let config = Config::from_vars(&vars).expect("test configuration is valid");
        let server = docket::start_on(config, listener)
            .await
            .expect("Docket starts");
        Docket {
            base,
            db: server.state.db.clone(),
            db_name,
            _server: server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits until the background worker has finished a first sync of the demo calendar.
    pub async fn wait_for_first_sync(&self) {
        let started = Instant::now();
        loop {
            let synced: i64 = sqlx::query_scalar(
                "select count(*) from sync_state where last_success_at is not null",
            )
            .fetch_one(&self.db)
            .await
            .unwrap();
            if synced > 0 {
                return;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the demo calendar never synced"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Docket {
    fn drop(&mut self) {
        // Drop cannot await: drop the database from a runtime of its own on another thread.
        let name = self.db_name.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                if let Ok(admin) = PgPool::connect(ADMIN_URL).await {
                    let drop = format!("drop database if exists \"{name}\" with (force)");
                    let _ = sqlx::query(&drop).execute(&admin).await;
                }
            });
        })
        .join()
        .ok();
    }
}

/// A headless Chromium behind its own chromedriver, with a fresh profile.
pub struct Browser {
    pub client: Client,
    /// Where the browser saves downloads.
    downloads: PathBuf,
    _driver: Driver,
}

impl Browser {
    pub async fn start() -> Browser {
        require(Path::new(CHROMIUM), "Chromium");
        require(Path::new(CHROMEDRIVER), "chromedriver");
        let driver = Driver::spawn();
        let profile = driver.profile.display().to_string();
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={profile}"));
        let downloads = driver.profile.join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                // Downloads land in the profile folder (removed with it), without a prompt.
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        // chromedriver speaks plain HTTP on loopback: no TLS connector needed.
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("chromedriver starts a Chromium session");
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(PATIENCE),
                Some(PATIENCE),
                None,
            ))
            .await
            .unwrap();
        let browser = Browser {
            client,
            downloads,
            _driver: driver,
        };
        browser.set_viewport(1280, 900).await;
        browser
    }

    /// Gives the page itself `width` x `height` CSS pixels (so screenshots are that size):
    /// headless Chromium still reserves room for browser UI, so the window must be larger.
    pub async fn set_viewport(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
        let (inner_width, inner_height) = self.viewport().await;
        let (window_width, window_height) = (2 * width - inner_width, 2 * height - inner_height);
        self.client
            .set_window_size(window_width, window_height)
            .await
            .unwrap();
        assert_eq!(self.viewport().await, (width, height), "viewport size");
    }

    async fn viewport(&self) -> (u32, u32) {
        let script = "return [window.innerWidth, window.innerHeight];";
        let size = self.client.execute(script, vec![]).await.unwrap();
        let px = |i: usize| size[i].as_u64().expect("a size in pixels") as u32;
        (px(0), px(1))
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    }

    /// The current URL's path, e.g. "/settings".
    pub async fn path(&self) -> String {
        self.client.current_url().await.unwrap().path().to_owned()
    }

    /// Waits for an element (pages load fast, but redirects and form posts take a moment).
    pub async fn wait_for(&self, locator: Locator<'_>) -> Element {
        let what = format!("{locator:?}");
        match self
            .client
            .wait()
            .at_most(PATIENCE)
            .for_element(locator)
            .await
        {
            Ok(element) => element,
            Err(e) => {
                // Say where the browser got stuck, and keep a picture of it.
                let url = self.client.current_url().await.map(|u| u.to_string());
                self.screenshot("failed-wait").await;
                panic!(
                    "waiting for {what} on {url:?}: {e} (see target/screenshots/failed-wait.png)"
                )
            }
        }
    }

    /// Waits for an element, then clicks it as a person would. An element found on a page that
    /// was going away is gone by the click: like a person, look again on the page that came.
    pub async fn click(&self, locator: Locator<'_>) {
        let started = Instant::now();
        loop {
            match self.wait_for(locator).await.click().await {
                Ok(()) => return,
                Err(e) if e.is_stale_element_reference() && started.elapsed() < PATIENCE => {}
                Err(e) => panic!("clicking {locator:?}: {e}"),
            }
        }
    }

    /// Saves what the window shows as `target/screenshots/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(target_file("screenshots", &format!("{name}.png")), png).unwrap();
    }

    /// Waits for the browser to finish downloading a file whose name ends with `suffix`, and
    /// returns its path.
    pub async fn downloaded(&self, suffix: &str) -> PathBuf {
        let started = Instant::now();
        loop {
            let done = std::fs::read_dir(&self.downloads)
                .unwrap()
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .find(|path| path.to_string_lossy().ends_with(suffix));
            if let Some(path) = done {
                return path;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "no *{suffix} download finished in {}",
                self.downloads.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Makes the page see `prefers-color-scheme: dark` (or light), as the system setting would.
    pub async fn prefer_dark(&self, dark: bool) {
        let scheme = if dark { "dark" } else { "light" };
        let params = json!({ "features": [{ "name": "prefers-color-scheme", "value": scheme }] });
        self.client
            .issue_cmd(Cdp {
                cmd: "Emulation.setEmulatedMedia",
                params,
            })
            .await
            .unwrap();
    }

    /// The browser's cookies for the current site, as a `Cookie` request header.
    pub async fn cookie_header(&self) -> String {
        let cookies = self.client.get_all_cookies().await.unwrap();
        let pairs: Vec<String> = cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect();
        pairs.join("; ")
    }
}

/// A Chrome DevTools Protocol command, sent through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &reqwest::Url,
        session: Option<&str>,
    ) -> Result<reqwest::Url, <reqwest::Url as std::str::FromStr>::Err> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.expect("a session")
        ))
    }

    fn method_and_body(&self, _: &reqwest::Url) -> (reqwest::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (reqwest::Method::POST, Some(body.to_string()))
    }
}

/// A chromedriver process on a free port, and the Chromium profile folder it uses.
struct Driver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Driver {
    fn spawn() -> Driver {
        // Ask the OS for a free port, then hand it to chromedriver (the gap is tiny).
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let profile =
            std::env::temp_dir().join(format!("docket-chromium-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profile).unwrap();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs");
        let driver = Driver {
            child,
            port,
            profile,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < PATIENCE,
                "chromedriver did not listen on port {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // chromedriver's /shutdown quits the browsers it started; killing chromedriver alone
        // would leave Chromium running. Plain blocking HTTP: Drop cannot await.
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
            let request = format!(
                "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.port
            );
            if stream.write_all(request.as_bytes()).is_ok() {
                let _ = stream.read_to_end(&mut Vec::new());
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
