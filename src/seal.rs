//! Sealing: authenticated encryption (ChaCha20-Poly1305, RFC 8439) for
//! secrets the server must read back, such as TOTP secrets, which cannot be
//! hashed like passwords and tokens; and keyed hashes (HMAC-SHA256, RFC
//! 2104) of secrets that are only ever compared, such as client secrets.
//!
//! The 256-bit key lives outside the store, in `storage.key_file` (made on
//! first start, readable by its owner only), so a copy of the redb file
//! alone reveals no sealed secret. Losing the key loses every sealed secret:
//! it belongs in the same backups as the store, but not beside copies of it.
//!
//! The key file's key is never used as it is: HKDF (RFC 5869) derives one
//! key per use from it. Stores before schema 3 used it directly for sealing and
//! a SHA-256 of it for MACs; [`Sealer`] keeps those keys to migrate such a
//! store (see [`crate::store::Rekey`]) and to check client secrets hashed
//! under them until each is hashed again.

use aws_lc_rs::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{digest, hkdf, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bytes in a key.
pub const KEY_LEN: usize = 32;
/// HKDF's salt (RFC 5869 §3.1): fixed, as the key file's key is already
/// uniformly random; it only separates tessera's derivations from others.
const HKDF_SALT: &[u8] = b"tessera key derivation v2";
/// HKDF's `info` of each derived key (RFC 5869 §3.2): one per use.
const SEAL_INFO: &[u8] = b"tessera seal: chacha20-poly1305";
const MAC_INFO: &[u8] = b"tessera mac: hmac-sha256";
/// Marks a MAC made under the old (pre-HKDF) key (see [`Sealer::mark_legacy_mac`]);
/// base64url, the alphabet of MACs, has no `:`.
const LEGACY_MAC_PREFIX: &str = "v1:";

/// Why the key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or create the key file {path} (storage.key_file): {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the key file {path} (storage.key_file) holds {len} bytes instead of {KEY_LEN}; \
         restore it from a backup (secrets sealed with it, such as TOTP enrollments, \
         cannot be read without it), or remove it if nothing was sealed yet"
    )]
    Length { path: PathBuf, len: usize },
    /// The crypto library refused a derivation its parameters allow.
    #[error("cannot derive keys from the key file")]
    Derive,
}

/// A sealed value that cannot be opened, or a value that cannot be sealed.
#[derive(Debug, thiserror::Error)]
#[error("a sealed secret cannot be opened: it is damaged, or was sealed with another key")]
pub struct SealError;

/// How a stored MAC compares with the MAC of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacCheck {
    /// It is the value's MAC under the current key.
    Matches,
    /// It is the value's MAC under the old (pre-HKDF) key: make it again with
    /// [`Sealer::mac`] now that the value is at hand.
    MatchesLegacy,
    /// It is not the value's MAC.
    Differs,
}

/// Seals and opens secrets with the server's key, and makes keyed hashes
/// of secrets that are only ever compared (client secrets).
pub struct Sealer {
    aead: LessSafeKey,
    mac: hmac::Key,
    legacy: Legacy,
}

/// Schema 1's keys: the key file's key itself for sealing, and
/// SHA-256("tessera mac key v1\0" ‖ key) for MACs.
struct Legacy {
    aead: LessSafeKey,
    mac: hmac::Key,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// The key of the key file, made on first use; or, without a key file
    /// (an in-memory store), a random key that dies with the process like
    /// everything it sealed.
    pub fn new(key_file: Option<&Path>) -> Result<Self, KeyError> {
        Self::with_key(&match key_file {
            Some(path) => load_or_create(path)?,
            None => random_key(),
        })
    }

    /// The key given as it is (`TESSERA__STORAGE__KEY`): how replicas
    /// that share no file share it.
    pub fn with_key(key: &[u8; KEY_LEN]) -> Result<Self, KeyError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(key);
        let aead: UnboundKey = prk
            .expand(&[SEAL_INFO], &CHACHA20_POLY1305)
            .map_err(|_| KeyError::Derive)?
            .into();
        let mac: hmac::Key = prk
            .expand(&[MAC_INFO], hmac::HMAC_SHA256)
            .map_err(|_| KeyError::Derive)?
            .into();
        let mut legacy_mac = digest::Context::new(&digest::SHA256);
        legacy_mac.update(b"tessera mac key v1\0");
        legacy_mac.update(key);
        let legacy = Legacy {
            aead: LessSafeKey::new(
                UnboundKey::new(&CHACHA20_POLY1305, key).map_err(|_| KeyError::Derive)?,
            ),
            mac: hmac::Key::new(hmac::HMAC_SHA256, legacy_mac.finish().as_ref()),
        };
        Ok(Self {
            aead: LessSafeKey::new(aead),
            mac,
            legacy,
        })
    }

    /// HMAC-SHA256 of `data` for `purpose`, base64url: a hash a copy of the
    /// store alone cannot even check a guess against.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> String {
        mac_with(&self.mac, purpose, data)
    }

    /// Compares `stored` with the MAC of `data` for `purpose`, in constant
    /// time: one [`Sealer::mac`] made, or an older one that a migration
    /// marked with [`Sealer::mark_legacy_mac`].
    pub fn check_mac(&self, purpose: &str, data: &[u8], stored: &str) -> MacCheck {
        let (key, expected, found) = match stored.strip_prefix(LEGACY_MAC_PREFIX) {
            Some(legacy) => (&self.legacy.mac, legacy, MacCheck::MatchesLegacy),
            None => (&self.mac, stored, MacCheck::Matches),
        };
        let computed = mac_with(key, purpose, data);
        if crate::secret::constant_time_eq(computed.as_bytes(), expected.as_bytes()) {
            found
        } else {
            MacCheck::Differs
        }
    }

    /// A MAC that an older store kept, marked so that [`Sealer::check_mac`]
    /// checks it under the old (pre-HKDF) key. A MAC cannot be made again without
    /// the value it hashes, so it stays until the value is presented.
    pub fn mark_legacy_mac(stored: &str) -> String {
        format!("{LEGACY_MAC_PREFIX}{stored}")
    }

    /// Encrypts `plaintext`: base64url of nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let mut out = nonce.to_vec();
        let mut sealed = plaintext.to_vec();
        // Only a message beyond 256 GiB fails (RFC 8439 §2.8).
        self.aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut sealed,
            )
            .map_err(|_| SealError)?;
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts what [`Sealer::seal`] made, checking that it is unaltered.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        open_with(&self.aead, sealed)
    }

    /// What older schemas sealed, sealed again under the current key.
    pub fn reseal_legacy(&self, sealed: &str) -> Result<String, SealError> {
        self.seal(&open_with(&self.legacy.aead, sealed)?)
    }
}

impl crate::store::Rekey for Sealer {
    fn reseal(&self, sealed: &str) -> Option<String> {
        self.reseal_legacy(sealed).ok()
    }

    fn remac(&self, mac: &str) -> String {
        Self::mark_legacy_mac(mac)
    }
}

fn mac_with(key: &hmac::Key, purpose: &str, data: &[u8]) -> String {
    let mut mac = hmac::Context::with_key(key);
    mac.update(purpose.as_bytes());
    mac.update(&[0]);
    mac.update(data);
    URL_SAFE_NO_PAD.encode(mac.sign())
}

/// Nonce ‖ ciphertext ‖ tag, base64url, opened with `key`. At the few seals
/// a server makes, random 96-bit nonces never repeat in practice.
fn open_with(key: &LessSafeKey, sealed: &str) -> Result<Vec<u8>, SealError> {
    let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| SealError)?;
    let Some((nonce, ciphertext)) = bytes.split_at_checked(NONCE_LEN) else {
        return Err(SealError);
    };
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
    let mut in_out = ciphertext.to_vec();
    let plaintext = key
        .open_in_place(nonce, Aad::empty(), &mut in_out)
        .map_err(|_| SealError)?;
    Ok(plaintext.to_vec())
}

fn random_key() -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    rand::fill(&mut key);
    key
}

/// Reads the key file, or makes it (owner-only) when it does not exist.
fn load_or_create(path: &Path) -> Result<[u8; KEY_LEN], KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            let len = bytes.len();
            bytes.try_into().map_err(|_| KeyError::Length {
                path: path.to_owned(),
                len,
            })
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let key = random_key();
            let mut options = std::fs::OpenOptions::new();
            // `create_new`: never overwrite a key another process just made.
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(path).map_err(io)?;
            file.write_all(&key).map_err(io)?;
            file.sync_all().map_err(io)?;
            tracing::info!(path = %path.display(), "created the key that seals secrets at rest");
            Ok(key)
        }
        Err(err) => Err(io(err)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_to_the_original_and_hides_it() {
        let sealer = Sealer::new(None).expect("key");
        let sealed = sealer.seal(b"twenty bytes secret!").expect("seal");
        assert!(!sealed.contains("twenty"));
        assert_ne!(sealed, sealer.seal(b"twenty bytes secret!").expect("seal"));
        assert_eq!(sealer.open(&sealed).expect("open"), b"twenty bytes secret!");
    }

    #[test]
    fn an_altered_value_or_another_key_does_not_open() {
        let sealer = Sealer::new(None).expect("key");
        let sealed = sealer.seal(b"secret").expect("seal");
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 2;
        altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).expect("ascii");
        assert!(sealer.open(&altered).is_err());
        assert!(Sealer::new(None).expect("key").open(&sealed).is_err());
        assert!(sealer.open("").is_err());
        assert!(sealer.open("not base64!").is_err());
    }

    #[test]
    fn the_key_file_is_made_once_for_its_owner_only_and_then_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tessera.key");
        let sealed = Sealer::new(Some(&path))
            .expect("new key")
            .seal(b"secret")
            .expect("seal");
        assert_eq!(std::fs::read(&path).expect("key file").len(), KEY_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let reopened = Sealer::new(Some(&path)).expect("same key");
        assert_eq!(reopened.open(&sealed).expect("open"), b"secret");
    }

    /// A sealer on the key file holding the bytes 0, 1, …, 31. The expected
    /// values below were computed apart from this code, with Python's
    /// `hmac`/`hashlib` and pyca/cryptography's ChaCha20Poly1305.
    fn known_sealer() -> (tempfile::TempDir, Sealer) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tessera.key");
        let key: Vec<u8> = (0..32).collect();
        std::fs::write(&path, key).expect("write");
        let sealer = Sealer::new(Some(&path)).expect("key");
        (dir, sealer)
    }

    #[test]
    fn macs_are_keyed_by_hkdf_sha256_of_the_key_file() {
        let (_dir, sealer) = known_sealer();
        // HKDF (RFC 5869): PRK = HMAC(salt, key); OKM = HMAC(PRK, info ‖ 1).
        assert_eq!(
            sealer.mac("client-secret", b"s3cret"),
            "HyZbcZ7EqKngZ7byDs6zE2QY9RyRdh8U8kS153fbLzM"
        );
        assert_eq!(
            sealer
                .open("AAAAAAAAAAAAAAAAu7E_5wdj0aWjmAXMO3DXor5--DQkgc_Qwv-0buMEHoUQvg")
                .expect("sealed under the derived key"),
            b"sealed by schema 2"
        );
    }

    #[test]
    fn what_schema_1_sealed_is_sealed_again_under_the_derived_key() {
        let (_dir, sealer) = known_sealer();
        let legacy = "AAAAAAAAAAAAAAAAa90jXciChrNqQS8CxyYjRtiA7tGsQNTsQVjSyC8HdXNvfQ";
        assert!(
            sealer.open(legacy).is_err(),
            "the key file's key is not used as is"
        );
        let resealed = sealer
            .reseal_legacy(legacy)
            .expect("opens under the old (pre-HKDF) key");
        assert_eq!(sealer.open(&resealed).expect("open"), b"sealed by schema 1");
        assert!(sealer.reseal_legacy(&resealed).is_err());
    }

    #[test]
    fn a_schema_1_mac_is_checked_under_its_old_key_only_when_marked() {
        let (_dir, sealer) = known_sealer();
        // Schema 1: HMAC keyed with SHA-256("tessera mac key v1\0" ‖ key).
        let legacy = "TwhddZlK9acv64aU0IYmdhC8wNOsVSt4yNU3zKNpsNs";
        let marked = Sealer::mark_legacy_mac(legacy);
        let check = |stored: &str, secret: &[u8]| sealer.check_mac("client-secret", secret, stored);
        assert_eq!(check(&marked, b"s3cret"), MacCheck::MatchesLegacy);
        assert_eq!(check(&marked, b"wrong"), MacCheck::Differs);
        assert_eq!(
            check(legacy, b"s3cret"),
            MacCheck::Differs,
            "unmarked: current key"
        );
        let current = sealer.mac("client-secret", b"s3cret");
        assert_eq!(check(&current, b"s3cret"), MacCheck::Matches);
        assert_eq!(check(&current, b"wrong"), MacCheck::Differs);
        assert_eq!(
            sealer.check_mac("csrf", b"s3cret", &current),
            MacCheck::Differs,
            "bound to its purpose"
        );
    }

    #[test]
    fn a_key_file_of_the_wrong_length_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("short.key");
        std::fs::write(&path, b"short").expect("write");
        let err = Sealer::new(Some(&path)).expect_err("refused");
        assert!(err.to_string().contains("short.key"));
        assert!(err.to_string().contains("5 bytes"));
    }
}
