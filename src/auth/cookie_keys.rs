//! The session cookie across a key rotation. tower-sessions checks the cookie's signature with
//! one key; while `DOCKET_PREVIOUS_SECRET_KEY` is set, [`accept_previous`] (outside the session
//! layer) re-signs a cookie that only the previous key verifies, so the session layer sees a
//! cookie signed with the current key, and [`reissue`] (inside it) marks that signed-in session
//! for saving, so the response carries the cookie signed with the current key. A rotation is then
//! a rolling restart: nobody is signed out, and after one visit a browser holds a cookie the
//! next instances accept without the previous key.

use axum::{
    extract::{Request, State},
    http::{HeaderValue, header::COOKIE},
    middleware::Next,
    response::Response,
};
use tower_sessions::{
    Session,
    cookie::{Cookie, CookieJar, Key},
};
use uuid::Uuid;

use crate::{auth::session, config::Config, config::SecretKey, crypto};

/// The keys the session cookie may be signed with.
#[derive(Clone)]
pub struct CookieKeys {
    name: &'static str,
    current: Key,
    previous: Option<Key>,
}

/// Marks a request whose session cookie was re-signed.
#[derive(Clone, Copy)]
struct Resigned;

impl CookieKeys {
    pub fn new(config: &Config, current: &SecretKey) -> Self {
        CookieKeys {
            name: session::cookie_name(config),
            current: crypto::cookie_key(current),
            previous: config.previous_secret_key.as_ref().map(crypto::cookie_key),
        }
    }

    /// The session cookie re-signed with the current key, when only the previous key verifies it.
    fn resign(&self, cookie: Cookie<'static>) -> Option<Cookie<'static>> {
        let previous = self.previous.as_ref()?;
        let jar = CookieJar::new();
        if jar.signed(&self.current).verify(cookie.clone()).is_some() {
            return None;
        }
        let plain = jar.signed(previous).verify(cookie)?;
        let mut out = CookieJar::new();
        out.signed_mut(&self.current).add(plain);
        out.get(self.name).cloned()
    }

    /// A `Cookie` header with the session cookie re-signed, if it needed to be.
    fn resign_header(&self, header: &str) -> Option<String> {
        let mut changed = false;
        let pairs: Vec<String> = header
            .split(';')
            .map(|pair| {
                let pair = pair.trim();
                match Cookie::parse_encoded(pair.to_owned()) {
                    Ok(cookie) if cookie.name() == self.name => match self.resign(cookie) {
                        Some(resigned) => {
                            changed = true;
                            resigned.encoded().to_string()
                        }
                        None => pair.to_owned(),
                    },
                    _ => pair.to_owned(),
                }
            })
            .collect();
        changed.then(|| pairs.join("; "))
    }
}

/// Outside the session layer: a session cookie signed with the previous key is re-signed with
/// the current one before the layer checks it.
pub async fn accept_previous(
    State(keys): State<CookieKeys>,
    mut request: Request,
    next: Next,
) -> Response {
    if keys.previous.is_some() {
        let mut resigned = false;
        let values: Vec<HeaderValue> = request
            .headers()
            .get_all(COOKIE)
            .iter()
            .map(|value| {
                let rewritten = value.to_str().ok().and_then(|h| keys.resign_header(h));
                match rewritten.and_then(|h| HeaderValue::try_from(h).ok()) {
                    Some(rewritten) => {
                        resigned = true;
                        rewritten
                    }
                    None => value.clone(),
                }
            })
            .collect();
        if resigned {
            let headers = request.headers_mut();
            headers.remove(COOKIE);
            for value in values {
                headers.append(COOKIE, value);
            }
            request.extensions_mut().insert(Resigned);
        }
    }
    next.run(request).await
}

/// Inside the session layer: a signed-in session that arrived with a re-signed cookie is saved,
/// so the layer sends the cookie signed with the current key.
pub async fn reissue(session: Session, request: Request, next: Next) -> Response {
    let resigned = request.extensions().get::<Resigned>().is_some();
    let response = next.run(request).await;
    if resigned && matches!(session.get::<Uuid>(session::USER_ID).await, Ok(Some(_))) {
        // Setting the (unchanged) expiry marks the session modified: the layer saves it and
        // sets the cookie again.
        session.set_expiry(session.expiry());
    }
    response
}
