//! The release binary on its own, as an operator runs it: copied out of the build tree, started
//! from an empty working directory, with the source tree hidden behind an empty mount (a private
//! mount namespace, `unshare`), it still serves its pages, CSS, script and icon, and says that
//! demo mode is on.
//!
//! It uses `target/release/docket`, which the README's test command (`scripts/test`) builds
//! right before `cargo test`.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use reqwest::StatusCode;

use crate::{
    common::{browser, drop_database, html},
    foundation::{SIGNED_OUT_ASSETS, asset_links, source_file},
};

/// `target/release/docket` next to this test's own profile folder (`target/debug/deps/…`),
/// wherever `CARGO_TARGET_DIR` put it.
fn release_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe
        .ancestors()
        .nth(3)
        .expect("the test binary lives in <target>/<profile>/deps");
    let binary = target.join("release/docket");
    assert!(
        binary.exists(),
        "{} is missing: run the tests with scripts/test, or build it first with \
         `cargo build --release --locked`",
        binary.display()
    );
    binary
}

/// The process, its folder and its database, all removed on drop.
struct Released {
    child: Child,
    dir: PathBuf,
    db: String,
}

impl Drop for Released {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
        let db = self.db.clone();
        std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(drop_database(&db));
        })
        .join()
        .ok();
    }
}

#[tokio::test]
async fn the_release_binary_serves_its_assets_from_an_empty_directory_without_the_source_tree() {
    let dir =
        std::env::temp_dir().join(format!("docket-release-{}", uuid::Uuid::new_v4().simple()));
    let (bin, cwd) = (dir.join("bin"), dir.join("empty"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&cwd).unwrap();
    let docket = bin.join("docket");
    std::fs::copy(release_binary(), &docket).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let db = format!("docket_test_{}", uuid::Uuid::new_v4().simple());
    let log = dir.join("stdout.log");
    // An empty tmpfs over the source tree, seen only by this process.
    let child = Command::new("unshare")
        .args(["--map-root-user", "--mount", "sh", "-c"])
        .arg(r#"mount -t tmpfs none "$SOURCE" && [ -z "$(ls -A "$SOURCE")" ] && exec "$0" serve"#)
        .arg(&docket)
        .env_clear()
        .env("SOURCE", source)
        .env("PATH", "/usr/bin:/bin")
        .env(
            "DATABASE_URL",
            format!("postgres://postgres@127.0.0.1:5432/{db}"),
        )
        .env("DOCKET_ADDR", format!("127.0.0.1:{port}"))
        .env("DOCKET_PUBLIC_URL", &base)
        .env("DOCKET_LOG_FORMAT", "json")
        .current_dir(&cwd)
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("`unshare` (util-linux) runs");
    let released = Released {
        child,
        dir: dir.clone(),
        db,
    };
    let client = browser();
    let mut ready = false;
    for _ in 0..150 {
        let answer = client.get(format!("{base}/readyz")).send().await;
        if answer.is_ok_and(|r| r.status().is_success()) {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "the release binary did not become ready at {base}");

    let home = client.get(&base).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let links = asset_links(&html(&home.text().await.unwrap()));
    assert_eq!(links.len(), SIGNED_OUT_ASSETS, "{links:?}");
    for link in links {
        let response = client.get(format!("{base}{link}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{link}");
        assert_eq!(response.text().await.unwrap(), source_file(&link), "{link}");
    }
    let stdout = std::fs::read_to_string(&log).unwrap();
    assert!(
        stdout.contains("demo mode is on") && stdout.contains("DOCKET_DEMO=false"),
        "the log says demo mode is on and how to turn it off:\n{stdout}"
    );
    drop(released);
}
