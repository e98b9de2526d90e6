//! The checks run on every main page: axe-core for accessibility, html-validate for the HTML
//! exactly as the server sent it. Both come from node_modules (see package.json).

use std::process::Command;

use serde::Deserialize;

use crate::harness::{Browser, node_tools, repo, require, target_file};

/// axe impacts that fail the suite; "moderate" and "minor" are printed only.
const FAILING_IMPACTS: &[&str] = &["serious", "critical"];

/// Runs in the page after axe.min.js: reports each violation with its first offending node.
const RUN_AXE: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ["violations"] })
  .then(r => done(r.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
    target: JSON.stringify(v.nodes[0].target), html: v.nodes[0].html,
  }))))
  .catch(e => done({ error: String(e) }));
"#;

#[derive(Deserialize)]
struct Violation {
    id: String,
    impact: Option<String>,
    help: String,
    nodes: usize,
    target: String,
    html: String,
}

/// Screenshots the current page as `name`, then runs both checks; returns what failed.
pub async fn check_page(browser: &Browser, name: &str) -> Vec<String> {
    browser.screenshot(name).await;
    let mut problems = axe(browser, name).await;
    problems.extend(html_validate(browser, name).await);
    problems
}

/// axe-core, injected through WebDriver: the CSP forbids inline scripts in the page itself.
async fn axe(browser: &Browser, name: &str) -> Vec<String> {
    let path = repo().join("node_modules/axe-core/axe.min.js");
    node_tools();
    require(&path, "axe-core");
    let source = std::fs::read_to_string(path).unwrap();
    browser.client.execute(&source, vec![]).await.unwrap();
    let result = browser.client.execute_async(RUN_AXE, vec![]).await.unwrap();
    if let Some(error) = result.get("error") {
        panic!("axe failed on {name}: {error}");
    }
    let violations: Vec<Violation> = serde_json::from_value(result).unwrap();
    let mut problems = Vec::new();
    for v in violations {
        let impact = v.impact.unwrap_or_default();
        let line = format!(
            "{name}: axe {impact} [{}] {} — {} node(s), first {} {}",
            v.id, v.help, v.nodes, v.target, v.html
        );
        if FAILING_IMPACTS.contains(&impact.as_str()) {
            problems.push(line);
        } else {
            eprintln!("note (not failing): {line}");
        }
    }
    problems
}

/// html-validate on the raw response, fetched again with the browser's cookies: the browser's
/// own page source is the re-serialized DOM, in which the parser has already repaired mistakes.
async fn html_validate(browser: &Browser, name: &str) -> Vec<String> {
    let bin = repo().join("node_modules/.bin/html-validate");
    node_tools();
    require(&bin, "html-validate");
    let url = browser.client.current_url().await.unwrap();
    let response = reqwest::Client::new()
        .get(url.as_str())
        .header("cookie", browser.cookie_header().await)
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "GET {url}: {status} (a page still being built belongs in TODO_PAGES)"
    );
    let html = response.text().await.unwrap();
    // Kept under target/ so a failure's line numbers can be looked up afterwards.
    let file = target_file("html", &format!("{name}.html"));
    std::fs::write(&file, html).unwrap();
    let output = Command::new(bin)
        .args(["--formatter", "text"])
        .arg(&file)
        .current_dir(repo())
        .output()
        .expect("html-validate runs");
    let report = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if output.status.success() {
        if !report.is_empty() {
            eprintln!("note (warnings only): {name}: html-validate\n{report}");
        }
        return vec![];
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    vec![format!("{name}: html-validate\n{report}{stderr}")]
}
