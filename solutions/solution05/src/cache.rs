//! The worker's result cache: a computed result is on disk before anyone tries to
//! deliver it, and leaves the disk only when the dispatcher has acknowledged it.
//!
//! The original kept results in memory while its dispatcher was down, so a
//! worker that crashed meanwhile lost them. Here results go to small JSON files,
//! each written to a temporary name, flushed to the disk (`sync_all`), and only
//! then renamed into place; the folder is flushed too, so the rename itself
//! survives a power cut. A rename is atomic, so a crash leaves either the old
//! state or the whole new file — and a file torn anyway (a disk that lied about
//! its flush, someone's editor) is counted as unreadable and deleted when the
//! cache is loaded, never delivered. A restarted worker delivers what it finds.
//! Results older than the TTL (1 h by default) are dropped: by then the task has
//! long been leased again, and the result would only be refused as stale.
//!
//! A flush is the slow part: a few milliseconds on a real disk, whatever the
//! size. So a worker that finishes tasks in groups saves each group in one file
//! with one flush ([`ResultCache::save_all`]); [`ResultCache::save`] is a group
//! of one. The dispatcher answers results one by one, so a group file must lose
//! them one by one too: [`ResultCache::remove_all`] deletes a file once none of
//! its results is left, and otherwise writes it again — the same temporary
//! file, flush and rename — without the answered ones, so a restarted worker
//! never delivers an answered result again. A worker delivers a group as it
//! saved it, so in the usual case the whole file goes at once, with no new
//! flush. The cache remembers (in memory) which file holds which result.
//!
//! Who waits for the flush? Not the pool's threads, and not the worker's main
//! thread: a [`CacheWriter`] thread of its own saves, and the worker sends a
//! result only once the writer says it is on disk. While the writer flushes one
//! group, the results that finish meanwhile wait for the next write and share it
//! — a database's *group commit*. The same durability (nothing leaves the worker
//! before it is on disk), but a flush no longer costs a task: the slower the
//! disk, the bigger the groups.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, unbounded};

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
/// One file: a group of results (often just one) and when they were saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    saved_at_ms: i64,
    results: Vec<LeasedResult>,
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

/// A folder of undelivered results. Clones share it, and share what it knows
/// of which file holds which result.
#[derive(Debug, Clone)]
pub struct ResultCache {
    dir: PathBuf,
    ttl: Duration,
    /// Each result's own name (see `file`) → the file its group is in.
    held: Arc<Mutex<HashMap<PathBuf, PathBuf>>>,
}

impl ResultCache {
    /// Uses (and creates, if needed) `dir`.
    pub fn open(dir: impl Into<PathBuf>, ttl: Duration) -> Result<Self, CacheError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|source| io_error(&dir, source))?;
        Ok(Self {
            dir,
            ttl,
            held: Arc::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A result's own name; a group's file is named after its first result.
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

    /// Writes `result` to disk, atomically: a group of one.
    pub fn save(&self, result: &LeasedResult, now: SystemTime) -> Result<(), CacheError> {
        self.save_all(std::slice::from_ref(result), now)
    }

    // ANCHOR: save
    // ANCHOR: save_given
    /// Writes `results` to disk in one file, atomically, with one flush.
    pub fn save_all(&self, results: &[LeasedResult], now: SystemTime) -> Result<(), CacheError> {
        // ANCHOR_END: save_given
        // ANCHOR: todo-cache-save
        let Some(first) = results.first() else {
            return Ok(());
        };
        let entry = Entry {
            saved_at_ms: unix_millis(now),
            results: results.to_vec(),
        };
        let file = self.file(first);
        let partial = file.with_extension("partial");
        let text = serde_json::to_vec(&entry).unwrap_or_default();
        write_durably(&partial, &text).map_err(|source| io_error(&partial, source))?;
        fs::rename(&partial, &file).map_err(|source| io_error(&file, source))?;
        sync_folder(&self.dir).map_err(|source| io_error(&self.dir, source))?;
        self.remember(&file, results);
        Ok(())
        // ANCHOR_END: todo-cache-save
    }
    // ANCHOR_END: save

    /// Forgets `result`: the dispatcher has it (or refused it for good).
    pub fn remove(&self, result: &LeasedResult) -> Result<(), CacheError> {
        self.remove_all(std::slice::from_ref(result))
    }

    /// Forgets `results`: each file they were in is deleted when none of its
    /// results is left, else written again (atomically) without them.
    pub fn remove_all(&self, results: &[LeasedResult]) -> Result<(), CacheError> {
        let gone: HashSet<PathBuf> = results.iter().map(|result| self.file(result)).collect();
        // Each file, and whether we know it holds nothing else: every result we
        // remembered in it is gone now. Such a file is deleted unread.
        let files: HashMap<PathBuf, bool> = {
            let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
            let files: HashSet<(PathBuf, bool)> = gone
                .iter()
                .map(|name| match held.remove(name) {
                    Some(file) => (file, true),
                    None => (name.clone(), false),
                })
                .collect();
            files
                .into_iter()
                .map(|(file, known)| {
                    let emptied = known && !held.values().any(|other| *other == file);
                    (file, emptied)
                })
                .collect()
        };
        for (file, emptied) in files {
            // Unreadable or already gone: nothing in it is worth keeping.
            let entry = if emptied { None } else { read_entry(&file) };
            let entry = entry.unwrap_or(Entry {
                saved_at_ms: 0,
                results: Vec::new(),
            });
            let left: Vec<LeasedResult> = entry
                .results
                .into_iter()
                .filter(|result| !gone.contains(&self.file(result)))
                .collect();
            if left.is_empty() {
                match fs::remove_file(&file) {
                    Err(error) if error.kind() != io::ErrorKind::NotFound => {
                        return Err(io_error(&file, error));
                    }
                    _ => {}
                }
            } else {
                let rest = Entry {
                    saved_at_ms: entry.saved_at_ms,
                    results: left,
                };
                let partial = file.with_extension("partial");
                let text = serde_json::to_vec(&rest).unwrap_or_default();
                write_durably(&partial, &text).map_err(|source| io_error(&partial, source))?;
                fs::rename(&partial, &file).map_err(|source| io_error(&file, source))?;
                sync_folder(&self.dir).map_err(|source| io_error(&self.dir, source))?;
            }
        }
        Ok(())
    }

    /// Notes that `results` are in `file`, for `remove_all`.
    fn remember(&self, file: &Path, results: &[LeasedResult]) {
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        for result in results {
            held.insert(self.file(result), file.to_owned());
        }
    }

    // ANCHOR: load
    // ANCHOR: load_given
    /// Everything left by an earlier run, split into fresh and expired.
    pub fn load(&self, now: SystemTime) -> Result<Found, CacheError> {
        // ANCHOR_END: load_given
        // ANCHOR: todo-cache-load
        let mut found = Found::default();
        let mut fresh = Vec::new();
        let entries = fs::read_dir(&self.dir).map_err(|source| io_error(&self.dir, source))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(entry) = read_entry(&path) else {
                found.unreadable += 1;
                let _ = fs::remove_file(&path);
                continue;
            };
            let age = unix_millis(now).saturating_sub(entry.saved_at_ms);
            if u128::try_from(age).unwrap_or(0) > self.ttl.as_millis() {
                found
                    .expired
                    .extend(entry.results.iter().map(|result| result.task_id));
                let _ = fs::remove_file(&path);
            } else {
                self.remember(&path, &entry.results);
                fresh.push(entry);
            }
        }
        fresh.sort_by_key(|entry| entry.saved_at_ms);
        found.fresh = fresh.into_iter().flat_map(|entry| entry.results).collect();
        Ok(found)
        // ANCHOR_END: todo-cache-load
    }
    // ANCHOR_END: load
}

// ANCHOR: writer
/// The thread that saves results, a group at a time (see the module's doc). One
/// owner — the worker's main thread — hands it a group when it is idle, and
/// learns when that group is on disk.
pub struct CacheWriter {
    groups: Option<Sender<Vec<LeasedResult>>>,
    saved: Receiver<Saved>,
    /// Whether a group is being written now.
    busy: bool,
    thread: Option<JoinHandle<()>>,
}

/// A group the writer is done with: on disk, unless saving it failed.
pub type Saved = (Vec<LeasedResult>, Result<(), CacheError>);

impl CacheWriter {
    /// Starts the thread, which saves into `cache`.
    pub fn start(cache: ResultCache) -> Self {
        let (groups, to_save) = unbounded::<Vec<LeasedResult>>();
        let (saved_in, saved) = unbounded();
        let thread = std::thread::spawn(move || {
            // Ends when the owner drops its sender.
            for group in to_save {
                let outcome = cache.save_all(&group, SystemTime::now());
                if saved_in.send((group, outcome)).is_err() {
                    break;
                }
            }
        });
        Self {
            groups: Some(groups),
            saved,
            busy: false,
            thread: Some(thread),
        }
    }

    /// Whether a group is being written now: the next one waits.
    pub fn busy(&self) -> bool {
        self.busy
    }

    /// Starts writing `group` (one file, one flush), if the writer is idle and
    /// the group not empty; returns whether it did.
    pub fn write(&mut self, group: Vec<LeasedResult>) -> bool {
        if self.busy || group.is_empty() {
            return false;
        }
        let Some(groups) = &self.groups else {
            return false;
        };
        self.busy = groups.send(group).is_ok();
        self.busy
    }

    /// The group just written, if the writer is done with it.
    pub fn try_saved(&mut self) -> Option<Saved> {
        let saved = self.saved.try_recv().ok()?;
        self.busy = false;
        Some(saved)
    }

    /// The group being written, once it is on disk: waits up to `wait`.
    pub fn saved_within(&mut self, wait: Duration) -> Option<Saved> {
        match self.saved.recv_timeout(wait) {
            Ok(saved) => {
                self.busy = false;
                Some(saved)
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => None,
        }
    }
}

impl Drop for CacheWriter {
    /// Lets the thread finish the group it is writing, then ends it.
    fn drop(&mut self) {
        self.groups = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
// ANCHOR_END: writer

/// A cache file's group, or `None` if it cannot be read or is not one (torn,
/// empty, not ours).
fn read_entry(path: &Path) -> Option<Entry> {
    let bytes = fs::read(path).ok()?;
    serde_json::from_slice::<Entry>(&bytes).ok()
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
