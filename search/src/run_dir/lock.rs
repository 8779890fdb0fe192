//! The run directory's lock: an exclusive advisory lock (`flock`) on `<dir>/.lock`, held for
//! the life of the process. The kernel drops it when the process dies, however it dies, so a
//! lock left by a killed run is simply taken over; the file holds the owner's pid for the
//! message a second process gets.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

use crate::{Error, Result};

pub const LOCK_FILE: &str = ".lock";

/// Held while alive; dropping it (or exiting) releases the lock.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl Lock {
    pub fn acquire(dir: &Path) -> Result<Lock> {
        let path = dir.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                let owner = owner.trim();
                let who = if owner.is_empty() {
                    "another process".to_string()
                } else {
                    format!("another process ({owner})")
                };
                return Err(Error::Invalid(format!(
                    "{} is in use by {who}: two runs on one directory would interleave their \
                     history and checkpoints; wait for it to finish or stop it, or choose \
                     another directory",
                    dir.display()
                )));
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        let note = format!("pid {} on {}\n", std::process::id(), host.trim());
        let written = file
            .set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(note.as_bytes()));
        written.map_err(|e| Error::io(&path, e))?;
        Ok(Lock { _file: file })
    }
}
