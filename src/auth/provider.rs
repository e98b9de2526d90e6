//! Google, Microsoft and a generic OpenID Connect provider as OAuth 2.0 / OpenID Connect
//! providers: scopes, the authorize URL, the code exchange and token refresh. The same code
//! talks to the real providers and to the local fakes; only the URLs differ (configured for
//! Google and Microsoft, discovered for the generic provider).
//!
//! CalDAV servers and ICS subscriptions are calendar providers too, connected from Settings
//! with a form (`calendar::connect`) rather than OAuth: they have no client id, so every
//! sign-in path refuses them.

use std::fmt;

use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken,
    RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse as _,
    TokenUrl,
    basic::{
        BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
        BasicTokenIntrospectionResponse, BasicTokenType,
    },
};
use serde::{Deserialize, Serialize};

use crate::{
    auth::discovery::{Discovery, DiscoveryError},
    config::{Config, ProviderConfig, Secret},
};

crate::kinds::text_enum! {
    /// Where an account comes from: Google and Microsoft sign in and provide calendars, the
    /// generic OpenID Connect provider only signs in, CalDAV and ICS only provide calendars.
    Provider {
        Google => "google",
        Microsoft => "microsoft",
        /// Any OpenID Connect provider (`OIDC_ISSUER`): sign-in only, no calendar.
        Oidc => "oidc",
        /// A CalDAV server (username and app password).
        Caldav => "caldav",
        /// An iCalendar file polled from a URL.
        Ics => "ics",
    }
}

impl Provider {
    pub fn label(self) -> &'static str {
        match self {
            Provider::Google => "Google",
            Provider::Microsoft => "Microsoft",
            Provider::Oidc => "Single sign-on",
            Provider::Caldav => "CalDAV",
            Provider::Ics => "Calendar subscription",
        }
    }

    /// The name people know the provider by: the generic provider's is configured (`OIDC_NAME`).
    pub fn name(self, config: &Config) -> &str {
        match (self, &config.oidc) {
            (Provider::Oidc, Some(oidc)) => &oidc.name,
            _ => self.label(),
        }
    }

    /// The configured OAuth endpoints of Google and Microsoft; the generic OpenID Connect
    /// provider has none (they come from discovery), nor do CalDAV and ICS (no OAuth).
    pub fn config(self, config: &Config) -> Option<&ProviderConfig> {
        match self {
            Provider::Google => Some(&config.google),
            Provider::Microsoft => Some(&config.microsoft),
            Provider::Oidc | Provider::Caldav | Provider::Ics => None,
        }
    }

    /// A provider is offered for sign-in only when it has a client id.
    pub fn enabled(self, config: &Config) -> bool {
        self.client_id(config).is_some()
    }

    pub fn client_id(self, config: &Config) -> Option<&str> {
        match self {
            Provider::Google | Provider::Microsoft => {
                self.config(config).and_then(|pc| pc.client_id.as_deref())
            }
            Provider::Oidc => config.oidc.as_ref().map(|oidc| oidc.client_id.as_str()),
            Provider::Caldav | Provider::Ics => None,
        }
    }

    /// An identity that only signs in: there is no calendar behind it to link or sync.
    pub fn signs_in_only(self) -> bool {
        self == Provider::Oidc
    }

    /// Whether the account's calendars are read with an OAuth access token (Google,
    /// Microsoft); CalDAV and ICS accounts are connected with a Settings form instead.
    pub fn is_oauth_calendar(self) -> bool {
        matches!(self, Provider::Google | Provider::Microsoft)
    }

    /// Whether the account is connected with a Settings form (CalDAV, ICS), never by signing in.
    pub fn is_form_connected(self) -> bool {
        matches!(self, Provider::Caldav | Provider::Ics)
    }

    /// Where the user goes to reconnect an account of this provider.
    pub fn reconnect_path(self) -> String {
        match self {
            Provider::Caldav => "/settings#caldav".to_owned(),
            Provider::Ics => "/settings#ics".to_owned(),
            Provider::Google | Provider::Microsoft | Provider::Oidc => {
                format!("/auth/{}/login?next=/settings", self.as_str())
            }
        }
    }

    /// Sign-in and read-only calendar access in one consent; the generic provider's scopes are
    /// configured (`OIDC_SCOPES`).
    fn scopes(self, config: &Config) -> Vec<String> {
        let fixed: &[&str] = match self {
            Provider::Google => &[
                "openid",
                "email",
                "profile",
                "https://www.googleapis.com/auth/calendar.readonly",
            ],
            Provider::Microsoft => &[
                "openid",
                "profile",
                "email",
                "offline_access",
                "Calendars.Read",
                "User.Read",
            ],
            Provider::Oidc => {
                return config
                    .oidc
                    .as_ref()
                    .map(|oidc| oidc.scopes.clone())
                    .unwrap_or_default();
            }
            Provider::Caldav | Provider::Ics => &[],
        };
        fixed.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Whether the granted scopes allow reading calendars (users may untick scopes).
    pub fn calendar_granted(self, granted: &str) -> bool {
        let needle = match self {
            Provider::Google => "https://www.googleapis.com/auth/calendar.readonly",
            Provider::Microsoft => "calendars.read",
            Provider::Oidc => return false,
            // Their calendars come with the connection itself, not with a scope.
            Provider::Caldav | Provider::Ics => return true,
        };
        granted.split_whitespace().any(|s| {
            s.eq_ignore_ascii_case(needle)
                || s.to_ascii_lowercase()
                    .ends_with(&format!("/{}", needle.to_ascii_lowercase()))
        })
    }

    pub fn callback_path(self) -> String {
        format!("/auth/{}/callback", self.as_str())
    }
}

/// The token endpoint's extra field we need: the OpenID Connect ID token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdTokenField {
    pub id_token: Option<String>,
}
impl ExtraTokenFields for IdTokenField {}

pub type TokenResponse = StandardTokenResponse<IdTokenField, BasicTokenType>;

type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Tokens as Docket keeps them after an exchange or refresh.
pub struct Tokens {
    pub access_token: String,
    pub expires_in_secs: i64,
    /// Present on first consent; Microsoft rotates it on every refresh.
    pub refresh_token: Option<String>,
    pub id_token: Option<String>,
    pub scope: String,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("access_token", &"[redacted]")
            .field("expires_in_secs", &self.expires_in_secs)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[redacted]"),
            )
            .field("id_token", &self.id_token.as_ref().map(|_| "[redacted]"))
            .field("scope", &self.scope)
            .finish()
    }
}

/// Why a token request failed, in the terms sync and sign-in act on.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The grant is dead (revoked, expired, consent withdrawn): the user must sign in again.
    #[error("the provider refused the grant ({0}); the account must be reconnected")]
    GrantRevoked(String),
    /// Anything else (network, 5xx, `temporarily_unavailable`): try again later.
    #[error("token request failed: {0}")]
    Transient(String),
}

/// What the authorize redirect needs to remember until the callback.
pub struct AuthorizeRequest {
    pub url: url::Url,
    pub state: String,
    pub pkce_verifier: String,
    pub nonce: String,
}

/// Where one sign-in goes and as whom: configured for Google and Microsoft, discovered for
/// the generic provider.
pub struct Endpoints {
    client_id: String,
    client_secret: Option<Secret<String>>,
    auth_url: url::Url,
    token_url: url::Url,
}

impl Endpoints {
    /// The endpoints of `provider`; for the generic provider from its (cached) metadata.
    pub async fn of(
        provider: Provider,
        config: &Config,
        http: &reqwest::Client,
        discovery: &Discovery,
    ) -> Result<Endpoints, EndpointsError> {
        match (provider, provider.config(config), &config.oidc) {
            (_, Some(pc), _) => Endpoints::configured(provider, pc),
            (Provider::Oidc, None, Some(oidc)) => {
                let metadata = discovery.metadata(oidc, http).await?;
                Ok(Endpoints {
                    client_id: oidc.client_id.clone(),
                    client_secret: oidc.client_secret.clone(),
                    auth_url: metadata.authorization_endpoint.clone(),
                    token_url: metadata.token_endpoint.clone(),
                })
            }
            // CalDAV and ICS accounts are connected with a form, never by signing in.
            _ => Err(EndpointsError::NotConfigured(provider)),
        }
    }

    fn configured(provider: Provider, pc: &ProviderConfig) -> Result<Endpoints, EndpointsError> {
        Ok(Endpoints {
            client_id: pc
                .client_id
                .clone()
                .ok_or(EndpointsError::NotConfigured(provider))?,
            client_secret: pc.client_secret.clone(),
            auth_url: pc.auth_url.clone(),
            token_url: pc.token_url.clone(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EndpointsError {
    #[error("{0} is not configured")]
    NotConfigured(Provider),
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
}

fn client(
    provider: Provider,
    config: &Config,
    endpoints: &Endpoints,
) -> Result<OAuthClient, TokenError> {
    let mut client = oauth2::Client::new(ClientId::new(endpoints.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(endpoints.auth_url.clone()))
        .set_token_uri(TokenUrl::from_url(endpoints.token_url.clone()))
        .set_redirect_uri(
            RedirectUrl::new(config.public_link(&provider.callback_path()))
                .map_err(|e| TokenError::Transient(e.to_string()))?,
        );
    if let Some(secret) = &endpoints.client_secret {
        client = client.set_client_secret(ClientSecret::new(secret.expose().clone()));
    }
    Ok(client)
}

/// Builds the authorize URL: code flow with PKCE S256, random `state` and OIDC `nonce`.
/// The redirect URI always comes from configuration, never from the request's Host.
pub fn authorize(
    provider: Provider,
    config: &Config,
    endpoints: &Endpoints,
) -> Result<AuthorizeRequest, TokenError> {
    let client = client(provider, config, endpoints)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random().secret().clone();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(provider.scopes(config).into_iter().map(Scope::new))
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", nonce.clone());
    request = match provider {
        // offline + consent: the only way Google reliably issues a refresh token.
        Provider::Google => request
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent")
            .add_extra_param("include_granted_scopes", "true"),
        Provider::Microsoft => request.add_extra_param("prompt", "select_account"),
        // Sign-in only: whatever the provider's own session allows.
        Provider::Oidc => request,
        // Never reached: they have no endpoints, so `client` was not built.
        Provider::Caldav | Provider::Ics => request,
    };
    let (url, state) = request.url();
    Ok(AuthorizeRequest {
        url,
        state: state.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        nonce,
    })
}

fn classify(
    err: RequestTokenError<oauth2::HttpClientError<reqwest::Error>, BasicErrorResponse>,
) -> TokenError {
    match err {
        RequestTokenError::ServerResponse(response) => {
            let code = response.error().to_string();
            match response.error() {
                BasicErrorResponseType::InvalidGrant
                | BasicErrorResponseType::UnauthorizedClient => TokenError::GrantRevoked(code),
                BasicErrorResponseType::Extension(e)
                    if matches!(
                        e.as_str(),
                        "interaction_required" | "consent_required" | "login_required"
                    ) =>
                {
                    TokenError::GrantRevoked(code)
                }
                _ => TokenError::Transient(code),
            }
        }
        RequestTokenError::Request(e) => TokenError::Transient(format!("request: {e}")),
        RequestTokenError::Parse(e, _) => {
            TokenError::Transient(format!("malformed token response: {e}"))
        }
        RequestTokenError::Other(e) => TokenError::Transient(e),
    }
}

fn tokens(response: TokenResponse) -> Tokens {
    Tokens {
        access_token: response.access_token().secret().clone(),
        // Trust the provider's lifetime; default to a conservative 5 minutes if it says nothing.
        expires_in_secs: response
            .expires_in()
            .map_or(300, |d| d.as_secs().min(i64::MAX as u64) as i64),
        refresh_token: response.refresh_token().map(|t| t.secret().clone()),
        id_token: response.extra_fields().id_token.clone(),
        scope: response
            .scopes()
            .map(|s| s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" "))
            .unwrap_or_default(),
    }
}

/// Exchanges an authorization code (with its PKCE verifier) for tokens.
pub async fn exchange_code(
    provider: Provider,
    config: &Config,
    endpoints: &Endpoints,
    http: &reqwest::Client,
    code: String,
    pkce_verifier: String,
) -> Result<Tokens, TokenError> {
    let response = client(provider, config, endpoints)?
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
        .request_async(http)
        .await
        .map_err(classify)?;
    Ok(tokens(response))
}

/// Trades a refresh token for a new access token (and, with Microsoft, a new refresh token).
pub async fn refresh(
    provider: Provider,
    config: &Config,
    http: &reqwest::Client,
    refresh_token: &str,
) -> Result<Tokens, TokenError> {
    let token = RefreshToken::new(refresh_token.to_owned());
    // Only calendar providers keep tokens, and their endpoints are configured.
    let endpoints = provider
        .config(config)
        .ok_or(EndpointsError::NotConfigured(provider))
        .and_then(|pc| Endpoints::configured(provider, pc))
        .map_err(|e| TokenError::Transient(e.to_string()))?;
    let response = client(provider, config, &endpoints)?
        .exchange_refresh_token(&token)
        .request_async(http)
        .await
        .map_err(classify)?;
    Ok(tokens(response))
}

/// How long a revocation may take: it is best effort, and the user waits for it.
const REVOKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Revokes a grant where the provider supports it (Google; revoking the refresh token ends the
/// whole grant). Best effort: the caller forgets the tokens locally whatever the provider
/// answers; a refusal or an outage is logged. Returns whether the provider confirmed it.
pub async fn revoke(
    provider: Provider,
    config: &Config,
    http: &reqwest::Client,
    token: &str,
) -> bool {
    let Some(url) = provider.config(config).and_then(|pc| pc.revoke_url.clone()) else {
        return false;
    };
    let request = http
        .post(url)
        .timeout(REVOKE_TIMEOUT)
        .form(&[("token", token)]);
    match request.send().await {
        Ok(r) if r.status().is_success() => true,
        Ok(r) => {
            tracing::warn!(%provider, status = r.status().as_u16(), "revocation refused");
            false
        }
        Err(e) => {
            tracing::warn!(%provider, error = %e, "revocation failed");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_scope_is_recognised_per_provider() {
        assert!(
            Provider::Google
                .calendar_granted("openid https://www.googleapis.com/auth/calendar.readonly email")
        );
        assert!(!Provider::Google.calendar_granted("openid email profile"));
        assert!(Provider::Microsoft.calendar_granted("openid Calendars.Read User.Read"));
        assert!(
            Provider::Microsoft
                .calendar_granted("https://graph.microsoft.com/Calendars.Read offline_access")
        );
        assert!(!Provider::Microsoft.calendar_granted("openid User.Read"));
    }
}
