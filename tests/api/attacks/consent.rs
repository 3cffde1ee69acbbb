//! Consent and the browser (RFC 9700 §4.7, §4.11, §4.12, §4.16), and the
//! session a client may require.

use super::*;

#[tokio::test]
async fn a_consent_posted_with_a_wrong_csrf_token_is_refused_and_issues_no_code() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let page = send_authorize(&app, &app.browser, &request)
        .await
        .text()
        .await
        .expect("html");
    assert!(is_consent_page(&page));
    let real = csrf_token(&page);

    // Bob's own consent page gives him a token for his session only.
    let bob = new_browser("bob's browser");
    assert_eq!(
        app.login_html_in(&bob, "", BOB).await.status(),
        StatusCode::SEE_OTHER
    );
    let bob_page = send_authorize(&app, &bob, &request)
        .await
        .text()
        .await
        .expect("html");
    let bobs = csrf_token(&bob_page);
    assert_ne!(bobs, real);

    let mut flipped = real.clone();
    let last = if flipped.pop() == Some('A') { 'B' } else { 'A' };
    flipped.push(last);
    for forged in [Some(flipped.as_str()), Some(""), Some(bobs.as_str()), None] {
        let mut form: Vec<(String, String)> = hidden_fields(&page)
            .into_iter()
            .filter(|(name, _)| name != "csrf_token")
            .collect();
        if let Some(forged) = forged {
            form.push(("csrf_token".into(), forged.into()));
        }
        form.push(("decision".into(), "allow".into()));
        let response = post_consent(&app, &app.browser, &form).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{forged:?}");
        assert!(response.headers().get("location").is_none(), "{forged:?}");
    }
    // Without any session (a cross-site post without cookies): sign in first.
    let mut form = hidden_fields(&page);
    form.push(("decision".into(), "allow".into()));
    let response = post_consent(&app, &app.api, &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&response).starts_with("/login?"),
        "{}",
        location(&response)
    );

    // Nothing was granted: the next request still asks.
    let again = send_authorize(&app, &app.browser, &request).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(is_consent_page(&again.text().await.expect("html")));
}

#[tokio::test]
async fn denying_consent_sends_access_denied_back_and_remembers_nothing() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let page = send_authorize(&app, &app.browser, &request)
        .await
        .text()
        .await
        .expect("html");
    let response = decide(&app, &app.browser, &page, "deny").await;
    let params = callback(&response, WEB_REDIRECT);
    assert_eq!(
        params.get("error").map(String::as_str),
        Some("access_denied")
    );
    assert_eq!(params.get("code"), None);
    assert_eq!(params.get("state"), Some(&request.state));
    assert_eq!(params.get("iss"), Some(&app.address));
    let again = send_authorize(&app, &app.browser, &request).await;
    assert_eq!(again.status(), StatusCode::OK, "asked again");
}

#[tokio::test]
async fn the_consent_page_cannot_be_framed_cached_or_leak_a_referrer() {
    let app = spawn_signed_in().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let response = send_authorize(&app, &app.browser, &request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(header("x-frame-options"), "DENY");
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("cache-control"), "no-store");
}

#[tokio::test]
async fn redirects_after_a_posted_form_are_303_so_nothing_is_posted_again() {
    // RFC 9700 §4.12: a 307 would make the browser re-post the password or
    // the consent form to wherever the redirect leads.
    let app = spawn().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid");
    let to_login = send_authorize(&app, &app.browser, &request).await;
    let login = location(&to_login);
    let signed_in = app.login_html(&login["/login".len()..], ALICE).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let page = app
        .get_page(&location(&signed_in)[app.address.len()..])
        .await
        .text()
        .await
        .expect("html");
    let consented = decide(&app, &app.browser, &page, "allow").await;
    assert_eq!(consented.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn without_a_session_authorize_signs_in_and_comes_back_to_itself_only() {
    let app = spawn().await;
    let request = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let response = send_authorize(&app, &app.browser, &request).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let login = location(&response);
    let login_url = Url::parse(&app.url(&login)).expect("url");
    assert_eq!(login_url.path(), "/login", "{login}");
    let query: BTreeMap<String, String> = login_url.query_pairs().into_owned().collect();
    assert_eq!(query.get("journey").map(String::as_str), Some("login"));
    let goto = query.get("goto").expect("goto");
    assert!(goto.starts_with(&app.url("/oauth2/authorize?")), "{goto}");
    let carried: BTreeMap<String, String> = Url::parse(goto)
        .expect("goto url")
        .query_pairs()
        .into_owned()
        .collect();
    let sent: BTreeMap<String, String> = request.params.iter().cloned().collect();
    assert_eq!(
        carried, sent,
        "the request is carried through sign-in intact"
    );

    let signed_in = app.login_html(&login["/login".len()..], ALICE).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let back = Url::parse(&location(&signed_in)).expect("absolute");
    let origin = Url::parse(&app.address).expect("issuer");
    assert_eq!(back.origin(), origin.origin(), "same origin: {back}");
    assert_eq!(back.path(), "/oauth2/authorize");

    let page = app
        .get_page(&back[url::Position::BeforePath..])
        .await
        .text()
        .await
        .expect("html");
    assert!(is_consent_page(&page));
    let params = callback(
        &decide(&app, &app.browser, &page, "allow").await,
        WEB_REDIRECT,
    );
    assert_eq!(params.get("state"), Some(&request.state));
    assert!(params.contains_key("code"));
}

#[tokio::test]
async fn a_login_goto_that_leads_elsewhere_lands_on_the_account_page() {
    let app = spawn().await;
    let authorize = AuthRequest::new("web", WEB_REDIRECT, "openid");
    let evil_authorize = format!(
        "https://evil.example.com/oauth2/authorize?client_id=web&state={}",
        authorize.state
    );
    for goto in [
        evil_authorize.as_str(),
        "//evil.example.com/oauth2/authorize",
        "/\\evil.example.com/oauth2/authorize",
        "https:evil.example.com",
        "javascript:alert(1)",
    ] {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("journey", "login")
            .append_pair("goto", goto)
            .finish();
        let browser = new_browser("a phished browser");
        let response = app
            .login_html_in(&browser, &format!("?{query}"), ALICE)
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{goto}");
        assert_eq!(location(&response), app.url("/account"), "{goto}");
    }
}

#[tokio::test]
async fn a_first_party_client_never_shows_the_consent_page() {
    let app = spawn_signed_in().await;
    for scope in ["openid", "openid notes:read offline_access", "notes:read"] {
        let request = AuthRequest::new("native", NATIVE_REDIRECT, scope);
        let response = send_authorize(&app, &app.browser, &request).await;
        let params = callback(&response, NATIVE_REDIRECT);
        assert!(params.contains_key("code"), "{scope}: {params:?}");
    }
}

#[tokio::test]
async fn a_third_party_client_asks_only_for_new_scopes_the_second_time() {
    let app = spawn_signed_in().await;
    let first = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read");
    let page = send_authorize(&app, &app.browser, &first)
        .await
        .text()
        .await
        .expect("html");
    assert!(is_consent_page(&page));
    assert!(page.contains("Web Notes"));
    assert!(page.contains("Read your notes"));
    assert!(!page.contains("(allowed before)"));
    callback(
        &decide(&app, &app.browser, &page, "allow").await,
        WEB_REDIRECT,
    );

    // The same scopes again: straight back with a code.
    let same = AuthRequest::new("web", WEB_REDIRECT, "notes:read openid");
    let params = callback(
        &send_authorize(&app, &app.browser, &same).await,
        WEB_REDIRECT,
    );
    assert!(params.contains_key("code"), "{params:?}");

    // One more scope: asked for that one only; the others are marked.
    let more = AuthRequest::new("web", WEB_REDIRECT, "openid notes:read email");
    let response = send_authorize(&app, &app.browser, &more).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.expect("html");
    let items: Vec<&str> = page
        .split("<li>")
        .skip(1)
        .map(|item| &item[..item.find("</li>").expect("end of item")])
        .collect();
    let item = |scope: &str| {
        *items
            .iter()
            .find(|item| item.contains(&format!(">{scope}</code>")))
            .unwrap_or_else(|| panic!("{scope} listed: {items:?}"))
    };
    assert!(!item("email").contains("(allowed before)"), "email is new");
    assert!(item("openid").contains("(allowed before)"));
    assert!(item("notes:read").contains("(allowed before)"));
    callback(
        &decide(&app, &app.browser, &page, "allow").await,
        WEB_REDIRECT,
    );
    let params = callback(
        &send_authorize(&app, &app.browser, &more).await,
        WEB_REDIRECT,
    );
    assert!(params.contains_key("code"));

    // Alice's consent is hers: Bob is asked.
    let bob = new_browser("bob's browser");
    assert_eq!(
        app.login_html_in(&bob, "", BOB).await.status(),
        StatusCode::SEE_OTHER
    );
    let bobs = send_authorize(&app, &bob, &same).await;
    assert_eq!(bobs.status(), StatusCode::OK);
    assert!(is_consent_page(&bobs.text().await.expect("html")));
}

const MFA_CLIENT: &str = r#"
[journeys.secure]
start = "password"
[journeys.secure.nodes.password]
type = "username_password"
next = { success = "code", failure = "failure" }
[journeys.secure.nodes.code]
type = "one_time_code"
next = { success = "success", failure = "failure" }

[[clients]]
client_id = "bank"
client_secret = "bank-secret-that-is-long-enough-0123456789"
redirect_uris = ["https://bank.example.com/callback"]
scopes = ["openid"]
first_party = true
journey = "secure"
"#;

#[tokio::test]
async fn a_session_from_a_weaker_journey_does_not_pass_a_client_that_requires_its_own() {
    let app = spawn_app_with(&format!("{MFA_CLIENT}\n{CLIENTS}")).await;
    // Signed in with the password alone (the built-in `login`).
    app.login_html("", ALICE).await;
    for extra in ["", "&acr_values=login"] {
        let request = AuthRequest::new("bank", "https://bank.example.com/callback", "openid");
        let mut url = Url::parse(&app.url("/oauth2/authorize")).expect("url");
        url.query_pairs_mut().extend_pairs(&request.params);
        let response = app
            .browser
            .get(format!("{url}{extra}"))
            .send()
            .await
            .expect("authorize");
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let login = location(&response);
        assert!(
            login.starts_with("/login?journey=secure&"),
            "sign in again with the client's journey ({extra}): {login}"
        );
    }
}
