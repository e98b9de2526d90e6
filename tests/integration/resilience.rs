//! Faults and scale-out: the database's connections killed or frozen, several instances on one
//! database.

use reqwest::StatusCode;
use uuid::Uuid;

use crate::common::{Browser, World, location};

const ADA: &str = "ada@northwind.example";

async fn docket_backends(world: &World) -> Vec<i32> {
    let admin = sqlx::PgPool::connect(crate::common::ADMIN_URL)
        .await
        .unwrap();
    sqlx::query_scalar(
        "select pid from pg_stat_activity where datname = $1 and application_name = 'docket'",
    )
    .bind(&world.app.db_name)
    .fetch_all(&admin)
    .await
    .unwrap()
}

/// Asks until the page answers 200, a bounded number of times.
async fn eventually_ok(browser: &Browser, path: &str) -> bool {
    for _ in 0..50 {
        if browser.get(path).await.status() == StatusCode::OK {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn killed_connections_are_replaced_without_a_restart_and_nothing_is_lost() {
    let world = World::with(&[("DOCKET_SYNC_WORKER", "false")]).await;
    let ada = Browser::new(&world.app);
    ada.sign_in("google", ADA).await;
    let note = ada
        .post_form(
            "/notes",
            &[
                ("title", "Kept"),
                ("body", "- [ ] survive"),
                ("base_version", "0"),
            ],
        )
        .await;
    assert_eq!(note.status(), StatusCode::SEE_OTHER);
    assert!(!docket_backends(&world).await.is_empty());
    let admin = sqlx::PgPool::connect(crate::common::ADMIN_URL)
        .await
        .unwrap();
    sqlx::query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and application_name = 'docket'")
        .bind(&world.app.db_name)
        .execute(&admin)
        .await
        .unwrap();
    // The pool notices dead connections before handing them out.
    assert!(eventually_ok(&ada, "/notes").await);
    let page = ada.get("/notes").await.text().await.unwrap();
    assert!(page.contains("Kept"), "committed data survived");
    assert_eq!(world.app.get("/readyz").await.status(), StatusCode::OK);
}

/// Resumes stopped backends even if the test fails half-way.
struct Frozen(Vec<i32>);

impl Drop for Frozen {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = std::process::Command::new("kill")
                .args(["-CONT", &pid.to_string()])
                .status();
        }
    }
}

#[tokio::test]
async fn a_frozen_database_gives_quick_503s_and_recovers_after_it_thaws() {
    let world = World::with(&[
        ("DOCKET_SYNC_WORKER", "false"),
        ("DOCKET_DB_ACQUIRE_TIMEOUT_MS", "1000"),
        ("DOCKET_DB_STATEMENT_TIMEOUT_MS", "1000"),
    ])
    .await;
    let ada = Browser::new(&world.app);
    ada.sign_in("google", ADA).await;
    assert_eq!(ada.get("/settings").await.status(), StatusCode::OK);
    let pids = docket_backends(&world).await;
    assert!(!pids.is_empty());
    let frozen = Frozen(pids.clone());
    for pid in &pids {
        assert!(
            std::process::Command::new("kill")
                .args(["-STOP", &pid.to_string()])
                .status()
                .unwrap()
                .success()
        );
    }
    // Requests fail with a clear 503 (bounded by the acquire timeout), not a hang or a 500.
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .cookie_store(true)
        .build()
        .unwrap();
    let response = ada
        .client
        .get(world.app.url("/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    // The home page too: an outage must not look like being signed out.
    let home = ada.get("/").await;
    assert_eq!(home.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(!home.text().await.unwrap().contains("Sign in with Google"));
    assert_eq!(
        client
            .get(world.app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    drop(frozen);
    assert!(
        eventually_ok(&ada, "/settings").await,
        "recovered after SIGCONT"
    );
}

#[tokio::test]
async fn two_instances_share_sessions_sync_leases_and_note_versions() {
    let world = World::with(&[("DOCKET_SYNC_WORKER", "false")]).await;
    // The second instance is configured like the first: same providers, no background worker.
    let env = world.fake.env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("DOCKET_SYNC_WORKER", "false"));
    let second = world.app.sibling(&vars).await;
    let ada = Browser::new(&world.app);
    ada.sign_in("google", ADA).await;
    // The same cookie is a valid session on the other instance.
    let other = format!("http://{}", second.addr);
    let response = ada
        .client
        .get(format!("{other}/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // Both instances' workers race for the account: exactly one syncs it.
    let (a, b) = tokio::join!(
        docket::sync::run_due(&world.app.server.as_ref().unwrap().state, "instance-a"),
        docket::sync::run_due(&second.state, "instance-b"),
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(
        world
            .fake
            .api_calls()
            .iter()
            .filter(|c| *c == "google calendarList")
            .count(),
        1
    );
    // A note saved through one instance conflicts with a stale save through the other: the
    // stale one is sent to the merge view.
    let meeting: Uuid =
        sqlx::query_scalar("select id from meetings where title = 'Globex renewal'")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    let token = ada.csrf_token().await;
    let save = |base: String, body: &'static str| {
        let client = ada.client.clone();
        let token = token.clone();
        async move {
            client
                .post(format!("{base}/meetings/{meeting}/notes"))
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("body", body),
                    ("base_version", "0"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let saved = save(world.app.base.clone(), "from instance A").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&saved), format!("/meetings/{meeting}#notes"));
    let stale = save(other.clone(), "from instance B").await;
    assert_eq!(stale.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&stale), format!("/meetings/{meeting}/merge"));
    let body: String = sqlx::query_scalar("select body from notes")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(body, "from instance A");
    // Signing out on one instance ends the session on both.
    ada.post_form("/auth/logout", &[]).await;
    let response = ada
        .client
        .get(format!("{other}/settings"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    second.stop().await.unwrap();
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish() {
    let (mut child, base, db) =
        crate::common::spawn_process(&[("DOCKET_DEMO", "false")], std::process::Stdio::null())
            .await;
    // Load from several clients; SIGTERM once requests are flowing. Every response that comes
    // back must be a success: in-flight requests finish, new connections are simply refused.
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let url = format!("{base}/readyz");
            let answered = answered.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut statuses = Vec::new();
                for _ in 0..2000 {
                    match client.get(&url).send().await {
                        Ok(response) => {
                            statuses.push(response.status());
                            answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        }
                        Err(_) => break,
                    }
                }
                statuses
            })
        })
        .collect();
    for _ in 0..200 {
        if answered.load(std::sync::atomic::Ordering::SeqCst) >= 20 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut total = 0;
    for worker in workers {
        for status in worker.await.unwrap() {
            assert_eq!(status, StatusCode::OK, "a request got an error response");
            total += 1;
        }
    }
    assert!(total >= 20, "requests were flowing when SIGTERM arrived");
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status}");
    crate::common::drop_database(&db).await;
}
