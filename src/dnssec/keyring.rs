//! A zone's signing keys in the state directory: `<state-dir>/dnssec/<zone>/`, one
//! owner-only file per key ([`Key::save`]). Created once (a combined signing key by default,
//! as Route 53 and Knot do; a KSK and a ZSK on request) and read back on every use, so the DS
//! records given to the parent stay valid.

use std::path::{Path, PathBuf};

use super::key::{SECURE_ENTRY_POINT, ZONE_KEY};
use super::{Algorithm, Key, KeyError};
use crate::wire::name;

/// What keys a new zone gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy {
    pub algorithm: Algorithm,
    pub split: Split,
}

/// One key for everything, or a key-signing key and a zone-signing key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// A combined signing key (CSK): flags 257, signs every RRset.
    Combined,
    /// A KSK (flags 257) signs the DNSKEY, CDS and CDNSKEY RRsets; a ZSK (flags 256) the rest.
    KskZsk,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        KeyPolicy {
            algorithm: Algorithm::EcdsaP256Sha256,
            split: Split::Combined,
        }
    }
}

/// What a key does in its zone, as `status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Csk,
    Ksk,
    Zsk,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Csk => "CSK",
            Role::Ksk => "KSK",
            Role::Zsk => "ZSK",
        }
    }
}

/// A zone's keys, and the file each was read from (`files[i]` holds `keys[i]`).
#[derive(Debug)]
pub struct Keyring {
    pub dir: PathBuf,
    pub keys: Vec<Key>,
    pub files: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("zone name {0:?} cannot name a key directory: use letters, digits, '-' and '_'")]
    ZoneName(String),
    #[error("{dir}: {source}")]
    Io { dir: String, source: std::io::Error },
    #[error("{0}: the zone has keys already (policydns dnssec status shows them)")]
    Exists(String),
    #[error("{0}: no keys for this zone (policydns dnssec keygen makes them)")]
    NoKeys(String),
    #[error("{0}")]
    Rollover(String),
}

impl Keyring {
    /// Where `origin`'s keys live under `state_dir`.
    pub fn dir(state_dir: &Path, origin: &[u8]) -> Result<PathBuf, KeyringError> {
        let text = name::to_text(&name::to_lowercase(origin));
        let stem = text.trim_end_matches('.');
        let stem = if stem.is_empty() { "root" } else { stem };
        // The name becomes a path component: nothing that could climb out of the directory.
        if !stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            || stem.starts_with('.')
        {
            return Err(KeyringError::ZoneName(text));
        }
        Ok(state_dir.join("dnssec").join(stem))
    }

    /// Makes `origin`'s keys as `policy` says; refuses if it has keys already (replacing them
    /// would break the chain of trust from the parent's DS).
    pub fn create(
        state_dir: &Path,
        origin: &[u8],
        policy: KeyPolicy,
        now: u64,
    ) -> Result<Keyring, KeyringError> {
        let dir = Self::dir(state_dir, origin)?;
        if !key_files(&dir)?.is_empty() {
            return Err(KeyringError::Exists(dir.display().to_string()));
        }
        let flags: &[u16] = match policy.split {
            Split::Combined => &[SECURE_ENTRY_POINT],
            Split::KskZsk => &[SECURE_ENTRY_POINT, ZONE_KEY],
        };
        let (mut keys, mut files) = (Vec::new(), Vec::new());
        for &f in flags {
            let key = Key::generate(policy.algorithm, f, now)?;
            files.push(key.save(&dir)?);
            keys.push(key);
        }
        Ok(Keyring { dir, keys, files }.sorted())
    }

    /// Reads `origin`'s keys. Any key file that cannot be used (unreadable, corrupt, readable
    /// by others) is an error naming it: signing with part of a zone's keys would publish a
    /// DNSKEY set the parent's DS may not match.
    pub fn open(state_dir: &Path, origin: &[u8]) -> Result<Keyring, KeyringError> {
        let dir = Self::dir(state_dir, origin)?;
        let files = key_files(&dir)?;
        if files.is_empty() {
            return Err(KeyringError::NoKeys(dir.display().to_string()));
        }
        let keys = files
            .iter()
            .map(|f| Key::load(f))
            .collect::<Result<_, _>>()?;
        Ok(Keyring { dir, keys, files }.sorted())
    }

    /// Secure entry points first, then by key tag: one order for every listing.
    fn sorted(self) -> Keyring {
        let mut pairs: Vec<(Key, PathBuf)> = self.keys.into_iter().zip(self.files).collect();
        pairs.sort_by_key(|(k, _)| (std::cmp::Reverse(k.flags), k.key_tag()));
        let (keys, files) = pairs.into_iter().unzip();
        Keyring {
            dir: self.dir,
            keys,
            files,
        }
    }

    /// What each key does: with one kind of key only, every key signs everything.
    pub fn role(&self, key: &Key) -> Role {
        let split = self.keys.iter().any(|k| k.flags == ZONE_KEY)
            && self.keys.iter().any(|k| k.flags == SECURE_ENTRY_POINT);
        match (split, key.flags == SECURE_ENTRY_POINT) {
            (false, _) => Role::Csk,
            (true, true) => Role::Ksk,
            (true, false) => Role::Zsk,
        }
    }
}

impl Keyring {
    /// Starts a rollover: adds a key of `role` (the algorithm of the zone's keys) beside the
    /// one it will replace. Both are published and both sign until the old one is retired
    /// (double signature, RFC 7583 §3.2), so validators holding either DNSKEY set, and a
    /// parent holding either DS, keep validating.
    pub fn add(
        state_dir: &Path,
        origin: &[u8],
        role: Role,
        now: u64,
    ) -> Result<(PathBuf, Key), KeyringError> {
        let ring = Self::open(state_dir, origin)?;
        let current: Vec<&Key> = ring.keys.iter().filter(|k| ring.role(k) == role).collect();
        let Some(model) = current.first() else {
            return Err(KeyringError::Rollover(format!(
                "{}: the zone has no {} to roll (its keys: {})",
                ring.dir.display(),
                role.as_str(),
                ring.keys
                    .iter()
                    .map(|k| format!("{} {}", ring.role(k).as_str(), k.key_tag()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        };
        let flags = if role == Role::Zsk {
            ZONE_KEY
        } else {
            SECURE_ENTRY_POINT
        };
        let key = Key::generate(model.algorithm, flags, now)?;
        let path = key.save(&ring.dir)?;
        Ok((path, key))
    }

    /// Ends a rollover: moves the key `tag` to `retired/` (kept, never used again), once a
    /// newer key of its role has been published for at least `wait` seconds. The last key of
    /// a role is never retired.
    pub fn retire(
        state_dir: &Path,
        origin: &[u8],
        tag: u16,
        wait: u64,
        now: u64,
    ) -> Result<PathBuf, KeyringError> {
        let ring = Self::open(state_dir, origin)?;
        let Some(i) = ring.keys.iter().position(|k| k.key_tag() == tag) else {
            return Err(KeyringError::Rollover(format!(
                "{}: no key with tag {tag}",
                ring.dir.display()
            )));
        };
        let old = &ring.keys[i];
        let role = ring.role(old);
        let newest = ring
            .keys
            .iter()
            .filter(|k| k.key_tag() != tag && ring.role(k) == role)
            .map(|k| k.created)
            .max();
        let Some(newest) = newest else {
            return Err(KeyringError::Rollover(format!(
                "key {tag} is the zone's only {}: start a rollover first (policydns dnssec rollover)",
                role.as_str()
            )));
        };
        let since = now.saturating_sub(newest);
        if since < wait {
            return Err(KeyringError::Rollover(format!(
                "the {} that replaces key {tag} was published {}h{:02}m ago; wait {}h{:02}m more (the DNSKEY TTL, and for a KSK or CSK the parent's DS TTL after its DS was changed), or give --wait-hours",
                role.as_str(),
                since / 3600,
                since % 3600 / 60,
                (wait - since) / 3600,
                (wait - since) % 3600 / 60
            )));
        }
        let from = &ring.files[i];
        let retired = ring.dir.join("retired");
        std::fs::create_dir_all(&retired).map_err(|source| KeyringError::Io {
            dir: retired.display().to_string(),
            source,
        })?;
        let to = retired.join(from.file_name().expect("a key file"));
        std::fs::rename(from, &to).map_err(|source| KeyringError::Io {
            dir: ring.dir.display().to_string(),
            source,
        })?;
        Ok(to)
    }
}

/// Automatic ZSK rollover: a ZSK is replaced once it is `lifetime` old, and the one it
/// replaces retired once both have published and signed for `overlap` (seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZskRoll {
    pub lifetime: u64,
    pub overlap: u64,
}

/// What [`Keyring::roll_zsk`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZskEvent {
    /// A new ZSK (its tag) publishes and signs beside the old one.
    Started(u16),
    /// The old ZSK (its tag) was retired.
    Retired(u16),
}

impl Keyring {
    /// Moves a KSK+ZSK zone's ZSK rollover on by `roll` at `now`: retire the older ZSK once
    /// the newer has served `overlap`, start a rollover once the newest ZSK is `lifetime` old.
    /// A zone with a combined key is left alone (its rollover changes the parent's DS: a
    /// command, `policydns dnssec rollover`).
    pub fn roll_zsk(
        state_dir: &Path,
        origin: &[u8],
        roll: ZskRoll,
        now: u64,
    ) -> Result<Vec<ZskEvent>, KeyringError> {
        let mut events = Vec::new();
        let ring = Self::open(state_dir, origin)?;
        let zsks = |ring: &Keyring| -> Vec<(u16, u64)> {
            let mut v: Vec<(u16, u64)> = ring
                .keys
                .iter()
                .filter(|k| ring.role(k) == Role::Zsk)
                .map(|k| (k.key_tag(), k.created))
                .collect();
            v.sort_by_key(|&(_, created)| created);
            v
        };
        let mut current = zsks(&ring);
        if current.is_empty() {
            return Ok(events);
        }
        if current.len() > 1 {
            let newest = current.last().expect("two or more").1;
            if now.saturating_sub(newest) >= roll.overlap {
                for &(tag, _) in &current[..current.len() - 1] {
                    Self::retire(state_dir, origin, tag, roll.overlap, now)?;
                    events.push(ZskEvent::Retired(tag));
                }
                current = zsks(&Self::open(state_dir, origin)?);
            }
        }
        if current.len() == 1 && now.saturating_sub(current[0].1) >= roll.lifetime {
            let (_, key) = Self::add(state_dir, origin, Role::Zsk, now)?;
            events.push(ZskEvent::Started(key.key_tag()));
        }
        Ok(events)
    }
}

/// The key files in `dir`, sorted; none when the directory does not exist.
fn key_files(dir: &Path) -> Result<Vec<PathBuf>, KeyringError> {
    let io = |source| KeyringError::Io {
        dir: dir.display().to_string(),
        source,
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let mut files = Vec::new();
    for e in entries {
        let path = e.map_err(io)?.path();
        let is_key = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('K') && n.ends_with(".json"));
        if is_key {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "policydns-keyring-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn keys_made_once_are_read_back_the_same() {
        let state = temp();
        let origin = name::from_text("Example.TEST.", None).unwrap();
        for (policy, roles) in [
            (KeyPolicy::default(), vec![Role::Csk]),
            (
                KeyPolicy {
                    algorithm: Algorithm::Ed25519,
                    split: Split::KskZsk,
                },
                vec![Role::Ksk, Role::Zsk],
            ),
        ] {
            let state = state.join(format!("{:?}", policy.split));
            let made = Keyring::create(&state, &origin, policy, 1).unwrap();
            assert_eq!(made.dir, state.join("dnssec/example.test"));
            let read = Keyring::open(&state, &origin).unwrap();
            let mut got: Vec<(u16, Role)> = read
                .keys
                .iter()
                .map(|k| (k.key_tag(), read.role(k)))
                .collect();
            let mut want: Vec<(u16, Role)> =
                made.keys.iter().map(|k| k.key_tag()).zip(roles).collect();
            got.sort_by_key(|g| g.0);
            want.sort_by_key(|w| w.0);
            assert_eq!(got, want);
            assert!(matches!(
                Keyring::create(&state, &origin, policy, 2),
                Err(KeyringError::Exists(_))
            ));
        }
        std::fs::remove_dir_all(&state).unwrap();
    }

    #[test]
    fn a_zone_without_keys_says_how_to_make_them() {
        let state = temp();
        let origin = name::from_text("example.test.", None).unwrap();
        let err = Keyring::open(&state, &origin).unwrap_err();
        assert!(err.to_string().contains("policydns dnssec keygen"), "{err}");
        std::fs::remove_dir_all(&state).unwrap();
    }

    #[test]
    fn a_zone_name_that_could_leave_the_directory_is_refused() {
        let origin = name::from_text("a\\/b.example.", None).unwrap();
        assert!(matches!(
            Keyring::dir(Path::new("/s"), &origin),
            Err(KeyringError::ZoneName(_))
        ));
        assert_eq!(
            Keyring::dir(Path::new("/s"), b"\x00").unwrap(),
            Path::new("/s/dnssec/root")
        );
    }
}
