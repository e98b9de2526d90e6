//! OpenID Connect ID-token validation.
//!
//! Why the ID token and not the userinfo endpoint: Microsoft's stable identity (`tid` + `oid`)
//! is only in the ID token, and validating it (signature against the provider's JWKS, issuer,
//! audience, expiry, nonce) also defends against provider mix-up and injected tokens, which a
//! userinfo call with a fresh access token would not. One path for both providers.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use serde::Deserialize;
use tokio::sync::RwLock;

use super::provider::Provider;
use crate::config::Config;

/// The claims Docket uses. Microsoft puts the e-mail in `email` only when it is configured;
/// `preferred_username` is the fallback.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub nonce: Option<String>,
    pub email: Option<String>,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
    pub tid: Option<String>,
    pub oid: Option<String>,
}

/// Who signed in, as Docket records them.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Google: `sub`. Microsoft: `tid/oid` (stable across apps and tenants).
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
}

/// Signing keys per provider, cached for an hour and refetched once when a token names an
/// unknown key id (providers rotate keys).
#[derive(Default, Clone)]
pub struct JwksCache {
    inner: Arc<RwLock<HashMap<Provider, (Instant, JwkSet)>>>,
}

const JWKS_TTL: Duration = Duration::from_secs(3600);

impl JwksCache {
    async fn fetch(
        &self,
        provider: Provider,
        config: &Config,
        http: &reqwest::Client,
    ) -> Result<JwkSet, IdTokenError> {
        let url = provider.config(config).jwks_url.clone();
        let set: JwkSet = http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| IdTokenError::Keys(e.to_string()))?
            .json()
            .await
            .map_err(|e| IdTokenError::Keys(e.to_string()))?;
        self.inner
            .write()
            .await
            .insert(provider, (Instant::now(), set.clone()));
        Ok(set)
    }

    async fn key(
        &self,
        provider: Provider,
        kid: &str,
        config: &Config,
        http: &reqwest::Client,
    ) -> Result<DecodingKey, IdTokenError> {
        let cached = self
            .inner
            .read()
            .await
            .get(&provider)
            .filter(|(at, _)| at.elapsed() < JWKS_TTL)
            .map(|(_, set)| set.clone());
        let set = match cached {
            Some(set) if set.find(kid).is_some() => set,
            _ => self.fetch(provider, config, http).await?,
        };
        let jwk = set
            .find(kid)
            .ok_or_else(|| IdTokenError::Invalid(format!("unknown signing key {kid:?}")))?;
        DecodingKey::from_jwk(jwk).map_err(|e| IdTokenError::Invalid(e.to_string()))
    }
}

/// Validates `id_token` for `provider`: RS256 signature from the provider's JWKS, `aud` = our
/// client id, `exp`/`nbf`, the issuer this provider must use (Microsoft: with the token's own
/// `tid`), and the `nonce` this sign-in started with.
pub async fn validate(
    provider: Provider,
    id_token: &str,
    expected_nonce: &str,
    config: &Config,
    http: &reqwest::Client,
    jwks: &JwksCache,
) -> Result<Identity, IdTokenError> {
    let header = decode_header(id_token).map_err(|e| IdTokenError::Invalid(e.to_string()))?;
    if header.alg != Algorithm::RS256 {
        return Err(IdTokenError::Invalid(format!(
            "unexpected algorithm {:?}",
            header.alg
        )));
    }
    let kid = header
        .kid
        .ok_or_else(|| IdTokenError::Invalid("no key id".into()))?;
    let key = jwks.key(provider, &kid, config, http).await?;
    let pc = provider.config(config);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[pc.client_id.as_deref().unwrap_or_default()]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = 60;
    // Google's issuer is fixed; Microsoft's depends on the token's tenant, checked below.
    if provider == Provider::Google {
        validation.set_issuer(&[pc.issuer.as_str(), "accounts.google.com"]);
    }
    let claims = decode::<Claims>(id_token, &key, &validation)
        .map_err(|e| IdTokenError::Invalid(e.to_string()))?
        .claims;

    let nonce_ok = claims.nonce.as_deref().is_some_and(|n| {
        subtle::ConstantTimeEq::ct_eq(n.as_bytes(), expected_nonce.as_bytes()).into()
    });
    if !nonce_ok {
        return Err(IdTokenError::Invalid(
            "nonce does not match this sign-in".into(),
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
                return Err(IdTokenError::Invalid("no tid/oid claims".into()));
            };
            let expected_issuer = pc.issuer.replace("{tenantid}", tid);
            if claims.iss != expected_issuer {
                return Err(IdTokenError::Invalid(format!(
                    "issuer {:?} is not {expected_issuer:?}",
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
        Provider::Caldav | Provider::Ics => Err(IdTokenError::Invalid(format!(
            "{provider} accounts do not sign in"
        ))),
    }
}
