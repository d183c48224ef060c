//! Master-file interoperability: policydns's zone-file parser against BIND's.
//!
//! * `tests/zones/syntax/*.zone` are zone files written the way BIND, Knot and NSD users
//!   write them (directives, includes, parentheses, escapes, TTL units, RFC 3597 generic
//!   data, most common types). Each is loaded with `Zone::load` and dumped by BIND's
//!   `named-compilezone -o -` (full canonical text, one record per line, every name
//!   absolute); the two must hold the same multiset of
//!   (lowercase owner, type, TTL, uncompressed RDATA wire form).
//! * Zone files shipped by Debian packages, when installed, get the same comparison:
//!   `/etc/bind/db.{local,127,0,255,empty}` (bind9) and the IANA root hints and root
//!   trust-anchor keys in `/usr/share/dns/` (dns-root-data), the latter through a small
//!   generated zone that `$INCLUDE`s them (they have no SOA of their own).
//! * `tests/zones/syntax/broken/*.zone` each hold one error at a known line (table
//!   `BROKEN`): `Zone::load` must fail and its first problem must name that file and line.
//!   `named-checkzone`'s verdict is asserted too (the table says where BIND accepts what we
//!   reject, and why).
//! * NSD's `nsd-checkzone` and Knot's `kzonecheck` verdicts on every file are printed, never
//!   asserted, with the disagreements listed.
//! * `tests/zones/rdata/*.zone` hold every RDATA type policydns reads, from the RFCs' own
//!   examples (relative names, SVCB parameters out of order, edge forms). There the oracle is a
//!   running server, not a converter: `named` (and `knotd`, for the file Knot reads) serve them
//!   on 127.0.0.1, `dig +unknownformat` prints each record's RDATA as the octets on the wire,
//!   and `Zone::load` and a running `policydns serve` must give the same octets
//!   (`every_rdata_type_loads_and_is_served_as_bind_serves_it`). `named-checkzone` and
//!   `kzonecheck` must accept those files: that test needs Knot (`knot`, `knot-dnssecutils`).
//!
//! BIND's text is turned into wire form by this file's own small converter (names,
//! character-strings, `\# len hex`, and the per-type layouts below), not by policydns's code.
//! hickory-proto's `RData::try_from_str` + `emit` is used as a cross-check of that converter
//! where it is reliable: hickory-proto 0.26 reads `\DDD` in names as octal and in quoted
//! strings as `(d1<<16)+(d2<<8)+d3` (a Unicode scalar), and cannot parse DNAME, DNSKEY or
//! unknown types at all, so only backslash-free ASCII text of a few types is cross-checked.
//!
//! BIND, NSD and Knot resolve relative `$INCLUDE` paths differently (working directory vs the
//! including file); every tool is run with the zone file's directory as working directory, and
//! the test files only `$INCLUDE` from top-level files, so all readings agree.
//!
//! BIND must be installed (`named-compilezone`, `named-checkzone`: `scripts/install-test-deps.sh`);
//! the tests fail, they do not skip, when it is missing. NSD and Knot are optional (Knot's
//! `kzonecheck` is in Debian's knot-dnssecutils package).
//!
//! Run: `cargo test --test zonefile_interop -- --nocapture` (the tables are printed).

mod common;
use common::{dns_ready, find_tool, require_tool, serve, start_on_free_port, Proc, TempDir};

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use hickory_proto::rr::{RData, RecordType};
use hickory_proto::serialize::binary::{BinEncodable, BinEncoder, NameEncoding};
use policydns::wire::name;
use policydns::zone::Zone;

// ---------------------------------------------------------------------------
// the files
// ---------------------------------------------------------------------------

/// Good files in `tests/zones/syntax/`, with the origin they are loaded under.
const GOOD: &[(&str, &str)] = &[
    ("example.zone", "example.test."),
    ("escapes.zone", "escapes.test."),
    ("origins.zone", "origins.test."),
    ("include-edge.zone", "edge.test."),
    ("rfc1035-ttl.zone", "legacy.test."),
    ("ttl-class.zone", "ttl.test."),
    ("reverse.zone", "2.0.192.in-addr.arpa."),
    ("ip6-reverse.zone", "8.b.d.0.1.0.0.2.ip6.arpa."),
    ("crlf.zone", "crlf.test."),
    ("generic.zone", "rfc3597.test."),
    // Master files are octets (RFC 1035 section 5.1); BIND and NSD read ISO 8859-1 bytes.
    ("latin1.zone", "latin1.test."),
    // Names in RDATA compare without regard to case (RFC 4343): NS/MX duplicates collapse.
    ("duplicates.zone", "dup.test."),
    // Likewise: one CNAME written twice is not two CNAMEs.
    ("duplicate-cname.zone", "dupcname.test."),
    // SOA REFRESH/RETRY/EXPIRE are 32-bit unsigned (RFC 1035 section 3.3.13), not TTLs.
    ("soa-timers.zone", "timers.test."),
    // DS algorithm mnemonics (RFC 4034 section 5.3).
    ("dnssec-mnemonics.zone", "mnemonic.test."),
];

/// What policydns must do with a broken file.
#[derive(Clone, Copy, PartialEq)]
enum Want {
    /// `Zone::load` fails; its first problem names `in_file` and `line`.
    Reject,
    /// Either that, or the zone loads with a warning naming `in_file:line` (data that is
    /// dead rather than harmful; servers differ on whether it is fatal).
    RejectOrWarn,
}

/// What `named-checkzone` does with it.
#[derive(Clone, Copy)]
enum Bind {
    Rejects,
    /// BIND loads the file; the text says how it reads the error instead.
    Accepts(&'static str),
}

struct Broken {
    file: &'static str,
    /// The file the error is in, relative to `broken/` (an included file for one case).
    in_file: &'static str,
    /// 1-based line of the error; 0 for zone-level problems with no line (missing SOA), where
    /// the problem must still name the zone file.
    line: usize,
    /// Lowercase text the first problem's message must contain.
    says: &'static str,
    want: Want,
    bind: Bind,
}

const fn broken(file: &'static str, line: usize, says: &'static str) -> Broken {
    Broken {
        file,
        in_file: file,
        line,
        says,
        want: Want::Reject,
        bind: Bind::Rejects,
    }
}

/// Broken files in `tests/zones/syntax/broken/`, all under origin `broken.test.`.
const BROKEN: &[Broken] = &[
    broken("bad-ipv4.zone", 7, "ipv4"),
    broken("bad-ipv6.zone", 6, "ipv6"),
    // BIND reports line 10 (end of file, where it notices); the '(' opened on line 6.
    broken("unclosed-paren.zone", 6, "not closed"),
    broken("stray-paren.zone", 6, "')'"),
    broken("unknown-type.zone", 7, "unknown record type"),
    broken("long-label.zone", 6, "63"),
    broken("missing-soa.zone", 0, "soa"),
    broken("cname-and-a.zone", 8, "cname"),
    broken("two-soa.zone", 7, "soa"),
    broken("soa-not-apex.zone", 7, "apex"),
    broken("bad-escape.zone", 6, "escape"),
    broken("missing-include.zone", 7, "does-not-exist.inc"),
    // Directives start in column 1 (RFC 1035 section 5.1); BIND and NSD agree.
    broken("indented-directive.zone", 6, "$ttl"),
    Broken {
        // RFC 2181 section 8: a TTL with the top bit set. BIND, NSD and Knot all load it
        // (BIND: "$TTL 2147483648 > MAXTTL, setting $TTL to 0", a warning); policydns
        // refuses to serve a TTL the author cannot have meant.
        bind: Bind::Accepts("BIND warns and uses TTL 0 (RFC 2181 section 8)"),
        ..broken("ttl-too-big.zone", 7, "2147483647")
    },
    broken("unterminated-quote.zone", 6, "quoted string"),
    broken("txt-too-long.zone", 6, "255"),
    broken("generic-length.zone", 6, "length"),
    broken("bad-ttl-unit.zone", 6, "ttl"),
    broken("other-class.zone", 6, "only in"),
    broken("svcb-duplicate-key.zone", 6, "port given twice"),
    broken(
        "svcb-mandatory-missing.zone",
        6,
        "lists port which is not given",
    ),
    broken("loc-latitude.zone", 6, "loc latitude 91 out of range"),
    broken("apl-prefix.zone", 6, "apl prefix"),
    broken("eui48-short.zone", 6, "eui-48"),
    Broken {
        in_file: "include/bad-mx.inc",
        ..broken("error-in-include.zone", 3, "mx")
    },
    Broken {
        // RFC 4035 section 2.4 / RFC 4034 section 5: DS exists only on the parent side of
        // a cut, so an apex DS is never served (DS queries for the apex go to the parent
        // zone). BIND refuses the zone ("DS record at top of zone"); NSD and Knot load it
        // silently. Rejecting or warning are both acceptable; silently keeping it is not.
        want: Want::RejectOrWarn,
        ..broken("ds-at-apex.zone", 7, "ds")
    },
];

/// Zone files shipped by Debian packages: (path, origin, package).
const DEBIAN: &[(&str, &str, &str)] = &[
    ("/etc/bind/db.local", "localhost.", "bind9"),
    ("/etc/bind/db.127", "127.in-addr.arpa.", "bind9"),
    ("/etc/bind/db.0", "0.in-addr.arpa.", "bind9"),
    ("/etc/bind/db.255", "255.in-addr.arpa.", "bind9"),
    // Used by /etc/bind/zones.rfc1918 for every RFC 1918 reverse zone.
    ("/etc/bind/db.empty", "10.in-addr.arpa.", "bind9"),
];

/// IANA files shipped by dns-root-data, without an SOA of their own: each is `$INCLUDE`d by a
/// generated root zone. (root.ds is left out: a DS at the apex is not zone data, see
/// ds-at-apex.zone.)
const DEBIAN_INCLUDED: &[(&str, &str)] = &[
    ("/usr/share/dns/root.hints", "dns-root-data"),
    ("/usr/share/dns/root.key", "dns-root-data"),
];

fn syntax_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zones/syntax")
}

// ---------------------------------------------------------------------------
// tools
// ---------------------------------------------------------------------------

/// A BIND 9 tool (bind9-utils), or a failure saying how to install it.
fn require_bind_tool(prog: &str) -> PathBuf {
    require_tool(prog, "bind9-utils")
}

/// Runs a checker from the zone file's directory, so relative `$INCLUDE`s resolve the same
/// way for every tool.
fn run(prog: &Path, args: &[&str], file: &Path) -> Output {
    let dir = file.parent().expect("zone file has a directory");
    let mut cmd = Command::new(prog);
    cmd.args(args).arg(file).current_dir(dir);
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", prog.display()))
}

/// BIND's checks that are about data rather than syntax are relaxed: `-i local` (no lookups
/// of out-of-zone names), `-k ignore` (names like `space\032name` are not host names, which
/// is a policy check, not a master-file one), `-n`/`-T`/`-W ignore` likewise.
const BIND_ARGS: &[&str] = &[
    "-i", "local", "-k", "ignore", "-n", "ignore", "-T", "ignore", "-W", "ignore",
];

/// `named-compilezone -o -`: the zone in canonical text on stdout, or BIND's complaints.
fn bind_dump(file: &Path, origin: &str) -> Result<String, String> {
    let prog = require_bind_tool("named-compilezone");
    let mut args = BIND_ARGS.to_vec();
    args.extend(["-o", "-", origin]);
    let out = run(&prog, &args, file);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(stderr.trim().to_string())
    }
}

/// `named-checkzone`'s verdict: Ok(()) or its first complaint.
fn bind_verdict(file: &Path, origin: &str) -> Result<(), String> {
    let prog = require_bind_tool("named-checkzone");
    let mut args = BIND_ARGS.to_vec();
    args.push(origin);
    let out = run(&prog, &args, file);
    verdict_of(&out)
}

fn verdict_of(out: &Output) -> Result<(), String> {
    if out.status.success() {
        return Ok(());
    }
    // Diagnostics first (stderr), then summaries (stdout); skip headers and summaries.
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| {
            !(l.is_empty()
                || l.starts_with("Error summary")
                || l.contains("failed to run semantic checks")
                || (l.starts_with("zone ") && l.contains(" errors")))
        })
        .unwrap_or("(no message)");
    // nsd-checkzone prefixes a timestamp and pid; keep the message.
    let first = first.split("]: ").last().unwrap_or(first);
    Err(first.to_string())
}

/// NSD's and Knot's verdicts, when installed (informational).
fn other_verdicts(file: &Path, origin: &str) -> Vec<(&'static str, Verdict)> {
    let nsd = find_tool("nsd-checkzone").map(|p| verdict_of(&run(&p, &[origin], file)));
    let knot = find_tool("kzonecheck").map(|p| verdict_of(&run(&p, &["-v", "-o", origin], file)));
    vec![("NSD", nsd), ("Knot", knot)]
}

fn show_verdict(v: &Verdict) -> String {
    match v {
        None => "not installed".into(),
        Some(Ok(())) => "accepts".into(),
        Some(Err(e)) => format!("rejects ({e})"),
    }
}

// ---------------------------------------------------------------------------
// records as comparable keys
// ---------------------------------------------------------------------------

/// (lowercase owner wire, type, TTL, RDATA wire)
type Key = (Vec<u8>, u16, u32, Vec<u8>);

/// (owner, type) -> (BIND's records, policydns's records)
type Groups = BTreeMap<(Vec<u8>, u16), (Vec<Key>, Vec<Key>)>;

/// A checker's verdict: None when it is not installed.
type Verdict = Option<Result<(), String>>;

fn show_key(k: &Key) -> String {
    format!(
        "{} {} {} {}",
        name::to_text(&k.0),
        k.2,
        type_name(k.1),
        show_rdata(k.1, &k.3)
    )
}

/// A readable rendering of the common types; `[hex]` for the rest.
fn show_rdata(rtype: u16, rd: &[u8]) -> String {
    let raw = format!("[{}]", hex(rd));
    let strings = |mut b: &[u8]| {
        let mut v = Vec::new();
        while let Some((&n, rest)) = b.split_first() {
            let n = (n as usize).min(rest.len());
            v.push(format!("{:?}", String::from_utf8_lossy(&rest[..n])));
            b = &rest[n..];
        }
        v.join(" ")
    };
    match (type_name(rtype).as_str(), rd.len()) {
        ("A", 4) => Ipv4Addr::from(<[u8; 4]>::try_from(rd).unwrap()).to_string(),
        ("AAAA", 16) => Ipv6Addr::from(<[u8; 16]>::try_from(rd).unwrap()).to_string(),
        ("NS" | "CNAME" | "PTR" | "DNAME", _) => name::to_text(rd),
        ("MX", 3..) => format!(
            "{} {}",
            u16::from_be_bytes([rd[0], rd[1]]),
            name::to_text(&rd[2..])
        ),
        ("TXT" | "SPF", _) => strings(rd),
        _ => raw,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What policydns will serve: every RRset of the compiled zone.
fn policydns_records(zone: &Zone) -> BTreeMap<Key, usize> {
    let mut out = BTreeMap::new();
    for node in &zone.nodes {
        for set in zone.rrsets(node) {
            for rd in zone.rdatas(set) {
                let key = (
                    name::to_lowercase(zone.name(node)),
                    set.rtype,
                    set.ttl,
                    rd.to_vec(),
                );
                *out.entry(key).or_insert(0) += 1;
            }
        }
    }
    out
}

/// BIND's dump as keys, each with the line it came from.
fn bind_records(dump: &str) -> Result<BTreeMap<Key, (usize, String)>, String> {
    let mut out: BTreeMap<Key, (usize, String)> = BTreeMap::new();
    for line in dump.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('$') {
            continue;
        }
        let toks = tokenize(line).map_err(|e| format!("{e} in BIND line {line:?}"))?;
        let [owner, ttl, class, rtype, rdata @ ..] = &toks[..] else {
            return Err(format!("short BIND line {line:?}"));
        };
        if class.text != "IN" {
            return Err(format!("class {} in BIND line {line:?}", class.text));
        }
        let owner = wire_name(&owner.text).map_err(|e| format!("owner: {e} in {line:?}"))?;
        let ttl: u32 = ttl.text.parse().map_err(|_| format!("TTL in {line:?}"))?;
        let rtype = type_code(&rtype.text).ok_or_else(|| {
            format!(
                "this test's converter does not know type {} ({line:?})",
                rtype.text
            )
        })?;
        let rdata = bind_rdata(rtype, rdata).map_err(|e| format!("{e} in BIND line {line:?}"))?;
        if let Some(check) = hickory_rdata(rtype, rdata_text(line)) {
            // hickory-proto's name parser lowercases; compare names case-insensitively.
            let same = if has_names(rtype) {
                check.eq_ignore_ascii_case(&rdata)
            } else {
                check == rdata
            };
            if !same {
                return Err(format!(
                    "test converter bug: hickory-proto reads {line:?} as [{}], this file as [{}]",
                    hex(&check),
                    hex(&rdata)
                ));
            }
        }
        let key = (owner.to_ascii_lowercase(), rtype, ttl, rdata);
        out.entry(key).or_insert((0, line.to_string())).0 += 1;
    }
    Ok(out)
}

/// The text after the fourth field of a BIND line (for the hickory-proto cross-check).
fn rdata_text(line: &str) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..4 {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest
}

/// Compares policydns's reading of `file` with BIND's. Ok(number of records) or a report.
fn compare_with_bind(file: &Path, origin: &str) -> Result<usize, String> {
    let origin_wire = name::from_text(origin, None).expect("origin in the table is valid");
    let dump = bind_dump(file, origin)
        .map_err(|e| format!("BIND refuses it (test data bug?):\n      {e}"))?;
    let theirs = bind_records(&dump)?;
    let ours = match Zone::load(&origin_wire, file) {
        Ok((zone, warnings)) => {
            for w in &warnings {
                println!("    policydns warning: {w}");
            }
            policydns_records(&zone)
        }
        Err(e) => {
            return Err(format!(
                "policydns refuses a file BIND loads:\n      {}",
                e.to_string().replace('\n', "\n      ")
            ))
        }
    };

    // Compared RRset by RRset: exactly first; where that fails, again with the names inside
    // RDATA case-folded, since which spelling of a duplicate survives is not specified.
    let mut groups: Groups = BTreeMap::new();
    for (key, (n, _)) in &theirs {
        let g = groups.entry((key.0.clone(), key.1)).or_default();
        g.0.extend(std::iter::repeat_n(key.clone(), *n));
    }
    for (key, n) in &ours {
        let g = groups.entry((key.0.clone(), key.1)).or_default();
        g.1.extend(std::iter::repeat_n(key.clone(), *n));
    }
    let mut report = String::new();
    for ((owner, rtype), (bind, mine)) in &groups {
        if bind == mine {
            continue;
        }
        let folded = |v: &Vec<Key>| {
            let mut f: Vec<(u32, Vec<u8>)> = v
                .iter()
                .map(|k| (k.2, fold_rdata_names(k.1, &k.3)))
                .collect();
            f.sort();
            f
        };
        if folded(bind) == folded(mine) {
            println!(
                "    note: {} {}: same records up to the case of names in RDATA",
                name::to_text(owner),
                type_name(*rtype)
            );
            continue;
        }
        for key in bind.iter().filter(|k| !mine.contains(k)) {
            let line = &theirs[key].1;
            let _ = writeln!(
                report,
                "      BIND has, policydns lacks: {}\n          BIND text: {}",
                show_key(key),
                line.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }
        for key in mine.iter().filter(|k| !bind.contains(k)) {
            let _ = writeln!(report, "      policydns has, BIND lacks: {}", show_key(key));
        }
        if bind.iter().all(|k| mine.contains(k)) && mine.iter().all(|k| bind.contains(k)) {
            let _ = writeln!(
                report,
                "      {} {}: {} record(s) in BIND, {} in policydns (duplicates?)",
                name::to_text(owner),
                type_name(*rtype),
                bind.len(),
                mine.len()
            );
        }
    }
    if report.is_empty() {
        Ok(theirs.values().map(|t| t.0).sum())
    } else {
        Err(format!("records differ:\n{report}"))
    }
}

/// RDATA with the domain names inside it lowercased, for the types whose names compare
/// without regard to case (RFC 4034 section 6.2 list). Label-length octets are below 64, so
/// ASCII-lowercasing a whole wire name never changes them.
fn fold_rdata_names(rtype: u16, rdata: &[u8]) -> Vec<u8> {
    let mut out = rdata.to_vec();
    let from = match type_name(rtype).as_str() {
        "NS" | "CNAME" | "PTR" | "DNAME" => Some((0, 0)),
        "MX" => Some((2, 0)),
        "SRV" => Some((6, 0)),
        "SOA" => Some((0, 20)),
        "NAPTR" => {
            let mut p = 4;
            for _ in 0..3 {
                p += 1 + *rdata.get(p).unwrap_or(&0) as usize;
            }
            Some((p, 0))
        }
        _ => None,
    };
    if let Some((start, tail)) = from {
        let end = out.len().saturating_sub(tail);
        if start <= end {
            out[start..end].make_ascii_lowercase();
        }
    }
    out
}

// ---------------------------------------------------------------------------
// BIND presentation text -> wire (this test's own reading, RFC 1035 section 5.1)
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct Tok {
    /// As written, escapes kept, quotes removed.
    text: String,
    quoted: bool,
}

fn tokenize(line: &str) -> Result<Vec<Tok>, String> {
    let b = line.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let quoted = c == b'"';
        if quoted {
            i += 1;
        }
        let start = i;
        loop {
            match b.get(i) {
                None if quoted => return Err("unterminated quote".into()),
                None => break,
                Some(b'\\') => i += 2,
                Some(b'"') if quoted => break,
                Some(c) if !quoted && c.is_ascii_whitespace() => break,
                Some(_) => i += 1,
            }
        }
        let end = i.min(b.len());
        toks.push(Tok {
            text: line[start..end].to_string(),
            quoted,
        });
        if quoted {
            i += 1;
        }
    }
    Ok(toks)
}

/// Decodes `\DDD` (decimal) and `\X` escapes.
fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1..i + 4) {
            Some(d) if d.iter().all(u8::is_ascii_digit) => {
                let v: u32 = std::str::from_utf8(d).unwrap().parse().unwrap();
                out.push(u8::try_from(v).map_err(|_| format!("escape \\{v} > 255"))?);
                i += 4;
            }
            _ => {
                let x = *b.get(i + 1).ok_or("backslash at end")?;
                if x.is_ascii_digit() {
                    return Err("short decimal escape".into());
                }
                out.push(x);
                i += 2;
            }
        }
    }
    Ok(out)
}

/// An absolute presentation name to wire form (BIND's dump has only absolute names).
fn wire_name(text: &str) -> Result<Vec<u8>, String> {
    if text == "." {
        return Ok(vec![0]);
    }
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut label = String::new();
    let mut i = 0;
    let mut absolute = false;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let n = if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    4
                } else {
                    2
                };
                label.push_str(text.get(i..i + n).ok_or("bad escape")?);
                i += n;
            }
            b'.' => {
                let l = unescape(&label)?;
                if l.is_empty() || l.len() > 63 {
                    return Err(format!("bad label in {text:?}"));
                }
                out.push(l.len() as u8);
                out.extend_from_slice(&l);
                label.clear();
                absolute = i + 1 == b.len();
                i += 1;
            }
            _ => {
                label.push(b[i] as char);
                i += 1;
            }
        }
    }
    if !absolute || !label.is_empty() {
        return Err(format!("name {text:?} is not absolute"));
    }
    out.push(0);
    Ok(out)
}

const TYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("CNAME", 5),
    ("SOA", 6),
    ("PTR", 12),
    ("HINFO", 13),
    ("MX", 15),
    ("TXT", 16),
    ("AAAA", 28),
    ("SRV", 33),
    ("NAPTR", 35),
    ("DNAME", 39),
    ("DS", 43),
    ("SSHFP", 44),
    ("DNSKEY", 48),
    ("TLSA", 52),
    ("SPF", 99),
    ("CAA", 257),
];

fn type_code(m: &str) -> Option<u16> {
    if let Some(n) = m.strip_prefix("TYPE") {
        return n.parse().ok();
    }
    TYPES.iter().find(|(t, _)| *t == m).map(|&(_, c)| c)
}

fn type_name(code: u16) -> String {
    TYPES
        .iter()
        .find(|&&(_, c)| c == code)
        .map(|(t, _)| t.to_string())
        .unwrap_or_else(|| format!("TYPE{code}"))
}

struct Fields<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn next(&mut self) -> Result<&'a Tok, String> {
        let t = self.toks.get(self.pos).ok_or("missing field")?;
        self.pos += 1;
        Ok(t)
    }
    fn int<T: std::str::FromStr>(
        &mut self,
        out: &mut Vec<u8>,
        be: fn(T) -> Vec<u8>,
    ) -> Result<(), String> {
        let t = self.next()?;
        let v: T = t
            .text
            .parse()
            .map_err(|_| format!("bad number {:?}", t.text))?;
        out.extend(be(v));
        Ok(())
    }
    fn u8(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        self.int::<u8>(out, |v| vec![v])
    }
    fn u16(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        self.int::<u16>(out, |v| v.to_be_bytes().to_vec())
    }
    fn u32(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        self.int::<u32>(out, |v| v.to_be_bytes().to_vec())
    }
    fn name(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend(wire_name(&self.next()?.text)?);
        Ok(())
    }
    fn string(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        let s = unescape(&self.next()?.text)?;
        out.push(u8::try_from(s.len()).map_err(|_| "string > 255")?);
        out.extend(s);
        Ok(())
    }
    fn rest(&mut self) -> String {
        let s = self.toks[self.pos..]
            .iter()
            .map(|t| t.text.as_str())
            .collect();
        self.pos = self.toks.len();
        s
    }
    fn hex_rest(&mut self, out: &mut Vec<u8>) -> Result<(), String> {
        out.extend(unhex(&self.rest())?);
        Ok(())
    }
    fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("odd hex".into());
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| format!("bad hex {s:?}")))
        .collect()
}

fn unbase64(s: &str) -> Result<Vec<u8>, String> {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes().filter(|&c| c != b'=') {
        let v = ALPHA.iter().position(|&a| a == c).ok_or("bad base64")? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}

/// One record's RDATA as BIND prints it, to wire form.
fn bind_rdata(rtype: u16, toks: &[Tok]) -> Result<Vec<u8>, String> {
    let mut f = Fields { toks, pos: 0 };
    let mut out = Vec::new();
    if toks.first().is_some_and(|t| !t.quoted && t.text == "\\#") {
        f.pos = 1;
        let len: usize = f.next()?.text.parse().map_err(|_| "bad \\# length")?;
        f.hex_rest(&mut out)?;
        if out.len() != len {
            return Err("\\# length mismatch".into());
        }
        return Ok(out);
    }
    match type_name(rtype).as_str() {
        "A" => {
            let ip: Ipv4Addr = f.next()?.text.parse().map_err(|_| "bad IPv4")?;
            out.extend(ip.octets());
        }
        "AAAA" => {
            let ip: Ipv6Addr = f.next()?.text.parse().map_err(|_| "bad IPv6")?;
            out.extend(ip.octets());
        }
        "NS" | "CNAME" | "PTR" | "DNAME" => f.name(&mut out)?,
        "MX" => {
            f.u16(&mut out)?;
            f.name(&mut out)?;
        }
        "SOA" => {
            f.name(&mut out)?;
            f.name(&mut out)?;
            for _ in 0..5 {
                f.u32(&mut out)?;
            }
        }
        "SRV" => {
            for _ in 0..3 {
                f.u16(&mut out)?;
            }
            f.name(&mut out)?;
        }
        "NAPTR" => {
            f.u16(&mut out)?;
            f.u16(&mut out)?;
            for _ in 0..3 {
                f.string(&mut out)?;
            }
            f.name(&mut out)?;
        }
        "TXT" | "SPF" => {
            while !f.done() {
                f.string(&mut out)?;
            }
        }
        "HINFO" => {
            f.string(&mut out)?;
            f.string(&mut out)?;
        }
        "CAA" => {
            f.u8(&mut out)?;
            let tag = f.next()?.text.as_bytes();
            out.push(tag.len() as u8);
            out.extend(tag);
            out.extend(unescape(&f.next()?.text)?);
        }
        "DS" => {
            f.u16(&mut out)?;
            f.u8(&mut out)?;
            f.u8(&mut out)?;
            f.hex_rest(&mut out)?;
        }
        "SSHFP" => {
            f.u8(&mut out)?;
            f.u8(&mut out)?;
            f.hex_rest(&mut out)?;
        }
        "TLSA" => {
            for _ in 0..3 {
                f.u8(&mut out)?;
            }
            f.hex_rest(&mut out)?;
        }
        "DNSKEY" => {
            f.u16(&mut out)?;
            f.u8(&mut out)?;
            f.u8(&mut out)?;
            out.extend(unbase64(&f.rest())?);
        }
        other => return Err(format!("no RDATA layout for {other}")),
    }
    if !f.done() {
        return Err("trailing RDATA fields".into());
    }
    Ok(out)
}

fn has_names(rtype: u16) -> bool {
    matches!(
        type_name(rtype).as_str(),
        "NS" | "CNAME" | "PTR" | "MX" | "SOA" | "SRV"
    )
}

/// hickory-proto's reading, for the types and texts where it is known to be right.
fn hickory_rdata(rtype: u16, text: &str) -> Option<Vec<u8>> {
    let checked = [
        "A", "AAAA", "NS", "CNAME", "PTR", "MX", "SOA", "SRV", "SSHFP", "TLSA", "TXT", "HINFO",
    ];
    if !checked.contains(&type_name(rtype).as_str()) || !text.is_ascii() || text.contains('\\') {
        return None;
    }
    let rdata = RData::try_from_str(RecordType::from(rtype), text).ok()?;
    let mut buf = Vec::new();
    let mut enc = BinEncoder::new(&mut buf);
    enc.set_name_encoding(NameEncoding::Uncompressed);
    rdata.emit(&mut enc).ok()?;
    Some(buf)
}

// ---------------------------------------------------------------------------
// the tests
// ---------------------------------------------------------------------------

fn zone_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".zone"))
        .collect();
    v.sort();
    v
}

#[test]
fn good_files_read_like_bind_reads_them() {
    require_bind_tool("named-compilezone");
    let dir = syntax_dir();
    let listed: Vec<&str> = GOOD.iter().map(|g| g.0).collect();
    for f in zone_files(&dir) {
        assert!(
            listed.contains(&f.as_str()),
            "{f} is in tests/zones/syntax but not in GOOD"
        );
    }
    let mut failures = Vec::new();
    println!("good files (policydns vs named-compilezone):");
    for &(file, origin) in GOOD {
        let path = dir.join(file);
        match compare_with_bind(&path, origin) {
            Ok(n) => println!("  {file}: {n} records, identical"),
            Err(e) => {
                println!("  {file}: DIFFERENT\n    {e}");
                failures.push(format!("  tests/zones/syntax/{file} ({origin}): {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "policydns and BIND read {} file(s) differently:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn debian_zone_files_read_like_bind_reads_them() {
    require_bind_tool("named-compilezone");
    let mut cases: Vec<(PathBuf, String, String)> = Vec::new();
    for &(path, origin, pkg) in DEBIAN {
        if Path::new(path).is_file() {
            cases.push((path.into(), origin.into(), path.into()));
        } else {
            println!("  {path}: not installed (package {pkg}), skipped");
        }
    }
    // Root hints and keys: wrap each in a root zone with an SOA.
    let tmp = TempDir::new("zonefile-interop");
    for &(path, pkg) in DEBIAN_INCLUDED {
        if !Path::new(path).is_file() {
            println!("  {path}: not installed (package {pkg}), skipped");
            continue;
        }
        let base = Path::new(path)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let wrapper = tmp.path().join(format!("{base}.zone"));
        let mut text = String::from(
            "$TTL 86400\n\
             .  IN SOA a.root-servers.net. nstld.verisign-grs.com. 2024041801 1800 900 604800 86400\n",
        );
        if base != "root.hints" {
            text.push_str(".  IN NS a.root-servers.net.\na.root-servers.net. IN A 198.41.0.4\n");
        }
        text.push_str(&format!("$INCLUDE {path}\n"));
        std::fs::write(&wrapper, text).unwrap();
        cases.push((
            wrapper,
            ".".into(),
            format!("{path} (via a generated root zone)"),
        ));
    }

    let mut failures = Vec::new();
    println!("Debian-shipped zone files (policydns vs named-compilezone):");
    for (path, origin, label) in &cases {
        match compare_with_bind(path, origin) {
            Ok(n) => println!("  {label}: {n} records, identical"),
            Err(e) => {
                println!("  {label}: DIFFERENT\n    {e}");
                failures.push(format!("  {label} ({origin}): {e}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "policydns and BIND read {} Debian file(s) differently:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn broken_files_fail_at_the_right_line() {
    require_bind_tool("named-checkzone");
    let dir = syntax_dir().join("broken");
    let listed: Vec<&str> = BROKEN.iter().map(|b| b.file).collect();
    for f in zone_files(&dir) {
        assert!(
            listed.contains(&f.as_str()),
            "{f} is in tests/zones/syntax/broken but not in BROKEN"
        );
    }
    let origin = "broken.test.";
    let origin_wire = name::from_text(origin, None).unwrap();
    let mut failures = Vec::new();
    println!("broken files:");
    for b in BROKEN {
        let path = dir.join(b.file);
        let want_file = dir.join(b.in_file);
        let at = format!("{}:{}", b.in_file, b.line);
        let mut fail = |m: String| failures.push(format!("  broken/{}: {m}", b.file));

        // policydns
        match Zone::load(&origin_wire, &path) {
            Ok((_, warnings)) => {
                let warned = warnings.iter().any(|w| {
                    w.starts_with(&format!("{}:{}:", want_file.display(), b.line))
                        && w.to_lowercase().contains(b.says)
                });
                if b.want == Want::RejectOrWarn && warned {
                    println!(
                        "  {}: policydns loads it with a warning at {at} (accepted)",
                        b.file
                    );
                } else {
                    println!(
                        "  {}: policydns ACCEPTS it (warnings: {warnings:?})",
                        b.file
                    );
                    fail(format!(
                        "policydns loads it; expected an error at {at} mentioning {:?}{}",
                        b.says,
                        if b.want == Want::RejectOrWarn {
                            " (or a warning there)"
                        } else {
                            ""
                        }
                    ));
                }
            }
            Err(e) => {
                let p = &e.problems[0];
                println!("  {}: policydns rejects: {p}", b.file);
                let file_ok = p.file.ends_with(b.in_file) && p.file.parent() == want_file.parent();
                if !file_ok || p.line != b.line {
                    fail(format!(
                        "first problem is at {}:{}, expected {at} ({p})",
                        if p.file.as_os_str().is_empty() {
                            "<no file>".into()
                        } else {
                            p.file.display().to_string()
                        },
                        p.line
                    ));
                } else if !p.message.to_lowercase().contains(b.says) {
                    fail(format!(
                        "message {:?} does not mention {:?}",
                        p.message, b.says
                    ));
                }
            }
        }

        // BIND
        match (bind_verdict(&path, origin), b.bind) {
            (Err(e), Bind::Rejects) => println!("      BIND rejects: {e}"),
            (Ok(()), Bind::Accepts(why)) => println!("      BIND accepts, as documented: {why}"),
            (Ok(()), Bind::Rejects) => {
                fail("named-checkzone accepts it; the table says BIND rejects it".into())
            }
            (Err(e), Bind::Accepts(_)) => fail(format!(
                "named-checkzone rejects it ({e}); the table says BIND accepts it"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "broken-file expectations not met:\n{}",
        failures.join("\n")
    );
}

/// NSD and Knot on every file: printed, never asserted.
#[test]
fn nsd_and_knot_verdicts_informational() {
    let dir = syntax_dir();
    // (file, expected to load, each tool's verdict)
    type Row = (String, bool, Vec<(&'static str, Verdict)>);
    let mut rows: Vec<Row> = Vec::new();
    for &(file, origin) in GOOD {
        rows.push((
            file.to_string(),
            true,
            other_verdicts(&dir.join(file), origin),
        ));
    }
    for b in BROKEN {
        rows.push((
            format!("broken/{}", b.file),
            false,
            other_verdicts(&dir.join("broken").join(b.file), "broken.test."),
        ));
    }
    println!("NSD / Knot verdicts (informational; 'expected' is what policydns should do):");
    let mut disagreements = Vec::new();
    for (file, good, verdicts) in &rows {
        println!(
            "  {file} (expected: {})",
            if *good { "accept" } else { "reject" }
        );
        for (tool, v) in verdicts {
            println!("      {tool}: {}", show_verdict(v));
            if let Some(v) = v {
                if v.is_ok() != *good {
                    disagreements.push(format!(
                        "{tool} {} {file}",
                        if v.is_ok() { "accepts" } else { "rejects" }
                    ));
                }
            }
        }
    }
    println!(
        "disagreements with the expected verdict ({}):",
        disagreements.len()
    );
    for d in &disagreements {
        println!("  {d}");
    }
}

/// The converter above is what the comparison trusts; check it on known answers.
#[test]
fn converter_self_check() {
    assert_eq!(wire_name(".").unwrap(), vec![0]);
    assert_eq!(
        wire_name("a\\.b\\032c\\\\.Test.").unwrap(),
        b"\x06a.b c\\\x04Test\x00".to_vec()
    );
    assert!(wire_name("relative").is_err());
    assert_eq!(
        unescape("\\\"x\\;\\255\\000").unwrap(),
        b"\"x;\xff\x00".to_vec()
    );
    let toks = tokenize("a.test. 300 IN TXT \"x \\\" y\" \"\" z").unwrap();
    let texts: Vec<(&str, bool)> = toks.iter().map(|t| (t.text.as_str(), t.quoted)).collect();
    assert_eq!(
        texts,
        [
            ("a.test.", false),
            ("300", false),
            ("IN", false),
            ("TXT", false),
            ("x \\\" y", true),
            ("", true),
            ("z", false)
        ]
    );
    let rd = |t: u16, line: &str| bind_rdata(t, &tokenize(line).unwrap()).unwrap();
    assert_eq!(rd(16, "\"a\" \"\" \"\\065\""), b"\x01a\x00\x01A".to_vec());
    assert_eq!(
        rd(15, "10 mx.test."),
        b"\x00\x0a\x02mx\x04test\x00".to_vec()
    );
    assert_eq!(rd(65280, "\\# 4 0A000001"), vec![10, 0, 0, 1]);
    assert_eq!(rd(1, "\\# 4 C0000201"), vec![192, 0, 2, 1]);
    assert_eq!(
        rd(257, "128 tbs \"Unknown\""),
        b"\x80\x03tbsUnknown".to_vec()
    );
    assert_eq!(rd(43, "1 13 2 AB CD"), vec![0, 1, 13, 2, 0xab, 0xcd]);
    assert_eq!(unbase64("AwEAAQ==").unwrap(), vec![3, 1, 0, 1]);
    assert_eq!(
        fold_rdata_names(15, b"\x00\x41\x02MX\x00"),
        b"\x00\x41\x02mx\x00".to_vec(),
        "the preference octets are left alone"
    );
}

// ---------------------------------------------------------------------------
// every RDATA type, against what a running BIND serves
// ---------------------------------------------------------------------------

/// `tests/zones/rdata/`: every type policydns reads in presentation form, from the RFCs' own
/// examples, with relative names in every name-bearing field and SVCB parameters out of wire
/// order. `true`: Knot 3.2's `kzonecheck` reads the file too (Knot 3.2 does not know
/// MB/MG/MR, X25, ISDN, PX, GPOS, WKS, NULL or AMTRELAY, which are in the second file).
///
/// These files are not in `GOOD`: this file's text converter would need a parser per type for
/// BIND's canonical text (LOC, SVCB, APL, …), which would be a second implementation of what is
/// under test. Instead the oracle is BIND itself: `named` serves the file on 127.0.0.1 and
/// `dig +unknownformat` prints each record's RDATA as RFC 3597 `\# len hex`, exactly the octets
/// BIND puts on the wire (uncompressed by dig).
const RDATA_CORPUS: &[(&str, &str, bool)] = &[
    ("types.zone", "types.test.", true),
    ("bind-only.zone", "bindonly.test.", false),
    ("edge.zone", "edge.test.", false),
];

/// `dig +unknownformat +noall +answer` output as keys: `owner ttl CLASS1 TYPEn \# len hex…`.
fn generic_records(out: &str) -> Result<BTreeMap<Key, usize>, String> {
    let mut keys = BTreeMap::new();
    for line in out
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with(';'))
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [owner, ttl, class, rtype, generic, len, hexes @ ..] = &f[..] else {
            return Err(format!("short dig line {line:?}"));
        };
        if *class != "CLASS1" || *generic != "\\#" {
            return Err(format!("not RFC 3597 form: {line:?}"));
        }
        let rtype: u16 = rtype
            .strip_prefix("TYPE")
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| format!("type in {line:?}"))?;
        let rdata = unhex(&hexes.concat())?;
        if len.parse::<usize>() != Ok(rdata.len()) {
            return Err(format!("length in {line:?}"));
        }
        let owner = wire_name(owner)?.to_ascii_lowercase();
        let ttl: u32 = ttl.parse().map_err(|_| format!("TTL in {line:?}"))?;
        *keys.entry((owner, rtype, ttl, rdata)).or_insert(0) += 1;
    }
    Ok(keys)
}

/// Runs `dig` with `args` against `addr`; its stdout.
fn dig(addr: std::net::SocketAddr, args: &[String]) -> String {
    let out = Command::new(require_tool("dig", "bind9-dnsutils"))
        .arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string()])
        .args([
            "+unknownformat",
            "+noall",
            "+answer",
            "+tcp",
            "+time=5",
            "+tries=1",
        ])
        .args(args)
        .output()
        .expect("run dig");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The differences between two record multisets, one line each.
fn diff_records(
    a_name: &str,
    a: &BTreeMap<Key, usize>,
    b_name: &str,
    b: &BTreeMap<Key, usize>,
) -> Vec<String> {
    let mut out = Vec::new();
    for (k, n) in a {
        if b.get(k) != Some(n) {
            out.push(format!("only {a_name}: {} [{}]", show_key(k), hex(&k.3)));
        }
    }
    for (k, n) in b {
        if a.get(k) != Some(n) {
            out.push(format!("only {b_name}: {} [{}]", show_key(k), hex(&k.3)));
        }
    }
    out
}

/// `keys` with the names in RDATA of the RFC 4034 section 6.2 types lowercased.
fn fold_keys(keys: &BTreeMap<Key, usize>) -> BTreeMap<Key, usize> {
    let mut out = BTreeMap::new();
    for ((owner, rtype, ttl, rdata), n) in keys {
        let mut rd = rdata.clone();
        // (where the names start, octets after them)
        let span = match rtype {
            2 | 5 | 7 | 8 | 9 | 12 | 14 | 17 | 39 => Some((0, 0)),
            15 | 18 | 21 | 26 | 36 => Some((2, 0)),
            33 => Some((6, 0)),
            6 => Some((0, 20)),
            35 => {
                let mut p = 4;
                for _ in 0..3 {
                    p += 1 + *rd.get(p).unwrap_or(&0) as usize;
                }
                Some((p, 0))
            }
            _ => None,
        };
        if let Some((start, tail)) = span {
            let end = rd.len().saturating_sub(tail);
            if start <= end {
                rd[start..end].make_ascii_lowercase();
            }
        }
        *out.entry((owner.clone(), *rtype, *ttl, rd)).or_insert(0) += n;
    }
    out
}

#[test]
fn every_rdata_type_loads_and_is_served_as_bind_serves_it() {
    let named = require_tool("named", "bind9");
    let checkzone = require_bind_tool("named-checkzone");
    let kzonecheck = require_tool("kzonecheck", "knot-dnssecutils");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zones/rdata");
    let tmp = TempDir::new("rdata-corpus");

    // Both checkers accept the corpus.
    for &(file, origin, knot) in RDATA_CORPUS {
        let path = dir.join(file);
        let out = run(&checkzone, &["-q", origin], &path);
        assert!(
            out.status.success(),
            "named-checkzone refuses {file}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        if knot {
            let out = run(&kzonecheck, &["-o", origin], &path);
            assert!(
                out.status.success(),
                "kzonecheck refuses {file}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    // BIND serves it.
    let zones: String = RDATA_CORPUS
        .iter()
        .map(|&(file, origin, _)| {
            format!(
                "zone \"{origin}\" {{ type primary; file \"{}\"; }};\n",
                dir.join(file).display()
            )
        })
        .collect();
    let (_bind, bind_addr) = start_on_free_port(
        "named",
        |port| {
            let conf = tmp.path().join(format!("named-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "options {{ directory \"{d}\"; pid-file \"{d}/named-{port}.pid\"; \
                     listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }}; \
                     recursion no; dnssec-validation no; allow-transfer {{ any; }}; \
                     notify no; }};\n{zones}",
                    d = tmp.path().display()
                ),
            )
            .unwrap();
            let mut cmd = Command::new(&named);
            cmd.args(["-g", "-n", "1", "-c"]).arg(&conf);
            Proc::spawn(
                "named",
                &mut cmd,
                tmp.path().join(format!("named-{port}.log")),
            )
        },
        |addr| dns_ready(addr, "ns.types.test", 1),
    );
    // Knot serves the files it reads.
    let knotd = require_tool("knotd", "knot");
    let knot_zones: String = RDATA_CORPUS
        .iter()
        .filter(|c| c.2)
        .map(|&(file, origin, _)| {
            format!(
                "  - domain: \"{origin}\"\n    file: \"{}\"\n",
                dir.join(file).display()
            )
        })
        .collect();
    let (_knot, knot_addr) = start_on_free_port(
        "knotd",
        |port| {
            let d = tmp.path().join(format!("knot-{port}"));
            std::fs::create_dir_all(&d).unwrap();
            let conf = d.join("knot.conf");
            std::fs::write(
                &conf,
                format!(
                    "server:\n  listen: 127.0.0.1@{port}\n  rundir: \"{d}\"\n  \
                     background-workers: 1\n  udp-workers: 1\n  tcp-workers: 1\n\
                     log:\n  - target: stderr\n    any: info\n\
                     database:\n  storage: \"{d}/db\"\n\
                     acl:\n  - id: xfr\n    address: 127.0.0.1\n    action: transfer\n\
                     template:\n  - id: default\n    storage: \"{d}\"\n    acl: xfr\n    \
                     zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n\
                     zone:\n{knot_zones}",
                    d = d.display()
                ),
            )
            .unwrap();
            let mut cmd = Command::new(&knotd);
            cmd.arg("-c").arg(&conf);
            Proc::spawn(
                "knotd",
                &mut cmd,
                tmp.path().join(format!("knot-{port}.log")),
            )
        },
        |addr| dns_ready(addr, "ns.types.test", 1),
    );
    // policydns serves it.
    let zone_args: Vec<String> = RDATA_CORPUS
        .iter()
        .flat_map(|&(file, origin, _)| {
            [
                "--zone".to_string(),
                format!("{origin}={}", dir.join(file).display()),
            ]
        })
        .collect();
    let zone_args: Vec<&str> = zone_args.iter().map(String::as_str).collect();
    let ours = serve(&tmp, &zone_args, "ns.types.test");

    let mut failures = Vec::new();
    let mut total = 0;
    for &(file, origin, knot) in RDATA_CORPUS {
        let bind = generic_records(&dig(
            bind_addr,
            &[origin.to_string(), "AXFR".into(), "+onesoa".into()],
        ))
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(
            bind.len() > 10,
            "{file}: BIND's AXFR has {} records",
            bind.len()
        );
        // What Zone::load reads.
        let origin_wire = name::from_text(origin, None).unwrap();
        let loaded = match Zone::load(&origin_wire, &dir.join(file)) {
            Ok((zone, _)) => policydns_records(&zone),
            Err(e) => panic!("policydns refuses {file}: {e}"),
        };
        if knot {
            let knot = generic_records(&dig(
                knot_addr,
                &[origin.to_string(), "AXFR".into(), "+onesoa".into()],
            ))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
            // Knot stores the names of the RFC 4034 section 6.2 types lowercased (the RT
            // target `Relay.Prime.COM.`); BIND and policydns keep them as written.
            failures.extend(
                diff_records("BIND", &fold_keys(&bind), "Knot", &fold_keys(&knot))
                    .into_iter()
                    .map(|d| format!("{file}: {d}")),
            );
            println!(
                "  {file}: Knot's AXFR ({} records) compared with BIND's",
                knot.len()
            );
        }
        failures.extend(
            diff_records("BIND", &bind, "Zone::load", &loaded)
                .into_iter()
                .map(|d| format!("{file}: {d}")),
        );
        // What policydns answers, one query per (owner, type) of BIND's.
        let questions: Vec<String> = bind
            .keys()
            .map(|k| (k.0.clone(), k.1))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .flat_map(|(owner, rtype)| [name::to_text(&owner), format!("TYPE{rtype}")])
            .collect();
        let served =
            generic_records(&dig(ours.addr, &questions)).unwrap_or_else(|e| panic!("{file}: {e}"));
        failures.extend(
            diff_records("BIND", &bind, "policydns answers", &served)
                .into_iter()
                .map(|d| format!("{file}: {d}")),
        );
        // Names in the RDATA of types after RFC 1035 are never compressed (RFC 3597 section
        // 4): each such record's RDATA is in the raw response octet for octet.
        let mut verbatim = 0;
        for (owner, rtype, _, rd) in bind.keys() {
            if rd.is_empty() || matches!(rtype, 2 | 5 | 6 | 7 | 8 | 9 | 12 | 14 | 15) {
                continue;
            }
            let q = common::query(&name::to_text(owner), *rtype, None);
            match common::exchange(ours.addr, common::Proto::Tcp, &q, Duration::from_secs(5)) {
                common::Reply::Response(resp) if resp.windows(rd.len()).any(|w| w == &rd[..]) => {
                    verbatim += 1
                }
                other => failures.push(format!(
                    "{file}: {} TYPE{rtype}: RDATA [{}] not verbatim in the response {other:?}",
                    name::to_text(owner),
                    hex(rd)
                )),
            }
        }
        println!(
            "  {file}: {} records from BIND's AXFR compared with Zone::load and with \
             policydns's answers; {verbatim} of post-RFC 1035 types answered uncompressed",
            bind.len()
        );
        total += bind.len();
    }
    println!("  {total} records in all");
    assert!(
        failures.is_empty(),
        "{} difference(s):\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
