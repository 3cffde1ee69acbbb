//! `/account`: who is signed in, their sessions, and ending any of them.

use crate::context::Context;
use crate::http::cookies;
use crate::http::error::{PageError, render};
use crate::http::extract::PageSession;
use crate::http::paths;
use crate::sessions;
use crate::store::Session;
use crate::telemetry::blocking;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use time::OffsetDateTime;
use time::macros::format_description;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    username: String,
    name: Option<String>,
    email: Option<String>,
    csrf_token: String,
    sessions: Vec<SessionView>,
}

struct SessionView {
    id: String,
    device: String,
    ip: Option<String>,
    methods: String,
    created: String,
    last_used: String,
    current: bool,
}

/// A timestamp as people read it.
pub fn display_time(at: OffsetDateTime) -> String {
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_default()
}

/// A short, readable name for the browser or app behind a user agent.
fn device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent else {
        return "Unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    let platform = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| name);
    match (browser, platform) {
        (Some(browser), Some(platform)) => format!("{browser} on {platform}"),
        (Some(name), None) | (None, Some(name)) => name.to_owned(),
        (None, None) => ua.chars().take(40).collect(),
    }
}

/// An RFC 8176 method value in words.
fn method_label(amr: &str) -> &str {
    match amr {
        "pwd" => "password",
        "otp" => "one-time code",
        "totp" => "authenticator app",
        "push" => "push approval",
        other => other,
    }
}

fn session_view(session: Session, current_id: &str) -> SessionView {
    SessionView {
        device: device(session.user_agent.as_deref()),
        current: session.id == current_id,
        methods: if session.amr.is_empty() {
            "no method recorded".into()
        } else {
            session
                .amr
                .iter()
                .map(|method| method_label(method))
                .collect::<Vec<_>>()
                .join(" + ")
        },
        created: display_time(session.created_at),
        last_used: display_time(session.last_used_at),
        ip: session.ip,
        id: session.id,
    }
}

/// `GET /account`.
pub async fn get_account(
    ctx: web::Data<Context>,
    auth: PageSession,
) -> Result<HttpResponse, PageError> {
    let user = auth.active.user;
    let current_id = auth.active.session.id;
    let user_id = user.id.clone();
    let listed = {
        let ctx = ctx.clone();
        blocking(move || sessions::list_for_user(&ctx, &user_id)).await??
    };
    let page = AccountPage {
        username: user.username,
        name: user.name,
        email: user.email,
        csrf_token: auth.token.csrf_token(),
        sessions: listed
            .into_iter()
            .map(|session| session_view(session, &current_id))
            .collect(),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct EndSessionForm {
    csrf_token: String,
    session_id: String,
}

/// `POST /account/sessions/end`: ends one of the user's sessions; ending
/// the current one signs this browser out.
pub async fn post_end_session(
    ctx: web::Data<Context>,
    auth: PageSession,
    form: web::Form<EndSessionForm>,
) -> Result<HttpResponse, PageError> {
    if !auth.token.verify_csrf(&form.csrf_token) {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            "Request refused",
            "This form was not sent from your account page. Go back, reload the page and try again.",
        ));
    }
    let user_id = auth.active.user.id.clone();
    let session_id = form.session_id.clone();
    {
        let ctx = ctx.clone();
        blocking(move || sessions::revoke_by_id(&ctx, &user_id, &session_id)).await??;
    }
    let mut response = HttpResponse::SeeOther();
    if form.session_id == auth.active.session.id {
        response
            .insert_header((header::LOCATION, paths::LOGIN))
            .cookie(cookies::clear_session(&ctx));
    } else {
        response.insert_header((header::LOCATION, paths::ACCOUNT));
    }
    Ok(response.finish())
}

#[cfg(test)]
mod tests {
    use super::device;

    #[test]
    fn user_agents_are_shown_as_browser_and_platform() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36";
        assert_eq!(device(Some(chrome)), "Chrome on Linux");
        assert_eq!(device(Some("curl/8.5.0")), "curl");
        assert_eq!(device(None), "Unknown device");
    }
}
