//! Sealing: authenticated encryption (ChaCha20-Poly1305, RFC 8439) for
//! secrets the server must read back, such as TOTP secrets, which cannot be
//! hashed like passwords and tokens.
//!
//! The 256-bit key lives outside the store, in `storage.key_file` (made on
//! first start, readable by its owner only), so a copy of the redb file
//! alone reveals no sealed secret. Losing the key loses every sealed secret:
//! it belongs in the same backups as the store, but not beside copies of it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bytes in a key.
const KEY_LEN: usize = 32;
/// Bytes in a nonce: 96 bits, random per seal (RFC 8439 §2.8). At the few
/// seals a server makes, random nonces never repeat in practice. (`Nonce`
/// is built from an array of this length, so a mismatch does not compile.)
const NONCE_LEN: usize = 12;

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
}

/// A sealed value that cannot be opened, or a value that cannot be sealed.
#[derive(Debug, thiserror::Error)]
#[error("a sealed secret cannot be opened: it is damaged, or was sealed with another key")]
pub struct SealError;

/// Seals and opens secrets with the server's key, and makes keyed hashes
/// of secrets that are only ever compared (client secrets).
pub struct Sealer {
    cipher: ChaCha20Poly1305,
    /// A separate key for HMAC, derived from the sealing key.
    mac_key: [u8; 32],
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
        let key = match key_file {
            Some(path) => load_or_create(path)?,
            None => random_key(),
        };
        let mut derive = Sha256::new();
        derive.update(b"tessera mac key v1\0");
        derive.update(key);
        Ok(Self {
            cipher: ChaCha20Poly1305::new(&key.into()),
            mac_key: derive.finalize().into(),
        })
    }

    /// HMAC-SHA256 of `data` for `purpose`, base64url: a hash a copy of the
    /// store alone cannot even check a guess against.
    pub fn mac(&self, purpose: &str, data: &[u8]) -> String {
        // Any key length is valid for HMAC; this cannot fail.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.mac_key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// Encrypts `plaintext`: base64url of nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let nonce = Nonce::from(nonce);
        // Only a message beyond 256 GiB fails (RFC 8439 §2.8).
        let sealed = self
            .cipher
            .encrypt(&nonce, plaintext)
            .map_err(|_| SealError)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts what [`Sealer::seal`] made, checking that it is unaltered.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, SealError> {
        let bytes = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| SealError)?;
        let Some((nonce, ciphertext)) = bytes.split_at_checked(NONCE_LEN) else {
            return Err(SealError);
        };
        let nonce: &Nonce = nonce.try_into().map_err(|_| SealError)?;
        self.cipher
            .decrypt(nonce, ciphertext)
            .map_err(|_| SealError)
    }
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
