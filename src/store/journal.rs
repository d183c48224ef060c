//! The store on disk: `<state>/api/state.json` (the state at some sequence number, written
//! whole with [`crate::durable::write`]) and `<state>/api/journal` (every entry since, appended
//! and fsynced before the request that made it is answered).
//!
//! A journal record is `length (u32 BE) · CRC-32 of the payload (u32 BE) · payload`, the
//! payload being the entry with its sequence number as JSON. On open, records are read until
//! the first one that is short or whose checksum fails: that is the tail of a write a crash
//! interrupted (never acknowledged, since acknowledging waits for fsync), so the file is cut
//! there and the cut reported.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Entry, State};

/// Compaction happens when the journal has grown past this many bytes.
const COMPACT_BYTES: u64 = 64 << 20;
/// One record at most (a batch is bounded far below this by the API's limits).
const MAX_RECORD: u32 = 64 << 20;

#[derive(Serialize, Deserialize)]
struct Record {
    seq: u64,
    entry: Entry,
}

/// The open store files.
pub struct Journal {
    dir: PathBuf,
    file: File,
    len: u64,
}

/// What opening found.
#[derive(Debug, Default)]
pub struct Opened {
    /// Entries replayed from the journal.
    pub replayed: usize,
    /// Set when a damaged tail was cut: where, and why.
    pub cut: Option<String>,
}

/// Why the store cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {message}", path.display())]
    Damaged { path: PathBuf, message: String },
}

impl Journal {
    /// Opens (or creates) the store in `state_dir/api`, giving the state it holds.
    pub fn open(state_dir: &Path) -> Result<(Journal, State, Opened), OpenError> {
        let dir = state_dir.join("api");
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| OpenError::Io { path, source }
        };
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let state_path = dir.join("state.json");
        let mut state = match std::fs::read(&state_path) {
            Ok(bytes) => serde_json::from_slice::<State>(&bytes).map_err(|e| OpenError::Damaged {
                path: state_path.clone(),
                message: format!("does not read ({e}); the store will not start over it — move it aside only if you mean to lose the hosted zones it holds"),
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(io(&state_path)(e)),
        };
        let path = dir.join("journal");
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io(&path))?;
        // A journal just created must survive a crash as a directory entry too.
        crate::durable::sync_dir(&dir).map_err(io(&dir))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io(&path))?;
        let mut opened = Opened::default();
        let mut at = 0usize;
        while at < bytes.len() {
            match record_at(&bytes[at..]) {
                Ok((record, used)) => {
                    if record.seq > state.seq {
                        if record.seq != state.seq + 1 {
                            return Err(OpenError::Damaged {
                                path,
                                message: format!(
                                    "entry {} follows {}: entries are missing",
                                    record.seq, state.seq
                                ),
                            });
                        }
                        state.apply(&record.entry).map_err(|e| OpenError::Damaged {
                            path: path.clone(),
                            message: format!("entry {} does not apply: {e}", record.seq),
                        })?;
                        opened.replayed += 1;
                    }
                    at += used;
                }
                Err(why) => {
                    opened.cut = Some(format!(
                        "{}: cut at byte {at} of {} ({why}); the last whole entry is {}",
                        path.display(),
                        bytes.len(),
                        state.seq
                    ));
                    file.set_len(at as u64).map_err(io(&path))?;
                    file.sync_all().map_err(io(&path))?;
                    break;
                }
            }
        }
        file.seek(SeekFrom::End(0)).map_err(io(&path))?;
        let len = file.metadata().map_err(io(&path))?.len();
        Ok((Journal { dir, file, len }, state, opened))
    }

    /// Reads the store without changing it (for `policydns export` beside a running server):
    /// a damaged tail is left as it is and reported.
    pub fn read(state_dir: &Path) -> Result<(State, Opened), OpenError> {
        let dir = state_dir.join("api");
        let state_path = dir.join("state.json");
        let mut state = match std::fs::read(&state_path) {
            Ok(bytes) => {
                serde_json::from_slice::<State>(&bytes).map_err(|e| OpenError::Damaged {
                    path: state_path.clone(),
                    message: format!("does not read: {e}"),
                })?
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => State::default(),
            Err(source) => {
                return Err(OpenError::Io {
                    path: state_path,
                    source,
                })
            }
        };
        let path = dir.join("journal");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(OpenError::Io { path, source }),
        };
        let mut opened = Opened::default();
        let mut at = 0;
        while at < bytes.len() {
            match record_at(&bytes[at..]) {
                Ok((record, used)) => {
                    if record.seq == state.seq + 1 && state.apply(&record.entry).is_ok() {
                        opened.replayed += 1;
                    }
                    at += used;
                }
                Err(why) => {
                    opened.cut = Some(format!("{}: unread from byte {at} ({why})", path.display()));
                    break;
                }
            }
        }
        Ok((state, opened))
    }

    /// Appends entries numbered from `first_seq` and waits until they are on disk.
    pub fn append(&mut self, first_seq: u64, entries: &[&Entry]) -> io::Result<()> {
        let mut buf = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let payload = serde_json::to_vec(&Record {
                seq: first_seq + i as u64,
                entry: (*entry).clone(),
            })
            .map_err(io::Error::other)?;
            buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            buf.extend_from_slice(&crc32fast::hash(&payload).to_be_bytes());
            buf.extend_from_slice(&payload);
        }
        let result = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data());
        if result.is_err() {
            // Leave no partial record behind for the next append to follow.
            let _ = self.file.set_len(self.len);
        } else {
            self.len += buf.len() as u64;
        }
        result
    }

    /// Whether the journal has grown enough to be folded into `state.json`.
    pub fn wants_compaction(&self) -> bool {
        self.len > COMPACT_BYTES
    }

    /// Writes `state` whole and empties the journal. A crash between the two steps leaves
    /// entries the state already holds, which opening skips by their sequence numbers.
    pub fn compact(&mut self, state: &State) -> io::Result<()> {
        let bytes = serde_json::to_vec(state).map_err(io::Error::other)?;
        crate::durable::write(&self.dir.join("state.json"), &bytes)?;
        self.file.set_len(0)?;
        self.file.sync_all()?;
        self.len = 0;
        Ok(())
    }
}

/// The record at the start of `b` and its length, or why there is none.
fn record_at(b: &[u8]) -> Result<(Record, usize), String> {
    if b.len() < 8 {
        return Err("a record header is cut short".into());
    }
    let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let crc = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
    if len > MAX_RECORD {
        return Err(format!("a record claims {len} bytes"));
    }
    let end = 8 + len as usize;
    let payload = b.get(8..end).ok_or("a record is cut short")?;
    if crc32fast::hash(payload) != crc {
        return Err("a record's checksum does not match".into());
    }
    let record =
        serde_json::from_slice(payload).map_err(|e| format!("a record does not read: {e}"))?;
    Ok((record, end))
}
