//! What a client may declare, checked the same way wherever a client comes
//! from (`[[clients]]`, `tessera clients add`): ids, grant types, scopes,
//! redirect URIs, and the URIs shown on the consent page.

use crate::config::{SeedClient, Settings};
use crate::oauth::params::{ClientId, GrantType};
use crate::oauth::redirect::is_loopback;
use crate::oauth::scopes;
use url::Url;

/// Grant types a client may declare (token exchange is the separate
/// `token_exchange` setting). The device grant is opt-in, as every grant is:
/// only clients that list it may start one (RFC 8628 §3.1).
pub const GRANT_TYPES: [&str; 4] = [
    GrantType::AuthorizationCode.as_str(),
    GrantType::RefreshToken.as_str(),
    GrantType::ClientCredentials.as_str(),
    GrantType::DeviceCode.as_str(),
];

/// Checks a `[[clients]]` entry; the error names the field.
pub fn check_seed(settings: &Settings, seed: &SeedClient) -> Result<(), (&'static str, String)> {
    if ClientId::parse(&seed.client_id).is_none() {
        return Err((
            "client_id",
            "use 1 to 128 letters, digits, '-', '_', '.', ':'".into(),
        ));
    }
    if let Some(secret) = &seed.client_secret
        && secret.expose().is_empty()
    {
        return Err((
            "client_secret",
            "must not be empty (omit it for a public client)".into(),
        ));
    }
    for uri in seed
        .redirect_uris
        .iter()
        .chain(&seed.post_logout_redirect_uris)
    {
        check_redirect_uri(uri).map_err(|message| ("redirect_uris", message))?;
    }
    // An undeclared scope is allowed (design.md): `warn_undeclared_scopes`
    // names it at start-up; only its syntax is checked here.
    if let Some(scope) = seed.scopes.iter().find(|s| !scopes::is_scope_token(s)) {
        return Err((
            "scopes",
            format!(
                "`{scope}` is not a scope name (RFC 6749 §3.3: no spaces, quotes or backslashes)"
            ),
        ));
    }
    for (field, uri) in [
        ("logo_uri", &seed.logo_uri),
        ("client_uri", &seed.client_uri),
    ] {
        if let Some(uri) = uri
            && !is_web_uri(uri)
        {
            return Err((
                field,
                format!("`{uri}` must be an https URL (http is allowed for loopback only)"),
            ));
        }
    }
    if let Some(uri) = &seed.backchannel_logout_uri {
        check_backchannel_logout_uri(uri).map_err(|message| ("backchannel_logout_uri", message))?;
    }
    for grant in &seed.grant_types {
        if !GRANT_TYPES.contains(&grant.as_str()) {
            return Err(("grant_types", format!("unknown grant type `{grant}`")));
        }
    }
    let grants = |g: &str| seed.grant_types.iter().any(|x| x == g);
    if grants("authorization_code") && seed.redirect_uris.is_empty() {
        return Err((
            "redirect_uris",
            "the authorization_code grant needs at least one".into(),
        ));
    }
    if grants("client_credentials") && seed.client_secret.is_none() {
        return Err((
            "grant_types",
            "client_credentials needs a client_secret".into(),
        ));
    }
    if seed.token_exchange && !seed.first_party {
        return Err((
            "token_exchange",
            "only a first-party client (an app of the same service) may exchange sessions".into(),
        ));
    }
    if let Some(journey) = &seed.journey
        && !settings.journeys.definitions.contains_key(journey)
        && !crate::journeys::graph::builtin_definitions().contains_key(journey)
    {
        return Err(("journey", format!("no journey named `{journey}`")));
    }
    Ok(())
}

/// A redirect URI must be absolute, without fragment (RFC 6749 §3.1.2),
/// and https unless it is a loopback or private-use scheme (RFC 8252).
fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|err| format!("`{uri}` is not an absolute URL: {err}"))?;
    if url.fragment().is_some() {
        return Err(format!("`{uri}` must not have a fragment"));
    }
    match url.scheme() {
        _ if is_https_or_loopback(&url) => Ok(()),
        "http" => Err(format!(
            "`{uri}` must be https (http is allowed for loopback only)"
        )),
        // Private-use URI schemes of native apps (RFC 8252 §7.1).
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(format!("`{uri}` has an unsupported scheme")),
    }
}

/// OpenID Connect Back-Channel Logout 1.0 §2.2: an absolute URL without a
/// fragment (a query is kept). tessera posts logout tokens to it, so https,
/// or http on a loopback host for development, as for redirect URIs.
fn check_backchannel_logout_uri(uri: &str) -> Result<(), String> {
    let url = Url::parse(uri).map_err(|err| format!("`{uri}` is not an absolute URL: {err}"))?;
    if url.fragment().is_some() {
        return Err(format!("`{uri}` must not have a fragment"));
    }
    if !is_https_or_loopback(&url) {
        return Err(format!(
            "`{uri}` must be an https URL (http is allowed for loopback only)"
        ));
    }
    Ok(())
}

/// Whether a client's `logo_uri` or `client_uri` may be shown on the
/// consent page (as an image and a link): an https URL, or http on a
/// loopback host for development. Anything else (`javascript:`, `data:`,
/// plain http that anyone on the way could swap) is never rendered.
pub fn is_web_uri(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|url| is_https_or_loopback(&url))
}

fn is_https_or_loopback(url: &Url) -> bool {
    match url.scheme() {
        "https" => url.host().is_some(),
        "http" => is_loopback(url) || url.host_str() == Some("localhost"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_redirect_uris_are_https_loopback_or_private_schemes() {
        assert!(check_redirect_uri("https://app.example.com/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert!(check_redirect_uri("com.example.app:/oauth").is_ok());
        assert!(check_redirect_uri("http://app.example.com/cb").is_err());
        assert!(check_redirect_uri("https://app.example.com/cb#x").is_err());
        assert!(check_redirect_uri("/relative").is_err());
    }

    #[test]
    fn backchannel_logout_uris_are_absolute_https_or_loopback_without_fragment() {
        for good in [
            "https://rp.example.com/backchannel",
            "https://rp.example.com/bc?tenant=1",
            "http://127.0.0.1:9000/bc",
            "http://[::1]:9000/bc",
        ] {
            assert!(check_backchannel_logout_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "http://rp.example.com/bc",
            "https://rp.example.com/bc#frag",
            "/bc",
            "com.example.app:/bc",
            "javascript:alert(1)",
            "",
        ] {
            assert!(check_backchannel_logout_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logo_and_client_uris_are_https_or_loopback_http_only() {
        for good in [
            "https://app.example.com/logo.png",
            "http://127.0.0.1:9000/",
            "http://localhost/logo.png",
            "http://[::1]/",
        ] {
            assert!(is_web_uri(good), "{good}");
        }
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:image/svg+xml,<svg/onload=alert(1)>",
            "http://app.example.com/",
            "com.example.app:/logo",
            "//app.example.com/logo.png",
            "/logo.png",
            "",
        ] {
            assert!(!is_web_uri(bad), "{bad}");
        }
    }
}
