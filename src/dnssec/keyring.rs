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

    /// The keys with `signing` set as their times say at `now`: a pre-published key and one
    /// whose successor has taken over are published and do not sign.
    pub fn at(mut self, now: u64) -> Keyring {
        for k in &mut self.keys {
            k.signing = k.signs_at(now);
        }
        self
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

/// Automatic ZSK rollover by pre-publication (RFC 7583 §3.1): once the signing ZSK has signed
/// for `lifetime`, its successor is published (DNSKEY only) for `overlap`, then signs in its
/// place; the old one stays published for `overlap` more, then is retired. `overlap` must
/// cover the DNSKEY TTL and the zone's longest TTL, plus the time secondaries take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZskRoll {
    pub lifetime: u64,
    pub overlap: u64,
}

/// What [`Keyring::roll_zsk`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZskEvent {
    /// A new ZSK (its tag) is published; it signs from the given time, when the old one stops.
    Published(u16, u64),
    /// The new ZSK (its tag) signs from this load on; the old one (its tag) no longer does.
    Switched { new: u16, old: u16 },
    /// The old ZSK (its tag) was retired.
    Retired(u16),
}

impl Keyring {
    /// Moves a KSK+ZSK zone's ZSK rollover on by `roll` at `now` (called as the zone loads,
    /// before it is signed): notes a switch whose time has come, retires a ZSK that stopped
    /// signing `overlap` ago, and publishes a successor once the signing ZSK is `lifetime`
    /// old. A rollover started by `policydns dnssec rollover` (two ZSKs that both sign) ends as
    /// it began, by double signature. A zone with a combined key is left alone (its rollover
    /// changes the parent's DS: a command).
    pub fn roll_zsk(
        state_dir: &Path,
        origin: &[u8],
        roll: ZskRoll,
        now: u64,
    ) -> Result<Vec<ZskEvent>, KeyringError> {
        let mut events = Vec::new();
        let ring = Self::open(state_dir, origin)?;
        let zsks = |ring: &Keyring| -> Vec<usize> {
            let mut v: Vec<usize> = (0..ring.keys.len())
                .filter(|&i| ring.role(&ring.keys[i]) == Role::Zsk)
                .collect();
            v.sort_by_key(|&i| ring.keys[i].created);
            v
        };
        let save = |ring: &Keyring, i: usize| -> Result<(), KeyringError> {
            ring.keys[i].save(&ring.dir)?;
            Ok(())
        };
        let current = zsks(&ring);
        if current.is_empty() {
            return Ok(events);
        }
        let timed = current
            .iter()
            .any(|&i| ring.keys[i].activate.is_some() || ring.keys[i].inactive.is_some());
        if current.len() > 1 && !timed {
            // Double signature (the command's): retire the older once the newer has served.
            let newest = ring.keys[*current.last().expect("two or more")].created;
            if now.saturating_sub(newest) >= roll.overlap {
                for &i in &current[..current.len() - 1] {
                    let tag = ring.keys[i].key_tag();
                    Self::retire(state_dir, origin, tag, roll.overlap, now)?;
                    events.push(ZskEvent::Retired(tag));
                }
            }
            return Ok(events);
        }
        let mut ring = ring;
        // The switch: the old key's time to stop has come, and this load is the first to sign
        // without it. Its signatures may be cached from now for the zone's TTLs.
        for &i in &current {
            let k = &ring.keys[i];
            if k.inactive.is_some_and(|t| now >= t) && k.stopped.is_none() {
                ring.keys[i].stopped = Some(now);
                save(&ring, i)?;
                let new = current
                    .iter()
                    .map(|&j| &ring.keys[j])
                    .find(|n| n.activate.is_some_and(|a| a <= now) && n.inactive.is_none())
                    .map_or(0, |n| n.key_tag());
                events.push(ZskEvent::Switched {
                    new,
                    old: ring.keys[i].key_tag(),
                });
            }
        }
        // Published, not signing, since `overlap` before: the old key goes.
        let mut retired = false;
        for &i in &current {
            let k = &ring.keys[i];
            if k.stopped
                .is_some_and(|t| now.saturating_sub(t) >= roll.overlap)
            {
                let tag = k.key_tag();
                Self::retire(state_dir, origin, tag, 0, now)?;
                events.push(ZskEvent::Retired(tag));
                retired = true;
            }
        }
        if retired {
            ring = Self::open(state_dir, origin)?;
        }
        let current = zsks(&ring);
        // One ZSK, signing since `lifetime` ago, with no successor on the way: publish one.
        if let [only] = current[..] {
            let k = &ring.keys[only];
            let signing_since = k.activate.unwrap_or(k.created);
            if k.inactive.is_none() && now.saturating_sub(signing_since) >= roll.lifetime {
                let switch_at = now + roll.overlap;
                let mut next = Key::generate(k.algorithm, ZONE_KEY, now)?;
                while ring.keys.iter().any(|o| o.key_tag() == next.key_tag()) {
                    next = Key::generate(k.algorithm, ZONE_KEY, now)?;
                }
                next.activate = Some(switch_at);
                // The successor first, so a crash between the two writes leaves a key that is
                // only published, never a zone with no signing ZSK.
                next.save(&ring.dir)?;
                ring.keys[only].inactive = Some(switch_at);
                save(&ring, only)?;
                events.push(ZskEvent::Published(next.key_tag(), switch_at));
            }
        }
        Ok(events)
    }
}

impl Keyring {
    /// When [`roll_zsk`](Keyring::roll_zsk) next has something to do for `origin` (Unix
    /// seconds, maybe already past): the server loads the zone then, so a rollover's steps
    /// land on time rather than at the next reload. `None`: nothing scheduled (no ZSK, or
    /// no keys).
    pub fn next_zsk_event(state_dir: &Path, origin: &[u8], roll: ZskRoll) -> Option<u64> {
        let ring = Self::open(state_dir, origin).ok()?;
        let zsks: Vec<&Key> = ring
            .keys
            .iter()
            .filter(|k| ring.role(k) == Role::Zsk)
            .collect();
        let timed = zsks
            .iter()
            .any(|k| k.activate.is_some() || k.inactive.is_some());
        if zsks.len() > 1 && !timed {
            // A double-signature rollover (the command's): the older retires after overlap.
            return zsks
                .iter()
                .map(|k| k.created)
                .max()
                .map(|t| t + roll.overlap);
        }
        let mut times = Vec::new();
        for k in &zsks {
            match (k.inactive, k.stopped) {
                (Some(t), None) => times.push(t),
                (_, Some(t)) => times.push(t + roll.overlap),
                (None, None) if zsks.len() == 1 => {
                    times.push(k.activate.unwrap_or(k.created) + roll.lifetime)
                }
                _ => {}
            }
        }
        times.into_iter().min()
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
    fn a_zsk_rolls_by_pre_publication_on_the_schedule_its_times_set() {
        let state = temp();
        let origin = name::from_text("example.test.", None).unwrap();
        let policy = KeyPolicy {
            algorithm: Algorithm::EcdsaP256Sha256,
            split: Split::KskZsk,
        };
        let made = Keyring::create(&state, &origin, policy, 0).unwrap();
        let old = made
            .keys
            .iter()
            .find(|k| k.flags == ZONE_KEY)
            .unwrap()
            .key_tag();
        let roll = ZskRoll {
            lifetime: 100,
            overlap: 10,
        };
        let step = |now: u64| Keyring::roll_zsk(&state, &origin, roll, now).unwrap();
        // Which ZSKs are published, and which of them sign, at `now`.
        let zsks = |now: u64| -> (Vec<u16>, Vec<u16>) {
            let ring = Keyring::open(&state, &origin).unwrap().at(now);
            let z: Vec<&Key> = ring.keys.iter().filter(|k| k.flags == ZONE_KEY).collect();
            let mut published: Vec<u16> = z.iter().map(|k| k.key_tag()).collect();
            let mut signing: Vec<u16> = z
                .iter()
                .filter(|k| k.signing)
                .map(|k| k.key_tag())
                .collect();
            published.sort_unstable();
            signing.sort_unstable();
            (published, signing)
        };
        let next = || Keyring::next_zsk_event(&state, &origin, roll);
        assert_eq!(next(), Some(100), "the signing ZSK's lifetime ends");
        assert_eq!(step(99), vec![], "not yet its lifetime");
        let events = step(100);
        let [ZskEvent::Published(new, 110)] = events[..] else {
            panic!("{events:?}");
        };
        let mut both = vec![old, new];
        both.sort_unstable();
        assert_eq!(
            zsks(105),
            (both.clone(), vec![old]),
            "published, not signing"
        );
        assert_eq!(next(), Some(110), "the switch");
        assert_eq!(step(105), vec![]);
        assert_eq!(step(112), vec![ZskEvent::Switched { new, old }]);
        assert_eq!(
            zsks(112),
            (both, vec![new]),
            "the old one published, not signing"
        );
        assert_eq!(
            next(),
            Some(122),
            "the old key's retirement, from the switch's load"
        );
        assert_eq!(step(115), vec![], "its signatures may still be cached");
        assert_eq!(step(122), vec![ZskEvent::Retired(old)]);
        assert_eq!(zsks(122), (vec![new], vec![new]));
        assert_eq!(step(200), vec![], "the new one has signed for 90 s only");
        assert!(matches!(step(210)[..], [ZskEvent::Published(_, 220)]));
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
