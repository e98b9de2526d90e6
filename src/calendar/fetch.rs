//! Requests to addresses users typed (CalDAV servers, ICS subscriptions), guarded so that a
//! user cannot make Docket reach the operator's internal services (SSRF).
//!
//! Only `http` and `https` (`webcal://` is read as `https://`). The host is resolved here and
//! every address it resolves to must be public, unless the operator allows private ones
//! (`DOCKET_ALLOW_PRIVATE_URLS`); the connection then goes to exactly those checked addresses
//! (reqwest's `resolve_to_addrs`, no proxy), so a second DNS answer cannot swap in another.
//! Redirects are followed here, a few at most, each target checked the same way, never to
//! another scheme, and credentials are sent to the first host only. Every response is read
//! under a size cap and a time cap.

use std::{
    collections::HashMap,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use reqwest::{
    Client, Method, StatusCode,
    header::{HeaderMap, LOCATION},
};
use url::{Host, Url};

/// The largest body Docket reads from a calendar server (a year of a busy calendar as one ICS
/// file is a few MiB).
pub const MAX_BYTES: usize = 10 * 1024 * 1024;
/// The longest one request may take, body included.
const TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_REDIRECTS: usize = 5;

/// Why a URL a user typed is not fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("That is not a web address (it must start with https:// or http://).")]
    NotWeb,
    #[error("Put the username and password in their own fields, not in the address.")]
    Credentials,
    #[error("Docket could not find the server {0}.")]
    Unresolvable(String),
    #[error("That address points to a private or local network, which Docket does not fetch from.")]
    Private,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Refused(#[from] UrlError),
    #[error("the server redirected to another scheme or too many times")]
    Redirects,
    #[error("the response is larger than {} MiB", MAX_BYTES / 1024 / 1024)]
    TooLarge,
    /// Connection refused, timeout, TLS failure, a body cut short: try again later.
    #[error("the server could not be reached ({0})")]
    Unreachable(String),
}

/// Reads what a user typed as an address to fetch: `webcal://` becomes `https://`, only
/// `http(s)` with a host is taken, and credentials never travel inside the URL.
pub fn parse_url(input: &str) -> Result<Url, UrlError> {
    let input = input.trim();
    let rewritten;
    let input = match input.get(..9) {
        Some(prefix) if prefix.eq_ignore_ascii_case("webcal://") => {
            rewritten = format!("https://{}", &input[9..]);
            rewritten.as_str()
        }
        _ => input,
    };
    let url = Url::parse(input).map_err(|_| UrlError::NotWeb)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(UrlError::NotWeb);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlError::Credentials);
    }
    Ok(url)
}

/// Whether `ip` is an ordinary public address: not loopback, private, link-local (cloud
/// metadata lives there), carrier-grade NAT, multicast, broadcast, documentation, reserved or
/// unspecified, in IPv4 or IPv6, IPv4-mapped and NAT64 forms included.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            // 64:ff9b::/96 translates to the IPv4 address in its last 32 bits.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // The deprecated IPv4-compatible form ::a.b.c.d.
                || s[..6] == [0; 6]
                || (s[0] & 0xfe00) == 0xfc00 // unique local
                || (s[0] & 0xffc0) == 0xfe80 // link-local
                || (s[0] & 0xffc0) == 0xfec0 // site-local
                || (s[0] == 0x2001 && s[1] == 0x0db8)) // documentation
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (b & 0xc0) == 64) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // benchmarking
        || a >= 240) // reserved
}

/// One request to send.
pub struct Request<'a> {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(&'static str, String)>,
    pub body: Option<String>,
    /// HTTP Basic credentials, sent to the first URL's host only.
    pub basic: Option<(&'a str, &'a str)>,
}

impl Request<'_> {
    pub fn get(url: Url) -> Self {
        Request {
            method: Method::GET,
            url,
            headers: Vec::new(),
            body: None,
            basic: None,
        }
    }
}

/// A response read whole (within [`MAX_BYTES`]).
#[derive(Debug)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// Where the response came from, after redirects.
    pub url: Url,
}

impl Fetched {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends guarded requests; keeps one client (and its connections) per checked host.
pub struct Fetcher {
    allow_private: bool,
    clients: HashMap<(String, u16), Client>,
}

impl Fetcher {
    pub fn new(allow_private: bool) -> Self {
        Fetcher {
            allow_private,
            clients: HashMap::new(),
        }
    }

    /// Resolves and checks `url`'s host once, and returns a client pinned to its addresses.
    async fn client(&mut self, url: &Url) -> Result<Client, FetchError> {
        let host = url.host_str().ok_or(UrlError::NotWeb)?.to_owned();
        let port = url.port_or_known_default().ok_or(UrlError::NotWeb)?;
        if let Some(client) = self.clients.get(&(host.clone(), port)) {
            return Ok(client.clone());
        }
        let addrs: Vec<SocketAddr> = match url.host().ok_or(UrlError::NotWeb)? {
            Host::Ipv4(ip) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
            Host::Ipv6(ip) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
            Host::Domain(domain) => tokio::net::lookup_host((domain, port))
                .await
                .map_err(|_| UrlError::Unresolvable(domain.to_owned()))?
                .collect(),
        };
        if addrs.is_empty() {
            return Err(UrlError::Unresolvable(host).into());
        }
        if !self.allow_private && !addrs.iter().all(|a| is_public(a.ip())) {
            return Err(UrlError::Private.into());
        }
        let mut builder = Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TIMEOUT)
            .user_agent(concat!("Docket/", env!("CARGO_PKG_VERSION")));
        if let Some(Host::Domain(domain)) = url.host() {
            builder = builder.resolve_to_addrs(domain, &addrs);
        }
        let client = builder
            .build()
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        self.clients.insert((host, port), client.clone());
        Ok(client)
    }

    /// Checks that `url`'s host may be fetched, before anything is sent to it.
    pub async fn check(&mut self, url: &Url) -> Result<(), FetchError> {
        self.client(url).await.map(drop)
    }

    /// Sends `request`, following redirects, and reads the body under the size cap.
    pub async fn send(&mut self, request: Request<'_>) -> Result<Fetched, FetchError> {
        let origin = (
            request.url.host_str().map(str::to_owned),
            request.url.port_or_known_default(),
        );
        let mut url = request.url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let client = self.client(&url).await?;
            let mut builder = client.request(request.method.clone(), url.clone());
            for (name, value) in &request.headers {
                builder = builder.header(*name, value);
            }
            if let Some(body) = &request.body {
                builder = builder.body(body.clone());
            }
            let same_origin = (
                url.host_str().map(str::to_owned),
                url.port_or_known_default(),
            ) == origin;
            if let (Some((user, password)), true) = (request.basic, same_origin) {
                builder = builder.basic_auth(user, Some(password));
            }
            let mut response = builder.send().await.map_err(unreachable)?;
            let status = response.status();
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let next = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
                    .ok_or(FetchError::Redirects)?;
                if next.scheme() != url.scheme() {
                    return Err(FetchError::Redirects);
                }
                url = next;
                continue;
            }
            let mut body = Vec::new();
            if response
                .content_length()
                .is_some_and(|n| n > MAX_BYTES as u64)
            {
                return Err(FetchError::TooLarge);
            }
            while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
                if body.len() + chunk.len() > MAX_BYTES {
                    return Err(FetchError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            return Ok(Fetched {
                status,
                headers: std::mem::take(response.headers_mut()),
                body,
                url,
            });
        }
        Err(FetchError::Redirects)
    }
}

fn unreachable(e: reqwest::Error) -> FetchError {
    FetchError::Unreachable(if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        "the response was cut short".into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webcal_is_https_and_other_schemes_are_refused() {
        assert_eq!(
            parse_url("webcal://cal.example.com/a.ics")
                .unwrap()
                .as_str(),
            "https://cal.example.com/a.ics"
        );
        assert_eq!(parse_url("ftp://example.com/a.ics"), Err(UrlError::NotWeb));
        assert_eq!(parse_url("file:///etc/passwd"), Err(UrlError::NotWeb));
        assert_eq!(parse_url("example.com/a.ics"), Err(UrlError::NotWeb));
        assert_eq!(
            parse_url("https://ada:secret@example.com/"),
            Err(UrlError::Credentials)
        );
    }

    #[test]
    fn private_loopback_link_local_and_mapped_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} counted as public");
        }
        for ip in [
            "93.184.215.14",
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} counted as private");
        }
    }
}
