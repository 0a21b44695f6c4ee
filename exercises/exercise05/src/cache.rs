//! The worker's result cache: a computed result is on disk before anyone tries to
//! deliver it, and leaves the disk only when the dispatcher has acknowledged it.
//!
//! The original kept results in memory while its dispatcher was down, so a
//! worker that crashed meanwhile lost them. Here each result is one small JSON
//! file, written to a temporary name, flushed to the disk (`sync_all`), and only
//! then renamed into place; the folder is flushed too, so the rename itself
//! survives a power cut. A rename is atomic, so a crash leaves either the old
//! state or the whole new file — and a file torn anyway (a disk that lied about
//! its flush, someone's editor) is counted as unreadable and deleted when the
//! cache is loaded, never delivered. A restarted worker delivers what it finds.
//! Results older than the TTL (1 h by default) are dropped: by then the task has
//! long been leased again, and the result would only be refused as stale.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::protocol::LeasedResult;
use crate::store::{TaskId, unix_millis};

/// How long a cached result is worth delivering, as in the original.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(3600);

/// Why the cache could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("result cache {path}: {source}")]
    Io { path: String, source: io::Error },
}

// ANCHOR: cache_types
/// One file: the result and when it was computed.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    saved_at_ms: i64,
    result: LeasedResult,
}

/// What a worker finds in its cache when it starts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// Still worth delivering, oldest first.
    pub fresh: Vec<LeasedResult>,
    /// Older than the TTL (their files are deleted).
    pub expired: Vec<TaskId>,
    /// Files that could not be read (deleted too: a crash mid-write, or not ours).
    pub unreadable: usize,
}
// ANCHOR_END: cache_types

/// A folder of undelivered results.
#[derive(Debug, Clone)]
pub struct ResultCache {
    dir: PathBuf,
    ttl: Duration,
}

impl ResultCache {
    /// Uses (and creates, if needed) `dir`.
    pub fn open(dir: impl Into<PathBuf>, ttl: Duration) -> Result<Self, CacheError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| io_error(&dir, source))?;
        Ok(Self { dir, ttl })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, result: &LeasedResult) -> PathBuf {
        // The token comes from the network: keep it to characters safe in a name.
        let token: String = result
            .lease_token
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(32)
            .collect();
        self.dir
            .join(format!("task-{}-{token}.json", result.task_id))
    }

    // ANCHOR: save
    // ANCHOR: save_given
    /// Writes `result` to disk, atomically.
    #[cfg_attr(workbook_todo_cache_save, allow(unused_variables))]
    pub fn save(&self, result: &LeasedResult, now: SystemTime) -> Result<(), CacheError> {
        // ANCHOR_END: save_given
        // TODO(cache-save): write a result and when it was saved to its file, durably and atomically: a temporary file flushed to disk, then a rename, then the folder flushed
        todo!("cache-save — book: ch05, \"Nothing computed is lost\"")
    }
    // ANCHOR_END: save

    /// Forgets `result`: the dispatcher has it (or refused it for good).
    pub fn remove(&self, result: &LeasedResult) -> Result<(), CacheError> {
        let file = self.file(result);
        match fs::remove_file(&file) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(io_error(&file, error)),
            _ => Ok(()),
        }
    }

    // ANCHOR: load
    // ANCHOR: load_given
    /// Everything left by an earlier run, split into fresh and expired.
    #[cfg_attr(workbook_todo_cache_load, allow(unused_variables))]
    pub fn load(&self, now: SystemTime) -> Result<Found, CacheError> {
        // ANCHOR_END: load_given
        // TODO(cache-load): read every file of the cache: fresh results oldest first, expired ones (older than the TTL) and unreadable files deleted
        todo!("cache-load — book: ch05, \"Nothing computed is lost\"")
    }
    // ANCHOR_END: load
}

/// Writes `bytes` to `path` and waits until they are on the disk, not just in the
/// operating system's cache: otherwise a power cut after the rename could leave
/// the new name pointing at an empty or half-written file.
fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = fs::File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Flushes a folder's entries (the rename) to the disk. Unix lets a folder be
/// opened and synced; elsewhere there is nothing to call, and the rename is as
/// durable as the platform makes it.
fn sync_folder(dir: &Path) -> io::Result<()> {
    if cfg!(unix) {
        fs::File::open(dir)?.sync_all()
    } else {
        Ok(())
    }
}

fn io_error(path: &Path, source: io::Error) -> CacheError {
    CacheError::Io {
        path: path.display().to_string(),
        source,
    }
}
