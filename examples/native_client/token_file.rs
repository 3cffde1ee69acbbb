//! The tokens on disk, readable by their user only: each save writes a new
//! file created with mode 0600 (never widened and narrowed afterwards,
//! which would leave a moment when others could read it) and renames it
//! over the old one, so a crash never leaves half a file.

use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::Path;

/// What a signed-in client keeps. No `Debug`: these are secrets.
#[derive(Serialize, Deserialize)]
pub struct Tokens {
    pub access_token: String,
    /// When the access token expires, in seconds since the epoch.
    pub expires_at: u64,
    /// From the code flow: rotated by tessera at every refresh.
    pub refresh_token: Option<String>,
    /// From the embedded login: the session the access token was exchanged
    /// for, exchanged again when the access token runs out.
    pub session_token: Option<String>,
}

/// Reads the tokens saved at `path`, if any.
pub fn load(path: &Path) -> io::Result<Option<Tokens>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Replaces the tokens at `path`.
pub fn save(path: &Path, tokens: &Tokens) -> io::Result<()> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // tempfile creates its files with O_EXCL and mode 0600 on Unix.
    let mut file = tempfile::NamedTempFile::new_in(folder)?;
    serde_json::to_writer_pretty(&mut file, tokens)?;
    file.flush()?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|err| err.error)?;
    Ok(())
}

/// Forgets the tokens (nothing to do when there are none).
pub fn delete(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}
