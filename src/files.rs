//! Files written whole or not at all: a backup (or anything else worth
//! keeping) is written to a temporary file beside its final name, synced,
//! and only then given that name, so that a crash or an error never leaves
//! half a file where a whole one is expected. A leaf: it knows no other
//! module.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// A temporary file in the folder of its final name; removed when dropped
/// unless [`Staged::publish`] gave it that name.
#[derive(Debug)]
pub struct Staged {
    temp: PathBuf,
    to: PathBuf,
    published: bool,
}

impl Staged {
    /// Creates an empty temporary file beside `to`. Being in the same
    /// folder (the same file system) is what makes the final rename atomic.
    pub fn beside(to: &Path) -> io::Result<Self> {
        let folder = match to.parent() {
            Some(folder) if !folder.as_os_str().is_empty() => folder,
            _ => Path::new("."),
        };
        let name = to
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
        // The process id and a counter keep concurrent stagings apart;
        // `create_new` makes sure an existing file is never reused.
        for attempt in 0..100u32 {
            let mut temp_name = std::ffi::OsString::from(".");
            temp_name.push(name);
            temp_name.push(format!(".{}-{attempt}.tmp", std::process::id()));
            let temp = folder.join(temp_name);
            match File::options().write(true).create_new(true).open(&temp) {
                Ok(_) => {
                    return Ok(Self {
                        temp,
                        to: to.to_owned(),
                        published: false,
                    });
                }
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "too many leftover temporary files beside the target",
        ))
    }

    /// The temporary file, to write to.
    pub fn path(&self) -> &Path {
        &self.temp
    }

    /// Syncs the temporary file and gives it its final name. Without
    /// `overwrite`, an existing file of that name is kept and the error is
    /// `AlreadyExists`; the check and the naming are one step (a hard link),
    /// so a file that appears meanwhile is not overwritten either.
    pub fn publish(mut self, overwrite: bool) -> io::Result<()> {
        File::options().write(true).open(&self.temp)?.sync_all()?;
        if overwrite {
            std::fs::rename(&self.temp, &self.to)?;
        } else {
            std::fs::hard_link(&self.temp, &self.to)?;
            std::fs::remove_file(&self.temp)?;
        }
        self.published = true;
        // The new name is durable once the folder is synced.
        if let Some(folder) = self.to.parent().filter(|f| !f.as_os_str().is_empty()) {
            File::open(folder)?.sync_all()?;
        }
        Ok(())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.published {
            // Nothing to do if it is already gone; a leftover is only litter.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_dropped_staging_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("backup.redb");
        let staged = Staged::beside(&to).unwrap();
        std::fs::write(staged.path(), b"half").unwrap();
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn publishing_refuses_to_replace_a_file_unless_told_to() {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("backup.redb");
        std::fs::write(&to, b"old").unwrap();

        let staged = Staged::beside(&to).unwrap();
        std::fs::write(staged.path(), b"new").unwrap();
        let err = staged.publish(false).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&to).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

        let staged = Staged::beside(&to).unwrap();
        std::fs::write(staged.path(), b"new").unwrap();
        staged.publish(true).unwrap();
        assert_eq!(std::fs::read(&to).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
