//! OpenID Connect ID-token validation, for Google, Microsoft and the generic provider.
//!
//! Why the ID token and not the userinfo endpoint: Microsoft's stable identity (`tid` + `oid`)
//! is only in the ID token, and validating it (signature against the provider's JWKS, issuer,
//! audience, expiry, nonce) also defends against provider mix-up and injected tokens, which a
//! userinfo call with a fresh access token would not. One path for every provider.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey, Validation, decode, decode_header,
    jwk::{JwkSet, PublicKeyUse},
};
use serde::Deserialize;
use tokio::sync::{Mutex, RwLock};

use super::{
    discovery::{Discovery, DiscoveryError},
    provider::Provider,
};
use crate::config::Config;

/// The claims Docket uses. Microsoft puts the e-mail in `email` only when it is configured;
/// `preferred_username` is the fallback.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub nonce: Option<String>,
    pub email: Option<String>,
    /// Some providers send it as the string "true".
    pub email_verified: Option<serde_json::Value>,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
    pub tid: Option<String>,
    pub oid: Option<String>,
    pub iat: Option<i64>,
    pub aud: Audience,
    pub azp: Option<String>,
}

/// `aud` is one string or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn len(&self) -> usize {
        match self {
            Audience::One(_) => 1,
            Audience::Many(list) => list.len(),
        }
    }
}

impl Claims {
    /// The e-mail address only when the provider says it verified it: an unverified address
    /// is whatever its owner typed, and could name someone else.
    fn verified_email(&self) -> Option<String> {
        let verified = Self::is_verified(self.email_verified.as_ref());
        self.email.clone().filter(|_| verified)
    }

    fn is_verified(email_verified: Option<&serde_json::Value>) -> bool {
        match email_verified {
            Some(serde_json::Value::Bool(b)) => *b,
            Some(serde_json::Value::String(s)) => s == "true",
            _ => false,
        }
    }
}

/// Who signed in, as Docket records them.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Google: `sub`. Microsoft: `tid/oid` (stable across apps and tenants). Generic OpenID
    /// Connect: the issuer and `sub` joined by a space (an issuer URL holds none).
    pub subject: String,
    pub email: String,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IdTokenError {
    #[error("the provider sent no ID token")]
    Missing,
    #[error("the ID token is invalid: {0}")]
    Invalid(String),
    #[error("could not fetch the provider's signing keys: {0}")]
    Keys(String),
    #[error("could not read the user's information from the provider: {0}")]
    UserInfo(String),
}

impl From<DiscoveryError> for IdTokenError {
    fn from(e: DiscoveryError) -> Self {
        IdTokenError::Keys(e.to_string())
    }
}

/// Signing keys per provider, cached for an hour and fetched again when a token names a key id
/// the cached set lacks (providers rotate keys). A forged key id must not make Docket hammer
/// the provider: such a refetch happens at most once a minute per provider (and a sign-in
/// whose key is missing from a set fetched for it is refused without another fetch).
#[derive(Default, Clone)]
pub struct JwksCache {
    inner: Arc<RwLock<HashMap<Provider, Cached>>>,
    /// One fetch at a time: concurrent sign-ins with an unknown key wait for the same answer.
    fetching: Arc<Mutex<()>>,
}

#[derive(Clone)]
struct Cached {
    fetched_at: Instant,
    /// When a key id missing from the cache last made Docket fetch again.
    forced_at: Option<Instant>,
    keys: JwkSet,
}

const JWKS_TTL: Duration = Duration::from_secs(3600);
/// The least time between two fetches prompted by unknown key ids.
const FORCED_REFETCH_EVERY: Duration = Duration::from_secs(60);

impl JwksCache {
    async fn fetch(
        &self,
        provider: Provider,
        config: &Config,
        http: &reqwest::Client,
        discovery: &Discovery,
        forced: bool,
    ) -> Result<JwkSet, IdTokenError> {
        let url = match (provider, provider.config(config), &config.oidc) {
            (_, Some(pc), _) => pc.jwks_url.clone(),
            // The key set may have moved with the metadata: read both anew.
            (Provider::Oidc, None, Some(oidc)) => {
                discovery.refresh(oidc, http).await?.jwks_uri.clone()
            }
            _ => {
                return Err(IdTokenError::Keys(format!("{provider} is not configured")));
            }
        };
        let set: JwkSet = http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| IdTokenError::Keys(e.to_string()))?
            .json()
            .await
            .map_err(|e| IdTokenError::Keys(e.to_string()))?;
        let mut inner = self.inner.write().await;
        let previous_forced = inner.get(&provider).and_then(|c| c.forced_at);
        let now = Instant::now();
        inner.insert(
            provider,
            Cached {
                fetched_at: now,
                forced_at: if forced { Some(now) } else { previous_forced },
                keys: set.clone(),
            },
        );
        Ok(set)
    }

    async fn key(
        &self,
        provider: Provider,
        kid: &str,
        config: &Config,
        http: &reqwest::Client,
        discovery: &Discovery,
    ) -> Result<DecodingKey, IdTokenError> {
        let cached = || async {
            self.inner
                .read()
                .await
                .get(&provider)
                .filter(|c| c.fetched_at.elapsed() < JWKS_TTL)
                .cloned()
        };
        let set = match cached().await {
            Some(c) if c.keys.find(kid).is_some() => c.keys,
            _ => {
                let _fetching = self.fetching.lock().await;
                // Another request may have fetched while this one waited.
                match cached().await {
                    Some(c) if c.keys.find(kid).is_some() => c.keys,
                    None => self.fetch(provider, config, http, discovery, false).await?,
                    Some(c)
                        if c.forced_at
                            .is_some_and(|at| at.elapsed() < FORCED_REFETCH_EVERY) =>
                    {
                        c.keys
                    }
                    Some(_) => self.fetch(provider, config, http, discovery, true).await?,
                }
            }
        };
        let jwk = set
            .find(kid)
            .filter(|jwk| {
                !matches!(
                    jwk.common.public_key_use,
                    Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
                )
            })
            .ok_or_else(|| {
                IdTokenError::Invalid(format!(
                    "it is signed with a key the provider does not publish ({kid:?})"
                ))
            })?;
        DecodingKey::from_jwk(jwk)
            .map_err(|e| IdTokenError::Invalid(format!("its signing key is unusable ({e})")))
    }
}

/// Why a token was refused, in words a person can read on the error page.
fn refusal(e: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match e.kind() {
        ErrorKind::ExpiredSignature => "it has expired (exp)".into(),
        ErrorKind::ImmatureSignature => "it is not valid yet (nbf)".into(),
        ErrorKind::InvalidIssuer => "it comes from another issuer (iss)".into(),
        ErrorKind::InvalidAudience => "it was issued to another application (aud)".into(),
        ErrorKind::InvalidSignature => "its signature does not verify".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("it lacks the {claim} claim"),
        ErrorKind::InvalidAlgorithm => "its algorithm does not match its key".into(),
        other => format!("it is malformed ({other:?})"),
    }
}

/// Clock skew allowed on `exp` and `iat`, in seconds.
const LEEWAY_SECS: u64 = 60;

/// Validates `id_token` for `provider`: the signature from the provider's JWKS (RS256; the
/// generic provider may also use ES256 or EdDSA), `aud` = our client id (and `azp` when
/// present or when there are several audiences), `exp` and `iat` within a small skew, the
/// issuer this provider must use (Microsoft: with the token's own `tid`), and the `nonce` this
/// sign-in started with.
pub async fn validate(
    provider: Provider,
    id_token: &str,
    expected_nonce: &str,
    config: &Config,
    http: &reqwest::Client,
    jwks: &JwksCache,
    discovery: &Discovery,
) -> Result<Identity, IdTokenError> {
    let header = decode_header(id_token)
        .map_err(|e| IdTokenError::Invalid(format!("it is not a signed token ({e})")))?;
    let allowed: &[Algorithm] = match provider {
        Provider::Google | Provider::Microsoft => &[Algorithm::RS256],
        Provider::Oidc => &[Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
        Provider::Caldav | Provider::Ics => return Err(does_not_sign_in(provider)),
    };
    if !allowed.contains(&header.alg) {
        return Err(IdTokenError::Invalid(format!(
            "it is signed with {:?}, which Docket does not accept",
            header.alg
        )));
    }
    let kid = header
        .kid
        .ok_or_else(|| IdTokenError::Invalid("it names no signing key".into()))?;
    let key = jwks.key(provider, &kid, config, http, discovery).await?;
    let client_id = provider.client_id(config).unwrap_or_default();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECS;
    // Google's issuer is fixed; Microsoft's depends on the token's tenant, checked below.
    match (provider, provider.config(config), &config.oidc) {
        (Provider::Google, Some(pc), _) => {
            validation.set_issuer(&[pc.issuer.as_str(), "accounts.google.com"]);
        }
        // Exactly the configured issuer, not a normalised form of it.
        (Provider::Oidc, _, Some(oidc)) => validation.set_issuer(&[oidc.issuer.as_str()]),
        _ => {}
    }
    let claims = decode::<Claims>(id_token, &key, &validation)
        .map_err(|e| IdTokenError::Invalid(refusal(&e)))?
        .claims;

    let nonce_ok = claims.nonce.as_deref().is_some_and(|n| {
        subtle::ConstantTimeEq::ct_eq(n.as_bytes(), expected_nonce.as_bytes()).into()
    });
    if !nonce_ok {
        return Err(IdTokenError::Invalid(
            "it was issued for another sign-in (nonce)".into(),
        ));
    }
    // OpenID Connect Core 3.1.3.7: a token for several audiences names the party it was
    // issued to, and that party must be Docket.
    if claims.aud.len() > 1 && claims.azp.is_none() {
        return Err(IdTokenError::Invalid(
            "it is meant for several applications and names none as its holder (azp)".into(),
        ));
    }
    if let Some(azp) = &claims.azp
        && azp != client_id
    {
        return Err(IdTokenError::Invalid(format!(
            "it was issued to another application ({azp:?})"
        )));
    }
    let now = chrono::Utc::now().timestamp();
    if claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECS as i64) {
        return Err(IdTokenError::Invalid(
            "it is dated in the future (iat)".into(),
        ));
    }

    match provider {
        Provider::Google => Ok(Identity {
            subject: claims.sub.clone(),
            email: claims.email.clone().unwrap_or_default(),
            name: claims
                .name
                .clone()
                .or(claims.email.clone())
                .unwrap_or_else(|| "Google user".into()),
        }),
        Provider::Microsoft => {
            let (Some(tid), Some(oid)) = (claims.tid.as_deref(), claims.oid.as_deref()) else {
                return Err(IdTokenError::Invalid(
                    "it names no tenant and user (tid, oid)".into(),
                ));
            };
            let issuer = provider.config(config).map(|pc| pc.issuer.as_str());
            let expected_issuer = issuer.unwrap_or_default().replace("{tenantid}", tid);
            if claims.iss != expected_issuer {
                return Err(IdTokenError::Invalid(format!(
                    "it comes from another issuer ({:?})",
                    claims.iss
                )));
            }
            let email = claims
                .email
                .clone()
                .or(claims.preferred_username.clone())
                .unwrap_or_default();
            Ok(Identity {
                subject: format!("{tid}/{oid}"),
                name: claims.name.clone().unwrap_or_else(|| email.clone()),
                email,
            })
        }
        // The name may be missing here: `complete` looks for it at the userinfo endpoint.
        Provider::Oidc => Ok(Identity {
            subject: format!("{} {}", claims.iss, claims.sub),
            email: claims.verified_email().unwrap_or_default(),
            name: claims
                .name
                .clone()
                .or(claims.preferred_username.clone())
                .unwrap_or_default(),
        }),
        Provider::Caldav | Provider::Ics => Err(does_not_sign_in(provider)),
    }
}

/// CalDAV and ICS accounts are connected with a Settings form, never by signing in.
fn does_not_sign_in(provider: Provider) -> IdTokenError {
    IdTokenError::Invalid(format!("{provider} accounts do not sign in"))
}

/// What the userinfo endpoint says about the user (OpenID Connect Core 5.3).
#[derive(Deserialize)]
struct UserInfo {
    sub: String,
    email: Option<String>,
    email_verified: Option<serde_json::Value>,
    name: Option<String>,
    preferred_username: Option<String>,
}

/// Completes the generic provider's identity: some providers put only the identity in the ID
/// token and the e-mail and name at the userinfo endpoint (Authelia, Zitadel by default). The
/// answer counts only if it is about the same `sub` (Core 5.3.2), and its e-mail only if
/// verified, as in the ID token.
pub async fn complete(
    mut identity: Identity,
    access_token: &str,
    config: &Config,
    http: &reqwest::Client,
    discovery: &Discovery,
) -> Result<Identity, IdTokenError> {
    let endpoint = match &config.oidc {
        Some(oidc) if identity.email.is_empty() || identity.name.is_empty() => discovery
            .metadata(oidc, http)
            .await
            .map_err(|e| IdTokenError::UserInfo(e.to_string()))?
            .userinfo_endpoint
            .clone(),
        _ => None,
    };
    if let Some(endpoint) = endpoint {
        let info: UserInfo = http
            .get(endpoint)
            .bearer_auth(access_token)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| IdTokenError::UserInfo(e.to_string()))?
            .json()
            .await
            .map_err(|e| IdTokenError::UserInfo(e.to_string()))?;
        // The subject is the issuer and `sub` joined by a space, and an issuer holds none.
        let sub = identity.subject.split_once(' ').map(|(_, sub)| sub);
        if sub != Some(info.sub.as_str()) {
            return Err(IdTokenError::Invalid(
                "the provider's user information is about someone else (sub)".into(),
            ));
        }
        let verified = Claims::is_verified(info.email_verified.as_ref());
        if identity.email.is_empty()
            && let Some(email) = info.email.filter(|_| verified)
        {
            identity.email = email;
        }
        if identity.name.is_empty()
            && let Some(name) = info.name.or(info.preferred_username)
        {
            identity.name = name;
        }
    }
    if identity.name.is_empty() {
        identity.name = if identity.email.is_empty() {
            "Signed-in user".into()
        } else {
            identity.email.clone()
        };
    }
    Ok(identity)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(email_verified: serde_json::Value) -> Claims {
        serde_json::from_value(serde_json::json!({
            "iss": "https://id.example", "sub": "1", "aud": "docket",
            "email": "ada@example.com", "email_verified": email_verified,
        }))
        .unwrap()
    }

    #[test]
    fn only_a_verified_email_is_used() {
        assert_eq!(
            claims(serde_json::json!(true)).verified_email().as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(
            claims(serde_json::json!("true"))
                .verified_email()
                .as_deref(),
            Some("ada@example.com")
        );
        assert_eq!(claims(serde_json::json!(false)).verified_email(), None);
        assert_eq!(claims(serde_json::Value::Null).verified_email(), None);
    }

    #[test]
    fn audience_is_one_or_many() {
        let one: Audience = serde_json::from_str(r#""docket""#).unwrap();
        let many: Audience = serde_json::from_str(r#"["docket", "other"]"#).unwrap();
        assert_eq!((one.len(), many.len()), (1, 2));
    }
}
