//! Files that must survive a crash whole or not at all: written to a temporary file beside the
//! target, flushed to disk (fsync), renamed over the target, and the directory flushed so the
//! rename itself is on disk. A reader after a crash sees the old file or the new one, never a
//! torn one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `bytes` atomically and durably, creating its directory if needed.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = Path::new(&tmp);
    let mut f = File::create(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(tmp, path)?;
    sync_dir(dir.unwrap_or(Path::new(".")))
}

/// Flushes a directory's entries (a rename or a new file in it) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Moves a damaged file aside as `<name>.damaged-<unix seconds>` (kept for inspection) and
/// returns the new path.
pub fn set_aside(path: &Path) -> io::Result<std::path::PathBuf> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut aside = path.as_os_str().to_owned();
    aside.push(format!(".damaged-{secs}"));
    let aside = std::path::PathBuf::from(aside);
    fs::rename(path, &aside)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        sync_dir(dir)?;
    }
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("policydns-durable-{}", std::process::id()));
        let p = dir.join("sub").join("f.zone");
        write(&p, b"one").unwrap();
        write(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert!(!dir.join("sub").join("f.zone.tmp").exists());
        let aside = set_aside(&p).unwrap();
        assert!(!p.exists());
        assert_eq!(fs::read(&aside).unwrap(), b"two");
        fs::remove_dir_all(&dir).unwrap();
    }
}
