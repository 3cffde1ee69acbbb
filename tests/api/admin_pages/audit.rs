//! The audit log page (`/admin/audit`): the events real actions recorded,
//! newest first; the filter form; paging by "Older events"; the export
//! link, which the browser's session opens; refused filters; who gets in.

use super::{CAROL_PASSWORD, ROOT, act, admin_app, next_link, page, signed_in_admin};
use crate::helpers::html::{assert_error_page, link_to, table_rows, unescape};
use crate::helpers::{ALICE, BOB, TestApp, input_value, location};
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};

const WRONG_PASSWORD: &str = "not the password at all";

/// A sign-in of `username` refused for a wrong password.
async fn wrong_password(app: &TestApp, username: &str) {
    let response = app
        .authenticate(json!({"input": {"username": username, "password": WRONG_PASSWORD}}))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Creates carol through the users page.
async fn create_carol(app: &TestApp) {
    let form = [("username", "carol"), ("password", CAROL_PASSWORD)];
    let response = act(app, "/admin/users", "/admin/users", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

/// The rows of the page at `path` without their time: type, outcome,
/// actor, subject, address, details.
async fn events(app: &TestApp, path: &str) -> Vec<Vec<String>> {
    table_rows(&page(app, path).await)
        .into_iter()
        .map(|row| row[1..].to_vec())
        .collect()
}

/// The `session` detail of each row: one per sign-in.
fn sessions(rows: &[Vec<String>]) -> Vec<String> {
    rows.iter()
        .map(|row| {
            let details = row.last().expect("details");
            details
                .lines()
                .find_map(|line| line.strip_prefix("session="))
                .unwrap_or_else(|| panic!("no session in {row:?}"))
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_audit_page_lists_what_real_actions_recorded_newest_first() {
    let app = signed_in_admin().await;
    wrong_password(&app, ALICE.0).await;
    create_carol(&app).await;

    let html = page(&app, "/admin/audit").await;
    let rows = table_rows(&html);
    let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    assert_eq!(rows.len(), 3, "{rows:#?}");
    let now = app
        .clock_now()
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap();
    assert_eq!(
        rows[0],
        row(&[
            &now,
            "admin.user.create",
            "success",
            "user:root",
            "user:carol",
            "127.0.0.1",
            "",
        ])
    );
    assert_eq!(
        rows[1],
        row(&[
            &now,
            "login",
            "failure",
            "anonymous",
            "user:alice",
            "127.0.0.1",
            "method=pwd\nreason=invalid_credentials",
        ])
    );
    assert_eq!(
        rows[2][1..5],
        row(&["login", "success", "user:root", "user:root"])
    );
    for secret in [WRONG_PASSWORD, CAROL_PASSWORD, ROOT.1] {
        assert!(!html.contains(secret), "{secret} on the page");
    }
    assert!(html.contains(r#"<a href="/admin/audit">Audit log</a>"#));
}

#[tokio::test]
async fn the_filters_narrow_the_audit_page_and_stay_in_the_form() {
    let app = signed_in_admin().await;
    app.login_rest(ALICE).await;
    app.login_rest(BOB).await;
    wrong_password(&app, BOB.0).await;
    create_carol(&app).await;

    let kinds = |rows: Vec<Vec<String>>| -> Vec<String> {
        rows.into_iter().map(|row| row[0].clone()).collect()
    };
    let only = |kind: &str, n| vec![kind.to_owned(); n];
    assert_eq!(
        kinds(events(&app, "/admin/audit?type=admin").await),
        only("admin.user.create", 1)
    );
    assert_eq!(
        kinds(events(&app, "/admin/audit?type=admin.user").await),
        only("admin.user.create", 1)
    );
    assert_eq!(
        kinds(events(&app, "/admin/audit?type=adm").await),
        only("", 0)
    );
    assert_eq!(
        kinds(events(&app, "/admin/audit?type=login").await),
        only("login", 4)
    );
    let bob = events(&app, "/admin/audit?subject=bob").await;
    assert_eq!(bob.len(), 2);
    assert!(bob.iter().all(|row| row[3] == "user:bob"));
    let refused = events(
        &app,
        "/admin/audit?type=login&actor=anonymous&subject=user%3Abob",
    )
    .await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0][1], "failure");
    let alice = events(&app, "/admin/audit?actor=user%3Aalice").await;
    assert_eq!(alice.len(), 1);
    assert_eq!(alice[0][2], "user:alice");
    // Empty fields, as the form sends them, filter on nothing.
    let all = events(&app, "/admin/audit?since=&type=&actor=&subject=").await;
    assert_eq!(all.len(), 5);

    // Since: a minute that starts after everything above, then one sign-in.
    app.clock.advance(time::Duration::minutes(2));
    let minute = app
        .clock_now()
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]"))
        .unwrap();
    let alice_again = app.login_rest(ALICE).await;
    let html = page(&app, &format!("/admin/audit?since={minute}&type=")).await;
    let recent = table_rows(&html);
    assert_eq!(recent.len(), 1, "{recent:#?}");
    assert_eq!(recent[0][4], "user:alice");
    assert!(recent[0][6].contains(&app.session_id(&alice_again).await));
    assert_eq!(input_value(&html, "since"), minute);
    assert_eq!(input_value(&html, "type"), "");
    assert!(html.contains("read as UTC"));
    let in_paris = app
        .clock_now()
        .to_offset(offset!(+1))
        .format(&Rfc3339)
        .unwrap();
    let query = format!("since={}&actor=alice", in_paris.replace('+', "%2B"));
    let html = page(&app, &format!("/admin/audit?{query}")).await;
    assert_eq!(table_rows(&html).len(), 1);
    assert_eq!(unescape(&input_value(&html, "since")), in_paris);
    assert_eq!(input_value(&html, "actor"), "alice");
}

#[tokio::test]
async fn older_events_are_a_link_away_with_the_same_filters_and_none_twice() {
    let app = signed_in_admin().await;
    for _ in 0..55 {
        app.login_rest(ALICE).await;
    }
    let one = page(&app, "/admin/audit?actor=alice").await;
    let older = unescape(&next_link(&one).expect("an Older events link"));
    assert!(
        older.starts_with("/admin/audit?actor=alice&cursor="),
        "{older}"
    );
    assert!(one.contains(">Older events</a>"));
    assert!(link_to(&one, "Newest events").is_none());
    let two = page(&app, &older).await;
    assert!(next_link(&two).is_none(), "the last page");
    assert_eq!(
        link_to(&two, "Newest events").as_deref(),
        Some("/admin/audit?actor=alice")
    );

    let (one, two) = (table_rows(&one), table_rows(&two));
    assert_eq!((one.len(), two.len()), (50, 5));
    let mut seen = sessions(&one);
    seen.extend(sessions(&two));
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 55, "every sign-in once");
}

#[tokio::test]
async fn the_export_link_gives_the_browser_the_filtered_events_as_json_lines() {
    let app = signed_in_admin().await;
    app.login_rest(ALICE).await;
    app.login_rest(BOB).await;
    wrong_password(&app, ALICE.0).await;
    let minute = app
        .clock_now()
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]"))
        .unwrap();

    let html = page(
        &app,
        &format!("/admin/audit?since={minute}&type=login&subject=alice"),
    )
    .await;
    let shown = table_rows(&html);
    assert_eq!(shown.len(), 2);
    let export = link_to(&html, "Export as JSON lines").expect("an export link");
    assert_eq!(
        export,
        format!(
            "/admin/api/audit?since={}&type=login&subject=alice&format=jsonl",
            minute.replace(':', "%3A")
        )
    );
    // What a click sends: a GET with the session cookie, nothing more.
    let response = app.get_page(&export).await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("application/jsonl"),
        "{content_type}"
    );
    let lines = response.text().await.unwrap();
    let exported: Vec<Value> = lines
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON object a line"))
        .collect();
    let as_shown: Vec<(String, String, String)> = exported
        .iter()
        .map(|event| {
            let text = |name: &str| event[name].as_str().unwrap_or_default().to_owned();
            (text("type"), text("outcome"), text("subject"))
        })
        .collect();
    let on_page: Vec<(String, String, String)> = shown
        .iter()
        .map(|row| (row[1].clone(), row[2].clone(), row[4].clone()))
        .collect();
    assert_eq!(as_shown, on_page);
    assert_eq!(on_page[0].1, "failure");
    assert_eq!(on_page[1].1, "success");
}

#[tokio::test]
async fn a_bad_since_or_cursor_is_a_400_page_that_says_what_to_fix() {
    let app = signed_in_admin().await;
    for (query, fix) in [
        ("since=yesterday", "since must be an RFC 3339 time"),
        (
            "since=2026-11-30&type=login",
            "since must be an RFC 3339 time",
        ),
        ("cursor=not-a-cursor", "cursor must be a next_cursor"),
    ] {
        let response = app.get_page(&format!("/admin/audit?{query}")).await;
        let html = assert_error_page(response, query).await;
        assert!(html.contains(fix), "{query}: {html}");
    }
}

#[tokio::test]
async fn the_audit_page_is_for_administrators_only() {
    let app = admin_app().await;
    let response = app.get_page("/admin/audit?type=login").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/login?goto=%2Fadmin%2Faudit%3Ftype%3Dlogin"
    );

    app.login_html("", ALICE).await;
    let response = app.get_page("/admin/audit").await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let html = response.text().await.unwrap();
    assert!(html.contains("Not an administrator"));
    assert!(!html.contains("user:alice"), "no event shown");
}
