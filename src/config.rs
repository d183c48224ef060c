//! The TOML configuration and the command line's quick mode, validated into one typed
//! [`Config`]. Problems are reported with what to change, before anything is served.
//!
//! ```toml
//! [server]
//! listen = ["127.0.0.1:5353", "[::1]:5353"]
//! udp_workers = 0            # 0 = one per core
//! edns_payload = 1232
//! minimal_responses = false  # true: no NS RRset in the authority section of positive answers
//! version = "policydns"      # CH TXT version.bind; "" refuses the query
//! identity = "ns1"           # CH TXT id.server; absent or "" refuses the query
//! nsid = "ns1"               # EDNS NSID; absent sends none
//! tcp_idle_timeout_secs = 10
//! tcp_max_connections = 1024
//!
//! [[zone]]
//! origin = "example.test."
//! file = "example.test.zone"   # relative to this config file
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::answer::Options;
use crate::zone::name;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config {path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    zone: Vec<ZoneSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<Vec<String>>,
    udp_workers: Option<usize>,
    edns_payload: Option<u16>,
    minimal_responses: Option<bool>,
    version: Option<String>,
    identity: Option<String>,
    nsid: Option<String>,
    tcp_idle_timeout_secs: Option<u64>,
    tcp_max_connections: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ZoneSection {
    origin: String,
    file: PathBuf,
}

/// A zone to serve: its apex and the master file it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneSpec {
    /// Lowercase wire form.
    pub origin: Vec<u8>,
    pub file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: Vec<SocketAddr>,
    /// True when the listen addresses are the built-in defaults: a default address that cannot
    /// be bound (no IPv6 on the host) is skipped with a warning rather than fatal.
    pub default_listen: bool,
    pub udp_workers: usize,
    pub tcp_idle_timeout: Duration,
    pub tcp_max_connections: usize,
    pub options: Options,
    pub zones: Vec<ZoneSpec>,
    /// The file this came from, re-read on SIGHUP.
    pub source: Option<PathBuf>,
}

pub const DEFAULT_LISTEN: [&str; 2] = ["127.0.0.1:5353", "[::1]:5353"];

/// What the command line adds to (or, without a file, is) the configuration.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Replaces the file's `listen` when given.
    pub listen: Vec<String>,
    /// `ORIGIN=FILE`, added to the file's zones.
    pub zones: Vec<String>,
    pub udp_workers: Option<usize>,
}

impl Config {
    /// Builds the configuration from an optional file and the command line.
    pub fn load(path: Option<&Path>, cli: &Overrides) -> Result<Config, ConfigError> {
        let (file, base) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.to_path_buf(),
                    source,
                })?;
                let file: File = toml::from_str(&text).map_err(|e| ConfigError::Syntax {
                    path: p.to_path_buf(),
                    message: e.to_string(),
                })?;
                (file, p.parent().map(Path::to_path_buf).unwrap_or_default())
            }
            None => (File::default(), PathBuf::new()),
        };
        let s = file.server;
        let mut errors = Vec::new();

        let (listen_text, default_listen) = if !cli.listen.is_empty() {
            (cli.listen.clone(), false)
        } else if let Some(l) = s.listen {
            (l, false)
        } else {
            (DEFAULT_LISTEN.iter().map(|s| s.to_string()).collect(), true)
        };
        let mut listen = Vec::new();
        for l in &listen_text {
            match l.parse::<SocketAddr>() {
                Ok(a) if !listen.contains(&a) => listen.push(a),
                Ok(a) => errors.push(format!("listen address {a} is given twice")),
                Err(_) => errors.push(format!(
                    "listen address {l:?} is not IP:PORT (IPv6 as [::1]:5353)"
                )),
            }
        }

        let mut zones: Vec<ZoneSpec> = Vec::new();
        let mut add_zone = |origin: &str, file: PathBuf, errors: &mut Vec<String>| {
            let text = if origin.ends_with('.') {
                origin.to_string()
            } else {
                format!("{origin}.")
            };
            match name::from_text(&text, None) {
                Ok(o) => {
                    let o = name::to_lowercase(&o);
                    if zones.iter().any(|z| z.origin == o) {
                        errors.push(format!("zone {text} is configured twice"));
                    } else {
                        zones.push(ZoneSpec { origin: o, file });
                    }
                }
                Err(e) => errors.push(format!("zone origin {origin:?}: {e}")),
            }
        };
        for z in file.zone {
            let f = if z.file.is_relative() {
                base.join(&z.file)
            } else {
                z.file.clone()
            };
            add_zone(&z.origin, f, &mut errors);
        }
        for spec in &cli.zones {
            match spec.split_once('=') {
                Some((o, f)) if !o.is_empty() && !f.is_empty() => add_zone(o, PathBuf::from(f), &mut errors),
                _ => errors.push(format!("--zone {spec:?}: expected ORIGIN=FILE, e.g. example.test.=zones/example.test.zone")),
            }
        }
        if zones.is_empty() {
            errors.push(
                "no zones to serve: add [[zone]] tables to the config or --zone ORIGIN=FILE".into(),
            );
        }

        let edns_payload = s.edns_payload.unwrap_or(1232);
        if !(512..=4096).contains(&edns_payload) {
            errors.push(format!(
                "edns_payload {edns_payload} must be between 512 and 4096"
            ));
        }
        let tcp_max_connections = s.tcp_max_connections.unwrap_or(1024);
        if tcp_max_connections == 0 {
            errors.push("tcp_max_connections must be at least 1".into());
        }
        let nonempty = |v: Option<String>| {
            v.filter(|s| !s.is_empty())
                .map(|s| s.into_bytes().into_boxed_slice())
        };
        let defaults = Options::default();
        let options = Options {
            edns_payload,
            minimal_responses: s.minimal_responses.unwrap_or(false),
            version: match s.version {
                Some(v) => nonempty(Some(v)),
                None => defaults.version,
            },
            identity: nonempty(s.identity),
            nsid: nonempty(s.nsid),
        };
        if !errors.is_empty() {
            return Err(ConfigError::Invalid(errors.join("\n")));
        }
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let udp_workers = match cli.udp_workers.or(s.udp_workers) {
            None | Some(0) => cores,
            Some(n) => n,
        };
        Ok(Config {
            listen,
            default_listen,
            udp_workers,
            tcp_idle_timeout: Duration::from_secs(s.tcp_idle_timeout_secs.unwrap_or(10).max(1)),
            tcp_max_connections,
            options,
            zones,
            source: path.map(Path::to_path_buf),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempdir::Dir, PathBuf) {
        let d = tempdir::Dir::new();
        let p = d.0.join("c.toml");
        std::fs::write(&p, text).unwrap();
        (d, p)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "policydns-config-test-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::Relaxed)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn zone_paths_are_relative_to_the_config_file() {
        let (d, p) = write("[[zone]]\norigin = \"example.test\"\nfile = \"e.zone\"\n");
        let c = Config::load(Some(&p), &Overrides::default()).unwrap();
        assert_eq!(c.zones[0].file, d.0.join("e.zone"));
        assert_eq!(
            c.zones[0].origin,
            name::from_text("example.test.", None).unwrap()
        );
        assert!(c.default_listen);
    }

    #[test]
    fn command_line_listen_replaces_and_zones_add() {
        let (_d, p) = write(
            "[server]\nlisten=[\"127.0.0.1:1\"]\n[[zone]]\norigin = \"a.test.\"\nfile = \"a\"\n",
        );
        let cli = Overrides {
            listen: vec!["127.0.0.1:2".into()],
            zones: vec!["b.test.=b".into()],
            udp_workers: None,
        };
        let c = Config::load(Some(&p), &cli).unwrap();
        assert_eq!(c.listen, vec!["127.0.0.1:2".parse().unwrap()]);
        assert_eq!(c.zones.len(), 2);
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let (_d, p) = write("[server]\nlisen = []\n");
        let e = Config::load(Some(&p), &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("lisen"), "{e}");
    }

    #[test]
    fn bad_values_are_all_reported() {
        let cli = Overrides {
            listen: vec!["localhost".into()],
            zones: vec!["nofile".into()],
            udp_workers: None,
        };
        let e = Config::load(None, &cli).unwrap_err().to_string();
        assert!(e.contains("IP:PORT") && e.contains("ORIGIN=FILE"), "{e}");
    }

    #[test]
    fn empty_version_refuses_version_queries() {
        let (_d, p) =
            write("[server]\nversion = \"\"\n[[zone]]\norigin = \"a.test.\"\nfile = \"a\"\n");
        let c = Config::load(Some(&p), &Overrides::default()).unwrap();
        assert!(c.options.version.is_none());
    }
}
