//! OpenID Connect Discovery 1.0 for the generic provider (`OIDC_ISSUER`): its endpoints and
//! key set come from `{issuer}/.well-known/openid-configuration`, never from configuration.
//!
//! The metadata is cached in the process (instances are stateless; each keeps its own copy)
//! and fetched again when it is old, or when an ID token names a key the cached key set lacks
//! (see `oidc::JwksCache`).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use serde::Deserialize;
use tokio::sync::RwLock;
use url::Url;

use crate::config::OidcConfig;

/// What Docket reads of the issuer's metadata.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: Url,
    pub token_endpoint: Url,
    pub jwks_uri: Url,
    /// Where the e-mail and name are when the ID token carries only the identity.
    pub userinfo_endpoint: Option<Url>,
    /// Absent at some providers that support PKCE all the same (Entra): only a list without
    /// `S256` is refused.
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The issuer did not answer, or not with a metadata document: try again later.
    #[error("could not read {url}: {cause}")]
    Unreachable { url: String, cause: String },
    /// The document contradicts the configuration: an operator must look.
    #[error("the metadata at {url} is unusable: {problem}")]
    Invalid { url: String, problem: String },
}

/// Metadata is fetched again after this long even when nothing asks for it.
const TTL: Duration = Duration::from_secs(3600);

/// Metadata and when it was fetched.
type Fetched = (Instant, Arc<Metadata>);

/// The configured issuer's metadata, cached.
#[derive(Clone, Default)]
pub struct Discovery {
    cached: Arc<RwLock<Option<Fetched>>>,
}

impl Discovery {
    /// The metadata, from the cache while it is fresh.
    pub async fn metadata(
        &self,
        oidc: &OidcConfig,
        http: &reqwest::Client,
    ) -> Result<Arc<Metadata>, DiscoveryError> {
        let cached = self
            .cached
            .read()
            .await
            .as_ref()
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, metadata)| metadata.clone());
        match cached {
            Some(metadata) => Ok(metadata),
            None => self.refresh(oidc, http).await,
        }
    }

    /// Fetches the metadata anew (the key set named in it may have moved).
    pub async fn refresh(
        &self,
        oidc: &OidcConfig,
        http: &reqwest::Client,
    ) -> Result<Arc<Metadata>, DiscoveryError> {
        let url = oidc.discovery_url();
        let unreachable = |cause: String| DiscoveryError::Unreachable {
            url: url.clone(),
            cause,
        };
        let metadata: Metadata = http
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| unreachable(e.to_string()))?
            .json()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        check(&metadata, oidc).map_err(|problem| DiscoveryError::Invalid {
            url: url.clone(),
            problem,
        })?;
        let metadata = Arc::new(metadata);
        *self.cached.write().await = Some((Instant::now(), metadata.clone()));
        Ok(metadata)
    }
}

/// The checks of Discovery 1.0 section 4.3 and what this flow needs: the issuer is the
/// configured one exactly (else tokens would be checked against the wrong issuer), the
/// endpoints are web URLs, and PKCE S256 is not ruled out.
fn check(metadata: &Metadata, oidc: &OidcConfig) -> Result<(), String> {
    if metadata.issuer != oidc.issuer {
        return Err(format!(
            "it names the issuer {:?}, not the configured {:?}",
            metadata.issuer, oidc.issuer
        ));
    }
    for (name, url) in [
        ("authorization_endpoint", &metadata.authorization_endpoint),
        ("token_endpoint", &metadata.token_endpoint),
        ("jwks_uri", &metadata.jwks_uri),
    ] {
        if !matches!(url.scheme(), "https" | "http") {
            return Err(format!("{name} is not an http(s) URL"));
        }
    }
    if let Some(methods) = &metadata.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        return Err("the issuer does not support PKCE with S256".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc(issuer: &str) -> OidcConfig {
        OidcConfig {
            issuer: issuer.into(),
            client_id: "docket".into(),
            client_secret: None,
            name: "SSO".into(),
            scopes: vec!["openid".into()],
        }
    }

    fn metadata(issuer: &str, methods: Option<&[&str]>) -> Metadata {
        let url = |path: &str| Url::parse(&format!("https://id.example{path}")).unwrap();
        Metadata {
            issuer: issuer.into(),
            authorization_endpoint: url("/auth"),
            token_endpoint: url("/token"),
            jwks_uri: url("/jwks"),
            userinfo_endpoint: None,
            code_challenge_methods_supported: methods
                .map(|m| m.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    #[test]
    fn the_issuer_must_be_the_configured_one_exactly() {
        let config = oidc("https://id.example/realms/acme");
        assert!(check(&metadata("https://id.example/realms/acme", None), &config).is_ok());
        assert!(check(&metadata("https://id.example/realms/acme/", None), &config).is_err());
        assert!(check(&metadata("https://evil.example/realms/acme", None), &config).is_err());
    }

    #[test]
    fn pkce_without_s256_is_refused_and_an_absent_list_is_not() {
        let config = oidc("https://id.example");
        let issuer = "https://id.example";
        assert!(check(&metadata(issuer, Some(&["plain"])), &config).is_err());
        assert!(check(&metadata(issuer, Some(&["plain", "S256"])), &config).is_ok());
        assert!(check(&metadata(issuer, None), &config).is_ok());
    }
}
