//! Signing keys: made with `ring`, stored as PKCS#8 in files only their owner can read, and
//! described to the DNS as DNSKEY and DS records.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _};
use serde::{Deserialize, Serialize};

/// DNSSEC algorithm numbers this signer makes keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Algorithm {
    /// 13, RFC 6605: Route 53's and the recommended default (RFC 8624).
    EcdsaP256Sha256,
    /// 15, RFC 8080.
    Ed25519,
}

impl Algorithm {
    pub fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }
}

/// DNSKEY flags: a zone key (256), and a secure entry point (257: a KSK or a combined key).
pub const ZONE_KEY: u16 = 256;
pub const SECURE_ENTRY_POINT: u16 = 257;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not make a key: the system's random source failed")]
    Random,
    #[error("{path}: not a usable {algorithm:?} key ({why})")]
    Rejected {
        path: String,
        algorithm: Algorithm,
        why: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: String, message: String },
}

/// A signing key and its public half as DNSKEY carries it.
pub struct Key {
    pub algorithm: Algorithm,
    pub flags: u16,
    /// When it was made, Unix seconds.
    pub created: u64,
    /// Pre-publication (RFC 7583 §3.1): the key is published from its making and signs only
    /// from this time (Unix seconds; none: from its making).
    pub activate: Option<u64>,
    /// The key stops signing at this time, published still (its successor signs instead).
    pub inactive: Option<u64>,
    /// When a load first served the zone without its signatures: caches may hold them for the
    /// zone's longest TTL from then, so the key stays published that long.
    pub stopped: Option<u64>,
    /// Whether it signs in the version being made (set at load from the times above).
    pub signing: bool,
    pair: Pair,
    pkcs8: Vec<u8>,
    /// The DNSKEY public key field: P-256's X and Y (RFC 6605 §4), or Ed25519's 32 octets.
    public: Vec<u8>,
}

enum Pair {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the private key.
        f.debug_struct("Key")
            .field("algorithm", &self.algorithm)
            .field("flags", &self.flags)
            .field("tag", &self.key_tag())
            .finish()
    }
}

impl Key {
    /// A new key.
    pub fn generate(algorithm: Algorithm, flags: u16, created: u64) -> Result<Key, KeyError> {
        let rng = SystemRandom::new();
        let pkcs8 = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            Algorithm::Ed25519 => Ed25519KeyPair::generate_pkcs8(&rng),
        }
        .map_err(|_| KeyError::Random)?;
        Key::from_pkcs8(algorithm, flags, created, pkcs8.as_ref(), "a new key")
    }

    /// A key from its PKCS#8 document; `what` names it in errors.
    pub fn from_pkcs8(
        algorithm: Algorithm,
        flags: u16,
        created: u64,
        pkcs8: &[u8],
        what: &str,
    ) -> Result<Key, KeyError> {
        let rejected = |why: String| KeyError::Rejected {
            path: what.to_string(),
            algorithm,
            why,
        };
        let (pair, public) = match algorithm {
            Algorithm::EcdsaP256Sha256 => {
                let p = EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    pkcs8,
                    &SystemRandom::new(),
                )
                .map_err(|e| rejected(e.to_string()))?;
                // Uncompressed point: 0x04, X, Y.
                let public = p.public_key().as_ref()[1..].to_vec();
                (Pair::Ecdsa(p), public)
            }
            Algorithm::Ed25519 => {
                let p = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|e| rejected(e.to_string()))?;
                let public = p.public_key().as_ref().to_vec();
                (Pair::Ed25519(p), public)
            }
        };
        Ok(Key {
            algorithm,
            flags,
            created,
            activate: None,
            inactive: None,
            stopped: None,
            signing: true,
            pair,
            pkcs8: pkcs8.to_vec(),
            public,
        })
    }

    /// Whether the key signs at `now` by its times (published keys that do not sign are
    /// pre-published successors and retiring predecessors).
    pub fn signs_at(&self, now: u64) -> bool {
        self.activate.is_none_or(|a| now >= a) && self.inactive.is_none_or(|i| now < i)
    }

    /// The DNSKEY RDATA: flags, protocol 3, algorithm, public key (RFC 4034 §2.1).
    pub fn dnskey_rdata(&self) -> Vec<u8> {
        let mut r = Vec::with_capacity(4 + self.public.len());
        r.extend_from_slice(&self.flags.to_be_bytes());
        r.push(3);
        r.push(self.algorithm.number());
        r.extend_from_slice(&self.public);
        r
    }

    /// The key tag (RFC 4034 Appendix B).
    pub fn key_tag(&self) -> u16 {
        key_tag(&self.dnskey_rdata())
    }

    /// The DS RDATA for this key at `owner` (lowercase wire form), digest SHA-256 (type 2,
    /// RFC 4509), the digest every validator supports.
    pub fn ds_rdata(&self, owner: &[u8]) -> Vec<u8> {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(owner);
        ctx.update(&self.dnskey_rdata());
        let mut r = Vec::with_capacity(36);
        r.extend_from_slice(&self.key_tag().to_be_bytes());
        r.push(self.algorithm.number());
        r.push(2);
        r.extend_from_slice(ctx.finish().as_ref());
        r
    }

    /// A signature over `data` in DNSSEC's encoding (r and s, 32 octets each, for P-256).
    pub fn sign(&self, data: &[u8]) -> Vec<u8> {
        match &self.pair {
            Pair::Ecdsa(p) => p
                .sign(&SystemRandom::new(), data)
                .expect("ECDSA signing fails only without randomness")
                .as_ref()
                .to_vec(),
            Pair::Ed25519(p) => p.sign(data).as_ref().to_vec(),
        }
    }

    /// Writes the key to `dir` as `K<tag>-<algorithm>-<flags>.json`, readable and writable by
    /// its owner only (created so, never widened), and returns the path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, KeyError> {
        use std::os::unix::fs::OpenOptionsExt;
        let io = |path: &Path| {
            let path = path.display().to_string();
            move |source| KeyError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join(format!(
            "K{:05}-{}-{}.json",
            self.key_tag(),
            self.algorithm.number(),
            self.flags
        ));
        let stored = Stored {
            algorithm: self.algorithm,
            flags: self.flags,
            created: self.created,
            pkcs8: data_encoding::BASE64.encode(&self.pkcs8),
            activate: self.activate,
            inactive: self.inactive,
            stopped: self.stopped,
        };
        let text = serde_json::to_string_pretty(&stored).expect("serializable");
        let tmp = path.with_extension("json.tmp");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(path)
    }

    /// Reads a key [`save`](Key::save) wrote. A key file others can read is refused: its
    /// secret may have been seen.
    pub fn load(path: &Path) -> Result<Key, KeyError> {
        use std::os::unix::fs::PermissionsExt;
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| KeyError::Io {
            path: shown.clone(),
            source,
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(KeyError::Format {
                path: shown,
                message: format!(
                    "mode {:o} lets others read the private key; it must be 600 (chmod 600, and consider the key exposed)",
                    meta.permissions().mode() & 0o777
                ),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: shown.clone(),
            source,
        })?;
        let format = |message: String| KeyError::Format {
            path: shown.clone(),
            message,
        };
        let s: Stored = serde_json::from_str(&text).map_err(|e| format(e.to_string()))?;
        let der = data_encoding::BASE64
            .decode(s.pkcs8.as_bytes())
            .map_err(|e| format(format!("pkcs8: {e}")))?;
        let mut key = Key::from_pkcs8(s.algorithm, s.flags, s.created, &der, &shown)?;
        key.activate = s.activate;
        key.inactive = s.inactive;
        key.stopped = s.stopped;
        Ok(key)
    }
}

/// A key as its file holds it.
#[derive(Serialize, Deserialize)]
struct Stored {
    algorithm: Algorithm,
    flags: u16,
    created: u64,
    /// The PKCS#8 document, base64.
    pkcs8: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    activate: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inactive: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stopped: Option<u64>,
}

/// RFC 4034 Appendix B's checksum over DNSKEY RDATA.
pub fn key_tag(rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, b) in rdata.iter().enumerate() {
        ac += if i & 1 == 1 {
            u32::from(*b)
        } else {
            u32::from(*b) << 8
        };
    }
    ac += (ac >> 16) & 0xFFFF;
    (ac & 0xFFFF) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_tag_is_rfc_4034s_checksum() {
        // Appendix B: 16-bit words summed, the carry added back once. Two words 0x0100 and
        // 0x0305 sum to 0x0405; 0xFFFF + 0x0002 carries into 0x0001 + 0x0001.
        assert_eq!(key_tag(&[0x01, 0x00, 0x03, 0x05]), 0x0405);
        assert_eq!(key_tag(&[0xFF, 0xFF, 0x00, 0x02]), 0x0002);
        // An odd length: the last octet is the high half of a word.
        assert_eq!(key_tag(&[0x00, 0x01, 0x02]), 0x0201);
    }

    #[test]
    fn a_saved_key_loads_back_and_others_cannot_read_its_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("policydns-key-{}", std::process::id()));
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let k = Key::generate(alg, SECURE_ENTRY_POINT, 1).unwrap();
            let path = k.save(&dir).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let back = Key::load(&path).unwrap();
            assert_eq!(back.dnskey_rdata(), k.dnskey_rdata());
            // A world-readable key file is refused by name.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = Key::load(&path).unwrap_err().to_string();
            assert!(e.contains("lets others read the private key"), "{e}");
            // A corrupt one too, with its path.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            std::fs::write(
                &path,
                "{\"algorithm\":\"Ed25519\",\"flags\":257,\"created\":1,\"pkcs8\":\"AAAA\"}",
            )
            .unwrap();
            let e = Key::load(&path).unwrap_err().to_string();
            assert!(e.contains(&path.display().to_string()), "{e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn public_keys_have_dnssecs_lengths() {
        let p256 = Key::generate(Algorithm::EcdsaP256Sha256, ZONE_KEY, 1).unwrap();
        assert_eq!(p256.dnskey_rdata().len(), 4 + 64);
        assert_eq!(p256.sign(b"x").len(), 64);
        let ed = Key::generate(Algorithm::Ed25519, ZONE_KEY, 1).unwrap();
        assert_eq!(ed.dnskey_rdata().len(), 4 + 32);
        assert_eq!(ed.sign(b"x").len(), 64);
    }
}
