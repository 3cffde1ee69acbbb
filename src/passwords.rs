//! Password hashing with argon2id: part of the core the domain shares (like
//! the sealer), so the context can hold the hasher without knowing accounts.
//!
//! Hashing is CPU- and memory-heavy (OWASP parameters: 19 MiB, ~16 ms), so
//! the server runs it off the async executor through a gate that lets at
//! most `passwords.max_concurrent` hashes run at once (`telemetry::CpuGate`).
//!
//! argon2's working memory is kept for the next hash ([`Passwords::memory`])
//! rather than freed: glibc keeps freed memory in the arena of the thread
//! that freed it, and the blocking pool's threads come and go, so with
//! `argon2` allocating its own the process grew by up to 19 MiB per arena
//! that ever hashed (900 MiB after the benchmark's 200 logins). Kept, it
//! is as many buffers as hashes ever ran at once.

use crate::config::PasswordSettings;
use crate::secret::SecretString;
use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::password_hash::{
    self, CustomizedPasswordHasher, PasswordHasher, PasswordVerifier as _,
};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::{Mutex, OnceLock, PoisonError};

/// Hashes and verifies passwords with the configured argon2id parameters.
pub struct Passwords {
    params: Params,
    /// A hash of a random password, verified against for unknown users so
    /// that they cost the same time as a wrong password.
    dummy_hash: OnceLock<String>,
    /// argon2's working memory, one buffer per hash in progress, kept for
    /// the next ones (see the module docs).
    memory: Mutex<Vec<Vec<Block>>>,
    /// The most buffers kept: as many as hashes the gate lets run at once.
    kept: usize,
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
            memory: Mutex::new(Vec::new()),
            kept: settings.concurrent_hashes(),
        })
    }

    /// Hashes a password into an argon2id PHC string with a random salt.
    pub fn hash(&self, password: &SecretString) -> Result<String, HashError> {
        let hash: PasswordHash = Pooled(self)
            .hash_password(password.expose().as_bytes())
            .map_err(|err| HashError(err.to_string()))?;
        Ok(hash.to_string())
    }

    /// Runs `work` on a buffer of `blocks` argon2 blocks. Of the configured
    /// size, it comes from the pool (a new one when all are in use) and
    /// goes back to it; its content is whatever the last hash left, as
    /// argon2 writes every block before it reads one. A hash of other
    /// parameters (older, or declared in the config) gets a buffer of its
    /// own, so the pool never keeps an outsized one, and the pool keeps no
    /// more buffers than hashes may run at once. Allocation failures
    /// are errors, as in argon2's own allocation.
    fn with_memory<T>(
        &self,
        blocks: usize,
        work: impl FnOnce(&mut [Block]) -> argon2::Result<T>,
    ) -> argon2::Result<T> {
        let pool = || self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        let pooled = blocks == self.params.block_count();
        let mut memory = if pooled { pool().pop() } else { None }.unwrap_or_default();
        if memory.len() != blocks {
            memory
                .try_reserve_exact(blocks)
                .map_err(|_| argon2::Error::OutOfMemory)?;
            memory.resize(blocks, Block::default());
        }
        let done = work(&mut memory);
        let mut pool = pool();
        if pooled && pool.len() < self.kept {
            pool.push(memory);
        }
        done
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
        let matches = PasswordHash::new(hash).is_ok_and(|hash| {
            Pooled(self)
                .verify_password(password.expose().as_bytes(), &hash)
                .is_ok()
        });
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

/// argon2 on memory from the pool of `Passwords`: `argon2::Argon2`'s own
/// hashing, in the PHC string format, but for the working memory.
/// Verifying comes with it (`PasswordVerifier`, comparing in constant time).
struct Pooled<'a>(&'a Passwords);

impl CustomizedPasswordHasher<PasswordHash> for Pooled<'_> {
    type Params = Params;

    fn hash_password_customized(
        &self,
        password: &[u8],
        salt: &[u8],
        algorithm: Option<&str>,
        version: Option<u32>,
        params: Params,
    ) -> password_hash::Result<PasswordHash> {
        let algorithm = algorithm
            .map(Algorithm::try_from)
            .transpose()?
            .unwrap_or_default();
        let version = version
            .map(Version::try_from)
            .transpose()?
            .unwrap_or_default();
        let salt = Salt::new(salt)?;
        let mut buffer = [0u8; Output::MAX_LENGTH];
        let length = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
        let out = buffer
            .get_mut(..length)
            .ok_or(password_hash::Error::OutputSize)?;
        let argon2 = Argon2::new(algorithm, version, params.clone());
        self.0.with_memory(params.block_count(), |memory| {
            argon2.hash_password_into_with_memory(password, &salt, &mut *out, memory)
        })?;
        Ok(PasswordHash {
            algorithm: algorithm.ident(),
            version: Some(version.into()),
            params: ParamsString::try_from(&params)?,
            salt: Some(salt),
            hash: Some(Output::new(out)?),
        })
    }
}

impl PasswordHasher<PasswordHash> for Pooled<'_> {
    /// argon2id, version 0x13, the configured parameters.
    fn hash_password_with_salt(
        &self,
        password: &[u8],
        salt: &[u8],
    ) -> password_hash::Result<PasswordHash> {
        let algorithm = Algorithm::Argon2id.ident();
        let version = Version::V0x13.into();
        let params = self.0.params.clone();
        self.hash_password_customized(
            password,
            salt,
            Some(algorithm.as_str()),
            Some(version),
            params,
        )
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
    fn hashes_are_argon2s_own_both_ways() {
        let passwords = cheap();
        let secret = SecretString::new("correct horse");
        let params = Params::new(128, 2, 1, None).expect("params");
        let theirs = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse")
            .expect("hash")
            .to_string();
        assert!(passwords.verify(&secret, Some(&theirs)), "{theirs}");
        assert!(!passwords.verify(&SecretString::new("wrong"), Some(&theirs)));
        // Other parameters than the configured ones: no buffer kept.
        assert!(passwords.memory.lock().unwrap().is_empty());
        let ours = passwords.hash(&secret).expect("hash");
        let parsed = PasswordHash::new(&ours).expect("phc");
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
    }

    #[test]
    fn hashing_keeps_at_most_one_buffer_per_hash_the_gate_lets_run() {
        let passwords = cheap();
        let secret = SecretString::new("correct horse");
        // Two hashes at once (one runs while the other holds a buffer):
        // no more than max_concurrent (1) buffers stay.
        let blocks = passwords.params.block_count();
        passwords
            .with_memory(blocks, |_| {
                passwords.hash(&secret).expect("hash");
                Ok(())
            })
            .expect("memory");
        assert_eq!(passwords.memory.lock().unwrap().len(), 1);
        // One after another, on threads that come and go: one buffer.
        let sequential = cheap();
        for _ in 0..4 {
            std::thread::scope(|threads| {
                threads.spawn(|| sequential.hash(&secret).expect("hash"));
            });
        }
        assert_eq!(sequential.memory.lock().unwrap().len(), 1);
    }

    #[test]
    fn the_default_parameters_are_owasps() {
        let passwords = Passwords::new(&PasswordSettings::default()).expect("valid");
        assert_eq!(passwords.params.m_cost(), 19456);
        assert_eq!(passwords.params.t_cost(), 2);
        assert_eq!(passwords.params.p_cost(), 1);
    }
}
