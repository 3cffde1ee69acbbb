//! Scopes: the built-in OpenID Connect ones and those declared in config,
//! each with the description the consent page shows.

use crate::config::Settings;

/// Built-in scopes and their descriptions.
const BUILTIN: [(&str, &str); 6] = [
    ("openid", "Confirm who you are"),
    ("profile", "See your name and username"),
    ("email", "See your email address"),
    ("address", "See your postal address"),
    ("phone", "See your phone number"),
    ("offline_access", "Stay connected when you are not using it"),
];

/// The scope that lets an access token use the admin API (`admin`).
pub const ADMIN: &str = "tessera:admin";
const ADMIN_DESCRIPTION: &str = "Administer tessera: users, clients and keys";

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Whether a scope is about a user (the built-in OpenID Connect ones), so
/// that a client acting for itself (`client_credentials`) cannot have it.
pub fn is_about_user(scope: &str) -> bool {
    BUILTIN.iter().any(|(name, _)| *name == scope)
}

/// Whether the scope is built in or declared under `[oauth.scopes]`.
fn is_declared(settings: &Settings, scope: &str) -> bool {
    BUILTIN.iter().any(|(name, _)| *name == scope)
        || scope == ADMIN
        || settings.oauth.scopes.contains_key(scope)
}

/// The scopes of `scopes` that are neither built in nor declared: allowed
/// (the consent page shows them by name), but worth a warning, since a
/// typo in a scope name looks the same.
pub fn undeclared<'a>(settings: &Settings, scopes: &'a [String]) -> Vec<&'a str> {
    scopes
        .iter()
        .map(String::as_str)
        .filter(|scope| !is_declared(settings, scope))
        .collect()
}

/// The description of a scope for the consent page.
pub fn describe(settings: &Settings, scope: &str) -> String {
    BUILTIN
        .iter()
        .find(|(name, _)| *name == scope)
        .map(|(_, text)| (*text).to_owned())
        .or_else(|| settings.oauth.scopes.get(scope).cloned())
        .or_else(|| (scope == ADMIN).then(|| ADMIN_DESCRIPTION.to_owned()))
        .unwrap_or_else(|| scope.to_owned())
}

/// Every scope tessera knows, for metadata.
pub fn all(settings: &Settings) -> Vec<String> {
    BUILTIN
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .chain(settings.oauth.scopes.keys().cloned())
        .collect()
}

/// Scopes joined for the wire.
pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens_are_rfc_6749_section_3_3() {
        assert!(is_scope_token("notes:read"));
        assert!(!is_scope_token("a\\b"));
        assert!(!is_scope_token(""));
    }

    #[test]
    fn undeclared_scopes_are_those_neither_built_in_nor_in_the_config() {
        let mut settings = Settings::default();
        settings
            .oauth
            .scopes
            .insert("notes:read".into(), "Read your notes".into());
        let asked = ["openid", "notes:read", "notes:write"].map(String::from);
        assert_eq!(undeclared(&settings, &asked), ["notes:write"]);
        assert_eq!(describe(&settings, "notes:write"), "notes:write");
    }
}
