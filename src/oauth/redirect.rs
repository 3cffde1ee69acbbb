//! The `redirect_uri` of an authorization request and its matching against
//! the client's registered ones: exact string comparison (RFC 9700 §2.1),
//! except that a loopback IP redirect URI matches on any port (RFC 8252
//! §7.3: a native app listens on whatever port the system gives it).

use std::fmt;
use url::Url;

/// A `redirect_uri` as requested: an absolute URL, kept as the exact text
/// sent, since matching and the token endpoint's comparison (RFC 6749
/// §4.1.3) are on that text, not on a normalized URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri {
    text: String,
    /// Boxed: refusals carry the URI, and a `Url` is large.
    url: Box<Url>,
}

impl RedirectUri {
    /// The URI, if it is an absolute URL. Anything else cannot be one of a
    /// client's registered URIs (those are checked when registered).
    pub fn parse(raw: &str) -> Option<Self> {
        Url::parse(raw).ok().map(|url| Self {
            text: raw.to_owned(),
            url: Box::new(url),
        })
    }

    /// The URI exactly as sent.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URI as a URL, to add the response's parameters to.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether this is one of `registered`: exactly, or for loopback IP
    /// redirect URIs with any port.
    pub fn is_one_of(&self, registered: &[String]) -> bool {
        if registered.contains(&self.text) {
            return true;
        }
        if self.url.scheme() != "http" || !is_loopback(&self.url) {
            return false;
        }
        // Compared as text too, so that only the port may differ: parsed
        // URLs would also equate `127.1` with `127.0.0.1`, or `/a/../cb`
        // with `/cb`.
        let Some(requested) = without_port(&self.text) else {
            return false;
        };
        registered.iter().any(|uri| {
            Url::parse(uri).is_ok_and(|url| is_loopback(&url))
                && without_port(uri).is_some_and(|uri| uri == requested)
        })
    }
}

/// The text of an `http://host[:port]…` URI without its port.
fn without_port(text: &str) -> Option<String> {
    let rest = text.strip_prefix("http://")?;
    let (authority, tail) = rest.split_at(rest.find(['/', '?', '#']).unwrap_or(rest.len()));
    let host = match authority.rsplit_once(':') {
        // After an IPv6 address's `]`, or after an IPv4 address: a port.
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    Some(format!("http://{host}{tail}"))
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Whether the URL's host is a loopback IP address (not `localhost`, which
/// RFC 8252 §8.3 advises against: it may resolve elsewhere).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn matches(registered: &[&str], requested: &str) -> bool {
        let registered: Vec<String> = registered.iter().map(|u| (*u).to_owned()).collect();
        RedirectUri::parse(requested).is_some_and(|uri| uri.is_one_of(&registered))
    }

    proptest! {
        #[test]
        fn redirect_uris_never_panic_and_round_trip(raw in any::<String>()) {
            if let Some(uri) = RedirectUri::parse(&raw) {
                prop_assert_eq!(uri.as_str(), raw.as_str());
                prop_assert_eq!(RedirectUri::parse(&uri.to_string()), Some(uri));
            }
        }

        #[test]
        fn matching_arbitrary_uris_never_panics(
            registered in proptest::collection::vec(any::<String>(), 0..3),
            raw in any::<String>(),
        ) {
            if let Some(uri) = RedirectUri::parse(&raw) {
                let _ = uri.is_one_of(&registered);
            }
        }

        #[test]
        fn a_registered_uri_matches_itself(
            host in "[a-z]{1,10}\\.example", path in "(/[a-z0-9]{0,8}){0,3}",
        ) {
            let uri = format!("https://{host}{path}");
            prop_assert!(matches(&[&uri], &uri));
        }

        #[test]
        fn loopback_redirect_uris_match_on_any_port_only(
            port in 1u16.., other_port in 1u16.., path in "/[a-z]{1,8}",
        ) {
            let registered = format!("http://127.0.0.1:{port}{path}");
            let other = format!("http://127.0.0.1:{other_port}{path}");
            let portless = format!("http://127.0.0.1{path}");
            let elsewhere = format!("{other}x");
            prop_assert!(matches(&[&registered], &other));
            prop_assert!(matches(&[&registered], &portless));
            prop_assert!(!matches(&[&registered], &elsewhere));
            let https = format!("https://app.example:{port}{path}");
            let https_other = format!("https://app.example:{other_port}{path}");
            prop_assert_eq!(matches(&[&https], &https_other), port == other_port);
        }
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let registered = ["https://app.example.com/cb"];
        assert!(matches(&registered, "https://app.example.com/cb"));
        for other in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb?x=1",
            "https://app.example.com/CB",
            "https://evil.example.com/cb",
            "https://app.example.com:8443/cb",
            "https://APP.example.com/cb",
            "/cb",
        ] {
            assert!(!matches(&registered, other), "{other}");
        }
    }

    #[test]
    fn loopback_redirect_uris_allow_any_port() {
        let registered = ["http://127.0.0.1/callback", "http://[::1]:9000/cb"];
        assert!(matches(&registered, "http://127.0.0.1:51234/callback"));
        assert!(matches(&registered, "http://[::1]:1/cb"));
        assert!(!matches(&registered, "http://127.0.0.1:51234/other"));
        assert!(!matches(&registered, "http://localhost:51234/callback"));
        assert!(!matches(&registered, "https://127.0.0.1:51234/callback"));
    }

    #[test]
    fn only_the_port_of_a_loopback_redirect_uri_may_differ() {
        let registered = ["http://127.0.0.1/cb", "http://[::1]/cb"];
        for other in [
            "http://127.1:9/cb",
            "http://127.0.0.1:9/x/../cb",
            "http://[0::1]:9/cb",
            "http://127.0.0.1:9/cb?x=1",
            "http://user@127.0.0.1:9/cb",
            "http://127.0.0.2:9/cb",
        ] {
            assert!(!matches(&registered, other), "{other}");
        }
        assert!(matches(&registered, "http://[::1]:9/cb"));
        assert!(matches(&registered, "http://127.0.0.1:/cb"));
    }
}
