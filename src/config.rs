//! Configuration, read once from environment variables at start.
//!
//! Every variable is documented in README.md ("Configuration"). Reading goes through
//! [`Config::from_vars`] so tests can pass a map instead of mutating the process environment.

use std::{collections::HashMap, fmt, net::SocketAddr, time::Duration};

use url::Url;

/// A value that must never reach a log line: `Debug` prints a placeholder.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    /// The only way to the value; grep for it to audit where secrets flow.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The 32-byte key that signs cookies and encrypts stored OAuth tokens.
pub type SecretKey = Secret<[u8; 32]>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// Where one OAuth provider lives. Defaults are the real production endpoints; tests and demo
/// mode point every URL at the local fake provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub client_id: Option<String>,
    pub client_secret: Option<Secret<String>>,
    pub auth_url: Url,
    pub token_url: Url,
    pub jwks_url: Url,
    pub revoke_url: Option<Url>,
    pub userinfo_url: Option<Url>,
    /// Google Calendar API v3 base, or Microsoft Graph v1.0 base.
    pub api_url: Url,
    /// Expected ID-token issuer; for Microsoft `{tenantid}` stands for the token's own `tid`.
    pub issuer: String,
    /// Microsoft only: `common`, `organizations`, `consumers` or a tenant id.
    pub tenant: String,
}

impl ProviderConfig {
    /// A provider is offered on the sign-in page only when it has a client id.
    pub fn enabled(&self) -> bool {
        self.client_id.is_some()
    }
}

/// A generic OpenID Connect provider for sign-in only (a company's Keycloak, Entra, ...). Its
/// endpoints come from discovery, at `{issuer}/.well-known/openid-configuration`.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// Exactly as configured: ID tokens' `iss` must equal it byte for byte.
    pub issuer: String,
    pub client_id: String,
    /// `None` for a public client (PKCE alone).
    pub client_secret: Option<Secret<String>>,
    /// The sign-in button's label.
    pub name: String,
    pub scopes: Vec<String>,
}

impl OidcConfig {
    /// Where discovery reads the issuer's metadata (OpenID Connect Discovery 1.0, section 4).
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub env: Environment,
    pub database_url: Secret<String>,
    pub addr: SocketAddr,
    pub public_url: Url,
    /// `None` outside production when unset: a development key is then kept in the database.
    pub secret_key: Option<SecretKey>,
    /// The key before the last rotation: cookies signed and tokens sealed with it are still
    /// accepted (and re-signed or re-sealed with `secret_key` on use).
    pub previous_secret_key: Option<SecretKey>,
    pub log_format: LogFormat,
    pub db_max_connections: u32,
    pub db_acquire_timeout: Duration,
    pub db_statement_timeout: Duration,
    pub request_timeout: Duration,
    /// Serve the built-in fake Google/Microsoft at `/_demo/...` and sign in to demo accounts.
    pub demo: bool,
    pub google: ProviderConfig,
    pub microsoft: ProviderConfig,
    /// Sign-in with a generic OpenID Connect provider, when `OIDC_ISSUER` is set.
    pub oidc: Option<OidcConfig>,
    /// Only the OpenID Connect provider signs people in (Google and Microsoft only link
    /// calendars of someone already signed in).
    pub oidc_only: bool,
    pub sync_interval: Duration,
    /// Run the background sync worker in this instance.
    pub sync_worker: bool,
    /// Calendars of one account listed at once (each holds a database connection to its end).
    pub sync_listings: usize,
    pub sync_days_back: i64,
    pub sync_days_ahead: i64,
    /// Requests per minute allowed to `/auth/*` from one client address.
    pub auth_rate_per_minute: u32,
    /// Requests per minute allowed to the calendar feed (`/feeds/*`) from one client address.
    pub feed_rate_per_minute: u32,
    /// Requests per minute allowed to the API (`/api/v1`) with one token.
    pub api_rate_per_minute: u32,
    /// Honour `X-Forwarded-For` for rate limiting only when a trusted proxy sets it.
    pub trust_proxy: bool,
    /// The largest archive Settings → Import takes (the one body allowed over 1 MiB).
    pub import_max_bytes: usize,
    /// Memory for pages' data kept between requests (src/page_cache.rs), in MiB; 0 turns the
    /// cache off.
    pub page_cache_mib: u64,
    /// The PostgreSQL text search configuration search stems words with (`english`); checked
    /// against the database's configurations at start.
    pub search_language: String,
    /// Let CalDAV servers and ICS subscriptions live at loopback, private and link-local
    /// addresses (off: a user cannot make Docket fetch the operator's internal services).
    pub allow_private_urls: bool,
}

/// One configuration problem, naming the variable and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

/// All configuration problems at once, so an operator fixes them in one go.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
pub struct ConfigErrors(pub Vec<ConfigError>);

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/docket";

const MIB: usize = 1024 * 1024;

struct Reader<'a> {
    vars: &'a HashMap<String, String>,
    errors: Vec<ConfigError>,
}

impl Reader<'_> {
    fn raw(&self, var: &'static str) -> Option<&str> {
        self.vars
            .get(var)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn fail(&mut self, var: &'static str, problem: impl Into<String>) {
        self.errors.push(ConfigError {
            var,
            problem: problem.into(),
        });
    }

    fn string(&self, var: &'static str, default: &str) -> String {
        self.raw(var).unwrap_or(default).to_owned()
    }

    fn parsed<T: std::str::FromStr>(&mut self, var: &'static str, default: T, what: &str) -> T {
        let Some(value) = self.raw(var).map(str::to_owned) else {
            return default;
        };
        value.parse().unwrap_or_else(|_| {
            self.fail(var, format!("expected {what}, got {value:?}"));
            default
        })
    }

    fn url(&mut self, var: &'static str, default: &str) -> Url {
        let value = self.string(var, default);
        match Url::parse(&value) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            _ => {
                self.fail(var, format!("expected an http(s) URL, got {value:?}"));
                Url::parse(default).expect("defaults are valid URLs")
            }
        }
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_vars(&std::env::vars().collect())
    }

    /// Reads configuration from a map of variables (the environment, or a test's map).
    pub fn from_vars(vars: &HashMap<String, String>) -> Result<Self, ConfigErrors> {
        let mut r = Reader {
            vars,
            errors: Vec::new(),
        };
        let env = match r.raw("DOCKET_ENV") {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                r.fail(
                    "DOCKET_ENV",
                    format!("expected \"development\" or \"production\", got {other:?}"),
                );
                Environment::Development
            }
        };
        let database_url = r.string("DATABASE_URL", DEFAULT_DATABASE_URL);
        if !database_url.starts_with("postgres://") && !database_url.starts_with("postgresql://") {
            r.fail(
                "DATABASE_URL",
                "expected a postgres:// URL (e.g. postgres://postgres@127.0.0.1:5432/docket)",
            );
        }
        let addr = r.parsed(
            "DOCKET_ADDR",
            SocketAddr::from(([127, 0, 0, 1], 3000)),
            "a socket address like 127.0.0.1:3000",
        );
        let public_url = r.url("DOCKET_PUBLIC_URL", "http://localhost:3000");
        let secret_key = match r.raw("DOCKET_SECRET_KEY") {
            Some(hex_key) => match parse_secret_key(hex_key) {
                Ok(key) => Some(key),
                Err(problem) => {
                    r.fail("DOCKET_SECRET_KEY", problem);
                    None
                }
            },
            None if env == Environment::Production => {
                r.fail(
                    "DOCKET_SECRET_KEY",
                    "required when DOCKET_ENV=production (64 hex characters; generate with `openssl rand -hex 32`)",
                );
                None
            }
            None => None,
        };
        let previous_secret_key = match r.raw("DOCKET_PREVIOUS_SECRET_KEY") {
            None => None,
            Some(_) if r.raw("DOCKET_SECRET_KEY").is_none() => {
                r.fail(
                    "DOCKET_PREVIOUS_SECRET_KEY",
                    "only meaningful next to DOCKET_SECRET_KEY (the new key)",
                );
                None
            }
            Some(hex_key) => match parse_secret_key(hex_key) {
                Ok(key) => Some(key),
                Err(problem) => {
                    r.fail("DOCKET_PREVIOUS_SECRET_KEY", problem);
                    None
                }
            },
        };
        let log_format = match r.raw("DOCKET_LOG_FORMAT") {
            Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            None if std::io::IsTerminal::is_terminal(&std::io::stdout()) => LogFormat::Pretty,
            None => LogFormat::Json,
            Some(other) => {
                r.fail(
                    "DOCKET_LOG_FORMAT",
                    format!("expected \"json\" or \"pretty\", got {other:?}"),
                );
                LogFormat::Json
            }
        };
        let db_max_connections = r.parsed("DOCKET_DB_MAX_CONNECTIONS", 10u32, "a positive integer");
        if db_max_connections == 0 {
            r.fail("DOCKET_DB_MAX_CONNECTIONS", "must be at least 1");
        }
        let db_acquire_timeout =
            Duration::from_millis(r.parsed("DOCKET_DB_ACQUIRE_TIMEOUT_MS", 3000, "milliseconds"));
        let db_statement_timeout =
            Duration::from_millis(r.parsed("DOCKET_DB_STATEMENT_TIMEOUT_MS", 5000, "milliseconds"));
        let request_timeout =
            Duration::from_secs(r.parsed("DOCKET_REQUEST_TIMEOUT_SECS", 30, "seconds"));
        let sync_interval =
            Duration::from_secs(r.parsed("DOCKET_SYNC_INTERVAL_SECS", 300, "seconds"));
        let sync_worker = r.parsed("DOCKET_SYNC_WORKER", true, "true or false");
        let sync_listings = r.parsed("DOCKET_SYNC_LISTINGS", 2usize, "a positive integer");
        // Each listing keeps a connection and briefly needs a second one (its people): half the
        // pool at most, so that listings never wait for each other's connections and pages
        // still get theirs.
        if sync_listings == 0 || sync_listings * 2 > db_max_connections as usize {
            r.fail(
                "DOCKET_SYNC_LISTINGS",
                "must be from 1 to half of DOCKET_DB_MAX_CONNECTIONS",
            );
        }
        let sync_days_back = r.parsed("DOCKET_SYNC_DAYS_BACK", 90i64, "a number of days");
        let sync_days_ahead = r.parsed("DOCKET_SYNC_DAYS_AHEAD", 365i64, "a number of days");
        let auth_rate_per_minute = r.parsed("DOCKET_AUTH_RATE_PER_MINUTE", 30u32, "requests");
        if !(1..=1_000_000).contains(&auth_rate_per_minute) {
            r.fail("DOCKET_AUTH_RATE_PER_MINUTE", "must be from 1 to 1000000");
        }
        let feed_rate_per_minute = r.parsed("DOCKET_FEED_RATE_PER_MINUTE", 60u32, "requests");
        if !(1..=1_000_000).contains(&feed_rate_per_minute) {
            r.fail("DOCKET_FEED_RATE_PER_MINUTE", "must be from 1 to 1000000");
        }
        let api_rate_per_minute = r.parsed("DOCKET_API_RATE_PER_MINUTE", 600u32, "requests");
        if !(1..=1_000_000).contains(&api_rate_per_minute) {
            r.fail("DOCKET_API_RATE_PER_MINUTE", "must be from 1 to 1000000");
        }
        let trust_proxy = r.parsed("DOCKET_TRUST_PROXY", false, "true or false");
        let allow_private_urls = r.parsed("DOCKET_ALLOW_PRIVATE_URLS", false, "true or false");
        let import_max_bytes = r.parsed("DOCKET_IMPORT_MAX_BYTES", 64 * MIB, "a number of bytes");
        // Below a megabyte no vault fits; above the unpacked limit an archive cannot be useful.
        if !(MIB..=1024 * MIB).contains(&import_max_bytes) {
            r.fail(
                "DOCKET_IMPORT_MAX_BYTES",
                "must be from 1048576 (1 MiB) to 1073741824 (1 GiB)",
            );
        }
        let page_cache_mib = r.parsed("DOCKET_PAGE_CACHE_MIB", 32u64, "a number of MiB");
        if page_cache_mib > 4096 {
            r.fail("DOCKET_PAGE_CACHE_MIB", "must be from 0 (off) to 4096");
        }
        let search_language = r.string("DOCKET_SEARCH_LANGUAGE", "english");
        // A configuration's name (its schema may be given): checked against pg_ts_config at start.
        let is_name = |part: &str| {
            part.chars()
                .next()
                .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if !search_language.split('.').all(is_name) || search_language.split('.').count() > 2 {
            r.fail(
                "DOCKET_SEARCH_LANGUAGE",
                format!(
                    "expected a PostgreSQL text search configuration such as english, got {search_language:?}"
                ),
            );
        }

        let (oidc, oidc_only) = read_oidc(&mut r);
        let any_provider = r.raw("GOOGLE_CLIENT_ID").is_some()
            || r.raw("MICROSOFT_CLIENT_ID").is_some()
            || oidc.is_some();
        let demo = match r.raw("DOCKET_DEMO") {
            Some("true") => true,
            Some("false") => false,
            // With no provider configured, a newcomer gets the demo; production never does implicitly.
            None => env == Environment::Development && !any_provider,
            Some(other) => {
                r.fail(
                    "DOCKET_DEMO",
                    format!("expected \"true\" or \"false\", got {other:?}"),
                );
                false
            }
        };
        // Demo mode points every provider URL at the built-in fake under /_demo, unless a
        // variable says otherwise.
        let merged: HashMap<String, String>;
        let mut r = if demo {
            let base = format!("{}/_demo", public_url.as_str().trim_end_matches('/'));
            merged = crate::fake_provider::env_for(&base)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .chain(vars.iter().map(|(k, v)| (k.clone(), v.clone())))
                .collect();
            Reader {
                vars: &merged,
                errors: r.errors,
            }
        } else {
            r
        };

        let google = ProviderConfig {
            client_id: r.raw("GOOGLE_CLIENT_ID").map(str::to_owned),
            client_secret: r
                .raw("GOOGLE_CLIENT_SECRET")
                .map(|s| Secret::new(s.to_owned())),
            auth_url: r.url(
                "GOOGLE_AUTH_URL",
                "https://accounts.google.com/o/oauth2/v2/auth",
            ),
            token_url: r.url("GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"),
            jwks_url: r.url(
                "GOOGLE_JWKS_URL",
                "https://www.googleapis.com/oauth2/v3/certs",
            ),
            revoke_url: Some(r.url("GOOGLE_REVOKE_URL", "https://oauth2.googleapis.com/revoke")),
            userinfo_url: Some(r.url(
                "GOOGLE_USERINFO_URL",
                "https://openidconnect.googleapis.com/v1/userinfo",
            )),
            api_url: r.url(
                "GOOGLE_CALENDAR_API_URL",
                "https://www.googleapis.com/calendar/v3",
            ),
            issuer: r.string("GOOGLE_ISSUER", "https://accounts.google.com"),
            tenant: String::new(),
        };
        let tenant = r.string("MICROSOFT_TENANT", "common");
        let login = format!("https://login.microsoftonline.com/{tenant}");
        let microsoft = ProviderConfig {
            client_id: r.raw("MICROSOFT_CLIENT_ID").map(str::to_owned),
            client_secret: r
                .raw("MICROSOFT_CLIENT_SECRET")
                .map(|s| Secret::new(s.to_owned())),
            auth_url: r.url(
                "MICROSOFT_AUTH_URL",
                &format!("{login}/oauth2/v2.0/authorize"),
            ),
            token_url: r.url("MICROSOFT_TOKEN_URL", &format!("{login}/oauth2/v2.0/token")),
            jwks_url: r.url(
                "MICROSOFT_JWKS_URL",
                &format!("{login}/discovery/v2.0/keys"),
            ),
            // Microsoft has no token revocation endpoint for this flow.
            revoke_url: None,
            userinfo_url: None,
            api_url: r.url("MICROSOFT_GRAPH_URL", "https://graph.microsoft.com/v1.0"),
            issuer: r.string(
                "MICROSOFT_ISSUER",
                "https://login.microsoftonline.com/{tenantid}/v2.0",
            ),
            tenant,
        };

        if !r.errors.is_empty() {
            return Err(ConfigErrors(r.errors));
        }
        Ok(Config {
            env,
            database_url: Secret::new(database_url),
            addr,
            public_url,
            secret_key,
            previous_secret_key,
            log_format,
            db_max_connections,
            db_acquire_timeout,
            db_statement_timeout,
            request_timeout,
            demo,
            google,
            microsoft,
            oidc,
            oidc_only,
            sync_interval,
            sync_worker,
            sync_listings,
            sync_days_back,
            sync_days_ahead,
            auth_rate_per_minute,
            feed_rate_per_minute,
            api_rate_per_minute,
            trust_proxy,
            allow_private_urls,
            import_max_bytes,
            page_cache_mib,
            search_language,
        })
    }

    /// Cookies get `Secure` and the `__Host-` prefix only when users reach us over https.
    pub fn https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// An absolute URL under `DOCKET_PUBLIC_URL` (OAuth redirect URIs, links in e-mails).
    pub fn public_link(&self, path: &str) -> String {
        format!("{}{}", self.public_url.as_str().trim_end_matches('/'), path)
    }
}

/// The OpenID Connect provider: all of `OIDC_ISSUER` and `OIDC_CLIENT_ID`, or neither.
fn read_oidc(r: &mut Reader<'_>) -> (Option<OidcConfig>, bool) {
    let issuer = r.raw("OIDC_ISSUER").map(str::to_owned);
    let client_id = r.raw("OIDC_CLIENT_ID").map(str::to_owned);
    let only = r.parsed("OIDC_ONLY", false, "true or false");
    let oidc = match (issuer, client_id) {
        (None, None) => None,
        (Some(_), None) => {
            r.fail("OIDC_CLIENT_ID", "required when OIDC_ISSUER is set");
            None
        }
        (None, Some(_)) => {
            r.fail("OIDC_ISSUER", "required when OIDC_CLIENT_ID is set");
            None
        }
        (Some(issuer), Some(client_id)) => {
            // An issuer is an https URL with no query or fragment (Discovery 1.0, section 2);
            // http only for a provider on the same machine or in tests.
            match Url::parse(&issuer) {
                Ok(url)
                    if matches!(url.scheme(), "http" | "https")
                        && url.query().is_none()
                        && url.fragment().is_none()
                        && !issuer.contains(char::is_whitespace) => {}
                _ => r.fail(
                    "OIDC_ISSUER",
                    format!("expected an https URL without query or fragment, got {issuer:?}"),
                ),
            }
            let scopes: Vec<String> = r
                .string("OIDC_SCOPES", "openid email profile")
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            if !scopes.iter().any(|s| s == "openid") {
                r.fail("OIDC_SCOPES", "must include openid");
            }
            Some(OidcConfig {
                issuer,
                client_id,
                client_secret: r
                    .raw("OIDC_CLIENT_SECRET")
                    .map(|s| Secret::new(s.to_owned())),
                name: r.string("OIDC_NAME", "Single sign-on"),
                scopes,
            })
        }
    };
    if only && oidc.is_none() {
        r.fail("OIDC_ONLY", "needs OIDC_ISSUER and OIDC_CLIENT_ID");
    }
    (oidc, only)
}

/// Parses 64 hex characters into a key.
pub fn parse_secret_key(hex_key: &str) -> Result<SecretKey, String> {
    let bytes = hex::decode(hex_key)
        .map_err(|_| "expected 64 hexadecimal characters (32 bytes)".to_owned())?;
    let key: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("expected 32 bytes (64 hex characters), got {}", b.len()))?;
    Ok(Secret::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_need_no_variables() {
        let config = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.database_url.expose(), DEFAULT_DATABASE_URL);
        assert!(config.demo, "no provider configured means demo mode");
        assert!(config.secret_key.is_none());
    }

    #[test]
    fn production_requires_a_secret_key() {
        let err = Config::from_vars(&vars(&[("DOCKET_ENV", "production")])).unwrap_err();
        assert_eq!(err.0[0].var, "DOCKET_SECRET_KEY");
        assert!(
            err.to_string()
                .contains("required when DOCKET_ENV=production")
        );
    }

    #[test]
    fn every_bad_variable_is_named() {
        let err = Config::from_vars(&vars(&[
            ("DOCKET_ADDR", "nowhere"),
            ("DOCKET_SECRET_KEY", "abcd"),
            ("DOCKET_PUBLIC_URL", "ftp://x"),
            ("DATABASE_URL", "mysql://x"),
        ]))
        .unwrap_err();
        let named: Vec<_> = err.0.iter().map(|e| e.var).collect();
        assert_eq!(
            named,
            [
                "DATABASE_URL",
                "DOCKET_ADDR",
                "DOCKET_PUBLIC_URL",
                "DOCKET_SECRET_KEY"
            ]
        );
    }

    #[test]
    fn a_previous_key_needs_the_new_one() {
        let err = Config::from_vars(&vars(&[("DOCKET_PREVIOUS_SECRET_KEY", &"ab".repeat(32))]))
            .unwrap_err();
        assert_eq!(err.0[0].var, "DOCKET_PREVIOUS_SECRET_KEY");
        let config = Config::from_vars(&vars(&[
            ("DOCKET_SECRET_KEY", &"cd".repeat(32)),
            ("DOCKET_PREVIOUS_SECRET_KEY", &"ab".repeat(32)),
        ]))
        .unwrap();
        assert_eq!(config.previous_secret_key.unwrap().expose(), &[0xab; 32]);
    }

    #[test]
    fn the_search_language_is_english_unless_named() {
        assert_eq!(
            Config::from_vars(&vars(&[])).unwrap().search_language,
            "english"
        );
        for good in ["german", "simple", "public.my_config"] {
            let config = Config::from_vars(&vars(&[("DOCKET_SEARCH_LANGUAGE", good)])).unwrap();
            assert_eq!(config.search_language, good);
        }
        for bad in ["English", "english'; drop", "a.b.c", "1st", "."] {
            let err = Config::from_vars(&vars(&[("DOCKET_SEARCH_LANGUAGE", bad)])).unwrap_err();
            assert_eq!(err.0[0].var, "DOCKET_SEARCH_LANGUAGE", "{bad}");
        }
    }

    #[test]
    fn rate_limits_are_bounded() {
        for var in [
            "DOCKET_AUTH_RATE_PER_MINUTE",
            "DOCKET_FEED_RATE_PER_MINUTE",
            "DOCKET_API_RATE_PER_MINUTE",
        ] {
            for bad in ["0", "2000000", "-1"] {
                let err = Config::from_vars(&vars(&[(var, bad)])).unwrap_err();
                assert_eq!(err.0[0].var, var, "{bad}");
            }
        }
    }

    #[test]
    fn the_import_limit_is_64_mib_unless_set_within_bounds() {
        assert_eq!(
            Config::from_vars(&vars(&[])).unwrap().import_max_bytes,
            64 * 1024 * 1024
        );
        let config = Config::from_vars(&vars(&[("DOCKET_IMPORT_MAX_BYTES", "2097152")])).unwrap();
        assert_eq!(config.import_max_bytes, 2 * 1024 * 1024);
        for bad in ["1000", "2000000000", "64MB", "-1"] {
            let err = Config::from_vars(&vars(&[("DOCKET_IMPORT_MAX_BYTES", bad)])).unwrap_err();
            assert_eq!(err.0[0].var, "DOCKET_IMPORT_MAX_BYTES", "{bad}");
        }
    }

    #[test]
    fn oidc_needs_an_issuer_and_a_client_id_together() {
        let config = Config::from_vars(&vars(&[])).unwrap();
        assert!(config.oidc.is_none());
        let err = Config::from_vars(&vars(&[("OIDC_ISSUER", "https://id.example")])).unwrap_err();
        assert_eq!(err.0[0].var, "OIDC_CLIENT_ID");
        let err = Config::from_vars(&vars(&[("OIDC_ONLY", "true")])).unwrap_err();
        assert_eq!(err.0[0].var, "OIDC_ONLY");
        for bad in [
            "id.example",
            "https://id.example/?tenant=1",
            "ftp://id.example",
        ] {
            let err = Config::from_vars(&vars(&[("OIDC_ISSUER", bad), ("OIDC_CLIENT_ID", "d")]))
                .unwrap_err();
            assert_eq!(err.0[0].var, "OIDC_ISSUER", "{bad}");
        }
        let err = Config::from_vars(&vars(&[
            ("OIDC_ISSUER", "https://id.example"),
            ("OIDC_CLIENT_ID", "docket"),
            ("OIDC_SCOPES", "email profile"),
        ]))
        .unwrap_err();
        assert_eq!(err.0[0].var, "OIDC_SCOPES");
    }

    #[test]
    fn oidc_defaults_and_the_issuer_kept_exactly() {
        let config = Config::from_vars(&vars(&[
            ("OIDC_ISSUER", "https://id.example/realms/acme/"),
            ("OIDC_CLIENT_ID", "docket"),
        ]))
        .unwrap();
        assert!(
            !config.demo,
            "a configured provider turns the implicit demo off"
        );
        let oidc = config.oidc.unwrap();
        assert_eq!(oidc.issuer, "https://id.example/realms/acme/");
        assert_eq!(
            oidc.discovery_url(),
            "https://id.example/realms/acme/.well-known/openid-configuration"
        );
        assert_eq!(oidc.name, "Single sign-on");
        assert_eq!(oidc.scopes, ["openid", "email", "profile"]);
        assert!(oidc.client_secret.is_none());
        assert!(!config.oidc_only);
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let key = "ab".repeat(32);
        let config = Config::from_vars(&vars(&[
            ("DOCKET_SECRET_KEY", &key),
            ("DATABASE_URL", "postgres://u:hunter2@db/docket"),
            ("GOOGLE_CLIENT_SECRET", "very-secret-value"),
            ("OIDC_ISSUER", "https://id.example"),
            ("OIDC_CLIENT_ID", "docket"),
            ("OIDC_CLIENT_SECRET", "oidc-secret-value"),
        ]))
        .unwrap();
        let debug = format!("{config:?}");
        assert!(!debug.contains(&key));
        assert!(!debug.contains("hunter2"));
        assert!(!debug.contains("very-secret-value"));
        assert!(!debug.contains("oidc-secret-value"));
        assert!(debug.contains("[redacted]"));
    }
}
