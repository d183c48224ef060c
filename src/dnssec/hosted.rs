//! The keys of a Route 53 API hosted zone: `<state-dir>/dnssec/hosted/<zone id>/`, one
//! owner-only file per key, as [`Key::save`] writes them. Route 53 signs with ECDSA P-256 only
//! (algorithm 13): its key-signing keys (flags 257) are the user's, named through the API; its
//! zone-signing key (flags 256) is the service's. The store names each key by its tag; a key
//! file the store does not name is never used.

use std::path::{Path, PathBuf};

use super::key::{KeyError, SECURE_ENTRY_POINT, ZONE_KEY};
use super::{Algorithm, Key};

/// Route 53's one signing algorithm.
pub const ALGORITHM: Algorithm = Algorithm::EcdsaP256Sha256;

/// Where hosted zone `zone_id`'s keys live. Zone ids are made by this server ("Z" and
/// letters and digits), so they are safe path components; anything else is refused.
pub fn dir(state_dir: &Path, zone_id: &str) -> Result<PathBuf, KeyError> {
    if zone_id.is_empty() || !zone_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyError::Format {
            path: zone_id.to_string(),
            message: "a hosted zone id names a key directory: letters and digits only".into(),
        });
    }
    Ok(state_dir.join("dnssec").join("hosted").join(zone_id))
}

/// Makes and saves (fsynced, mode 600) a new key with `flags`, whose tag none of `taken` has:
/// the store tells keys apart by tag.
pub fn make(dir: &Path, flags: u16, now: u64, taken: &[u16]) -> Result<Key, KeyError> {
    loop {
        let key = Key::generate(ALGORITHM, flags, now)?;
        if taken.contains(&key.key_tag()) {
            continue;
        }
        key.save(dir)?;
        return Ok(key);
    }
}

/// The key `tag` with `flags`, as [`make`] saved it.
pub fn load(dir: &Path, tag: u16, flags: u16) -> Result<Key, KeyError> {
    Key::load(&path(dir, tag, flags))
}

/// Removes a deleted key-signing key's file (its secret is no longer needed by anyone).
pub fn remove(dir: &Path, tag: u16) -> std::io::Result<()> {
    match std::fs::remove_file(path(dir, tag, SECURE_ENTRY_POINT)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn path(dir: &Path, tag: u16, flags: u16) -> PathBuf {
    dir.join(format!("K{tag:05}-{}-{flags}.json", ALGORITHM.number()))
}

/// A hosted zone's signing keys: its ZSK and its active KSKs.
pub fn signing_keys(dir: &Path, zsk: u16, active_ksks: &[u16]) -> Result<Vec<Key>, KeyError> {
    let mut keys = vec![load(dir, zsk, ZONE_KEY)?];
    for &tag in active_ksks {
        keys.push(load(dir, tag, SECURE_ENTRY_POINT)?);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_read_back_by_its_tag_and_flags() {
        let state = std::env::temp_dir().join(format!("policydns-hosted-{}", std::process::id()));
        let d = dir(&state, "Z0123456789ABCDEFGHIJ").unwrap();
        let ksk = make(&d, SECURE_ENTRY_POINT, 1, &[]).unwrap();
        let zsk = make(&d, ZONE_KEY, 1, &[ksk.key_tag()]).unwrap();
        let keys = signing_keys(&d, zsk.key_tag(), &[ksk.key_tag()]).unwrap();
        let tags: Vec<u16> = keys.iter().map(Key::key_tag).collect();
        assert_eq!(tags, vec![zsk.key_tag(), ksk.key_tag()]);
        remove(&d, ksk.key_tag()).unwrap();
        assert!(load(&d, ksk.key_tag(), SECURE_ENTRY_POINT).is_err());
        std::fs::remove_dir_all(state).unwrap();
    }

    #[test]
    fn a_zone_id_that_could_leave_the_directory_is_refused() {
        for id in ["", "..", "Z/../x", "Z 1"] {
            assert!(dir(Path::new("/s"), id).is_err(), "{id:?}");
        }
    }
}
