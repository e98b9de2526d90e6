//! The fake's OAuth 2.0 / OpenID Connect side: authorize (an account chooser), token (code with
//! PKCE, refresh with Microsoft-style rotation), JWKS, Google userinfo and revoke, Graph `/me`.

use std::time::{Duration, Instant};

use axum::{
    Form, Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::{get, post},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header};
use rand::{Rng as _, distributions::Alphanumeric};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{FakeProvider, State as Inner, Which};

/// A deliberately broken ID token, for tests of Docket's validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTokenTweak {
    WrongAudience,
    Expired,
    WrongNonce,
    /// The other provider's issuer (a mix-up attack).
    OtherIssuer,
    /// Signed by a key that is not in the JWKS.
    UnknownKey,
}

pub(crate) struct CodeGrant {
    which: Which,
    user: usize,
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    scope: String,
    used: bool,
    /// Tokens issued from this code, revoked if the code is replayed (RFC 6749 §4.1.2).
    issued: Vec<String>,
}

pub(crate) struct AccessGrant {
    pub which: Which,
    pub user: usize,
    pub expires: Instant,
}

pub(crate) struct RefreshGrant {
    pub which: Which,
    pub user: usize,
    pub scope: String,
    pub revoked: bool,
}

const SIGNING_KEY_PEM: &str = include_str!("signing_key.pem");
/// The modulus of the key above, base64url: published in the JWKS.
const SIGNING_KEY_N: &str = include_str!("signing_key.n");
const KEY_ID: &str = "docket-fake-2026";
const ACCESS_TOKEN_SECS: u64 = 3599;

pub(super) fn router() -> Router<FakeProvider> {
    Router::new()
        .route(
            "/google/o/oauth2/v2/auth",
            get(authorize_google).post(approve_google),
        )
        .route("/google/token", post(token_google))
        .route("/google/oauth2/v3/certs", get(jwks))
        .route("/google/v1/userinfo", get(userinfo))
        .route("/google/revoke", post(revoke))
        .route(
            "/microsoft/{tenant}/oauth2/v2.0/authorize",
            get(authorize_microsoft).post(approve_microsoft),
        )
        .route(
            "/microsoft/{tenant}/oauth2/v2.0/token",
            post(token_microsoft),
        )
        .route("/microsoft/{tenant}/discovery/v2.0/keys", get(jwks))
        .route("/microsoft/graph/v1.0/me", get(graph_me))
}

fn random(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

#[derive(Debug, Deserialize, Clone)]
pub(crate) struct AuthorizeParams {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    nonce: Option<String>,
    /// Set by the chooser form: which user was picked, and whether calendar access was granted.
    user: Option<usize>,
    grant_calendar: Option<String>,
    deny: Option<String>,
}

fn client_for(which: Which) -> (&'static str, &'static str) {
    match which {
        Which::Google => (super::GOOGLE_CLIENT_ID, super::GOOGLE_CLIENT_SECRET),
        Which::Microsoft => (super::MICROSOFT_CLIENT_ID, super::MICROSOFT_CLIENT_SECRET),
    }
}

/// Checks an authorize request as the real providers do; a bad one is an error page at the
/// provider, never a redirect (the redirect URI itself is not trusted yet).
fn check_authorize(which: Which, p: &AuthorizeParams) -> Result<String, Response> {
    let bad = |msg: &str| {
        (
            StatusCode::BAD_REQUEST,
            Html(format!("<h1>Error 400: invalid_request</h1><p>{msg}</p>")),
        )
            .into_response()
    };
    if p.client_id.as_deref() != Some(client_for(which).0) {
        return Err(bad("The OAuth client was not found."));
    }
    if p.response_type.as_deref() != Some("code") {
        return Err(bad("response_type must be code."));
    }
    let Some(redirect_uri) = p.redirect_uri.clone() else {
        return Err(bad("Missing redirect_uri."));
    };
    let path = match which {
        Which::Google => "/auth/google/callback",
        Which::Microsoft => "/auth/microsoft/callback",
    };
    let registered = url::Url::parse(&redirect_uri)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.path() == path);
    if !registered {
        return Err(bad(
            "redirect_uri_mismatch: the redirect URI is not registered.",
        ));
    }
    if p.code_challenge_method.as_deref() != Some("S256") || p.code_challenge.is_none() {
        return Err(bad("PKCE with code_challenge_method=S256 is required."));
    }
    Ok(redirect_uri)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn chooser(which: Which, fake: &FakeProvider, p: &AuthorizeParams) -> Response {
    let state = fake.lock();
    let brand = match which {
        Which::Google => "Google",
        Which::Microsoft => "Microsoft",
    };
    let hidden = [
        ("response_type", &p.response_type),
        ("client_id", &p.client_id),
        ("redirect_uri", &p.redirect_uri),
        ("scope", &p.scope),
        ("state", &p.state),
        ("code_challenge", &p.code_challenge),
        ("code_challenge_method", &p.code_challenge_method),
        ("nonce", &p.nonce),
    ]
    .iter()
    .filter_map(|(k, v)| {
        v.as_ref()
            .map(|v| format!(r#"<input type="hidden" name="{k}" value="{}">"#, escape(v)))
    })
    .collect::<String>();
    let accounts = state
        .users
        .iter()
        .enumerate()
        .filter(|(_, u)| u.which == which)
        .map(|(i, u)| {
            format!(
                r#"<li><button type="submit" name="user" value="{i}" class="button provider">{} <span class="muted">{}</span></button></li>"#,
                escape(&u.name),
                escape(&u.email)
            )
        })
        .collect::<String>();
    let css = crate::assets::href("/app.css");
    Html(format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in – {brand} (Docket demo)</title><link rel="stylesheet" href="{css}"></head>
<body><main id="main"><section class="panel narrow">
<h1>Choose an account</h1>
<p>This is Docket's built-in stand-in for {brand}: it speaks {brand}'s real sign-in protocol, with demo accounts. Docket will be able to read your calendar.</p>
<form method="post">{hidden}
<ul class="plain chooser">{accounts}</ul>
<p><label><input type="checkbox" name="grant_calendar" value="on" checked> Allow Docket to read my calendars</label></p>
<p><button type="submit" name="deny" value="1" class="link">Cancel</button></p>
</form></section></main></body></html>"#
    ))
    .into_response()
}

async fn authorize_google(
    State(fake): State<FakeProvider>,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    match check_authorize(Which::Google, &p) {
        Ok(_) => chooser(Which::Google, &fake, &p),
        Err(page) => page,
    }
}

async fn authorize_microsoft(
    State(fake): State<FakeProvider>,
    Path(_tenant): Path<String>,
    Query(p): Query<AuthorizeParams>,
) -> Response {
    match check_authorize(Which::Microsoft, &p) {
        Ok(_) => chooser(Which::Microsoft, &fake, &p),
        Err(page) => page,
    }
}

fn approve(which: Which, fake: &FakeProvider, p: AuthorizeParams) -> Response {
    let redirect_uri = match check_authorize(which, &p) {
        Ok(uri) => uri,
        Err(page) => return page,
    };
    let mut target = url::Url::parse(&redirect_uri).expect("checked above");
    let state_param = p.state.clone().unwrap_or_default();
    if p.deny.is_some() {
        target
            .query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", &state_param);
        return Redirect::to(target.as_str()).into_response();
    }
    let mut state = fake.lock();
    let Some(user) = p
        .user
        .filter(|&i| state.users.get(i).is_some_and(|u| u.which == which))
    else {
        return (StatusCode::BAD_REQUEST, "unknown account").into_response();
    };
    let calendar_scope = match which {
        Which::Google => "https://www.googleapis.com/auth/calendar.readonly",
        Which::Microsoft => "Calendars.Read",
    };
    // Granular consent: an unticked box removes the calendar scope from the grant.
    let scope = p
        .scope
        .unwrap_or_default()
        .split_whitespace()
        .filter(|s| p.grant_calendar.is_some() || !s.eq_ignore_ascii_case(calendar_scope))
        .collect::<Vec<_>>()
        .join(" ");
    let code = format!("fake-code-{}", random(24));
    state.codes.insert(
        code.clone(),
        CodeGrant {
            which,
            user,
            client_id: p.client_id.unwrap_or_default(),
            redirect_uri,
            challenge: p.code_challenge.unwrap_or_default(),
            nonce: p.nonce,
            scope,
            used: false,
            issued: Vec::new(),
        },
    );
    target
        .query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state_param);
    Redirect::to(target.as_str()).into_response()
}

async fn approve_google(
    State(fake): State<FakeProvider>,
    Form(p): Form<AuthorizeParams>,
) -> Response {
    approve(Which::Google, &fake, p)
}

async fn approve_microsoft(
    State(fake): State<FakeProvider>,
    Path(_tenant): Path<String>,
    Form(p): Form<AuthorizeParams>,
) -> Response {
    approve(Which::Microsoft, &fake, p)
}

#[derive(Debug, Deserialize)]
struct TokenParams {
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

/// Client authentication: HTTP Basic (what the oauth2 crate sends) or form fields.
fn client_authenticated(which: Which, headers: &HeaderMap, p: &TokenParams) -> bool {
    let (id, secret) = client_for(which);
    let from_basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':').map(|(i, s)| {
                let decode = |x: &str| {
                    form_urlencoded::parse(format!("x={x}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                (decode(i), decode(s))
            })
        });
    match from_basic {
        Some((i, s)) => i == id && s == secret,
        None => p.client_id.as_deref() == Some(id) && p.client_secret.as_deref() == Some(secret),
    }
}

fn sign_id_token(state: &mut Inner, which: Which, user: usize, nonce: Option<&str>) -> String {
    let u = &state.users[user];
    let now = chrono::Utc::now().timestamp();
    let tweak = state.id_token_tweak.take();
    let (client_id, _) = client_for(which);
    let google_issuer = format!("{}/google", state.base);
    let microsoft_issuer = format!("{}/microsoft/{}/v2.0", state.base, u.tenant);
    let (mut iss, other_iss) = match which {
        Which::Google => (
            google_issuer,
            format!("{}/microsoft/{}/v2.0", state.base, u.tenant),
        ),
        Which::Microsoft => (microsoft_issuer, format!("{}/google", state.base)),
    };
    let mut aud = client_id.to_owned();
    let mut exp = now + 3600;
    let mut nonce = nonce.map(str::to_owned);
    let mut kid = KEY_ID.to_owned();
    match tweak {
        Some(IdTokenTweak::WrongAudience) => aud = "someone-elses-client".into(),
        Some(IdTokenTweak::Expired) => exp = now - 600,
        Some(IdTokenTweak::WrongNonce) => nonce = Some("a-different-nonce".into()),
        Some(IdTokenTweak::OtherIssuer) => iss = other_iss,
        Some(IdTokenTweak::UnknownKey) => kid = "rotated-away".into(),
        None => {}
    }
    let mut claims = json!({
        "iss": iss, "aud": aud, "iat": now, "nbf": now, "exp": exp,
        "name": u.name, "email": u.email,
    });
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    match which {
        Which::Google => {
            claims["sub"] = json!(u.subject);
            claims["email_verified"] = json!(true);
            claims["azp"] = json!(client_id);
        }
        Which::Microsoft => {
            // Microsoft's `sub` is pairwise per app; `oid` + `tid` is the stable identity.
            claims["sub"] = json!(format!("pairwise-{}", u.subject));
            claims["oid"] = json!(u.subject);
            claims["tid"] = json!(u.tenant);
            claims["preferred_username"] = json!(u.email);
            claims["ver"] = json!("2.0");
        }
    }
    let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid);
    let key = EncodingKey::from_rsa_pem(SIGNING_KEY_PEM.as_bytes()).expect("bundled key parses");
    jsonwebtoken::encode(&header, &claims, &key).expect("signing with a valid key")
}

fn issue_access_token(state: &mut Inner, which: Which, user: usize) -> String {
    let token = format!("fake-access-{}", random(32));
    state.access_tokens.insert(
        token.clone(),
        AccessGrant {
            which,
            user,
            expires: Instant::now() + Duration::from_secs(ACCESS_TOKEN_SECS),
        },
    );
    token
}

fn token(which: Which, fake: &FakeProvider, headers: &HeaderMap, p: TokenParams) -> Response {
    let mut state = fake.lock();
    if std::mem::take(&mut state.faults.token_outage) {
        return oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "try later",
        );
    }
    if !client_authenticated(which, headers, &p) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    match p.grant_type.as_str() {
        "authorization_code" => {
            let code = p.code.unwrap_or_default();
            let Some(grant) = state.codes.get_mut(&code) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "unknown code");
            };
            if grant.which != which || grant.client_id != client_for(which).0 {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code was issued to another client",
                );
            }
            if grant.used {
                let issued = std::mem::take(&mut grant.issued);
                for t in issued {
                    state.access_tokens.remove(&t);
                    if let Some(r) = state.refresh_tokens.get_mut(&t) {
                        r.revoked = true;
                    }
                }
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "code already redeemed",
                );
            }
            grant.used = true;
            if p.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "redirect_uri mismatch",
                );
            }
            let verifier = p.code_verifier.unwrap_or_default();
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if computed != grant.challenge {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "PKCE verification failed",
                );
            }
            let (user, nonce, scope) = (grant.user, grant.nonce.clone(), grant.scope.clone());
            let access = issue_access_token(&mut state, which, user);
            let refresh = format!("fake-refresh-{}", random(32));
            state.refresh_tokens.insert(
                refresh.clone(),
                RefreshGrant {
                    which,
                    user,
                    scope: scope.clone(),
                    revoked: false,
                },
            );
            let id_token = sign_id_token(&mut state, which, user, nonce.as_deref());
            if let Some(grant) = state.codes.get_mut(&code) {
                grant.issued = vec![access.clone(), refresh.clone()];
            }
            Json(json!({
                "access_token": access, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECS,
                "refresh_token": refresh, "scope": scope, "id_token": id_token,
            }))
            .into_response()
        }
        "refresh_token" => {
            let presented = p.refresh_token.unwrap_or_default();
            let Some(grant) = state.refresh_tokens.get(&presented) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "unknown refresh token",
                );
            };
            if grant.revoked || grant.which != which {
                let description = match which {
                    Which::Google => "Token has been expired or revoked.",
                    Which::Microsoft => {
                        "AADSTS70008: The refresh token has expired or was revoked."
                    }
                };
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
            }
            let (user, scope) = (grant.user, grant.scope.clone());
            let access = issue_access_token(&mut state, which, user);
            let mut body = json!({
                "access_token": access, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECS,
                "scope": scope,
            });
            // Microsoft returns a new refresh token on every refresh; the old one stays valid
            // for a while (it is not revoked at once), as the real service does.
            if which == Which::Microsoft {
                let rotated = format!("fake-refresh-{}", random(32));
                state.refresh_tokens.insert(
                    rotated.clone(),
                    RefreshGrant {
                        which,
                        user,
                        scope,
                        revoked: false,
                    },
                );
                body["refresh_token"] = json!(rotated);
            }
            Json(body).into_response()
        }
        _ => oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "unsupported grant_type",
        ),
    }
}

async fn token_google(
    State(fake): State<FakeProvider>,
    headers: HeaderMap,
    Form(p): Form<TokenParams>,
) -> Response {
    token(Which::Google, &fake, &headers, p)
}

async fn token_microsoft(
    State(fake): State<FakeProvider>,
    Path(_tenant): Path<String>,
    headers: HeaderMap,
    Form(p): Form<TokenParams>,
) -> Response {
    token(Which::Microsoft, &fake, &headers, p)
}

async fn jwks() -> Json<Value> {
    Json(json!({ "keys": [{
        "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KEY_ID,
        "n": SIGNING_KEY_N.trim(), "e": "AQAB",
    }]}))
}

/// Resolves a bearer token to its user, as an API would.
pub(crate) fn bearer_user(state: &Inner, headers: &HeaderMap, which: Which) -> Option<usize> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let grant = state.access_tokens.get(token)?;
    (grant.which == which && grant.expires > Instant::now()).then_some(grant.user)
}

async fn userinfo(State(fake): State<FakeProvider>, headers: HeaderMap) -> Response {
    let state = fake.lock();
    let Some(user) = bearer_user(&state, &headers, Which::Google) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Invalid Credentials",
        );
    };
    let u = &state.users[user];
    Json(json!({ "sub": u.subject, "email": u.email, "email_verified": true, "name": u.name }))
        .into_response()
}

#[derive(Deserialize)]
struct RevokeParams {
    token: String,
}

async fn revoke(State(fake): State<FakeProvider>, Form(p): Form<RevokeParams>) -> Response {
    let mut state = fake.lock();
    if state.faults.revoke_outage {
        return oauth_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "try later",
        );
    }
    // Revoking either token of a grant ends the whole grant, as Google documents.
    let user = state
        .refresh_tokens
        .get(&p.token)
        .map(|g| g.user)
        .or_else(|| state.access_tokens.get(&p.token).map(|g| g.user));
    let Some(user) = user else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "Token expired or revoked",
        );
    };
    state.refresh_tokens.values_mut().for_each(|g| {
        if g.user == user && g.which == Which::Google {
            g.revoked = true;
        }
    });
    state.access_tokens.retain(|_, g| g.user != user);
    let email = state.users[user].email.clone();
    state.revocations.push(super::Revocation {
        email,
        token: p.token,
    });
    Json(json!({})).into_response()
}

async fn graph_me(State(fake): State<FakeProvider>, headers: HeaderMap) -> Response {
    let state = fake.lock();
    let Some(user) = bearer_user(&state, &headers, Which::Microsoft) else {
        return super::calendar::graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token is empty or invalid.",
        );
    };
    let u = &state.users[user];
    Json(json!({
        "id": u.subject, "displayName": u.name, "mail": u.email, "userPrincipalName": u.email,
    }))
    .into_response()
}
