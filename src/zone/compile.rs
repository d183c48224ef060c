//! Records (from a master file, Route 53 JSON or a transfer) and routing-policy groups → a
//! [`Zone`]. Compilation runs in three steps: collect the records by owner and type into a
//! [`Builder`] (checking what a single record can break), check what the whole tree can break
//! (apex SOA and NS, CNAME beside other data, alias targets), then lay everything out in the
//! zone's arenas with the facts a lookup needs worked out once ([`TreeFacts`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::layout::Builder;
use super::{parse, rdata, GroupInput, LoadError, MemberTarget, ParseError, Zone, APEX};
use crate::wire::{name, types};

impl Zone {
    /// Reads and compiles a zone file. Warnings (ignored out-of-zone data, TTL mismatches) are
    /// returned beside the zone; anything that would make answers wrong is an error.
    pub fn load(origin: &[u8], path: &Path) -> Result<(Zone, Vec<String>), LoadError> {
        Self::load_with_groups(origin, path, Vec::new())
    }

    /// Loads a zone file and adds routing-policy groups (from the configuration) to it.
    pub fn load_with_groups(
        origin: &[u8],
        path: &Path,
        groups: Vec<GroupInput>,
    ) -> Result<(Zone, Vec<String>), LoadError> {
        let origin = name::to_lowercase(origin);
        let (mut zone, warnings) = compile_from(&origin, groups, |sink| {
            parse::parse_file_with(path, &origin, sink)
        })
        .map_err(|mut e| {
            // Zone-wide problems (no SOA, ...) have no line: name the file at least.
            for p in e
                .problems
                .iter_mut()
                .filter(|p| p.file.as_os_str().is_empty())
            {
                p.file = path.to_path_buf();
            }
            e
        })?;
        zone.source = Some(path.to_path_buf());
        zone.index_if_signed();
        Ok((zone, warnings))
    }

    /// Compiles parsed records into a zone.
    pub fn compile(
        origin: &[u8],
        records: Vec<parse::Record>,
    ) -> Result<(Zone, Vec<String>), LoadError> {
        // Records signed elsewhere (a transferred signed zone) are served signed.
        Self::compile_with_groups(origin, records, Vec::new()).map(|(mut zone, warnings)| {
            zone.index_if_signed();
            (zone, warnings)
        })
    }

    /// Compiles records and routing-policy groups that did not come from a zone file (a Route
    /// 53 export, tests).
    pub fn compile_with_groups(
        origin: &[u8],
        records: Vec<parse::Record>,
        groups: Vec<GroupInput>,
    ) -> Result<(Zone, Vec<String>), LoadError> {
        compile_from(origin, groups, |sink| {
            records.into_iter().for_each(sink);
            Ok(())
        })
    }

    /// A stand-in for a secondary zone that has no data: answers SERVFAIL.
    pub fn placeholder(origin: &[u8]) -> Zone {
        let origin = name::to_lowercase(origin);
        let file: Arc<Path> = Arc::from(Path::new("(secondary zone, not transferred yet)"));
        let mut soa = Vec::new();
        soa.extend_from_slice(&[0, 0]);
        soa.extend_from_slice(&[0u8; 20]);
        let records = vec![
            parse::Record {
                owner: origin.clone(),
                ttl: 0,
                rtype: types::SOA,
                rdata: soa,
                file: file.clone(),
                line: 0,
            },
            parse::Record {
                owner: origin.clone(),
                ttl: 0,
                rtype: types::NS,
                rdata: vec![0],
                file,
                line: 0,
            },
        ];
        let (mut zone, _) = Zone::compile(&origin, records).expect("a minimal zone compiles");
        zone.servfail = true;
        zone
    }

    /// Rewrites the SOA serial in place (a serial policy gave the zone a new one): in the
    /// record's RDATA, its pre-rendered form, and the negative-answer SOA. The serial sits 20
    /// octets before the end of the one SOA record in each.
    pub fn set_serial(&mut self, serial: u32) {
        let apex_soa = self
            .rrset(&self.nodes[APEX as usize], types::SOA)
            .copied()
            .expect("a compiled zone has an SOA");
        for span in [
            apex_soa.raw,
            apex_soa.wire,
            self.negative_soa.raw,
            self.negative_soa.wire,
        ] {
            if span.len >= 20 {
                let end = (span.off + span.len) as usize;
                self.bytes[end - 20..end - 16].copy_from_slice(&serial.to_be_bytes());
            }
        }
        self.serial = serial;
        if let Some(signer) = self.soa_signer.clone() {
            let soa = self
                .rdatas(&apex_soa)
                .next()
                .expect("a compiled zone has an SOA")
                .to_vec();
            self.replace_signatures(APEX, types::SOA, &(signer.0)(&soa));
        }
    }
}

/// Compiles the records `feed` hands over one by one (straight from the parser when loading a
/// file, so the zone is never held as a list of records).
fn compile_from(
    origin: &[u8],
    groups: Vec<GroupInput>,
    feed: impl FnOnce(&mut dyn FnMut(parse::Record)) -> Result<(), LoadError>,
) -> Result<(Zone, Vec<String>), LoadError> {
    let origin = name::to_lowercase(origin);
    let mut collector = Collector {
        builder: Builder::new(&origin),
        origin: &origin,
        warnings: Vec::new(),
        problems: Vec::new(),
        record_count: 0,
    };
    // A bad entry is reported and skipped: the rest is still read and checked, so one run
    // reports every problem.
    let parsed = feed(&mut |rec| collector.add(rec));
    collector.place_groups(&groups);
    let Collector {
        builder,
        mut warnings,
        mut problems,
        record_count,
        ..
    } = collector;
    if let Err(e) = parsed {
        problems.extend(e.problems);
    }
    problems.extend(check_aliases(&builder, &groups, &origin));
    problems.extend(check_tree(&builder, &origin));
    if !problems.is_empty() {
        problems.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        return Err(LoadError { problems });
    }
    let zone = builder.finish(&mut warnings, record_count, groups);
    Ok((zone, warnings))
}

/// Takes records one at a time into the builder, grouping them by owner, then type (keeping
/// the first-seen order of types), and checking what one record can get wrong.
struct Collector<'o> {
    builder: Builder,
    origin: &'o [u8],
    warnings: Vec<String>,
    problems: Vec<ParseError>,
    record_count: usize,
}

impl Collector<'_> {
    fn add(&mut self, rec: parse::Record) {
        self.record_count += 1;
        let origin = self.origin;
        let problem = |message: &str| ParseError {
            file: rec.file.to_path_buf(),
            line: rec.line,
            message: message.to_string(),
        };
        let owner = name::to_lowercase(&rec.owner);
        if !name::is_subdomain(&owner, origin) {
            // NSD's choice: out-of-zone data is ignored with a warning, not fatal.
            self.warnings.push(format!(
                "{}:{}: {} is outside zone {}, ignored",
                rec.file.display(),
                rec.line,
                name::to_text(&rec.owner),
                name::to_text(origin)
            ));
            return;
        }
        if rec.rtype == types::SOA && owner != origin {
            self.problems
                .push(problem("SOA record is allowed only at the zone apex"));
            return;
        }
        if rec.rtype == types::DS && owner == origin {
            // Knot and NSD load it too; BIND refuses. It is the parent's data: say so.
            self.warnings.push(format!(
                "{}:{}: DS at the apex of {} belongs in the parent zone",
                rec.file.display(),
                rec.line,
                name::to_text(origin)
            ));
        }
        let id = self.builder.node(&owner);
        let sets = &mut self.builder.sets[id as usize];
        let Some(set) = sets.iter_mut().find(|s| s.rtype == rec.rtype) else {
            let mut set = SetBuilder::new(rec.rtype, rec.ttl, (rec.file.clone(), rec.line));
            set.push(&rec.rdata);
            sets.push(set);
            return;
        };
        let canon = rdata::canonical(rec.rtype, &rec.rdata);
        if set
            .rdatas()
            .any(|d| rdata::canonical(rec.rtype, d) == canon)
        {
            return; // RFC 2181 §5: an RRset holds no duplicates.
        }
        // An RRSIG takes the TTL of the RRset it covers (RFC 4034 §3), so one node's
        // signatures differ in TTL by design.
        if set.ttl != rec.ttl && rec.rtype != types::RRSIG {
            self.warnings.push(format!(
                "{}:{}: TTL {} differs from {} of the rest of the {} RRset at {}; using {} (RFC 2181 §5.2)",
                rec.file.display(),
                rec.line,
                rec.ttl,
                set.ttl,
                types::mnemonic(rec.rtype),
                name::to_text(&rec.owner),
                set.ttl
            ));
        }
        let single = match rec.rtype {
            types::SOA => Some("a zone has exactly one SOA record"),
            types::CNAME => Some("a name can have only one CNAME record"),
            types::DNAME => Some("a name can have only one DNAME record"),
            _ => None,
        };
        match single {
            Some(message) => self.problems.push(problem(message)),
            None => set.push(&rec.rdata),
        }
    }

    /// Routing-policy groups take their place in the tree beside the zone-file data.
    fn place_groups(&mut self, groups: &[GroupInput]) {
        for (gi, g) in groups.iter().enumerate() {
            let owner = name::to_lowercase(&g.owner);
            let problem = |message: String| ParseError {
                file: PathBuf::from(&g.defined_at),
                line: 0,
                message,
            };
            if !name::is_subdomain(&owner, self.origin) {
                self.problems.push(problem(format!(
                    "{} is outside zone {}",
                    name::to_text(&owner),
                    name::to_text(self.origin)
                )));
                continue;
            }
            let id = self.builder.node(&owner);
            let sets = &mut self.builder.sets[id as usize];
            if g.replaces_file {
                sets.retain(|s| s.rtype != g.rtype || s.group != 0);
            }
            if let Some(s) = sets.iter().find(|s| s.rtype == g.rtype) {
                self.problems.push(problem(format!(
                    "{} {} has records in the zone file ({}:{}) and routing-policy record sets: keep one",
                    name::to_text(&owner),
                    types::mnemonic(g.rtype),
                    s.first.0.display(),
                    s.first.1
                )));
                continue;
            }
            let mut set = SetBuilder::new(
                g.rtype,
                g.members.first().map_or(0, |m| m.ttl),
                (Arc::from(Path::new(&g.defined_at)), 0),
            );
            set.group = gi as u32 + 1;
            sets.push(set);
        }
    }
}

/// Alias targets must be record sets of the same type in this zone (§4.1).
fn check_aliases(builder: &Builder, groups: &[GroupInput], origin: &[u8]) -> Vec<ParseError> {
    let mut problems = Vec::new();
    for g in groups {
        for m in &g.members {
            let MemberTarget::Alias { target, .. } = &m.target else {
                continue;
            };
            let lower = name::to_lowercase(target);
            let has_type = builder
                .find(&lower)
                .is_some_and(|id| builder.sets[id as usize].iter().any(|s| s.rtype == g.rtype));
            if !has_type {
                problems.push(ParseError {
                    file: PathBuf::from(&g.defined_at),
                    line: 0,
                    message: format!(
                        "{} {} ({}): alias target {} has no {} record set in zone {}",
                        name::to_text(&g.owner),
                        types::mnemonic(g.rtype),
                        m.id,
                        name::to_text(target),
                        types::mnemonic(g.rtype),
                        name::to_text(origin)
                    ),
                });
            }
        }
    }
    problems
}

/// What the whole tree must hold: an SOA and NS at the apex, and no CNAME beside other data.
fn check_tree(builder: &Builder, origin: &[u8]) -> Vec<ParseError> {
    let mut problems = Vec::new();
    let apex_problem = |message: &str| ParseError {
        file: PathBuf::new(),
        line: 0,
        message: format!("zone {}: {message}", name::to_text(origin)),
    };
    if builder.set(APEX, types::SOA).is_none() {
        problems.push(apex_problem("no SOA record at the apex"));
    }
    if builder.set(APEX, types::NS).is_none() {
        problems.push(apex_problem("no NS records at the apex"));
    }
    for id in 0..builder.names.len() as u32 {
        let Some(cname) = builder.set(id, types::CNAME) else {
            continue;
        };
        // RFC 1034 §3.6.2 and RFC 2181 §10.1; DNSSEC types may coexist (RFC 4035 §2.5).
        let mut others: Vec<String> = builder.sets[id as usize]
            .iter()
            .filter(|s| !matches!(s.rtype, types::CNAME | types::RRSIG | types::NSEC))
            .map(|s| types::mnemonic(s.rtype))
            .collect();
        others.sort();
        if !others.is_empty() {
            problems.push(ParseError {
                file: cname.first.0.to_path_buf(),
                line: cname.first.1,
                message: format!(
                    "CNAME at {} next to other data ({}) (RFC 1034 §3.6.2)",
                    name::to_text(&builder.names[id as usize]),
                    others.join(", ")
                ),
            });
        }
    }
    problems
}

/// One RRset while loading.
pub(super) struct SetBuilder {
    pub(super) rtype: u16,
    pub(super) ttl: u32,
    pub(super) count: u16,
    /// `[rdlength][rdata]` per record: one allocation per RRset while loading.
    pub(super) data: Vec<u8>,
    /// Where its first record was written: file and line.
    pub(super) first: (Arc<Path>, usize),
    /// As `RrSet::group`.
    pub(super) group: u32,
}

impl SetBuilder {
    pub(super) fn new(rtype: u16, ttl: u32, first: (Arc<Path>, usize)) -> Self {
        SetBuilder {
            rtype,
            ttl,
            count: 0,
            data: Vec::new(),
            first,
            group: 0,
        }
    }

    pub(super) fn push(&mut self, rdata: &[u8]) {
        self.data
            .extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        self.data.extend_from_slice(rdata);
        self.count += 1;
    }

    pub(super) fn rdatas(&self) -> impl Iterator<Item = &[u8]> {
        let data = &self.data[..];
        let mut pos = 0;
        std::iter::from_fn(move || {
            let len = u16::from_be_bytes(data.get(pos..pos + 2)?.try_into().ok()?) as usize;
            let r = &data[pos + 2..pos + 2 + len];
            pos += 2 + len;
            Some(r)
        })
    }
}
