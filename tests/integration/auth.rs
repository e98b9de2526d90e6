//! Sign-in with Google and Microsoft against the local fake provider, over real HTTP.

use docket::fake_provider::IdTokenTweak;
use reqwest::StatusCode;

use crate::common::{Browser, World, html, location, texts};

const ADA: &str = "ada@northwind.example";
const ALAN: &str = "alan@bletchley.example";
const GRACE: &str = "grace@contoso.example";

async fn count(world: &World, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn google_sign_in_lands_on_today_signed_in() {
    let world = World::new().await;
    let browser = Browser::new(&world.app);
    let authorize = browser.start_sign_in("google", "").await;
    assert!(
        authorize.contains("code_challenge_method=S256"),
        "{authorize}"
    );
    assert!(authorize.contains("access_type=offline"));
    assert!(authorize.contains("nonce="));
    let callback = browser.approve(&authorize, ADA, true).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/");
    let doc = browser.get_html("/").await;
    assert!(texts(&doc, "h1")[0].starts_with("Today"));
    assert_eq!(texts(&doc, ".account .who"), ["Ada Lovelace"]);
    let subject: String = sqlx::query_scalar("select subject from accounts")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(
        subject, "110248495921238986420",
        "identity is the provider's sub"
    );
}

#[tokio::test]
async fn microsoft_sign_in_uses_tenant_and_object_id() {
    let world = World::new().await;
    let browser = Browser::new(&world.app);
    let authorize = browser.start_sign_in("microsoft", "").await;
    assert!(authorize.contains("offline_access"));
    assert!(authorize.contains("Calendars.Read"));
    let callback = browser.approve(&authorize, GRACE, true).await;
    let response = browser.get(&callback).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(browser.is_signed_in().await);
    let subject: String = sqlx::query_scalar("select subject from accounts")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(
        subject,
        "3c7a1e52-5f4d-4e8b-9c2a-7b6d5e4f3a21/8d1c5e3a-6b2f-4c1e-9a7d-3f0b2e4c6a18"
    );
}

#[tokio::test]
async fn a_callback_with_the_wrong_state_is_refused_and_signs_nobody_in() {
    let world = World::new().await;
    let browser = Browser::new(&world.app);
    let authorize = browser.start_sign_in("google", "").await;
    let callback = browser.approve(&authorize, ADA, true).await;
    let forged = regex_replace_state(&callback, "forged-state");
    let response = browser.get(&forged).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let doc = html(&response.text().await.unwrap());
    assert!(texts(&doc, "main p")[0].contains("does not belong to this browser"));
    assert!(!browser.is_signed_in().await);
    assert_eq!(count(&world, "select count(*) from users").await, 0);
    // The state check failed before any token exchange: the code is still unredeemed, and the
    // pending sign-in is spent, so even the genuine callback now fails.
    let genuine = browser.get(&callback).await;
    assert_eq!(genuine.status(), StatusCode::BAD_REQUEST);
}

fn regex_replace_state(url: &str, new_state: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                new_state.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

#[tokio::test]
async fn a_callback_in_another_browser_is_refused() {
    let world = World::new().await;
    let victim = Browser::new(&world.app);
    let attacker = Browser::new(&world.app);
    let authorize = attacker.start_sign_in("google", "").await;
    let callback = attacker.approve(&authorize, ALAN, true).await;
    // Login CSRF: the attacker's callback URL opened in the victim's browser.
    let response = victim.get(&callback).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!victim.is_signed_in().await);
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_creates_nothing() {
    let world = World::new().await;
    let browser = Browser::new(&world.app);
    let authorize = browser.start_sign_in("google", "").await;
    let callback = browser.approve(&authorize, ADA, true).await;
    assert_eq!(browser.get(&callback).await.status(), StatusCode::SEE_OTHER);
    // Replay the same code with a fresh, valid state from a new sign-in in another browser.
    let replayer = Browser::new(&world.app);
    let fresh = replayer.start_sign_in("google", "").await;
    let fresh_state = url::Url::parse(&fresh)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let replay = regex_replace_state(&callback, &fresh_state);
    let response = replayer.get(&replay).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!replayer.is_signed_in().await);
    assert_eq!(count(&world, "select count(*) from accounts").await, 1);
    assert_eq!(count(&world, "select count(*) from users").await, 1);
}

#[tokio::test]
async fn a_code_redeemed_with_another_flows_pkce_verifier_is_refused() {
    let world = World::new().await;
    let first = Browser::new(&world.app);
    let second = Browser::new(&world.app);
    let a = first.start_sign_in("google", "").await;
    let b = second.start_sign_in("google", "").await;
    let a_state = url::Url::parse(&a)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    // An injected code: issued for the second flow's challenge, delivered to the first flow.
    let b_callback = second.approve(&b, ADA, true).await;
    let injected = regex_replace_state(&b_callback, &a_state);
    let response = first.get(&injected).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(!first.is_signed_in().await);
    assert_eq!(count(&world, "select count(*) from users").await, 0);
}

#[tokio::test]
async fn invalid_id_tokens_are_refused() {
    for tweak in [
        IdTokenTweak::WrongAudience,
        IdTokenTweak::Expired,
        IdTokenTweak::WrongNonce,
        IdTokenTweak::OtherIssuer,
        IdTokenTweak::UnknownKey,
    ] {
        for (provider, email) in [("google", ADA), ("microsoft", GRACE)] {
            let world = World::new().await;
            let browser = Browser::new(&world.app);
            world.fake.tweak_next_id_token(tweak);
            let response = browser.sign_in(provider, email).await;
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{provider} {tweak:?}"
            );
            let doc = html(&response.text().await.unwrap());
            assert!(
                texts(&doc, "main p")[0].contains("could not verify the identity"),
                "{provider} {tweak:?}"
            );
            assert!(!browser.is_signed_in().await, "{provider} {tweak:?}");
            assert_eq!(count(&world, "select count(*) from users").await, 0);
        }
    }
}

#[tokio::test]
async fn cancelling_at_the_provider_explains_and_changes_nothing() {
    let world = World::new().await;
    let browser = Browser::new(&world.app);
    let authorize = browser.start_sign_in("google", "").await;
    let page = browser.client.get(&authorize).send().await.unwrap();
    let doc = html(&page.text().await.unwrap());
    let mut form: Vec<(String, String)> = doc
        .select(&scraper::Selector::parse("input[type=hidden]").unwrap())
        .map(|i| {
            (
                i.attr("name").unwrap().into(),
                i.attr("value").unwrap().into(),
            )
        })
        .collect();
    form.push(("deny".into(), "1".into()));
    let denied = browser
        .client
        .post(&authorize)
        .form(&form)
        .send()
        .await
        .unwrap();
    let response = browser.get(&location(&denied)).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("Sign-in was cancelled")
    );
    assert_eq!(count(&world, "select count(*) from users").await, 0);
}

#[tokio::test]
async fn a_second_account_links_to_the_same_user() {
    let world = World::new().await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", ADA).await;
    let authorize = browser.start_sign_in("microsoft", "?next=/settings").await;
    let callback = browser.approve(&authorize, GRACE, true).await;
    let response = browser.get(&callback).await;
    assert_eq!(location(&response), "/settings");
    assert_eq!(count(&world, "select count(*) from users").await, 1);
    assert_eq!(
        count(&world, "select count(distinct user_id) from accounts").await,
        1
    );
    assert_eq!(count(&world, "select count(*) from accounts").await, 2);
    // Signing in later with the linked account reaches the same user.
    let other = Browser::new(&world.app);
    other.sign_in("microsoft", GRACE).await;
    let doc = other.get_html("/settings").await;
    let rows = texts(&doc, "tbody td:first-child");
    assert_eq!(
        rows,
        [format!("Google · {ADA}"), format!("Microsoft · {GRACE}")]
    );
}

#[tokio::test]
async fn one_provider_account_is_never_linked_to_two_users() {
    let world = World::new().await;
    let ada = Browser::new(&world.app);
    ada.sign_in("google", ADA).await;
    let alan = Browser::new(&world.app);
    alan.sign_in("google", ALAN).await;
    // Alan tries to connect Ada's Google account to his Docket user.
    let response = alan.sign_in("google", ADA).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("already connected to another Docket user")
    );
    let owner: String = sqlx::query_scalar(
        "select u.name from accounts a join users u on u.id = a.user_id where a.email = $1",
    )
    .bind(ADA)
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    assert_eq!(owner, "Ada Lovelace");
}

#[tokio::test]
async fn the_session_id_changes_at_sign_in_and_the_old_one_is_dead() {
    let world = World::new().await;
    let browser = Browser::new(&world.app);
    let login = browser.get("/auth/google/login").await;
    let before = session_cookie(&login).expect("a pre-sign-in session");
    let authorize = location(&login);
    let callback = browser.approve(&authorize, ADA, true).await;
    let response = browser.get(&callback).await;
    let after = session_cookie(&response).expect("a new session at sign-in");
    assert_ne!(before, after);
    let stale = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let reuse = stale
        .get(world.app.url("/settings"))
        .header("cookie", format!("docket_session={before}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        reuse.status(),
        StatusCode::SEE_OTHER,
        "old id signs nobody in"
    );
    let fresh = stale
        .get(world.app.url("/settings"))
        .header("cookie", format!("docket_session={after}"))
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("docket_session="))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

#[tokio::test]
async fn logout_ends_the_server_side_session() {
    let world = World::new().await;
    let browser = Browser::new(&world.app);
    let response = browser.sign_in("google", ADA).await;
    let cookie = session_cookie(&response).unwrap();
    let sessions_before = count(&world, "select count(*) from sessions").await;
    let logout = browser.post_form("/auth/logout", &[]).await;
    assert_eq!(logout.status(), StatusCode::SEE_OTHER);
    assert!(!browser.is_signed_in().await);
    assert_eq!(
        count(&world, "select count(*) from sessions").await,
        sessions_before - 1
    );
    let replay = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(world.app.url("/settings"))
        .header("cookie", format!("docket_session={cookie}"))
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn posts_without_a_valid_csrf_token_or_from_another_site_are_refused() {
    let world = World::new().await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", ADA).await;
    let token = browser.csrf_token().await;
    let other = Browser::new(&world.app);
    other.sign_in("google", ALAN).await;
    let other_token = other.csrf_token().await;
    let url = world.app.url("/auth/logout");
    let attempts = [
        browser.client.post(&url).form(&[("x", "1")]),
        browser
            .client
            .post(&url)
            .form(&[("csrf_token", other_token.as_str())]),
        browser
            .client
            .post(&url)
            .header("origin", "https://evil.example")
            .form(&[("csrf_token", token.as_str())]),
        browser
            .client
            .post(&url)
            .header("sec-fetch-site", "cross-site")
            .form(&[("csrf_token", token.as_str())]),
    ];
    for attempt in attempts {
        let response = attempt.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(browser.is_signed_in().await, "state did not change");
    }
    let accepted = browser
        .client
        .post(&url)
        .header("origin", &world.app.base)
        .header("sec-fetch-site", "same-origin")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    assert!(!browser.is_signed_in().await);
}

#[tokio::test]
async fn next_is_honoured_only_for_local_paths() {
    let world = World::new().await;
    for (next, expected) in [
        ("/settings", "/settings"),
        ("https://evil.example", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https:evil.example", "/"),
        ("%2F%2Fevil.example", "/"),
        ("javascript:alert(1)", "/"),
    ] {
        let browser = Browser::new(&world.app);
        let query = format!(
            "?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        );
        let authorize = browser.start_sign_in("google", &query).await;
        let callback = browser.approve(&authorize, ADA, true).await;
        let response = browser.get(&callback).await;
        assert_eq!(location(&response), expected, "next={next}");
    }
}

#[tokio::test]
async fn the_redirect_uri_comes_from_configuration_not_the_host_header() {
    let world = World::new().await;
    let response = world
        .app
        .client
        .get(world.app.url("/auth/google/login"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    let authorize = url::Url::parse(&location(&response)).unwrap();
    let redirect_uri = authorize
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .unwrap()
        .1
        .into_owned();
    assert_eq!(redirect_uri, world.app.url("/auth/google/callback"));
}

#[tokio::test]
async fn session_cookie_flags_over_http() {
    let world = World::new().await;
    let response = world.app.get("/auth/google/login").await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("docket_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Path=/"));
    assert!(!cookie.contains("Domain"));
    assert!(!cookie.contains("Secure"));
}

#[tokio::test]
async fn session_cookie_flags_over_https() {
    let world = World::with(&[("DOCKET_PUBLIC_URL", "https://docket.example")]).await;
    let response = world.app.get("/auth/google/login").await;
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cookie.starts_with("__Host-docket_session="), "{cookie}");
    assert!(cookie.contains("Secure"));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("Path=/"));
    assert!(!cookie.contains("Domain"));
    assert!(response.headers().contains_key("strict-transport-security"));
}

#[tokio::test]
async fn sign_in_routes_are_rate_limited_per_client() {
    let world = World::new().await;
    let mut limited = None;
    for i in 0..50 {
        let response = world
            .app
            .client
            .get(world.app.url("/auth/google/login"))
            // A forged header must not buy a fresh allowance.
            .header("x-forwarded-for", format!("10.0.0.{i}"))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("50 sign-in requests were all allowed");
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
}

#[tokio::test]
async fn unticking_calendar_access_asks_for_permission() {
    let world = World::new().await;
    let browser = Browser::new(&world.app);
    let authorize = browser.start_sign_in("google", "").await;
    let callback = browser.approve(&authorize, ADA, false).await;
    browser.get(&callback).await;
    let doc = browser.get_html("/").await;
    let banner = texts(&doc, ".banner span");
    assert!(
        banner[0].contains("may not read the calendar"),
        "{banner:?}"
    );
    let status: String = sqlx::query_scalar("select status from accounts")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(status, "needs_permission");
}

/// No background worker: these tests drive token refreshes themselves, and a sync running at
/// the same time would refresh too.
async fn quiet_world() -> World {
    World::with(&[("DOCKET_SYNC_WORKER", "false")]).await
}

async fn only_account(world: &World) -> docket::accounts::Account {
    let user_id: uuid::Uuid = sqlx::query_scalar("select user_id from accounts limit 1")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    docket::accounts::for_user(&world.app.db, user_id)
        .await
        .unwrap()
        .remove(0)
}

async fn access_token(
    world: &World,
    account: &docket::accounts::Account,
    force: bool,
) -> Result<String, docket::accounts::AccessError> {
    let state = &world.app.server.as_ref().unwrap().state;
    docket::accounts::access_token(
        &state.db,
        &state.config,
        &state.http,
        &state.cipher,
        account,
        force,
    )
    .await
}

async fn stored_refresh_ciphertext(world: &World) -> Vec<u8> {
    sqlx::query_scalar("select refresh_ciphertext from account_tokens")
        .fetch_one(&world.app.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_token_table_holds_no_plaintext() {
    let world = quiet_world().await;
    Browser::new(&world.app).sign_in("google", ADA).await;
    let row: (uuid::Uuid, String, Vec<u8>, Vec<u8>, Vec<u8>) = sqlx::query_as(
        "select account_id, key_id, access_nonce, access_ciphertext, refresh_ciphertext from account_tokens",
    )
    .fetch_one(&world.app.db)
    .await
    .unwrap();
    let (account, key_id, nonce, access, refresh) = row;
    // The key id names the configured key (the test key, 0x11 × 32).
    let cipher = docket::crypto::TokenCipher::new(&docket::config::SecretKey::new([0x11; 32]));
    assert_eq!(key_id, cipher.key_id());
    assert_eq!(nonce.len(), 24, "XChaCha20 nonce");
    for ciphertext in [&access, &refresh] {
        assert!(
            !ciphertext.windows(5).any(|w| w == b"fake-"),
            "plaintext token stored"
        );
    }
    // And the ciphertext is the provider's token, sealed for this account only.
    let sealed = docket::crypto::Sealed {
        key_id,
        nonce,
        ciphertext: access,
    };
    assert!(
        cipher
            .open(&sealed, account.as_bytes())
            .unwrap()
            .starts_with("fake-")
    );
}

#[tokio::test]
async fn microsoft_refresh_stores_the_rotated_refresh_token() {
    let world = quiet_world().await;
    Browser::new(&world.app).sign_in("microsoft", GRACE).await;
    let account = only_account(&world).await;
    let first = access_token(&world, &account, false).await.unwrap();
    assert_eq!(
        access_token(&world, &account, false).await.unwrap(),
        first,
        "fresh token reused"
    );
    let before = stored_refresh_ciphertext(&world).await;
    let refreshed = access_token(&world, &account, true).await.unwrap();
    assert_ne!(refreshed, first);
    assert_ne!(
        stored_refresh_ciphertext(&world).await,
        before,
        "rotated refresh token stored"
    );
    assert_eq!(
        world.fake.live_refresh_tokens(GRACE),
        2,
        "the old one is not revoked at once"
    );
    // The stored (rotated) refresh token works for the next refresh.
    assert!(access_token(&world, &account, true).await.is_ok());
}

#[tokio::test]
async fn google_refresh_keeps_the_stored_refresh_token() {
    let world = quiet_world().await;
    Browser::new(&world.app).sign_in("google", ADA).await;
    let account = only_account(&world).await;
    let before = stored_refresh_ciphertext(&world).await;
    // An access token about to expire is refreshed before use.
    sqlx::query("update account_tokens set access_expires_at = now() + interval '30 seconds'")
        .execute(&world.app.db)
        .await
        .unwrap();
    let first = access_token(&world, &account, false).await.unwrap();
    let second = access_token(&world, &account, false).await.unwrap();
    assert_eq!(first, second, "the refreshed token is stored and reused");
    assert_eq!(stored_refresh_ciphertext(&world).await, before);
}

#[tokio::test]
async fn a_revoked_grant_marks_the_account_for_reconnect_and_keeps_everything() {
    let world = quiet_world().await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", ADA).await;
    let account = only_account(&world).await;
    world.fake.revoke_user(ADA);
    let err = access_token(&world, &account, true).await.unwrap_err();
    assert!(
        matches!(err, docket::accounts::AccessError::NeedsReconnect(_)),
        "{err:?}"
    );
    let (status, accounts): (String, i64) =
        sqlx::query_as("select status, (select count(*) from accounts) from accounts")
            .fetch_one(&world.app.db)
            .await
            .unwrap();
    assert_eq!(status, "needs_reconnect");
    assert_eq!(accounts, 1, "nothing deleted");
    assert!(browser.is_signed_in().await, "the user stays signed in");
    let doc = browser.get_html("/").await;
    assert!(texts(&doc, ".banner span")[0].contains("lost access"));
    assert_eq!(texts(&doc, ".banner a"), ["Reconnect"]);
    // Reconnecting restores the account.
    browser.sign_in("google", ADA).await;
    let status: String = sqlx::query_scalar("select status from accounts")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(status, "active");
}

#[tokio::test]
async fn a_tampered_ciphertext_means_reconnect_not_a_crash() {
    let world = quiet_world().await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", ADA).await;
    let account = only_account(&world).await;
    // Flip every bit of the first byte: overwriting it with a constant was a no-op whenever the
    // (random-looking) ciphertext already began with that byte, one run in 256.
    sqlx::query(
        "update account_tokens set access_ciphertext = \
         set_byte(access_ciphertext, 0, get_byte(access_ciphertext, 0) # 255)",
    )
    .execute(&world.app.db)
    .await
    .unwrap();
    let err = access_token(&world, &account, false).await.unwrap_err();
    assert!(matches!(
        err,
        docket::accounts::AccessError::NeedsReconnect(_)
    ));
    assert_eq!(browser.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn disconnecting_revokes_at_the_provider_and_keeps_the_account_row() {
    let world = quiet_world().await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", ADA).await;
    let account = only_account(&world).await;
    assert_eq!(world.fake.live_refresh_tokens(ADA), 1);
    let response = browser
        .post_form(
            &format!("/settings/accounts/{}/disconnect", account.id),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(world.fake.live_refresh_tokens(ADA), 0, "revoked at Google");
    assert_eq!(
        count(&world, "select count(*) from account_tokens").await,
        0
    );
    let status: String = sqlx::query_scalar("select status from accounts")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(status, "disconnected");
}

#[tokio::test]
async fn another_users_account_cannot_be_disconnected() {
    let world = quiet_world().await;
    let ada = Browser::new(&world.app);
    ada.sign_in("google", ADA).await;
    let ada_account = only_account(&world).await;
    let alan = Browser::new(&world.app);
    alan.sign_in("google", ALAN).await;
    let response = alan
        .post_form(
            &format!("/settings/accounts/{}/disconnect", ada_account.id),
            &[],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let status: String = sqlx::query_scalar("select status from accounts where id = $1")
        .bind(ada_account.id)
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert_eq!(status, "active");
}

#[tokio::test]
async fn rotating_the_secret_key_re_encrypts_every_token_row() {
    let world = quiet_world().await;
    Browser::new(&world.app).sign_in("google", ADA).await;
    Browser::new(&world.app).sign_in("microsoft", GRACE).await;
    let before: Vec<Vec<u8>> =
        sqlx::query_scalar("select access_ciphertext from account_tokens order by account_id")
            .fetch_all(&world.app.db)
            .await
            .unwrap();
    let old = docket::crypto::TokenCipher::new(&docket::config::SecretKey::new([0x11; 32]));
    let new = docket::crypto::TokenCipher::new(&docket::config::SecretKey::new([0x22; 32]));
    let report = docket::accounts::rotate_key(&world.app.db, &old, &new)
        .await
        .unwrap();
    assert_eq!(report.re_encrypted, 2);
    assert_eq!(report.unreadable, 0);
    let after: Vec<(String, Vec<u8>)> =
        sqlx::query_as("select key_id, access_ciphertext from account_tokens order by account_id")
            .fetch_all(&world.app.db)
            .await
            .unwrap();
    assert!(after.iter().all(|(key, _)| key == new.key_id()));
    assert!(after.iter().zip(&before).all(|((_, a), b)| a != b));
    // Running it again is a no-op; the new key opens every row.
    let again = docket::accounts::rotate_key(&world.app.db, &old, &new)
        .await
        .unwrap();
    assert_eq!(again.already_current, 2);
    let account = only_account(&world).await;
    let state = &world.app.server.as_ref().unwrap().state;
    let token = docket::accounts::access_token(
        &state.db,
        &state.config,
        &state.http,
        &new,
        &account,
        false,
    )
    .await;
    assert!(token.is_ok());
}

#[tokio::test]
async fn activity_extends_the_idle_expiry_at_most_hourly() {
    let world = World::new().await;
    let browser = Browser::new(&world.app);
    browser.sign_in("google", ADA).await;
    let expires_within_a_day = || async {
        sqlx::query_scalar::<_, bool>("select expiry_date < now() + interval '1 day' from sessions")
            .fetch_one(&world.app.db)
            .await
            .unwrap()
    };
    let shorten = || async {
        sqlx::query("update sessions set expiry_date = now() + interval '1 hour'")
            .execute(&world.app.db)
            .await
            .unwrap();
    };
    // No activity recorded yet: the first request records it and extends the expiry.
    shorten().await;
    assert!(browser.is_signed_in().await);
    assert!(
        !expires_within_a_day().await,
        "activity extended the idle expiry"
    );
    // Activity recorded a moment ago: no write, the expiry stays as it was.
    shorten().await;
    assert!(browser.is_signed_in().await);
    assert!(
        expires_within_a_day().await,
        "no session write on every request"
    );
}

/// The key the test instances start with (see common.rs), and the one a rotation moves to.
const OLD_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW_KEY: &str = "2222222222222222222222222222222222222222222222222222222222222222";

/// Another instance on the world's database and fake provider, with `keys` on top.
async fn instance(world: &World, keys: &[(&'static str, &'static str)]) -> docket::RunningServer {
    let env = world.fake.env();
    let mut vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.push(("DOCKET_SYNC_WORKER", "false"));
    vars.extend_from_slice(keys);
    world.app.sibling(&vars).await
}

#[tokio::test]
async fn a_rolling_key_rotation_signs_nobody_out() {
    let world = quiet_world().await;
    let ada = Browser::new(&world.app);
    ada.sign_in("google", ADA).await;
    let settings = |server: &docket::RunningServer| format!("http://{}/settings", server.addr);
    // The new key alone does not accept the cookie signed with the old one.
    let new_only = instance(&world, &[("DOCKET_SECRET_KEY", NEW_KEY)]).await;
    let refused = ada.client.get(settings(&new_only)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    // With the old key as the previous one, it does, and comes back signed with the new key.
    let rotating = instance(
        &world,
        &[
            ("DOCKET_SECRET_KEY", NEW_KEY),
            ("DOCKET_PREVIOUS_SECRET_KEY", OLD_KEY),
        ],
    )
    .await;
    let response = ada.client.get(settings(&rotating)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("docket_session=")),
        "the cookie is re-issued"
    );
    // From then on the new key alone is enough.
    let accepted = ada.client.get(settings(&new_only)).send().await.unwrap();
    assert_eq!(accepted.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_token_sealed_with_the_previous_key_still_works_and_is_resealed_with_the_new_one() {
    let world = quiet_world().await;
    Browser::new(&world.app).sign_in("google", ADA).await;
    let account = only_account(&world).await;
    let key_id = || async {
        sqlx::query_scalar::<_, String>("select key_id from account_tokens")
            .fetch_one(&world.app.db)
            .await
            .unwrap()
    };
    let old = docket::config::parse_secret_key(OLD_KEY).unwrap();
    let new = docket::config::parse_secret_key(NEW_KEY).unwrap();
    assert_eq!(
        key_id().await,
        docket::crypto::TokenCipher::new(&old).key_id()
    );
    let token = |server: &docket::RunningServer, force: bool| {
        let state = server.state.clone();
        let account = account.clone();
        async move {
            docket::accounts::access_token(
                &state.db,
                &state.config,
                &state.http,
                &state.cipher,
                &account,
                force,
            )
            .await
        }
    };
    let rotating = instance(
        &world,
        &[
            ("DOCKET_SECRET_KEY", NEW_KEY),
            ("DOCKET_PREVIOUS_SECRET_KEY", OLD_KEY),
        ],
    )
    .await;
    let stored = token(&rotating, false).await.unwrap();
    assert!(stored.starts_with("fake-access-"));
    assert_eq!(
        key_id().await,
        docket::crypto::TokenCipher::new(&new).key_id()
    );
    // The refresh token was re-sealed too: the new key alone refreshes, and syncs go on.
    let new_only = instance(&world, &[("DOCKET_SECRET_KEY", NEW_KEY)]).await;
    let refreshed = token(&new_only, true).await.unwrap();
    assert_ne!(refreshed, stored);
    sqlx::query("update sync_state set due_at = now()")
        .execute(&world.app.db)
        .await
        .unwrap();
    assert_eq!(
        docket::sync::run_due(&new_only.state, "test")
            .await
            .unwrap(),
        1
    );
    let meetings: i64 = sqlx::query_scalar("select count(*) from meetings")
        .fetch_one(&world.app.db)
        .await
        .unwrap();
    assert!(meetings > 0, "the sync ran with the re-sealed tokens");
}
