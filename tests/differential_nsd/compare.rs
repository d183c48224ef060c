//! Comparison of the responses to one query, per the rules in the target's documentation
//! (`main.rs`), and the run of one group of the corpus against NSD, Knot and policydns.
//!
//! One comparison ([`Ctx::compare`]) takes a reference (NSD or Knot, whose TCP answers serve
//! the loose modes) and another server's response, and lists its differences by [`Aspect`].
//! Each query gives three: policydns against NSD, policydns against Knot, Knot against NSD.
//! An aspect in which policydns differs from both references is a failure, unless the case is
//! documented against both.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use hickory_proto::rr::RecordType;

use crate::common::Reply;
use crate::corpus::{Against, Case, Mode};
use crate::decode::{decode, type_name, Parsed, Rr};
use crate::harness::{send, Servers};

/// What a difference is about. A policydns answer passes when, aspect by aspect, it equals
/// NSD's or Knot's.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Aspect {
    /// answered at all, and decodable (a difference here is a difference in everything)
    Response,
    Id,
    Opcode,
    Rcode,
    Flags,
    Question,
    /// OPT presence, count, version, DO, Z, payload >= 512
    Opt,
    /// the EDNS options: codes and contents (EDE INFO-CODE and EXTRA-TEXT, ECS, ...)
    EdnsOptions,
    Answer,
    Authority,
    Additional,
}

const ALL_ASPECTS: [Aspect; 11] = [
    Aspect::Response,
    Aspect::Id,
    Aspect::Opcode,
    Aspect::Rcode,
    Aspect::Flags,
    Aspect::Question,
    Aspect::Opt,
    Aspect::EdnsOptions,
    Aspect::Answer,
    Aspect::Authority,
    Aspect::Additional,
];

impl Aspect {
    /// Aspects judged together: the RCODE with the EDNS options, since an Extended DNS Error
    /// qualifies the RCODE it comes with (RFC 8914 §3): REFUSED without EDE (Knot's options)
    /// is not NSD's REFUSED with EDE 18 either. Every other aspect on its own.
    fn unit(self) -> Aspect {
        match self {
            Aspect::EdnsOptions => Aspect::Rcode,
            a => a,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Aspect::Response => "response",
            Aspect::Id => "id",
            Aspect::Opcode => "opcode",
            Aspect::Rcode => "rcode",
            Aspect::Flags => "flags",
            Aspect::Question => "question",
            Aspect::Opt => "OPT",
            Aspect::EdnsOptions => "EDNS options",
            Aspect::Answer => "answer",
            Aspect::Authority => "authority",
            Aspect::Additional => "additional",
        }
    }

    /// This aspect of a response, short, for the tables.
    fn render(self, p: &Result<Option<Parsed>, String>) -> String {
        let p = match p {
            Err(e) => return format!("malformed: {}", e.chars().take(80).collect::<String>()),
            Ok(None) => return "no response".into(),
            Ok(Some(p)) => p,
        };
        let records = |rs: &[Rr]| {
            if rs.is_empty() {
                return "(empty)".to_string();
            }
            let mut v: Vec<String> = rs.iter().take(6).map(|r| r.to_string()).collect();
            if rs.len() > 6 {
                v.push(format!("... {} records in all", rs.len()));
            }
            v.join(" | ")
        };
        match self {
            Aspect::Response => p.summary(),
            Aspect::Id => format!("id {:#06x}", p.id),
            Aspect::Opcode => format!("opcode {}", p.opcode),
            Aspect::Rcode => p.rcode_str(),
            Aspect::Flags => format!("[{}]", p.flags()),
            Aspect::Question => format!("{:?}", p.question),
            Aspect::Opt => p.opt_str(),
            Aspect::EdnsOptions => p.options_str(),
            Aspect::Answer => records(&p.answer),
            Aspect::Authority => records(&p.authority),
            Aspect::Additional => records(&p.additional),
        }
    }
}

/// A server the others are compared with.
#[derive(Clone, Copy)]
pub struct Reference {
    pub name: &'static str,
    pub addr: SocketAddr,
}

/// The differences of one response from a reference's.
pub struct Verdict {
    pub problems: Vec<(Aspect, String)>,
    pub notes: Vec<String>,
}

impl Verdict {
    fn new() -> Verdict {
        Verdict {
            problems: vec![],
            notes: vec![],
        }
    }
    fn push(&mut self, a: Aspect, s: String) {
        self.problems.push((a, s));
    }
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
    /// The aspects that differ; all of them when the response itself does (one side did not
    /// answer, or could not be decoded).
    pub fn aspects(&self) -> BTreeSet<Aspect> {
        let set: BTreeSet<Aspect> = self.problems.iter().map(|(a, _)| *a).collect();
        if set.contains(&Aspect::Response) {
            ALL_ASPECTS.into_iter().collect()
        } else {
            set
        }
    }
}

/// (only in a, only in b) as multisets
fn multiset_diff(a: &[Rr], b: &[Rr]) -> (Vec<Rr>, Vec<Rr>) {
    let mut count: BTreeMap<&Rr, i64> = BTreeMap::new();
    for r in a {
        *count.entry(r).or_default() += 1;
    }
    for r in b {
        *count.entry(r).or_default() -= 1;
    }
    let mut only_a = vec![];
    let mut only_b = vec![];
    for (r, n) in count {
        for _ in 0..n.max(0) {
            only_a.push(r.clone());
        }
        for _ in 0..(-n).max(0) {
            only_b.push(r.clone());
        }
    }
    (only_a, only_b)
}

fn section_aspect(name: &str) -> Aspect {
    match name {
        "answer" => Aspect::Answer,
        "authority" => Aspect::Authority,
        _ => Aspect::Additional,
    }
}

/// Differences in one section.
fn diff_section(v: &mut Verdict, name: &str, rname: &str, r: &[Rr], oname: &str, o: &[Rr]) {
    let (only_r, only_o) = multiset_diff(r, o);
    if only_r.is_empty() && only_o.is_empty() {
        return;
    }
    let mut s = format!("{name} section differs:");
    for x in only_r {
        s.push_str(&format!("\n    - {x}    (only {rname})"));
    }
    for x in only_o {
        s.push_str(&format!("\n    + {x}    (only {oname})"));
    }
    v.push(section_aspect(name), s);
}

/// `o` must be a sub-multiset of `reference`.
fn subset_check(
    v: &mut Verdict,
    aspect: Aspect,
    what: &str,
    rname: &str,
    reference: &[Rr],
    oname: &str,
    o: &[Rr],
) {
    let (_, extra) = multiset_diff(reference, o);
    if !extra.is_empty() {
        let mut s = format!("{what}: records {rname} does not give (even over TCP):");
        for x in extra {
            s.push_str(&format!("\n    + {x}    (only {oname})"));
        }
        v.push(aspect, s);
    }
}

fn compare_headers(v: &mut Verdict, id: u16, rname: &str, r: &Parsed, oname: &str, o: &Parsed) {
    if o.id != id {
        v.push(
            Aspect::Id,
            format!("id: sent {id:#06x}, {oname} answered {:#06x}", o.id),
        );
    }
    if r.opcode != o.opcode {
        v.push(
            Aspect::Opcode,
            format!("opcode: {rname}={} {oname}={}", r.opcode, o.opcode),
        );
    }
    if r.rcode() != o.rcode() {
        v.push(
            Aspect::Rcode,
            format!("rcode: {rname}={} {oname}={}", r.rcode_str(), o.rcode_str()),
        );
    }
    if r.flags() != o.flags() {
        v.push(
            Aspect::Flags,
            format!("flags: {rname}=[{}] {oname}=[{}]", r.flags(), o.flags()),
        );
    }
    if r.question != o.question {
        v.push(
            Aspect::Question,
            format!(
                "question: {rname}={:?} {oname}={:?}",
                r.question, o.question
            ),
        );
    }
    compare_opt(v, rname, r, oname, o);
}

fn compare_opt(v: &mut Verdict, rname: &str, r: &Parsed, oname: &str, o: &Parsed) {
    if r.opt_str() != o.opt_str() {
        v.push(
            Aspect::Opt,
            format!("OPT: {rname}={} {oname}={}", r.opt_str(), o.opt_str()),
        );
    }
    if r.option_keys() != o.option_keys() {
        v.push(
            Aspect::EdnsOptions,
            format!(
                "EDNS options: {rname}=[{}] {oname}=[{}]",
                r.options_str(),
                o.options_str()
            ),
        );
    }
    if let (Some(a), Some(b)) = (&r.opt, &o.opt) {
        if a.payload != b.payload {
            v.notes.push(format!(
                "OPT UDP payload: {rname}={} {oname}={} (loose: not a failure)",
                a.payload, b.payload
            ));
        }
        if b.payload < 512 {
            v.push(
                Aspect::Opt,
                format!("OPT UDP payload {} < 512 (RFC 6891 s6.2.5)", b.payload),
            );
        }
    }
}

/// The comparisons (a reference's own TCP answers serve the loose modes).
pub struct Ctx;

impl Ctx {
    fn tcp_answer(
        &self,
        reference: Reference,
        case: &Case,
        id: u16,
    ) -> Result<Option<Parsed>, String> {
        let mut c = case.clone();
        c.tcp = true;
        decode(&send(reference.addr, true, &c.wire(id)))
    }

    /// The differences of `other_reply` (from the server `oname`) from `reference`'s reply.
    pub fn compare(
        &self,
        case: &Case,
        id: u16,
        reference: Reference,
        ref_reply: &Reply,
        oname: &str,
        other_reply: &Reply,
    ) -> Verdict {
        let rname = reference.name;
        let mut v = Verdict::new();
        let r = match decode(ref_reply) {
            Ok(m) => m,
            Err(e) => {
                v.push(Aspect::Response, format!("{rname}: {e}"));
                return v;
            }
        };
        let o = match decode(other_reply) {
            Ok(m) => m,
            Err(e) => {
                v.push(Aspect::Response, format!("{oname}: {e}"));
                if let Some(n) = &r {
                    v.notes.push(format!("{rname} answered: {}", n.summary()));
                }
                return v;
            }
        };
        let (mut r, mut o) = match (r, o) {
            (None, None) => return v,
            (Some(n), None) => {
                v.push(
                    Aspect::Response,
                    format!("{rname} answered ({}), {oname} did not answer", n.summary()),
                );
                return v;
            }
            (None, Some(x)) => {
                v.push(
                    Aspect::Response,
                    format!(
                        "{rname} did not answer (dropped the query), {oname} answered ({})",
                        x.summary()
                    ),
                );
                return v;
            }
            (Some(n), Some(x)) => (n, x),
        };

        if case.mode == Mode::VersionString {
            for p in [&mut r, &mut o] {
                for x in p
                    .answer
                    .iter_mut()
                    .filter(|x| x.rtype == 16 && x.class == 3)
                {
                    x.wire = b"(version string)".to_vec();
                    x.rdata = format!("(version string, here {})", x.rdata);
                }
            }
        }

        if case.mode == Mode::Any && !r.answer.is_empty() {
            self.compare_any(&mut v, case, id, reference, &r, oname, &o);
            return v;
        }

        compare_headers(&mut v, id, rname, &r, oname, &o);

        if r.tc && o.tc {
            v.notes.push(format!(
                "both truncated; sections not compared ({rname}: {}; {oname}: {})",
                r.summary(),
                o.summary()
            ));
            return v;
        }

        diff_section(&mut v, "answer", rname, &r.answer, oname, &o.answer);
        if case.mode == Mode::SectionsMayShrink {
            match self.tcp_answer(reference, case, id) {
                Ok(Some(full)) => {
                    subset_check(
                        &mut v,
                        Aspect::Authority,
                        "authority",
                        rname,
                        &full.authority,
                        oname,
                        &o.authority,
                    );
                    subset_check(
                        &mut v,
                        Aspect::Additional,
                        "additional",
                        rname,
                        &full.additional,
                        oname,
                        &o.additional,
                    );
                    let (a, b) = (r.authority.len(), o.authority.len());
                    let (c, d) = (r.additional.len(), o.additional.len());
                    if (a, c) != (b, d) {
                        v.notes.push(format!(
                            "authority/additional counts: {rname} {a}/{c}, {oname} {b}/{d} (loose)"
                        ));
                    }
                }
                other => v.push(
                    Aspect::Response,
                    format!(
                        "{rname} over TCP gave no reference answer: {:?}",
                        other.err()
                    ),
                ),
            }
        } else {
            diff_section(
                &mut v,
                "authority",
                rname,
                &r.authority,
                oname,
                &o.authority,
            );
            diff_section(
                &mut v,
                "additional",
                rname,
                &r.additional,
                oname,
                &o.additional,
            );
        }
        v
    }

    /// RFC 8482: see the module documentation of `main.rs`.
    #[allow(clippy::too_many_arguments)]
    fn compare_any(
        &self,
        v: &mut Verdict,
        case: &Case,
        id: u16,
        reference: Reference,
        r: &Parsed,
        oname: &str,
        o: &Parsed,
    ) {
        let rname = reference.name;
        if o.id != id {
            v.push(Aspect::Id, format!("id: sent {id:#06x}, got {:#06x}", o.id));
        }
        if o.rcode() != 0 {
            v.push(
                Aspect::Rcode,
                format!("ANY: rcode {} ({rname} {})", o.rcode_str(), r.rcode_str()),
            );
        }
        if o.aa != r.aa || o.qr != r.qr {
            v.push(
                Aspect::Flags,
                format!("ANY: flags {rname}=[{}] {oname}=[{}]", r.flags(), o.flags()),
            );
        }
        if r.question != o.question {
            v.push(
                Aspect::Question,
                format!(
                    "question: {rname}={:?} {oname}={:?}",
                    r.question, o.question
                ),
            );
        }
        compare_opt(v, rname, r, oname, o);
        if o.answer.is_empty() {
            v.push(
                Aspect::Answer,
                format!(
                    "ANY: empty answer ({rname} answered {})",
                    r.answer
                        .iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join(" | ")
                ),
            );
            return;
        }
        let types = |rs: &[Rr]| -> Vec<u16> {
            rs.iter()
                .map(|x| x.rtype)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        let names = |t: &[u16]| {
            t.iter()
                .map(|t| type_name(*t))
                .collect::<Vec<_>>()
                .join(",")
        };
        let (rt, ot) = (types(&r.answer), types(&o.answer));
        v.notes.push(format!(
            "ANY: {rname} chose [{}], {oname} chose [{}]",
            names(&rt),
            names(&ot)
        ));
        // RFC 8482 §4.1: a subset; as small as the reference's (one RRset for NSD and Knot,
        // over UDP and TCP alike)
        if ot.len() > rt.len() {
            v.push(
                Aspect::Answer,
                format!(
                    "ANY: {oname} answers {} RRsets [{}], {rname} {} [{}] (RFC 8482 minimal answer)",
                    ot.len(),
                    names(&ot),
                    rt.len(),
                    names(&rt)
                ),
            );
        }
        for t in ot {
            let of_type: Vec<Rr> = o.answer.iter().filter(|x| x.rtype == t).cloned().collect();
            let qt = RecordType::from(t);
            match self.tcp_answer(reference, &case.with_type(qt), id) {
                Ok(Some(full)) => subset_check(
                    v,
                    Aspect::Answer,
                    &format!("ANY answer, {} RRset", type_name(t)),
                    rname,
                    &full.answer,
                    oname,
                    &of_type,
                ),
                other => v.push(
                    Aspect::Response,
                    format!(
                        "{rname} gave no reference answer for {qt}: {:?}",
                        other.err()
                    ),
                ),
            }
        }
    }
}

/// One query's outcome, for the tables printed at the end of a group.
struct Row {
    query: String,
    /// (aspect, policydns, NSD, Knot)
    cells: Vec<(Aspect, String, String, String)>,
}

fn rows_table(title: &str, rows: &[Row]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut s = format!("\n{title} ({}):\n", rows.len());
    for r in rows {
        s.push_str(&format!("  * {}\n", r.query));
        for (a, ours, nsd, knot) in &r.cells {
            s.push_str(&format!(
                "      {}:\n        policydns: {ours}\n        NSD:       {nsd}\n        Knot:      {knot}\n",
                a.name()
            ));
        }
    }
    s
}

/// Whether Knot's difference from NSD is only that it leaves out authority/additional records
/// (Knot answers minimally, with no NS RRset in positive answers; NSD here does not).
fn knot_only_minimal(
    v: &Verdict,
    nsd: &Result<Option<Parsed>, String>,
    knot: &Result<Option<Parsed>, String>,
) -> bool {
    let aspects = v.aspects();
    if aspects.is_empty()
        || !aspects
            .iter()
            .all(|a| matches!(a, Aspect::Authority | Aspect::Additional))
    {
        return false;
    }
    match (nsd, knot) {
        (Ok(Some(n)), Ok(Some(k))) => {
            multiset_diff(&n.authority, &k.authority).1.is_empty()
                && multiset_diff(&n.additional, &k.additional).1.is_empty()
        }
        _ => false,
    }
}

/// Runs one group of cases against fresh servers; fails when policydns differs from both
/// references in some aspect of a query not documented against both.
pub fn run_group(group: &str, cases: Vec<Case>) {
    let servers = Servers::start(group);
    let ctx = Ctx;
    let nsd_ref = Reference {
        name: "NSD",
        addr: servers.nsd_addr,
    };
    let knot_ref = Reference {
        name: "Knot",
        addr: servers.knot_addr,
    };
    let mut mismatches = 0;
    let mut report = String::new();
    let mut failures: Vec<Row> = vec![];
    let mut excused: Vec<Row> = vec![];
    let mut disagreements: Vec<Row> = vec![];
    let mut knot_minimal: Vec<String> = vec![];
    // DIFF_VERBOSE=1: print the three responses of every query (with --nocapture)
    let verbose = std::env::var_os("DIFF_VERBOSE").is_some();
    for (i, case) in cases.iter().enumerate() {
        let id = 0x1000u16.wrapping_add(i as u16 * 7);
        let wire = case.wire(id);
        // all at once, so that a dropped query costs one timeout, not three
        let (nsd, knot, ours) = std::thread::scope(|s| {
            let n = s.spawn(|| send(servers.nsd_addr, case.tcp, &wire));
            let k = s.spawn(|| send(servers.knot_addr, case.tcp, &wire));
            let o = send(servers.ours_addr, case.tcp, &wire);
            (
                n.join().expect("nsd exchange thread"),
                k.join().expect("knot exchange thread"),
                o,
            )
        });
        let vs_nsd = ctx.compare(case, id, nsd_ref, &nsd, "policydns", &ours);
        let vs_knot = ctx.compare(case, id, knot_ref, &knot, "policydns", &ours);
        let refs = ctx.compare(case, id, nsd_ref, &nsd, "Knot", &knot);
        let (pn, pk, po) = (decode(&nsd), decode(&knot), decode(&ours));
        let desc = case.describe();

        if verbose {
            report.push_str(&format!("\n=== [{group}] {desc}\n"));
            for (who, p) in [("NSD", &pn), ("Knot", &pk), ("policydns", &po)] {
                match p {
                    Ok(Some(p)) => {
                        report.push_str(&format!(
                            "  {who}: {} OPT={} options={}\n",
                            p.summary(),
                            p.opt_str(),
                            p.options_str()
                        ));
                        for (sec, rs) in [
                            ("an", &p.answer),
                            ("ns", &p.authority),
                            ("ar", &p.additional),
                        ] {
                            for r in rs.iter() {
                                report.push_str(&format!("    {sec} {r}\n"));
                            }
                        }
                    }
                    Ok(None) => report.push_str(&format!("  {who}: no response\n")),
                    Err(e) => report.push_str(&format!("  {who}: {e}\n")),
                }
            }
        }

        // the units (see `Aspect::unit`) in which policydns differs from both references
        let units =
            |v: &Verdict| -> BTreeSet<Aspect> { v.aspects().iter().map(|a| a.unit()).collect() };
        let failing_units: BTreeSet<Aspect> = units(&vs_nsd)
            .intersection(&units(&vs_knot))
            .copied()
            .collect();
        // the aspects of those units that differ from either reference
        let failing: BTreeSet<Aspect> = vs_nsd
            .aspects()
            .union(&vs_knot.aspects())
            .filter(|a| failing_units.contains(&a.unit()))
            .copied()
            .collect();
        // what to show for a failure: the failing aspects, the whole response when either
        // reference's comparison is about the response itself
        let mut shown: Vec<Aspect> = vec![];
        if failing.contains(&Aspect::Response) {
            shown.push(Aspect::Response);
        }
        let partial: BTreeSet<Aspect> = vs_nsd
            .problems
            .iter()
            .chain(&vs_knot.problems)
            .map(|(a, _)| *a)
            .filter(|a| *a != Aspect::Response && failing.contains(a))
            .collect();
        shown.extend(partial);
        let row = |aspects: &[Aspect]| Row {
            query: desc.clone(),
            cells: aspects
                .iter()
                .map(|a| (*a, a.render(&po), a.render(&pn), a.render(&pk)))
                .collect(),
        };
        let documented = case.documented;
        let excused_both = documented.is_some_and(|(a, _)| a == Against::Both);

        let details = |out: &mut String| {
            for (who, v) in [("NSD", &vs_nsd), ("Knot", &vs_knot)] {
                if v.ok() {
                    out.push_str(&format!("  vs {who}: same\n"));
                    continue;
                }
                out.push_str(&format!("  vs {who}:\n"));
                for (_, p) in &v.problems {
                    out.push_str(&format!("    {}\n", p.replace('\n', "\n    ")));
                }
                for n in &v.notes {
                    out.push_str(&format!("    note: {n}\n"));
                }
            }
        };

        if !failing.is_empty() && excused_both {
            let (_, why) = documented.unwrap();
            report.push_str(&format!(
                "\n--- documented difference from NSD and Knot (not counted) [{group}] {desc}\n  why: {why}\n"
            ));
            details(&mut report);
            excused.push(row(&shown));
        } else if !failing.is_empty() {
            mismatches += 1;
            report.push_str(&format!(
                "\n--- MISMATCH (differs from NSD and from Knot in: {}) [{group}] {desc}\n",
                failing
                    .iter()
                    .map(|a| a.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
            if let Some((against, why)) = documented {
                report.push_str(&format!(
                    "  documented against {} only, so counted: {why}\n",
                    against.name()
                ));
            }
            details(&mut report);
            failures.push(row(&shown));
        } else {
            // policydns matches a reference in every aspect
            let mut notes = vec![];
            if let Some((against, why)) = documented {
                let seen = (against.covers_nsd() && !vs_nsd.ok())
                    || (against.covers_knot() && !vs_knot.ok());
                if seen {
                    notes.push(format!(
                        "documented difference from {}: {why}",
                        against.name()
                    ));
                } else {
                    notes.push(format!(
                        "marked as a documented difference from {}, but none seen",
                        against.name()
                    ));
                }
            }
            // Knot's minimal responses are listed once per group, not per query
            let minimal = vs_nsd.ok() && knot_only_minimal(&refs, &pn, &pk);
            for (who, v) in [("NSD", &vs_nsd), ("Knot", &vs_knot)] {
                for (a, p) in &v.problems {
                    if who == "Knot" && minimal {
                        continue;
                    }
                    let first = p.lines().next().unwrap_or("");
                    notes.push(format!("differs from {who} ({}): {first}", a.name()));
                }
                for n in &v.notes {
                    notes.push(format!("vs {who}: {n}"));
                }
            }
            if !notes.is_empty() {
                report.push_str(&format!("\n--- ok [{group}] {desc}\n"));
                for n in notes {
                    report.push_str(&format!("  note: {n}\n"));
                }
            }
        }

        // NSD and Knot against each other
        if !refs.ok() {
            if knot_only_minimal(&refs, &pn, &pk) {
                knot_minimal.push(desc.clone());
            } else {
                let aspects: Vec<Aspect> = if refs.aspects().contains(&Aspect::Response) {
                    vec![Aspect::Response]
                } else {
                    refs.aspects().into_iter().collect()
                };
                let mut r = row(&aspects);
                let matches: Vec<String> = aspects
                    .iter()
                    .map(|a| {
                        let n = !vs_nsd.aspects().contains(a);
                        let k = !vs_knot.aspects().contains(a);
                        format!(
                            "{}: {}",
                            a.name(),
                            match (n, k) {
                                (true, true) => "policydns matches both (loose)",
                                (true, false) => "policydns matches NSD",
                                (false, true) => "policydns matches Knot",
                                (false, false) => "policydns matches neither",
                            }
                        )
                    })
                    .collect();
                r.query = format!("{}  [{}]", r.query, matches.join("; "));
                disagreements.push(r);
            }
        }
    }
    println!("{report}");
    print!(
        "{}",
        rows_table(
            &format!(
                "[{group}] policydns differs from NSD and from Knot (query; policydns; NSD; Knot)"
            ),
            &failures
        )
    );
    print!(
        "{}",
        rows_table(
            &format!("[{group}] documented differences from both, not counted"),
            &excused
        )
    );
    print!(
        "{}",
        rows_table(
            &format!("[{group}] NSD and Knot disagree (query; policydns; NSD; Knot)"),
            &disagreements
        )
    );
    if !knot_minimal.is_empty() {
        println!(
            "\n[{group}] NSD and Knot disagree only in that Knot leaves out authority/additional records (minimal responses), {} queries:",
            knot_minimal.len()
        );
        for q in &knot_minimal {
            println!("  * {q}");
        }
    }
    println!(
        "\n[{group}] {} queries, {} differ from both NSD and Knot, {} documented, NSD and Knot disagree on {} ({} of them only Knot's minimal responses)",
        cases.len(),
        mismatches,
        excused.len(),
        disagreements.len() + knot_minimal.len(),
        knot_minimal.len()
    );
    if mismatches > 0 {
        panic!(
            "[{group}] {mismatches} of {} queries answered by policydns differently from both NSD \
             and Knot (the table above: query; policydns; NSD; Knot)",
            cases.len()
        );
    }
}
