//! The settings checks that need the domain: journey graphs, mail, seeded
//! users and clients. `config` stays a leaf that knows no domain module, so
//! these run here, at composition, before the store is opened or anything
//! binds; an error names the key exactly as [`Settings::validate`] does.

use crate::config::{ConfigError, Settings, invalid};
use crate::journeys;
use crate::mail::{self, MailError};
use crate::oauth;

/// Checks what only the domain can judge, after [`Settings::validate`].
pub fn check_settings(settings: &Settings) -> Result<(), ConfigError> {
    let journeys = journeys::graph::all(settings).map_err(|err| {
        invalid(
            format!("journeys.{}.nodes.{}", err.journey, err.node),
            err.to_string(),
        )
    })?;
    // A step-up journey makes no session of its own: an administrator's
    // session must come from a journey that signs in.
    let admin_journey = &settings.admin.journey;
    match journeys.available.get(admin_journey) {
        Some(journey) if journey.step_up => {
            return Err(invalid(
                "admin.journey",
                format!("`{admin_journey}` steps up a session; name a journey that signs in"),
            ));
        }
        Some(_) => {}
        None => {
            return Err(invalid(
                "admin.journey",
                format!("there is no journey named `{admin_journey}`"),
            ));
        }
    }
    if let Err(err) = mail::check(settings) {
        let key = match err {
            MailError::Address(_) => "mail.from",
            _ => "mail.smtp_url",
        };
        return Err(invalid(key, err.to_string()));
    }
    for scope in settings.oauth.scopes.keys() {
        if !oauth::scopes::is_scope_token(scope) {
            return Err(invalid(
                format!("oauth.scopes.{scope}"),
                "is not a valid scope name",
            ));
        }
    }
    for (i, client) in settings.clients.iter().enumerate() {
        oauth::client_metadata::check_seed(settings, client)
            .map_err(|(field, message)| invalid(format!("clients[{i}].{field}"), message))?;
    }
    for (i, user) in settings.users.iter().enumerate() {
        if let Some(email) = &user.email
            && mail::Address::parse(email).is_none()
        {
            return Err(invalid(
                format!("users[{i}].email"),
                "is not a plain email address (name@example.com)",
            ));
        }
        if let Some(hash) = &user.password_hash
            && !crate::passwords::is_password_hash(hash)
        {
            return Err(invalid(
                format!("users[{i}].password_hash"),
                "is not an argon2 PHC string ($argon2id$v=19$...)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error `check_settings` gives for `toml`, which the syntactic
    /// checks must accept.
    fn error_of(toml: &str) -> String {
        let settings = Settings::from_toml(toml).expect("syntactically valid");
        match check_settings(&settings) {
            Ok(()) => panic!("expected {toml:?} to be rejected"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn what_only_the_domain_can_judge_is_refused_naming_the_key() {
        let user = "[[users]]\nusername = \"alice\"\n";
        assert!(
            error_of(&format!(
                "{user}password = \"x\"\nemail = \"not an address\""
            ))
            .contains("users[0].email")
        );
        assert!(
            error_of(&format!("{user}password_hash = \"plain\""))
                .contains("users[0].password_hash")
        );
        assert!(error_of("[oauth.scopes]\n\"a\\\\b\" = \"Bad\"").contains("oauth.scopes."));
        assert!(error_of("[mail]\nfrom = \"nobody\"").contains("mail.from"));
        assert!(error_of("[mail]\nsmtp_url = \"ftp://x\"").contains("mail.smtp_url"));
        assert!(
            error_of(
                "[journeys.broken]\nstart = \"a\"\n[journeys.broken.nodes.a]\ntype = \"nope\""
            )
            .contains("journeys.broken.nodes.a")
        );
    }

    #[test]
    fn the_development_setup_passes() {
        let settings = Settings::from_toml("").expect("defaults");
        assert!(check_settings(&settings).is_ok());
    }
}
