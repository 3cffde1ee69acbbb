//! Where a browser may be sent after a journey: only to tessera itself
//! (registered client origins join with the OAuth issue). Anything else is
//! dropped, never followed: an open redirect would let any site borrow
//! tessera's login page for phishing.

use url::Url;

/// The default landing page after sign-in.
pub const ACCOUNT_PATH: &str = "/account";

/// `goto` as an absolute URL if it points under `issuer`, else `None`.
/// Relative paths are resolved against the issuer first, so tricks such as
/// `//evil.example` or `/\evil.example` resolve to another origin and fail.
pub fn safe(issuer: &str, goto: &str) -> Option<String> {
    let base = Url::parse(&format!("{}/", issuer.trim_end_matches('/'))).ok()?;
    let target = base.join(goto.trim()).ok()?;
    let same_origin = target.origin() == base.origin();
    let under_issuer = target.path().starts_with(base.path());
    (same_origin && under_issuer && target.username().is_empty() && target.password().is_none())
        .then(|| target.to_string())
}

#[cfg(test)]
mod tests {
    use super::safe;

    const ISSUER: &str = "http://127.0.0.1:8080";

    #[test]
    fn paths_on_tessera_are_kept_as_absolute_urls() {
        assert_eq!(
            safe(ISSUER, "/account").as_deref(),
            Some("http://127.0.0.1:8080/account")
        );
        assert_eq!(
            safe(ISSUER, "http://127.0.0.1:8080/oauth2/authorize?x=1").as_deref(),
            Some("http://127.0.0.1:8080/oauth2/authorize?x=1")
        );
    }

    #[test]
    fn other_origins_and_tricks_are_dropped() {
        for goto in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example/x",
            "http://127.0.0.1:8081/",
            "https://127.0.0.1:8080/",
            "javascript:alert(1)",
            "http://user@127.0.0.1:8080/",
        ] {
            assert_eq!(safe(ISSUER, goto), None, "{goto}");
        }
    }

    #[test]
    fn an_issuer_with_a_path_keeps_goto_under_that_path() {
        let issuer = "https://example.com/auth";
        assert!(safe(issuer, "/auth/account").is_some());
        assert_eq!(safe(issuer, "/other"), None);
    }
}
