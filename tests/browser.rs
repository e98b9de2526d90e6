//! Browser end-to-end tests: a real headless Chromium signs in through demo mode's built-in
//! Google and Microsoft, and every main page is screenshotted (target/screenshots/), checked
//! with axe-core and validated with html-validate. Each test has its own Docket, database,
//! chromedriver and browser profile.
//!
//! Needs Chromium, chromedriver and `npm ci` (`.ci/run` installs them). Run with
//! `cargo test -j1 --test browser`.

#[path = "browser/checks.rs"]
mod checks;
#[path = "browser/harness.rs"]
mod harness;

use fantoccini::Locator;
use harness::{Browser, Docket};

/// A main page: `name` names its screenshot, `path` is where it lives. A path ending in `*`
/// is a detail page, reached through the first link on the list page whose href starts with
/// the part before the `*` (ids are made by the sync, so they cannot be written down).
struct Page {
    name: &'static str,
    path: &'static str,
}

const fn page(name: &'static str, path: &'static str) -> Page {
    Page { name, path }
}

/// The signed-in pages that exist, checked in this order.
const PAGES: &[Page] = &[
    page("today", "/"),
    page("settings", "/settings"),
    page("meetings", "/meetings"),
    page("meeting", "/meetings/*"),
    page("people", "/people"),
    page("person", "/people/*"),
    page("organizations", "/organizations"),
    page("organization", "/organizations/*"),
    page("action-items", "/action-items"),
    page("decisions", "/decisions"),
    page("search", "/search?q=Globex"),
    page("notes", "/notes"),
    page("new-note", "/notes/new"),
];

/// Pages still being built (404 today): visited but not checked. Move an entry up into PAGES
/// when its route lands; the test prints a reminder when one no longer 404s.
const TODO_PAGES: &[Page] = &[];

/// Demo accounts: the home page's sign-in link to follow, and the account to pick.
const ADA: (&str, &str) = ("Sign in with Google", "ada@northwind.example");
const GRACE: (&str, &str) = ("Sign in with Microsoft", "grace@contoso.example");

/// Signs in from the signed-out home page through the demo account chooser.
async fn sign_in(browser: &Browser, docket: &Docket, (link, email): (&str, &str)) {
    browser.goto(&docket.url("/")).await;
    browser.click(Locator::LinkText(link)).await;
    let account = format!("//button[@name='user'][contains(., '{email}')]");
    browser.click(Locator::XPath(&account)).await;
    let today = "//h1[starts-with(normalize-space(.), 'Today')]";
    browser.wait_for(Locator::XPath(today)).await;
    assert_eq!(browser.path().await, "/");
}

/// The header names the signed-in person (in the menu, so read whether it is open or not).
async fn signed_in_name(browser: &Browser) -> String {
    let name = browser.wait_for(Locator::Css("header .account .who")).await;
    name.prop("textContent").await.unwrap().unwrap_or_default()
}

#[tokio::test]
async fn sign_in_with_google() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    assert_eq!(signed_in_name(&browser).await, "Ada Lovelace");
}

#[tokio::test]
async fn sign_in_with_microsoft() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, GRACE).await;
    assert_eq!(signed_in_name(&browser).await, "Grace Hopper");
}

#[tokio::test]
async fn sign_out() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    let sign_out = Locator::XPath("//button[normalize-space(.)='Sign out']");
    browser.click(sign_out).await;
    browser
        .wait_for(Locator::LinkText("Sign in with Google"))
        .await;
    // Signed out for real: a signed-in page sends the browser back home.
    browser.goto(&docket.url("/settings")).await;
    assert_eq!(browser.path().await, "/");
    browser
        .wait_for(Locator::LinkText("Sign in with Google"))
        .await;
}

/// What a visitor sees before signing in: the home page and the demo account chooser.
#[tokio::test]
async fn signed_out_pages_pass_checks() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    browser.goto(&docket.url("/")).await;
    let mut problems = checks::check_page(&browser, "home").await;
    browser
        .click(Locator::LinkText("Sign in with Google"))
        .await;
    browser.wait_for(Locator::Css("button[name=user]")).await;
    problems.extend(checks::check_page(&browser, "demo-chooser").await);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[tokio::test]
async fn signed_in_pages_pass_checks() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    // Check pages with the demo calendar in them, not the first-sync placeholders.
    docket.wait_for_first_sync().await;
    let mut problems = Vec::new();
    for page in PAGES {
        open(&browser, &docket, page).await;
        problems.extend(checks::check_page(&browser, page.name).await);
    }
    // The phone layout of the page people land on.
    browser.set_viewport(390, 844).await;
    browser.goto(&docket.url("/")).await;
    browser.screenshot("today-phone").await;
    browser.set_viewport(1280, 900).await;
    for page in TODO_PAGES {
        remind_if_built(&docket, &browser, page).await;
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Opens `page`, following the list page's first matching link for a detail page.
async fn open(browser: &Browser, docket: &Docket, page: &Page) {
    let Some(prefix) = page.path.strip_suffix('*') else {
        return browser.goto(&docket.url(page.path)).await;
    };
    browser
        .goto(&docket.url(prefix.trim_end_matches('/')))
        .await;
    let link = format!("main a[href^='{prefix}']");
    let first = browser.wait_for(Locator::Css(&link)).await;
    // Go to the link's absolute URL rather than click: no guessing when navigation is done.
    let href = first
        .prop("href")
        .await
        .unwrap()
        .expect("a link has an href");
    browser.goto(&href).await;
}

/// Prints a reminder when a TODO page answers with something other than 404.
async fn remind_if_built(docket: &Docket, browser: &Browser, page: &Page) {
    // A detail page is due once its list page exists.
    let path = page.path.trim_end_matches(['*', '/']);
    let status = reqwest::Client::new()
        .get(docket.url(path))
        .header("cookie", browser.cookie_header().await)
        .send()
        .await
        .unwrap()
        .status();
    if status != reqwest::StatusCode::NOT_FOUND {
        let (name, listed) = (page.name, page.path);
        eprintln!("reminder: {path} answers {status}: move {name} ({listed}) into PAGES");
    }
}

/// An API token made in Settings: its secret shown once, then only listed; both views pass
/// the checks.
#[tokio::test]
async fn an_api_token_is_made_in_settings_and_shown_once() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    browser.goto(&docket.url("/settings#api-tokens")).await;
    let name = browser.wait_for(Locator::Css("input#api-token-name")).await;
    name.send_keys("Weekly report script").await.unwrap();
    browser
        .click(Locator::XPath(
            "//button[normalize-space(.)='Create token']",
        ))
        .await;
    let secret = browser
        .wait_for(Locator::Css("input#new-api-token"))
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(secret.starts_with("dkt_"), "{secret}");
    let mut problems = checks::check_page(&browser, "settings-new-api-token").await;
    // A new page view (not a jump within this one to its #api-tokens).
    browser.goto(&docket.url("/settings")).await;
    let listed = browser
        .wait_for(Locator::Css("#api-token-list tbody td"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(listed, "Weekly report script");
    let shown = browser
        .client
        .find_all(Locator::Css("input#new-api-token"))
        .await
        .unwrap();
    assert!(shown.is_empty(), "the secret is shown once");
    problems.extend(checks::check_page(&browser, "settings-api-tokens").await);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The core loop in a real browser: notes in the grammar (saved with Ctrl+Enter, which needs
/// our script to load under the CSP), the item on the person's page, ticked there, `[x]` back
/// in the note, then found by search.
#[tokio::test]
async fn take_notes_review_by_person_tick_and_search() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    docket.wait_for_first_sync().await;
    browser.goto(&docket.url("/")).await;
    browser.click(Locator::LinkText("Q1 planning review")).await;
    let notes = browser.wait_for(Locator::Css("textarea#body")).await;
    notes.clear().await.unwrap();
    notes
        .send_keys("- [ ] @charles send the budget deck due:2026-12-24\nDecision: hire two engineers in Q1\n?? who owns the hiring plan")
        .await
        .unwrap();
    // Ctrl+Enter: Control down, Enter, then release all modifiers.
    notes.send_keys("\u{E009}\u{E007}\u{E000}").await.unwrap();
    browser
        .wait_for(Locator::XPath(
            "//span[@class='item-text'][contains(., 'send the budget deck')]",
        ))
        .await;
    browser.screenshot("meeting-with-notes").await;

    browser.click(Locator::LinkText("Charles Babbage")).await;
    browser
        .wait_for(Locator::XPath("//h1[normalize-space(.)='Charles Babbage']"))
        .await;
    // The assignee and due date are fields of the item: its text shows neither token.
    let tick = "//button[@aria-label='Mark “send the budget deck” done']";
    browser.wait_for(Locator::XPath(tick)).await;
    browser.screenshot("person-owes").await;
    browser.click(Locator::XPath(tick)).await;
    // Ticked in place, with a notice to undo it; the item is no longer open…
    browser
        .wait_for(Locator::XPath(
            "//div[@id='notices']//span[starts-with(., 'Done')]",
        ))
        .await;
    let open = browser.client.find_all(Locator::XPath(tick)).await.unwrap();
    assert!(open.is_empty(), "the ticked item is no longer open");
    // …and the note says so.
    browser.goto(&docket.url("/")).await;
    browser.click(Locator::LinkText("Q1 planning review")).await;
    let text = browser
        .wait_for(Locator::Css("textarea#body"))
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(
        text.starts_with("- [x] @charles send the budget deck"),
        "{text}"
    );

    let search = browser.wait_for(Locator::Css("header input[name=q]")).await;
    search.send_keys("budget\u{E007}").await.unwrap();
    browser
        .wait_for(Locator::XPath(
            "//mark[translate(., 'BUDGET', 'budget')='budget']",
        ))
        .await;
    assert_eq!(browser.path().await, "/search");
    browser.screenshot("search-results").await;
}

/// Settings → Import in a real browser: the form's multipart body (the CSRF token first, in
/// document order, as the CSRF check expects), the result page following the import by itself
/// until it is done, and that page passing the same checks as every other.
#[tokio::test]
async fn import_a_vault_through_the_settings_form() {
    use std::io::Write as _;
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    docket.wait_for_first_sync().await;
    let vault = harness::target_file("browser-import", "vault.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&vault).unwrap());
    let options = zip::write::SimpleFileOptions::default();
    for (name, text) in [
        ("Work/2025-05-06 Ideas.md", "- [ ] try the new format\n"),
        ("Inbox/Reading list.md", "Books to read.\n"),
        ("attachments/whiteboard.png", "not really a picture"),
    ] {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap();

    browser.goto(&docket.url("/settings#import")).await;
    let file = browser.wait_for(Locator::Css("input#import-archive")).await;
    file.send_keys(vault.to_str().unwrap()).await.unwrap();
    browser
        .click(Locator::XPath(
            "//section[@id='import']//button[@type='submit']",
        ))
        .await;
    browser
        .wait_for(Locator::XPath(
            "//h2[@id='import-state'][normalize-space(.)='Done']",
        ))
        .await;
    assert!(browser.path().await.starts_with("/settings/imports/"));
    let standalone = browser
        .wait_for(Locator::Css("#count-standalone"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(standalone, "2");
    let problems = checks::check_page(&browser, "import-result").await;
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    // The settings page lists it, and still passes its checks with the list.
    browser.goto(&docket.url("/settings#import")).await;
    browser
        .wait_for(Locator::XPath(
            "//ul[contains(@class, 'imports')]//a[normalize-space(.)='vault.zip']",
        ))
        .await;
    let problems = checks::check_page(&browser, "settings-with-import").await;
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// "Export everything" downloads a vault in a real browser, and Settings → Import takes that
/// very file back: a note cleared after the export returns, found by its meeting.
#[tokio::test]
async fn export_everything_then_import_the_download_back() {
    use std::io::Read as _;
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    docket.wait_for_first_sync().await;
    browser.goto(&docket.url("/")).await;
    browser.click(Locator::LinkText("Q1 planning review")).await;
    let meeting = browser.path().await;
    let save = |text: &'static str| {
        let browser = &browser;
        async move {
            let notes = browser.wait_for(Locator::Css("textarea#body")).await;
            notes.clear().await.unwrap();
            if !text.is_empty() {
                notes.send_keys(text).await.unwrap();
            }
            browser
                .click(Locator::XPath(
                    "//form[.//textarea[@id='body']]//button[@type='submit']",
                ))
                .await;
        }
    };
    save("- [ ] draft the export plan\nDecision: keep Markdown\n").await;
    let item = "//span[@class='item-text'][contains(., 'draft the export plan')]";
    browser.wait_for(Locator::XPath(item)).await;

    browser.goto(&docket.url("/settings#export")).await;
    browser.click(Locator::LinkText("Export everything")).await;
    let download = browser.downloaded(".zip").await;
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&download).unwrap()).unwrap();
    let name = archive
        .file_names()
        .find(|n| n.starts_with("Meetings/") && n.ends_with(" Q1 planning review.md"))
        .expect("the meeting's file")
        .to_owned();
    let mut note = String::new();
    archive
        .by_name(&name)
        .unwrap()
        .read_to_string(&mut note)
        .unwrap();
    // A browser sends a textarea's line breaks as CRLF; the vault keeps the text as saved.
    assert!(
        note.ends_with("- [ ] draft the export plan\r\nDecision: keep Markdown\r\n"),
        "{note}"
    );

    // The note is cleared, then the downloaded file imported: the note comes back.
    browser.goto(&docket.url(&meeting)).await;
    save("").await;
    browser
        .wait_for(Locator::XPath(
            "//textarea[@id='body'][not(normalize-space(.))]",
        ))
        .await;
    let cleared = browser.client.find_all(Locator::XPath(item)).await.unwrap();
    assert!(cleared.is_empty(), "the item left with its line");
    browser.goto(&docket.url("/settings#import")).await;
    let file = browser.wait_for(Locator::Css("input#import-archive")).await;
    file.send_keys(download.to_str().unwrap()).await.unwrap();
    browser
        .click(Locator::XPath(
            "//section[@id='import']//button[@type='submit']",
        ))
        .await;
    browser
        .wait_for(Locator::XPath(
            "//h2[@id='import-state'][normalize-space(.)='Done']",
        ))
        .await;
    let matched = browser
        .wait_for(Locator::Css("#count-matched"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(matched, "1");
    browser.goto(&docket.url(&meeting)).await;
    browser.wait_for(Locator::XPath(item)).await;
}

/// The meeting "Q1 planning review" opened from Today; returns its path.
async fn open_q1_review(browser: &Browser, docket: &Docket) -> String {
    browser.goto(&docket.url("/")).await;
    browser.click(Locator::LinkText("Q1 planning review")).await;
    browser.wait_for(Locator::Css("textarea#body")).await;
    browser.path().await
}

/// The saved text of Ada's note of "Q1 planning review" (the demo has notes of its own).
async fn q1_note(docket: &Docket) -> String {
    sqlx::query_scalar(
        "select n.body from notes n join meetings m on m.id = n.meeting_id
         where m.title = 'Q1 planning review'",
    )
    .fetch_one(&docket.db)
    .await
    .unwrap()
}

/// Waits until Ada's draft holds `text` (the request that keeps it may still be on its way when
/// the page it left has gone).
async fn wait_for_draft(docket: &Docket, text: &str) {
    let started = std::time::Instant::now();
    loop {
        let kept: Option<String> = sqlx::query_scalar("select body from drafts")
            .fetch_optional(&docket.db)
            .await
            .unwrap();
        if kept.as_deref() == Some(text) {
            return;
        }
        assert!(
            started.elapsed() < harness::PATIENCE,
            "the draft never became {text:?}: {kept:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Typing is never lost: the editor keeps a draft once typing stops (and says so), and when the
/// page is left before that; opening the meeting again restores it with a notice.
#[tokio::test]
async fn autosave_keeps_a_draft_that_is_restored_on_return() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    docket.wait_for_first_sync().await;
    let meeting = open_q1_review(&browser, &docket).await;
    let notes = browser.wait_for(Locator::Css("textarea#body")).await;
    notes.clear().await.unwrap();
    notes
        .send_keys("- [ ] @charles book the venue")
        .await
        .unwrap();
    browser
        .wait_for(Locator::XPath(
            "//span[@data-save-state][starts-with(., 'Draft kept')]",
        ))
        .await;
    wait_for_draft(&docket, "- [ ] @charles book the venue").await;

    // More typing, and away at once: the draft follows the page out.
    notes.send_keys("\nDecision: Lisbon").await.unwrap();
    browser.goto(&docket.url("/")).await;
    wait_for_draft(&docket, "- [ ] @charles book the venue\nDecision: Lisbon").await;

    browser.goto(&docket.url(&meeting)).await;
    let restored = browser
        .wait_for(Locator::Css("textarea#body"))
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(restored, "- [ ] @charles book the venue\nDecision: Lisbon");
    let notice = browser
        .wait_for(Locator::Css(".draft-notice p"))
        .await
        .text()
        .await
        .unwrap();
    assert!(notice.starts_with("Unsaved draft from"), "{notice}");
    let mut problems = checks::check_page(&browser, "meeting-draft-restored").await;
    browser.set_viewport(390, 844).await;
    browser.goto(&docket.url(&format!("{meeting}#notes"))).await;
    browser.wait_for(Locator::Css(".draft-notice")).await;
    browser.screenshot("meeting-draft-restored-phone").await;

    // Saved from the notice (on the phone): the draft is gone and the save state says when.
    browser.goto(&docket.url(&meeting)).await;
    browser
        .click(Locator::XPath(
            "//div[contains(@class, 'draft-notice')]//button[normalize-space(.)='Save']",
        ))
        .await;
    browser
        .wait_for(Locator::XPath(
            "//span[@data-save-state][starts-with(., 'Saved ')]",
        ))
        .await;
    browser
        .wait_for(Locator::XPath(
            "//span[@class='item-text'][contains(., 'book the venue')]",
        ))
        .await;
    let drafts: i64 = sqlx::query_scalar("select count(*) from drafts")
        .fetch_one(&docket.db)
        .await
        .unwrap();
    assert_eq!(drafts, 0);
    problems.extend(checks::check_page(&browser, "meeting-saved").await);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Ticking an item on a person's page shows "Done" with an Undo button (in place, announced in
/// the live region); Undo opens it again, in the page and in the note.
#[tokio::test]
async fn ticking_an_item_shows_done_with_an_undo_that_reopens_it() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    docket.wait_for_first_sync().await;
    open_q1_review(&browser, &docket).await;
    let notes = browser.wait_for(Locator::Css("textarea#body")).await;
    notes.clear().await.unwrap();
    notes
        .send_keys("- [ ] @charles send the budget deck")
        .await
        .unwrap();
    browser
        .click(Locator::XPath(
            "//form[.//textarea[@id='body']]//button[@type='submit']",
        ))
        .await;
    // The saved item on the meeting page: right after the click the old page (which links to
    // Charles too) is still there, and clicking its link as the page goes is a stale element.
    let saved = "//span[@class='item-text'][contains(., 'send the budget deck')]";
    browser.wait_for(Locator::XPath(saved)).await;
    browser.click(Locator::LinkText("Charles Babbage")).await;
    let tick = "//button[@aria-label='Mark “send the budget deck” done']";
    browser.click(Locator::XPath(tick)).await;
    let undo = "//div[@id='notices']//button[normalize-space(.)='Undo']";
    browser.wait_for(Locator::XPath(undo)).await;
    browser
        .wait_for(Locator::XPath(
            "//li[contains(@class, 'item') and contains(@class, 'done')]",
        ))
        .await;
    let body = q1_note(&docket).await;
    assert_eq!(body, "- [x] @charles send the budget deck");
    let problems = checks::check_page(&browser, "person-ticked-undo").await;

    browser.click(Locator::XPath(undo)).await;
    browser
        .wait_for(Locator::XPath(
            "//div[@id='notices']//span[starts-with(., 'Undone')]",
        ))
        .await;
    browser.wait_for(Locator::XPath(tick)).await;
    let body = q1_note(&docket).await;
    assert_eq!(body, "- [ ] @charles send the budget deck");
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Two tabs, one note, in a real browser: the stale save lands on the merge view (which names
/// the meeting and marks the differing lines), "Keep mine" saves, and Back afterwards shows the
/// meeting, never a "Confirm Form Resubmission" page.
#[tokio::test]
async fn a_conflict_opens_the_merge_view_and_back_after_merging_shows_the_meeting() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    docket.wait_for_first_sync().await;
    let meeting = open_q1_review(&browser, &docket).await;
    // "Another tab" saves first, from this page's own form.
    let other_tab = r#"
        const form = document.querySelector("form#note-form");
        const fields = new URLSearchParams(new FormData(form));
        fields.set("body", "agenda\nbudget: 2 engineers\n");
        return fetch(form.action, { method: "POST", body: fields }).then(r => r.status);
    "#;
    let status = browser.client.execute(other_tab, vec![]).await.unwrap();
    assert_eq!(status, 200, "the other tab's save, its redirect followed");
    let notes = browser.wait_for(Locator::Css("textarea#body")).await;
    notes.clear().await.unwrap();
    notes
        .send_keys("agenda\nbudget: 3 engineers\n")
        .await
        .unwrap();
    browser
        .click(Locator::XPath(
            "//form[.//textarea[@id='body']]//button[@type='submit']",
        ))
        .await;
    // The merge view's own heading: right after the click the meeting page's h1 is still
    // there, and reading it as the page goes would be reading a stale element.
    let heading = browser
        .wait_for(Locator::XPath("//h1[starts-with(., 'Merge the notes')]"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "Merge the notes of “Q1 planning review”");
    assert_eq!(browser.path().await, format!("{meeting}/merge"));
    let old = browser
        .wait_for(Locator::Css(".diff li.old .diff-text"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(old, "budget: 2 engineers");
    let mut problems = checks::check_page(&browser, "merge").await;
    browser.set_viewport(390, 844).await;
    browser.screenshot("merge-phone").await;
    // The rest at phone size: the merge view's buttons are used there as much as anywhere.

    browser
        .click(Locator::XPath("//button[normalize-space(.)='Keep mine']"))
        .await;
    browser
        .wait_for(Locator::XPath(
            "//span[@data-save-state][starts-with(., 'Saved ')]",
        ))
        .await;
    assert_eq!(browser.path().await, meeting);
    let body = q1_note(&docket).await;
    assert_eq!(body.replace("\r\n", "\n"), "agenda\nbudget: 3 engineers\n");
    browser.client.back().await.unwrap();
    browser.wait_for(Locator::Css("textarea#body")).await;
    assert_eq!(
        browser.path().await,
        meeting,
        "Back: the meeting, not a form to resend"
    );
    problems.extend(checks::check_page(&browser, "meeting-after-merge").await);
    // Its history: the list, and the version the merge replaced beside the current text.
    browser.click(Locator::LinkText("History")).await;
    browser
        .click(Locator::XPath(
            "//ol[contains(@class, 'versions')]//a[normalize-space(.)='Version 1']",
        ))
        .await;
    browser
        .wait_for(Locator::XPath(
            "//button[normalize-space(.)='Restore version 1']",
        ))
        .await;
    problems.extend(checks::check_page(&browser, "note-version").await);
    browser.client.back().await.unwrap();
    browser.wait_for(Locator::Css("ol.versions")).await;
    problems.extend(checks::check_page(&browser, "note-history").await);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Following up in a real browser: Today lists a past meeting waiting for its recap; its page
/// offers the recap as a mailto link and as Markdown (the copy button appears only with our
/// script); opening the mail marks the recap sent, which a reload confirms.
#[tokio::test]
async fn follow_up_a_meeting_with_its_recap() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    docket.wait_for_first_sync().await;
    browser.goto(&docket.url("/")).await;
    let waiting = browser
        .wait_for(Locator::Css(".wrap-up a[href$='#recap']"))
        .await;
    let href = waiting.prop("href").await.unwrap().unwrap();
    browser.goto(&href).await;
    let notes = browser.wait_for(Locator::Css("textarea#body")).await;
    notes.clear().await.unwrap();
    notes
        .send_keys("- [ ] @charles send the recap deck\nDecision: keep the weekly")
        .await
        .unwrap();
    notes.send_keys("\u{E009}\u{E007}\u{E000}").await.unwrap();
    // The saved page (the recap link is on the page before the save too).
    browser
        .wait_for(Locator::XPath(
            "//span[@class='item-text'][contains(., 'send the recap deck')]",
        ))
        .await;
    let link = browser.wait_for(Locator::Css("a[data-recap-mailto]")).await;
    let mailto = link.attr("href").await.unwrap().unwrap();
    assert!(mailto.starts_with("mailto:"), "{mailto}");
    assert!(mailto.contains("send%20the%20recap%20deck"), "{mailto}");

    let copy = browser
        .wait_for(Locator::Css("button[data-copy='recap-markdown']"))
        .await;
    assert!(
        copy.is_displayed().await.unwrap(),
        "the script shows the copy button"
    );
    copy.click().await.unwrap();
    let status = browser.wait_for(Locator::Css("[data-copy-status]")).await;
    for _ in 0..50 {
        if !status.text().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        !status.text().await.unwrap().is_empty(),
        "copying says what happened"
    );

    // Headless Chromium has no mail client: the click only reaches our script.
    link.click().await.unwrap();
    browser
        .wait_for(Locator::XPath(
            "//*[@data-recap-status][normalize-space(.)='Recap sent just now.']",
        ))
        .await;
    // A new page view (the same URL with its #recap would only scroll).
    browser.goto(href.trim_end_matches("#recap")).await;
    browser
        .wait_for(Locator::XPath(
            "//*[@data-recap-status][starts-with(normalize-space(.), 'Recap sent ')]",
        ))
        .await;
    browser
        .wait_for(Locator::XPath(
            "//button[normalize-space(.)='Mark as not sent']",
        ))
        .await;
    browser.screenshot("meeting-recap").await;
    let problems = checks::check_page(&browser, "meeting-recap").await;
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Presses `keys` one after another on whatever has the focus, as a person typing would.
async fn press(browser: &Browser, keys: &str) {
    use fantoccini::actions::{InputSource, KeyAction, KeyActions};
    let mut actions = KeyActions::new("keyboard".into());
    for key in keys.chars() {
        actions = actions
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
    }
    browser.client.perform_actions(actions).await.unwrap();
}

/// What a script in the page answers.
async fn eval(browser: &Browser, script: &str) -> serde_json::Value {
    browser.client.execute(script, vec![]).await.unwrap()
}

/// Presses `keys` and waits for the page at `path` (shortcuts navigate).
async fn press_and_land(browser: &Browser, keys: &str, path: &str) {
    press(browser, keys).await;
    for _ in 0..150 {
        if browser.path().await == path {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "{keys:?} did not lead to {path}: at {}",
        browser.path().await
    );
}

/// Writes an action item with `@` completion: the list offers the attendee, Enter picks them,
/// and the saved item shows its text without the tokens that became its assignee and due date.
async fn write_an_item_with_a_completed_mention(browser: &Browser, docket: &Docket) {
    browser.goto(&docket.url("/")).await;
    browser.click(Locator::LinkText("Q1 planning review")).await;
    let notes = browser.wait_for(Locator::Css("textarea#body")).await;
    notes.clear().await.unwrap();
    notes.send_keys("- [ ] @cha").await.unwrap();
    browser
        .wait_for(Locator::XPath(
            "//ul[@id='mention-list']/li[@aria-selected='true'][contains(., 'Charles Babbage')]",
        ))
        .await;
    let list = browser.wait_for(Locator::Css("ul#mention-list")).await;
    assert!(list.is_displayed().await.unwrap());
    notes.send_keys("\u{E007}").await.unwrap();
    notes
        .send_keys("send the budget deck by Friday")
        .await
        .unwrap();
    let text = notes.prop("value").await.unwrap().unwrap();
    assert_eq!(text, "- [ ] @charles send the budget deck by Friday");
    notes.send_keys("\u{E009}\u{E007}\u{E000}").await.unwrap();
    let item = browser
        .wait_for(Locator::XPath(
            "//li[contains(@class, 'item')][.//span[@class='item-text'][normalize-space(.)='send the budget deck']]",
        ))
        .await;
    let meta = item
        .find(Locator::Css(".meta"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        meta.contains("Charles Babbage") && meta.contains("due"),
        "{meta}"
    );
}

/// Keyboard first: `?` lists the shortcuts, `/` searches, `g` + a letter goes places, `j`/`k`
/// walk a list, `x` ticks the focused item in place (announced), Enter opens it, `e` edits the
/// notes; and none of it happens while typing in a field.
#[tokio::test]
async fn keyboard_shortcuts_navigate_and_act_outside_text_fields() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    docket.wait_for_first_sync().await;
    write_an_item_with_a_completed_mention(&browser, &docket).await;

    // `e` on a meeting page: into the notes (leave them first).
    eval(&browser, "document.activeElement.blur()").await;
    press(&browser, "e").await;
    assert_eq!(
        eval(&browser, "return document.activeElement.id").await,
        "body"
    );
    eval(&browser, "document.activeElement.blur()").await;

    press(&browser, "?").await;
    let dialog = browser.wait_for(Locator::Css("dialog#shortcuts")).await;
    assert_eq!(dialog.prop("open").await.unwrap().as_deref(), Some("true"));
    browser.screenshot("shortcuts").await;
    press(&browser, "\u{E00C}").await;
    assert_eq!(dialog.prop("open").await.unwrap().as_deref(), Some("false"));

    press(&browser, "/").await;
    assert_eq!(
        eval(&browser, "return document.activeElement.id").await,
        "q"
    );
    // Typing in a field is typing: "g m" is a search, not a shortcut.
    press(&browser, "g m").await;
    assert_eq!(
        eval(&browser, "return document.getElementById('q').value").await,
        "g m"
    );
    assert!(browser.path().await.starts_with("/meetings/"));
    eval(&browser, "document.activeElement.blur()").await;

    press_and_land(&browser, "gm", "/meetings").await;
    press_and_land(&browser, "gp", "/people").await;
    press_and_land(&browser, "gt", "/").await;
    press_and_land(&browser, "ga", "/action-items").await;

    // j walks the open items to ours; x ticks it where it is, and says so.
    browser.wait_for(Locator::Css("ul.items > li.item")).await;
    let focused = "return document.activeElement.matches('ul.items > li.item') \
                   && document.activeElement.querySelector('.item-text').dataset.text";
    let mut steps = 0;
    loop {
        press(&browser, "j").await;
        steps += 1;
        if eval(&browser, focused).await == "send the budget deck" {
            break;
        }
        assert!(steps < 100, "j never reached the item");
    }
    press(&browser, "x").await;
    browser
        .wait_for(Locator::XPath(
            "//div[@id='announce'][contains(., '“send the budget deck” marked done')]",
        ))
        .await;
    let ticked = "//li[contains(@class, 'done')]//button[@aria-label='Mark “send the budget deck” not done']";
    browser.wait_for(Locator::XPath(ticked)).await;
    // The server has it: ticked in the note.
    let body: String = sqlx::query_scalar("select body from notes where body like '%budget deck%'")
        .fetch_one(&docket.db)
        .await
        .unwrap();
    assert!(
        body.starts_with("- [x] @charles send the budget deck"),
        "{body}"
    );
    // x again opens it again; Enter opens the item's meeting.
    press(&browser, "x").await;
    browser
        .wait_for(Locator::XPath(
            "//div[@id='announce'][contains(., 'marked not done')]",
        ))
        .await;
    // Down and back up again (unless it is the last item, where j stays).
    press(&browser, "jk").await;
    if eval(&browser, focused).await != "send the budget deck" {
        press(&browser, "j").await;
    }
    assert_eq!(eval(&browser, focused).await, "send the budget deck");
    press(&browser, "\u{E007}").await;
    browser
        .wait_for(Locator::XPath(
            "//h1[normalize-space(.)='Q1 planning review']",
        ))
        .await;
}

/// A person's page draws who they meet with as linked nodes (and lists the same links); a
/// node leads to that person's page. An organization's page has its picture too.
#[tokio::test]
async fn person_and_organization_pages_draw_their_neighbourhood() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    docket.wait_for_first_sync().await;
    browser.goto(&docket.url("/people")).await;
    browser.click(Locator::LinkText("Charles Babbage")).await;
    let svg = browser
        .wait_for(Locator::Css(".neighbourhood figure.picture svg"))
        .await;
    let nodes = svg.find_all(Locator::Css("a.pic-node")).await.unwrap();
    // Charles in the middle, you, and the people he meets with.
    assert!(nodes.len() >= 4, "{} nodes", nodes.len());
    let listed = browser
        .client
        .find_all(Locator::Css(".picture-list a"))
        .await
        .unwrap();
    assert_eq!(
        listed.len(),
        nodes.len() - 1,
        "the list names every node but the centre"
    );
    for node in &nodes {
        let href = node.attr("href").await.unwrap().unwrap();
        assert!(href.starts_with('/'), "{href}");
        assert!(
            node.attr("aria-label")
                .await
                .unwrap()
                .is_some_and(|l| !l.is_empty())
        );
    }
    browser.screenshot("person-picture").await;
    let mut problems = checks::check_page(&browser, "person-with-picture").await;
    // Dark mode: the drawing takes the dark palette (its colours are the page's properties).
    let colours = "const style = (s, p) => getComputedStyle(document.querySelector(s))[p];
        return [style('.pic-centre circle', 'fill'), style('.picture text', 'fill'),
                style('body', 'color')];";
    let light = eval(&browser, colours).await;
    browser.prefer_dark(true).await;
    let dark = eval(&browser, colours).await;
    assert_ne!(light, dark, "the picture follows the colour scheme");
    assert_eq!(dark[0], "rgb(126, 162, 255)", "the dark accent");
    assert_eq!(dark[1], dark[2], "labels in the page's text colour");
    browser.screenshot("person-picture-dark").await;
    problems.extend(checks::check_page(&browser, "person-with-picture-dark").await);
    browser.prefer_dark(false).await;

    // A person node leads to their page.
    let neighbour = svg.find(Locator::Css("a.pic-person")).await.unwrap();
    let label = neighbour.attr("aria-label").await.unwrap().unwrap();
    let name = label.split([':', '(']).next().unwrap().trim().to_owned();
    neighbour.click().await.unwrap();
    browser
        .wait_for(Locator::XPath(&format!(
            "//h1[normalize-space(.)='{name}']"
        )))
        .await;
    assert!(browser.path().await.starts_with("/people/"));

    browser.goto(&docket.url("/organizations")).await;
    let first = browser
        .wait_for(Locator::Css("main a[href^='/organizations/']"))
        .await;
    first.click().await.unwrap();
    let org_nodes = browser
        .wait_for(Locator::Css(".neighbourhood svg"))
        .await
        .find_all(Locator::Css("a.pic-node"))
        .await
        .unwrap();
    assert!(org_nodes.len() >= 2, "{} nodes", org_nodes.len());
    problems.extend(checks::check_page(&browser, "organization-with-picture").await);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// Elements (innermost first) whose right edge is past the screen's, as the start of their HTML.
const WIDER_THAN_THE_SCREEN: &str = "const width = document.documentElement.clientWidth;
    return Array.from(document.querySelectorAll('body *'))
      .filter(el => el.checkVisibility() && el.getBoundingClientRect().right > width + 0.5
        && !Array.from(el.children).some(c => c.getBoundingClientRect().right > width + 0.5))
      .slice(0, 3).map(el => el.outerHTML.slice(0, 120));";

/// At phone width (390 px) every main page fits without scrolling sideways, the header stays
/// under 64 px, and its menu opens to the navigation.
#[tokio::test]
async fn every_main_page_fits_a_phone_without_scrolling_sideways() {
    let docket = Docket::start().await;
    let browser = Browser::start().await;
    sign_in(&browser, &docket, ADA).await;
    docket.wait_for_first_sync().await;
    // With an item on Today, the meeting and the person.
    write_an_item_with_a_completed_mention(&browser, &docket).await;
    browser.set_viewport(390, 844).await;
    let mut problems = Vec::new();
    for page in PAGES {
        open(&browser, &docket, page).await;
        browser.wait_for(Locator::Css("main h1")).await;
        let sideways = eval(
            &browser,
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
        )
        .await
        .as_i64()
        .unwrap();
        if sideways > 0 {
            // Name the innermost elements that reach past the screen's edge.
            let culprits = eval(&browser, WIDER_THAN_THE_SCREEN).await;
            problems.push(format!(
                "{}: {sideways} px wider than the screen: {culprits}",
                page.name
            ));
        }
        let header = eval(
            &browser,
            "return document.querySelector('header.top').getBoundingClientRect().height",
        )
        .await
        .as_f64()
        .unwrap();
        if header >= 64.0 {
            problems.push(format!("{}: header {header} px tall", page.name));
        }
        browser.screenshot(&format!("{}-phone", page.name)).await;
    }
    // The menu: closed, the navigation is hidden; open, it is there and works.
    browser.goto(&docket.url("/")).await;
    let people = Locator::XPath("//nav[@aria-label='Main']//a[normalize-space(.)='People']");
    let link = browser.wait_for(people).await;
    assert!(!link.is_displayed().await.unwrap());
    browser
        .click(Locator::XPath("//summary[normalize-space(.)='Menu']"))
        .await;
    assert!(link.is_displayed().await.unwrap());
    browser.screenshot("menu-phone").await;
    problems.extend(checks::check_page(&browser, "today-phone-menu").await);
    link.click().await.unwrap();
    browser
        .wait_for(Locator::XPath("//h1[normalize-space(.)='People']"))
        .await;
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
