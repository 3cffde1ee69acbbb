//! Reading tessera's pages as a browser does: form fields, the CSRF token,
//! hidden inputs (askama escapes them), and what an error page must be.

use reqwest::{Response, StatusCode};

/// The value of the page's first input named `name`.
pub fn input_value(html: &str, name: &str) -> String {
    attribute_after(html, &format!(r#"name="{name}" value=""#))
        .unwrap_or_else(|| panic!("input {name} in page"))
}

/// The number a `push_approval` page shows, to pick where it is approved.
pub fn shown_number_in(html: &str) -> u64 {
    let start = html
        .find(r#"class="match-number""#)
        .and_then(|at| html[at..].find('>').map(|end| at + end + 1))
        .expect("a number to match on the page");
    let end = start + html[start..].find('<').expect("end of the number");
    html[start..end].trim().parse().expect("a number")
}

/// The value of the page's hidden `csrf_token` input.
pub fn csrf_token(html: &str) -> String {
    attribute_after(html, r#"name="csrf_token" value=""#).expect("csrf_token in page")
}

/// The `action` of the page's first form that posts, unescaped.
pub fn form_action(html: &str) -> String {
    unescape(&attribute_after(html, r#"<form method="post" action=""#).expect("form in page"))
}

/// The `href` of the page's first link whose text is `text`, unescaped.
pub fn link_to(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!(">{text}</a>"))?;
    let start = html[..end].rfind("<a ")?;
    attribute_after(&html[start..end], r#"href=""#).map(|href| unescape(&href))
}

/// The cells of each row of the page's first table body, as text: tags
/// dropped (a `<br>` as a line break), entities unescaped.
pub fn table_rows(html: &str) -> Vec<Vec<String>> {
    let Some(start) = html.find("<tbody>") else {
        return Vec::new();
    };
    let end = html[start..]
        .find("</tbody>")
        .expect("end of the table body")
        + start;
    html[start..end]
        .split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let open = cell.find('>').expect("end of <td>") + 1;
                    let close = cell.find("</td>").expect("</td>");
                    unescape(&text_of(&cell[open..close].replace("<br>", "\n")))
                })
                .collect()
        })
        .collect()
}

/// `html` without its tags.
fn text_of(html: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    text
}

fn attribute_after(html: &str, marker: &str) -> Option<String> {
    let start = html.find(marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// The hidden inputs of a page's form (a consent form's CSRF token and the
/// request it carries), unescaped.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    const MARKER: &str = r#"<input type="hidden" name=""#;
    let mut fields = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find(MARKER) {
        rest = &rest[start + MARKER.len()..];
        let name_end = rest.find('"').expect("end of name");
        let name = unescape(&rest[..name_end]);
        let value_start = rest.find(r#"value=""#).expect("value") + r#"value=""#.len();
        let value_end = rest[value_start..].find('"').expect("end of value") + value_start;
        fields.push((name, unescape(&rest[value_start..value_end])));
        rest = &rest[value_end..];
    }
    fields
}

/// Undoes askama's HTML escaping (numeric and named entities).
pub fn unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('&') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find(';') else {
            out.push_str(after);
            return out;
        };
        let entity = &after[1..end];
        let decoded = match entity {
            "amp" => Some('&'),
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &after[end + 1..];
            }
            None => {
                out.push('&');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A 400 HTML error page, and above all no redirect anywhere and no code on
/// the page (`what` names the case in failures); returns the page.
pub async fn assert_error_page(response: Response, what: &str) -> String {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
    assert!(
        response.headers().get("location").is_none(),
        "{what}: never a redirect"
    );
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        content_type.starts_with("text/html"),
        "{what}: {content_type}"
    );
    let html = response.text().await.expect("html");
    assert!(!html.contains("code="), "{what}: no code on the page");
    html
}
