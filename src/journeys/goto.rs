//! Where a browser may be sent after a journey: to tessera itself, to the
//! origin of a registered client's redirect or post-logout URI, or to an
//! origin in `sessions.return_origins` (first-party apps sharing the session
//! cookie). Anything else is dropped, never followed: an open redirect would
//! let any site borrow tessera's login page for phishing.

use crate::context::Context;
use crate::store::StoreError;
use url::{Origin, Url};

/// The default landing page after sign-in.
pub const ACCOUNT_PATH: &str = "/account";

/// `goto` as an absolute URL where [`safe`] allows it. The clients are read
/// only for a `goto` that leaves tessera (a sign-in for `/oauth2/authorize`
/// does not).
pub fn checked(ctx: &Context, goto: &str) -> Result<Option<String>, StoreError> {
    if let Some(on_tessera) = safe(&ctx.issuer, goto, &[]) {
        return Ok(Some(on_tessera));
    }
    Ok(safe(&ctx.issuer, goto, &return_origins(ctx)?))
}

/// The origins besides tessera's own that `goto` may lead to: those of
/// `sessions.return_origins` and of every client's registered URIs. Opaque
/// origins (private-use schemes of native apps) never match anything.
fn return_origins(ctx: &Context) -> Result<Vec<Origin>, StoreError> {
    let clients = ctx.store.read(|tx| tx.clients())?;
    let uris = clients.iter().flat_map(|client| {
        client
            .redirect_uris
            .iter()
            .chain(&client.post_logout_redirect_uris)
    });
    Ok(ctx
        .settings
        .sessions
        .return_origins
        .iter()
        .chain(uris)
        .filter_map(|uri| Url::parse(uri).ok())
        .map(|url| url.origin())
        .filter(Origin::is_tuple)
        .collect())
}

/// `goto` as an absolute URL if it points under `issuer` or at one of
/// `others`, else `None`. Relative paths are resolved against the issuer
/// first, so tricks such as `//evil.example` or `/\evil.example` resolve to
/// another origin and fail.
pub fn safe(issuer: &str, goto: &str, others: &[Origin]) -> Option<String> {
    let base = Url::parse(&format!("{}/", issuer.trim_end_matches('/'))).ok()?;
    let target = base.join(goto.trim()).ok()?;
    if !target.username().is_empty() || target.password().is_some() {
        return None;
    }
    let origin = target.origin();
    let under_issuer = origin == base.origin() && target.path().starts_with(base.path());
    let elsewhere_allowed = matches!(target.scheme(), "http" | "https") && others.contains(&origin);
    (under_issuer || elsewhere_allowed).then(|| target.to_string())
}

#[cfg(test)]
mod tests {
    use super::safe;
    use url::{Origin, Url};

    const ISSUER: &str = "http://127.0.0.1:8080";

    fn origins(urls: &[&str]) -> Vec<Origin> {
        urls.iter()
            .map(|u| Url::parse(u).expect("test URL").origin())
            .collect()
    }

    #[test]
    fn paths_on_tessera_are_kept_as_absolute_urls() {
        assert_eq!(
            safe(ISSUER, "/account", &[]).as_deref(),
            Some("http://127.0.0.1:8080/account")
        );
        assert_eq!(
            safe(ISSUER, "http://127.0.0.1:8080/oauth2/authorize?x=1", &[]).as_deref(),
            Some("http://127.0.0.1:8080/oauth2/authorize?x=1")
        );
    }

    #[test]
    fn other_origins_and_tricks_are_dropped() {
        let allowed = origins(&["https://app.example.com", "http://127.0.0.1:9000"]);
        for goto in [
            "https://evil.example/",
            "//evil.example/x",
            "/\\evil.example/x",
            "http://127.0.0.1:8081/",
            "https://127.0.0.1:8080/",
            "javascript:alert(1)",
            "http://user@127.0.0.1:8080/",
            "http://app.example.com/",
            "https://app.example.com.evil.example/",
            "https://user@app.example.com/",
            "http://127.0.0.1:9001/",
        ] {
            assert_eq!(safe(ISSUER, goto, &allowed), None, "{goto}");
        }
    }

    #[test]
    fn allowed_origins_are_kept_with_their_path() {
        let allowed = origins(&["https://app.example.com", "http://127.0.0.1:9000/callback"]);
        assert_eq!(
            safe(ISSUER, "https://app.example.com/notes?id=7", &allowed).as_deref(),
            Some("https://app.example.com/notes?id=7")
        );
        assert_eq!(
            safe(ISSUER, "http://127.0.0.1:9000/", &allowed).as_deref(),
            Some("http://127.0.0.1:9000/")
        );
    }

    #[test]
    fn an_issuer_with_a_path_keeps_goto_under_that_path() {
        let issuer = "https://example.com/auth";
        assert!(safe(issuer, "/auth/account", &[]).is_some());
        assert_eq!(safe(issuer, "/other", &[]), None);
    }
}
