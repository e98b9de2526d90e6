//! Real CalDAV servers for the tests: Radicale and Xandikos, each started on a free loopback
//! port with its own temporary storage (scripts/test installs them: Debian packages `radicale`
//! and `xandikos`). Events are created, changed and deleted through the server's own HTTP
//! interface.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use reqwest::{Client, Method, StatusCode};

pub struct DavServer {
    child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub user: String,
    pub password: String,
    http: Client,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl DavServer {
    /// Radicale with one user (`ada`, password `secret`) and htpasswd authentication.
    pub async fn radicale() -> DavServer {
        let dir = tempfile::tempdir().unwrap();
        let users = dir.path().join("users");
        std::fs::write(&users, "ada:secret\n").unwrap();
        let port = free_port();
        let child = Command::new("radicale")
            .args(["--config", ""])
            .args(["--server-hosts", &format!("127.0.0.1:{port}")])
            .args(["--auth-type", "htpasswd"])
            .arg("--auth-htpasswd-filename")
            .arg(&users)
            .args(["--auth-htpasswd-encryption", "plain"])
            .arg("--storage-filesystem-folder")
            .arg(dir.path().join("collections"))
            .args(["--logging-level", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("radicale runs (apt-get install radicale; scripts/test installs it)");
        Self::ready(child, port, dir, "ada", "secret").await
    }

    /// Xandikos (no authentication), with its default calendar at `/user/calendars/calendar/`.
    pub async fn xandikos() -> DavServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new("xandikos")
            .arg("--defaults")
            .arg("-d")
            .arg(dir.path().join("store"))
            .args(["-l", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("xandikos runs (apt-get install xandikos; scripts/test installs it)");
        Self::ready(child, port, dir, "user", "unused").await
    }

    async fn ready(
        child: Child,
        port: u16,
        dir: tempfile::TempDir,
        user: &str,
        password: &str,
    ) -> DavServer {
        let server = DavServer {
            child,
            port,
            dir,
            user: user.into(),
            password: password.into(),
            http: Client::new(),
        };
        for _ in 0..150 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the CalDAV server did not start on port {port}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn send(&self, method: &str, path: &str, body: String, content_type: &str) -> StatusCode {
        self.http
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                self.url(path),
            )
            .basic_auth(&self.user, Some(&self.password))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
            .status()
    }

    /// Makes an event calendar at `path` (Radicale has none until a client makes one).
    pub async fn make_calendar(&self, path: &str, name: &str) {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<D:displayname>{name}</D:displayname>
<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>"#
        );
        let status = self.send("MKCALENDAR", path, body, "application/xml").await;
        assert_eq!(status, StatusCode::CREATED, "MKCALENDAR {path}");
    }

    /// Creates or replaces the resource at `path` (a whole VCALENDAR).
    pub async fn put(&self, path: &str, ics: &str) {
        let status = self
            .send(
                "PUT",
                path,
                ics.replace('\n', "\r\n"),
                "text/calendar; charset=utf-8",
            )
            .await;
        assert!(status.is_success(), "PUT {path}: {status}");
    }

    pub async fn delete(&self, path: &str) {
        let status = self.send("DELETE", path, String::new(), "text/plain").await;
        assert!(status.is_success(), "DELETE {path}: {status}");
    }

    /// Radicale reads its htpasswd file on every login: a new password takes effect at once.
    pub fn change_password(&self, password: &str) {
        std::fs::write(
            self.dir.path().join("users"),
            format!("{}:{password}\n", self.user),
        )
        .unwrap();
    }

    /// Stops the server (it is down for the rest of the test).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DavServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A VCALENDAR holding one event.
pub fn event(uid: &str, start: &str, end: &str, summary: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Docket tests//EN
BEGIN:VEVENT
UID:{uid}
DTSTAMP:20260101T000000Z
DTSTART:{start}
DTEND:{end}
SUMMARY:{summary}
{extra}END:VEVENT
END:VCALENDAR
"
    )
}
