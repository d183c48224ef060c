//! `policydns dnssec`: a zone's keys in the state directory (`keygen`, `status`), the DS
//! records for its parent (`ds`), and a zone file signed ahead of time (`sign`) for another
//! server to load (policydns serves `dnssec = true` zones itself; docs/dnssec.md).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::{Args, Subcommand, ValueEnum};
use policydns::dnssec::keyring::{KeyPolicy, Keyring, Role, Split};
use policydns::dnssec::sign::Validity;
use policydns::dnssec::zone::{sign_with, to_text, Denial, Rr};
use policydns::dnssec::Algorithm;
use policydns::wire::{name, types};

#[derive(Subcommand)]
pub enum Command {
    /// Make a zone's signing keys in DIR/dnssec/ZONE/ (refused if it has keys): one ECDSA
    /// P-256 combined signing key unless told otherwise.
    Keygen {
        /// The zone, e.g. example.com.
        origin: String,
        #[command(flatten)]
        state: StateDir,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Print the DS records (SHA-256) to give the zone's parent, one per secure entry point.
    Ds {
        origin: String,
        #[command(flatten)]
        state: StateDir,
    },
    /// Show a zone's keys: role, key tag, algorithm, when made, file, rollover times; their
    /// DS records; and the next rollover (with --config, from the zone's zsk_lifetime).
    Status {
        origin: String,
        #[command(flatten)]
        state: StateDir,
        /// The server's configuration file: its zsk_lifetime and zsk_overlap for this zone
        /// say when the next ZSK rollover starts.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Start a key rollover: a new key of ROLE beside the old one, both published and both
    /// signing (double signature, RFC 7583) from the server's next reload (SIGHUP). For a
    /// CSK or KSK, give the parent the new DS (`ds` prints both) before retiring the old key.
    Rollover {
        origin: String,
        #[command(flatten)]
        state: StateDir,
        /// The role to roll: csk (a zone with one combined key: the default), ksk or zsk.
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
    },
    /// End a rollover: retire the key TAG (moved to DIR/dnssec/ZONE/retired/), once its
    /// successor has been published for --wait-hours; the server drops it at its next reload.
    Retire {
        origin: String,
        /// The key tag of the key to retire (`status` lists them).
        tag: u16,
        #[command(flatten)]
        state: StateDir,
        /// Hours the successor must have been published: at least the DNSKEY TTL, and for a
        /// KSK or CSK the parent's DS TTL after its DS was changed.
        #[arg(long = "wait-hours", default_value_t = 48)]
        wait_hours: u64,
    },
    /// Sign a zone file ahead of time: the file as written, then DNSKEY, CDS, CDNSKEY, the
    /// NSEC (or NSEC3) chain and an RRSIG per RRset, for NSD, Knot or BIND to serve. Makes the zone's
    /// keys first if it has none.
    Sign(SignArgs),
}

#[derive(Args)]
pub struct StateDir {
    /// The state directory (the server's --state-dir): keys live in DIR/dnssec/ZONE/.
    #[arg(long = "state-dir", value_name = "DIR")]
    state_dir: PathBuf,
}

#[derive(Args)]
pub struct PolicyArgs {
    /// Key algorithm: ecdsap256sha256 (13, Route 53's and RFC 8624's recommendation) or
    /// ed25519 (15).
    #[arg(long, value_enum, default_value = "ecdsap256sha256")]
    algorithm: AlgorithmArg,
    /// A key-signing key and a zone-signing key instead of one combined key.
    #[arg(long = "ksk-zsk")]
    ksk_zsk: bool,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Csk,
    Ksk,
    Zsk,
}

#[derive(Clone, Copy, ValueEnum)]
enum AlgorithmArg {
    Ecdsap256sha256,
    Ed25519,
}

impl PolicyArgs {
    fn policy(&self) -> KeyPolicy {
        KeyPolicy {
            algorithm: match self.algorithm {
                AlgorithmArg::Ecdsap256sha256 => Algorithm::EcdsaP256Sha256,
                AlgorithmArg::Ed25519 => Algorithm::Ed25519,
            },
            split: if self.ksk_zsk {
                Split::KskZsk
            } else {
                Split::Combined
            },
        }
    }
}

#[derive(Args)]
pub struct SignArgs {
    /// The unsigned zone file.
    #[arg(value_name = "ZONEFILE")]
    file: PathBuf,
    /// The zone's name.
    #[arg(long)]
    origin: String,
    #[command(flatten)]
    state: StateDir,
    /// Where to write the signed zone (default: standard output).
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Days the signatures stay valid (sign again before then; RFC 6781 §4.4.2 lets
    /// validators judge inception and expiration against their clock).
    #[arg(long = "validity-days", default_value_t = 14, value_parser = clap::value_parser!(u32).range(1..=365))]
    validity_days: u32,
    /// Deny existence with NSEC3 (RFC 5155) instead of NSEC, with RFC 9276's parameters: no
    /// opt-out, no extra iterations, an empty salt.
    #[arg(long)]
    nsec3: bool,
    /// Keys to make when the zone has none.
    #[command(flatten)]
    policy: PolicyArgs,
}

pub fn run(cmd: &Command) -> anyhow::Result<()> {
    match cmd {
        Command::Keygen {
            origin,
            state,
            policy,
        } => {
            let origin = parse_origin(origin)?;
            let ring = Keyring::create(
                &state.state_dir,
                &origin,
                policy.policy(),
                policydns::clock::unix_now(),
            )?;
            print!("{}", describe(&origin, &ring));
            Ok(())
        }
        Command::Ds { origin, state } => {
            let origin = parse_origin(origin)?;
            let ring = Keyring::open(&state.state_dir, &origin)?;
            print!("{}", ds_lines(&origin, &ring));
            Ok(())
        }
        Command::Status {
            origin,
            state,
            config,
        } => {
            let origin = parse_origin(origin)?;
            let ring = Keyring::open(&state.state_dir, &origin)?;
            print!("{}", describe(&origin, &ring));
            let roll = match config {
                None => None,
                Some(path) => {
                    // The state directory given here is the one the server uses.
                    let overrides = policydns::config::Overrides {
                        state_dir: Some(state.state_dir.display().to_string()),
                        ..Default::default()
                    };
                    let config = policydns::config::Config::load(Some(path), &overrides)
                        .with_context(|| format!("{}", path.display()))?;
                    let spec = config.zones.iter().find(|z| z.origin == origin);
                    let Some(spec) = spec else {
                        bail!("{}: no zone {}", path.display(), name::to_text(&origin));
                    };
                    Some(spec.zsk_roll)
                }
            };
            print!("{}", next_rollover(&ring, roll));
            Ok(())
        }
        Command::Rollover {
            origin,
            state,
            role,
        } => {
            let origin = parse_origin(origin)?;
            let ring = Keyring::open(&state.state_dir, &origin)?;
            let role = match role {
                Some(RoleArg::Csk) => Role::Csk,
                Some(RoleArg::Ksk) => Role::Ksk,
                Some(RoleArg::Zsk) => Role::Zsk,
                None if ring.keys.iter().all(|k| ring.role(k) == Role::Csk) => Role::Csk,
                None => bail!("the zone has a KSK and a ZSK: give --role ksk or --role zsk"),
            };
            let (path, key) = Keyring::add(
                &state.state_dir,
                &origin,
                role,
                policydns::clock::unix_now(),
            )?;
            eprintln!(
                "new {} {} in {}; reload the server (SIGHUP) to publish it",
                role.as_str(),
                key.key_tag(),
                path.display()
            );
            let ring = Keyring::open(&state.state_dir, &origin)?;
            print!("{}", describe(&origin, &ring));
            Ok(())
        }
        Command::Retire {
            origin,
            tag,
            state,
            wait_hours,
        } => {
            let origin = parse_origin(origin)?;
            let to = Keyring::retire(
                &state.state_dir,
                &origin,
                *tag,
                wait_hours.saturating_mul(3600),
                policydns::clock::unix_now(),
            )?;
            eprintln!(
                "key {tag} retired to {}; reload the server (SIGHUP) to stop publishing it",
                to.display()
            );
            let ring = Keyring::open(&state.state_dir, &origin)?;
            print!("{}", describe(&origin, &ring));
            Ok(())
        }
        Command::Sign(args) => sign(args),
    }
}

fn parse_origin(text: &str) -> anyhow::Result<Vec<u8>> {
    let absolute = if text.ends_with('.') {
        text.to_string()
    } else {
        format!("{text}.")
    };
    let n = name::from_text(&absolute, None).with_context(|| format!("zone name {text:?}"))?;
    Ok(name::to_lowercase(&n))
}

/// `ORIGIN IN DS tag alg 2 digest` for each secure entry point, as `dnssec-dsfromkey` prints.
fn ds_lines(origin: &[u8], ring: &Keyring) -> String {
    let apex = name::to_text(origin);
    ring.keys
        .iter()
        .filter(|k| ring.role(k) != Role::Zsk)
        .map(|k| {
            let rr = Rr {
                owner: origin.to_vec(),
                ttl: 0,
                rtype: types::DS,
                rdata: k.ds_rdata(origin),
            };
            let text = to_text(&rr).expect("DS has a text form");
            // to_text writes `owner ttl IN DS ...`: without the TTL, the parent chooses it.
            let rdata = text.split_once(" IN DS ").map(|(_, r)| r).unwrap_or("");
            format!("{apex} IN DS {rdata}\n")
        })
        .collect()
}

/// When the next automatic ZSK rollover starts (`roll`: the zone's configured one, if the
/// configuration was given).
fn next_rollover(
    ring: &Keyring,
    roll: Option<Option<policydns::dnssec::keyring::ZskRoll>>,
) -> String {
    let at = |t: u64| policydns::clock::rfc3339(t as i64);
    let zsks: Vec<&policydns::dnssec::Key> = ring
        .keys
        .iter()
        .filter(|k| ring.role(k) == Role::Zsk)
        .collect();
    match roll {
        None => "Next ZSK rollover: give --config to see when zsk_lifetime starts it\n".into(),
        Some(None) => "Next ZSK rollover: none by itself (the zone has no zsk_lifetime)\n".into(),
        Some(Some(_)) if zsks.is_empty() => {
            "Next ZSK rollover: none (zsk_lifetime needs a KSK and a ZSK; this zone has a combined key)\n".into()
        }
        Some(Some(roll)) => {
            match zsks.iter().find(|k| k.inactive.is_none() && k.activate.is_none_or(|a| a <= policydns::clock::unix_now())) {
                Some(k) if zsks.len() == 1 => format!(
                    "Next ZSK rollover: a successor is published at the first load after {}, signs from {} on, and key {} retires {} later\n",
                    at(k.activate.unwrap_or(k.created) + roll.lifetime),
                    at(k.activate.unwrap_or(k.created) + roll.lifetime + roll.overlap),
                    k.key_tag(),
                    period(roll.overlap),
                ),
                _ => "Next ZSK rollover: after the one in progress\n".into(),
            }
        }
    }
}

/// A period as the configuration writes it: days, hours or seconds.
fn period(secs: u64) -> String {
    match secs {
        s if s > 0 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s > 0 && s % 3600 == 0 => format!("{}h", s / 3600),
        s => format!("{s}s"),
    }
}

/// The status listing: one line per key, then the DS records.
fn describe(origin: &[u8], ring: &Keyring) -> String {
    let mut s = format!(
        "zone {}  keys in {}\n",
        name::to_text(origin),
        ring.dir.display()
    );
    let now = policydns::clock::unix_now();
    let at = |t: u64| policydns::clock::rfc3339(t as i64);
    for (key, file) in ring.keys.iter().zip(&ring.files) {
        // Pre-publication's times (a ZSK rolled by zsk_lifetime): what the key does now.
        let doing = match (key.activate, key.inactive, key.stopped) {
            (_, _, Some(t)) => format!("  published, stopped signing {}", at(t)),
            (_, Some(t), None) if now >= t => {
                format!("  stops signing at the next load (due {})", at(t))
            }
            (_, Some(t), None) => format!("  signs until {}", at(t)),
            (Some(t), None, None) if now < t => format!("  published, signs from {}", at(t)),
            _ => String::new(),
        };
        s.push_str(&format!(
            "  {}  tag {:5}  algorithm {} ({})  flags {}  made {}  {}{doing}\n",
            ring.role(key).as_str(),
            key.key_tag(),
            key.algorithm.number(),
            match key.algorithm {
                Algorithm::EcdsaP256Sha256 => "ECDSAP256SHA256",
                Algorithm::Ed25519 => "ED25519",
            },
            key.flags,
            policydns::clock::rfc3339(key.created as i64),
            file.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    s.push_str("DS records for the parent:\n");
    for line in ds_lines(origin, ring).lines() {
        s.push_str(&format!("  {line}\n"));
    }
    let rolling: Vec<&str> = [Role::Csk, Role::Ksk, Role::Zsk]
        .into_iter()
        .filter(|r| ring.keys.iter().filter(|k| ring.role(k) == *r).count() > 1)
        .map(Role::as_str)
        .collect();
    let timed = ring
        .keys
        .iter()
        .any(|k| k.activate.is_some() || k.inactive.is_some());
    if timed && rolling == ["ZSK"] {
        s.push_str("Rollover: ZSK by pre-publication (zsk_lifetime) in progress: the new key is published before it signs, the old one stays published after it stops; each step happens at a load\n");
    } else if rolling.is_empty() {
        s.push_str("Rollover: none in progress (`policydns dnssec rollover` starts one; `zsk_lifetime` rolls a ZSK by itself)\n");
    } else {
        s.push_str(&format!(
            "Rollover: {} in progress: both keys publish and sign; retire the older with `policydns dnssec retire` once the newer has been published long enough\n",
            rolling.join(", ")
        ));
    }
    s
}

fn sign(args: &SignArgs) -> anyhow::Result<()> {
    let origin = parse_origin(&args.origin)?;
    let records = policydns::zone::parse::parse_file(&args.file, &origin).map_err(|e| {
        anyhow::anyhow!(
            "{}",
            e.problems
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    if let Some(r) = records
        .iter()
        .find(|r| matches!(r.rtype, types::DNSKEY | types::CDS | types::CDNSKEY))
    {
        bail!(
            "{}:{}: the zone carries {} records already; give the unsigned zone (policydns \
             adds the keys of DIR/dnssec/ZONE/)",
            r.file.display(),
            r.line,
            types::mnemonic(r.rtype)
        );
    }
    let ring = match Keyring::open(&args.state.state_dir, &origin) {
        Ok(r) => r,
        Err(policydns::dnssec::keyring::KeyringError::NoKeys(_)) => {
            let r = Keyring::create(
                &args.state.state_dir,
                &origin,
                args.policy.policy(),
                policydns::clock::unix_now(),
            )?;
            eprint!("made keys:\n{}", describe(&origin, &r));
            r
        }
        Err(e) => return Err(e.into()),
    }
    .at(policydns::clock::unix_now());
    let now = policydns::clock::unix_now() as u32;
    // An hour back, for validators whose clocks run behind ours.
    let validity = Validity {
        inception: now.saturating_sub(3600),
        expiration: now + args.validity_days * 86_400,
    };
    let rrs: Vec<Rr> = records
        .into_iter()
        .map(|r| Rr {
            owner: r.owner,
            ttl: r.ttl,
            rtype: r.rtype,
            rdata: r.rdata,
        })
        .collect();
    let denial = if args.nsec3 {
        Denial::Nsec3(Default::default())
    } else {
        Denial::Nsec
    };
    let added = sign_with(&origin, &rrs, &ring.keys, validity, &denial)?;
    let mut text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&format!(
        "\n; DNSSEC records made by policydns dnssec sign: signatures valid {} to {}\n",
        policydns::clock::rfc3339(validity.inception as i64),
        policydns::clock::rfc3339(validity.expiration as i64)
    ));
    for rr in &added {
        text.push_str(&to_text(rr).expect("the signer's records have a text form"));
        text.push('\n');
    }
    match &args.out {
        None => std::io::stdout().write_all(text.as_bytes())?,
        Some(path) => write_atomically(path, &text)?,
    }
    Ok(())
}

/// A reader never sees half a zone: write beside, then rename over.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("signing.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
