//! What a new password must be: long enough, not the username, and not one
//! of the passwords attackers try first (a small list bundled in the binary).

use super::Username;
use std::collections::HashSet;
use std::sync::LazyLock;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// Why a chosen password is refused, in words for the user; `None` if it
/// is acceptable.
pub fn refusal(password: &str, username: Option<&Username>, min_length: usize) -> Option<String> {
    if password.chars().count() < min_length {
        return Some(format!(
            "Choose a password of at least {min_length} characters."
        ));
    }
    let lowered = password.to_lowercase();
    if username.is_some_and(|name| lowered.contains(name.normalized())) {
        return Some("Choose a password that does not contain your username.".into());
    }
    if COMMON.contains(lowered.as_str()) {
        return Some("This password is among the most common ones, which attackers try first. Choose another.".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_common_and_username_passwords_are_refused() {
        let alice = Username::parse("alice").ok();
        assert!(refusal("short", None, 8).is_some());
        assert!(refusal("password123", None, 8).is_some());
        assert!(
            refusal("Password123", None, 8).is_some(),
            "case does not help"
        );
        assert!(refusal("alice-is-me-1", alice.as_ref(), 8).is_some());
        assert_eq!(refusal("correct horse battery", alice.as_ref(), 8), None);
    }
}
