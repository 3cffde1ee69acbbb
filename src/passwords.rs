//! Password hashing with argon2id: part of the core the domain shares (like
//! the sealer), so the context can hold the hasher without knowing accounts.
//!
//! Hashing is CPU- and memory-heavy (OWASP parameters: 19 MiB, ~16 ms), so
//! the server runs it off the async executor through a gate that lets at
//! most `passwords.max_concurrent` hashes run at once (`telemetry::CpuGate`).

use crate::config::PasswordSettings;
use crate::secret::SecretString;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;

/// Hashes and verifies passwords with the configured argon2id parameters.
pub struct Passwords {
    params: Params,
    /// A hash of a random password, verified against for unknown users so
    /// that they cost the same time as a wrong password.
    dummy_hash: OnceLock<String>,
}

/// Why a password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl Passwords {
    /// Builds the hasher; `validate` has already checked the parameters.
    pub fn new(settings: &PasswordSettings) -> Result<Self, HashError> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|err| HashError(err.to_string()))?;
        Ok(Self {
            params,
            dummy_hash: OnceLock::new(),
        })
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes a password into an argon2id PHC string with a random salt.
    pub fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let hash: PasswordHash = self
            .argon2()
            .hash_password(password.expose().as_bytes())
            .map_err(|err| HashError(err.to_string()))?;
        Ok(hash.to_string())
    }

    /// Checks a password against a stored hash. With no hash (unknown user,
    /// or an account without a password) it checks against a dummy hash and
    /// fails, taking the same time as a wrong password.
    pub fn verify(&self, password: &SecretString, hash: Option<&str>) -> bool {
        let dummy;
        let (hash, real) = match hash {
            Some(hash) => (hash, true),
            None => {
                dummy = self.dummy_hash();
                (dummy.as_str(), false)
            }
        };
        let matches = self
            .argon2()
            .verify_password(password.expose().as_bytes(), hash)
            .is_ok();
        matches && real
    }

    fn dummy_hash(&self) -> String {
        self.dummy_hash
            .get_or_init(|| {
                let random = SecretString::new(crate::secret::random_id());
                self.hash(&random).unwrap_or_default()
            })
            .clone()
    }
}

/// Whether `hash` is an argon2 PHC string tessera can verify.
pub fn is_password_hash(hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| parsed.algorithm.as_str().starts_with("argon2"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Passwords {
        let settings = PasswordSettings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
            max_concurrent: 1,
            min_length: 8,
        };
        Passwords::new(&settings).expect("valid params")
    }

    #[test]
    fn hashes_are_argon2id_phc_strings_that_verify() {
        let passwords = cheap();
        let secret = SecretString::new("correct horse");
        let hash = passwords.hash(&secret).expect("hash");
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(is_password_hash(&hash));
        assert!(passwords.verify(&secret, Some(&hash)));
        assert!(!passwords.verify(&SecretString::new("wrong"), Some(&hash)));
    }

    #[test]
    fn a_missing_hash_never_verifies() {
        let passwords = cheap();
        assert!(!passwords.verify(&SecretString::new(""), None));
        assert!(!passwords.verify(&SecretString::new("anything"), None));
    }

    #[test]
    fn the_default_parameters_are_owasps() {
        let passwords = Passwords::new(&PasswordSettings::default()).expect("valid");
        assert_eq!(passwords.params.m_cost(), 19456);
        assert_eq!(passwords.params.t_cost(), 2);
        assert_eq!(passwords.params.p_cost(), 1);
    }
}
