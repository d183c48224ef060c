//! The query corpus: each group is a table of queries (built with [`q`] and [`raw`] and
//! their modifiers), sent to NSD, Knot and policydns alike. A query marked
//! `.documented(against, why)` is a deliberate difference from NSD, Knot or both: a difference
//! from both references is not counted only when it is documented against both.

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use RecordType::*;

use crate::decode::{class_name, type_name};

// ---------------------------------------------------------------------------
// documented differences (docs/answers.md: differences from NSD and Knot)
// ---------------------------------------------------------------------------

/// The reference(s) a documented difference is deliberate against.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Against {
    Nsd,
    Knot,
    Both,
}

impl Against {
    pub fn covers_nsd(self) -> bool {
        matches!(self, Against::Nsd | Against::Both)
    }
    pub fn covers_knot(self) -> bool {
        matches!(self, Against::Knot | Against::Both)
    }
    pub fn name(self) -> &'static str {
        match self {
            Against::Nsd => "NSD",
            Against::Knot => "Knot",
            Against::Both => "NSD and Knot",
        }
    }
}

const CD_COPIED: &str =
    "CD copied into the response, as BIND and RFC 4035 §3.2.2 do; NSD 4.6 and Knot 3.2 clear it (docs/answers.md: differences from NSD and Knot)";
const QUESTION_ECHOED: &str =
    "error responses echo the question, as BIND does; NSD sends none (docs/answers.md: differences from NSD and Knot)";
const QCLASS_ANY_NOT_AA: &str =
    "QCLASS ANY is answered from IN, the only class served, without AA, as NSD answers: the answer may leave classes out (Knot sets AA; docs/answers.md: differences from NSD and Knot)";
const ECS_MALFORMED: &str =
    "a client subnet option whose address has more octets than its prefix needs is FORMERR, as RFC 7871 §6 says a server SHOULD answer; NSD ignores the option and Knot the fault (docs/answers.md: differences from NSD and Knot)";
const TTL_WITHOUT_DOLLAR_TTL: &str =
    "a record without a TTL takes the last one stated (RFC 1035 §5.1), and before any, the SOA MINIMUM, as BIND reads it; NSD and Knot give 3600 (docs/answers.md: differences from NSD and Knot)";
const OPCODE_FLAGS_CLEARED: &str =
    "an unknown opcode's NOTIMP carries no header flag, as ISC's genreport requires (RD, CD, AD, RA are defined for QUERY only); NSD echoes them all, Knot RD (docs/answers.md: differences from NSD and Knot)";

// ---------------------------------------------------------------------------
// a query and how it is compared
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Mode {
    /// everything compared (OPT loosely, TC responses without sections)
    Exact,
    /// RFC 8482 ANY, see the module documentation
    Any,
    /// answer exact, authority/additional only a subset of NSD's TCP answer
    SectionsMayShrink,
    /// exact, except the text of CH TXT answers (version.bind: each server
    /// names itself)
    VersionString,
}

#[derive(Clone, Debug)]
pub struct EdnsSpec {
    pub payload: u16,
    pub dnssec_ok: bool,
    pub version: u8,
    pub z: u16,
    pub unknown_option: bool,
    /// further options (code, octets), in this order after option 65001
    pub options: Vec<(u16, Vec<u8>)>,
}

#[derive(Clone, Debug)]
pub struct Case {
    pub qname: String,
    pub qtype: RecordType,
    pub qclass: DNSClass,
    pub rd: bool,
    pub cd: bool,
    pub edns: Option<EdnsSpec>,
    pub tcp: bool,
    pub opcode: OpCode,
    /// a hand-made message instead of the fields above: (label, bytes with id 0)
    pub raw: Option<(&'static str, Vec<u8>)>,
    /// octets sent after the message (trailing garbage)
    pub trailing: Vec<u8>,
    /// zero octets appended until the message is this long
    pub pad_to: Option<usize>,
    pub mode: Mode,
    /// a documented, deliberate difference from NSD, Knot or both (see [`Against`])
    pub documented: Option<(Against, &'static str)>,
}

const DEFAULT_EDNS: EdnsSpec = EdnsSpec {
    payload: 1232,
    dnssec_ok: false,
    version: 0,
    z: 0,
    unknown_option: false,
    options: Vec::new(),
};

/// A query with the defaults: class IN, RD=0, CD=0, EDNS payload 1232, UDP.
pub fn q(qname: &str, qtype: RecordType) -> Case {
    Case {
        qname: qname.to_string(),
        qtype,
        qclass: DNSClass::IN,
        rd: false,
        cd: false,
        edns: Some(DEFAULT_EDNS),
        tcp: false,
        opcode: OpCode::Query,
        raw: None,
        trailing: vec![],
        pad_to: None,
        mode: Mode::Exact,
        documented: None,
    }
}

pub fn raw(label: &'static str, bytes: Vec<u8>) -> Case {
    let mut c = q(".", RecordType::A);
    c.raw = Some((label, bytes));
    c
}

/// A query name in presentation format (`\\.` and `\\DDD` escapes allowed,
/// labels are not restricted to ASCII letters/digits), case preserved.
pub fn qname_from_presentation(text: &str) -> Name {
    let mut labels: Vec<Vec<u8>> = vec![];
    let mut cur = vec![];
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 3 < b.len() && b[i + 1..i + 4].iter().all(u8::is_ascii_digit) => {
                let d = std::str::from_utf8(&b[i + 1..i + 4]).unwrap();
                cur.push(d.parse::<u8>().expect("\\DDD escape > 255"));
                i += 4;
            }
            b'\\' if i + 1 < b.len() => {
                cur.push(b[i + 1]);
                i += 2;
            }
            b'.' => {
                if !cur.is_empty() {
                    labels.push(std::mem::take(&mut cur));
                }
                i += 1;
            }
            c => {
                cur.push(c);
                i += 1;
            }
        }
    }
    if !cur.is_empty() {
        labels.push(cur);
    }
    Name::from_labels(labels.iter().map(|l| l.as_slice()))
        .unwrap_or_else(|e| panic!("bad qname {text}: {e}"))
}

pub fn ty(code: u16) -> RecordType {
    RecordType::from(code)
}

impl Case {
    pub fn rd(mut self) -> Self {
        self.rd = true;
        self
    }
    pub fn cd(mut self) -> Self {
        self.cd = true;
        self
    }
    pub fn tcp(mut self) -> Self {
        self.tcp = true;
        self
    }
    pub fn no_edns(mut self) -> Self {
        self.edns = None;
        self
    }
    pub fn payload(mut self, p: u16) -> Self {
        self.edns.get_or_insert(DEFAULT_EDNS).payload = p;
        self
    }
    pub fn dnssec_ok(mut self) -> Self {
        self.edns.get_or_insert(DEFAULT_EDNS).dnssec_ok = true;
        self
    }
    pub fn edns_version(mut self, v: u8) -> Self {
        self.edns.get_or_insert(DEFAULT_EDNS).version = v;
        self
    }
    pub fn edns_z(mut self, z: u16) -> Self {
        self.edns.get_or_insert(DEFAULT_EDNS).z = z;
        self
    }
    pub fn unknown_option(mut self) -> Self {
        self.edns.get_or_insert(DEFAULT_EDNS).unknown_option = true;
        self
    }
    pub fn class(mut self, c: DNSClass) -> Self {
        self.qclass = c;
        self
    }
    pub fn opcode(mut self, op: OpCode) -> Self {
        self.opcode = op;
        self
    }
    pub fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    /// An EDNS option (code, octets) added to the OPT record.
    pub fn option(mut self, code: u16, data: &[u8]) -> Self {
        self.edns
            .get_or_insert(DEFAULT_EDNS)
            .options
            .push((code, data.to_vec()));
        self
    }
    /// EDNS Client Subnet (RFC 7871) for `addr`/`prefix` (IPv4), the address cut to the prefix.
    pub fn ecs(self, addr: [u8; 4], prefix: u8) -> Self {
        let n = (prefix as usize).div_ceil(8);
        let mut d = vec![0, 1, prefix, 0];
        d.extend_from_slice(&addr[..n]);
        self.option(8, &d)
    }
    /// `octets` sent after the message.
    pub fn trailing(mut self, octets: &[u8]) -> Self {
        self.trailing = octets.to_vec();
        self
    }
    /// Zero octets after the message up to `len` octets in all.
    pub fn pad_to(mut self, len: usize) -> Self {
        self.pad_to = Some(len);
        self
    }
    /// Marks a documented, deliberate difference from `against` (say why, and where it is
    /// documented). A difference from both references is printed but not counted only when
    /// the case is documented against both.
    pub fn documented(mut self, against: Against, why: &'static str) -> Self {
        self.documented = Some((against, why));
        self
    }
    pub fn with_type(&self, t: RecordType) -> Self {
        let mut c = self.clone();
        c.qtype = t;
        c
    }

    pub fn wire(&self, id: u16) -> Vec<u8> {
        let mut w = self.message(id);
        w.extend_from_slice(&self.trailing);
        if let Some(len) = self.pad_to {
            assert!(len >= w.len(), "pad_to({len}) shorter than the message");
            w.resize(len, 0);
        }
        w
    }

    fn message(&self, id: u16) -> Vec<u8> {
        if let Some((_, bytes)) = &self.raw {
            let mut b = bytes.clone();
            if b.len() >= 2 {
                b[..2].copy_from_slice(&id.to_be_bytes());
            }
            return b;
        }
        let mut m = Message::new(id, MessageType::Query, self.opcode);
        m.metadata.recursion_desired = self.rd;
        m.metadata.checking_disabled = self.cd;
        let name = qname_from_presentation(&self.qname);
        let mut query = Query::query(name, self.qtype);
        query.set_query_class(self.qclass);
        let qlen = query.to_bytes().expect("encode question").len();
        m.add_query(query);
        if let Some(e) = &self.edns {
            let mut edns = Edns::new();
            edns.set_max_payload(e.payload);
            edns.set_dnssec_ok(e.dnssec_ok);
            edns.set_version(e.version);
            edns.flags_mut().z = e.z;
            if e.unknown_option {
                edns.options_mut()
                    .insert(EdnsOption::Unknown(65001, vec![0xde, 0xad, 0xbe, 0xef]));
            }
            for (code, data) in &e.options {
                edns.options_mut()
                    .insert(EdnsOption::Unknown(*code, data.clone()));
            }
            m.edns = Some(edns);
        }
        let mut wire = m.to_vec().expect("encode query");
        if let Some(e) = &self.edns {
            // hickory clamps payload sizes below 512; patch the OPT CLASS field.
            let opt = 12 + qlen;
            assert_eq!(&wire[opt..opt + 3], &[0, 0, 41], "OPT not where expected");
            wire[opt + 3..opt + 5].copy_from_slice(&e.payload.to_be_bytes());
        }
        wire
    }

    pub fn describe(&self) -> String {
        if let Some((label, bytes)) = &self.raw {
            let mut s = format!("raw message: {label} ({} octets", bytes.len());
            if self.tcp {
                s.push_str(", tcp");
            }
            s.push(')');
            return s;
        }
        let mut s = format!(
            "{} {} {} [{}",
            self.qname,
            class_name(self.qclass.into()),
            type_name(self.qtype.into()),
            if self.tcp { "tcp" } else { "udp" }
        );
        if self.opcode != OpCode::Query {
            s.push_str(&format!(" opcode={:?}", self.opcode));
        }
        if self.rd {
            s.push_str(" +rd");
        }
        if self.cd {
            s.push_str(" +cd");
        }
        match &self.edns {
            None => s.push_str(" no-edns"),
            Some(e) => {
                s.push_str(&format!(" edns={}", e.payload));
                if e.dnssec_ok {
                    s.push_str(" +do");
                }
                if e.version != 0 {
                    s.push_str(&format!(" version={}", e.version));
                }
                if e.z != 0 {
                    s.push_str(&format!(" z={:#x}", e.z));
                }
                if e.unknown_option {
                    s.push_str(" +option65001");
                }
                for (code, data) in &e.options {
                    let o = crate::decode::EdnsOpt {
                        code: *code,
                        data: data.clone(),
                    };
                    s.push_str(&format!(" +({o})"));
                }
            }
        }
        if !self.trailing.is_empty() {
            s.push_str(&format!(" +{} trailing octets", self.trailing.len()));
        }
        if let Some(len) = self.pad_to {
            s.push_str(&format!(" padded to {len} octets"));
        }
        if self.mode != Mode::Exact {
            s.push_str(&format!(" mode={:?}", self.mode));
        }
        s.push(']');
        s
    }
}

// ---------------------------------------------------------------------------
// the groups
// ---------------------------------------------------------------------------

pub fn positive_answers() -> Vec<Case> {
    vec![
        q("diff.test.", SOA),
        q("diff.test.", NS),
        q("diff.test.", A).rd(),
        q("diff.test.", AAAA),
        q("diff.test.", MX),
        q("diff.test.", TXT),
        q("diff.test.", CAA),
        q("ns1.diff.test.", A),
        q("ns1.diff.test.", AAAA)
            .cd()
            .documented(Against::Both, CD_COPIED),
        q("ns2.diff.test.", A),
        q("mail.diff.test.", A),
        q("www.diff.test.", A),
        q("www.diff.test.", A)
            .rd()
            .cd()
            .documented(Against::Both, CD_COPIED),
        q("www.diff.test.", AAAA).no_edns(),
        q("WWW.DIFF.TEST.", A),
        q("wWw.DiFf.TeSt.", AAAA).rd(),
        q("mixed.diff.test.", A),
        q("MIXED.Diff.test.", A),
        q("generic-a.diff.test.", A),
        q("txt.diff.test.", TXT),
        q("long.diff.test.", TXT),
        q("_sip._tcp.diff.test.", SRV),
        q("_sip._udp.diff.test.", SRV),
        q("_nosrv._tcp.diff.test.", SRV),
        q("ptr.diff.test.", PTR),
        q("naptr.diff.test.", NAPTR),
        q("host.diff.test.", HINFO),
        q("host.diff.test.", SSHFP),
        q("host.diff.test.", A),
        q("unknown.diff.test.", ty(65280)),
        q("unknown.diff.test.", ty(65281)),
        q("alias.diff.test.", CNAME),
        q("dname.diff.test.", ty(39)), // DNAME
        q("x.target.diff.test.", A),
        q("other.test.", SOA),
        q("other.test.", NS),
        q("www.other.test.", A),
        q("child.diff.test.", SOA),
        q("child.diff.test.", NS),
        q("child.diff.test.", A),
        q("www.child.diff.test.", A),
        q("ns1.child.diff.test.", A),
    ]
}

pub fn negative_answers() -> Vec<Case> {
    vec![
        // NXDOMAIN
        q("nothere.diff.test.", A),
        q("NOTHERE.Diff.Test.", AAAA).rd(),
        q("nothere.diff.test.", A).no_edns(),
        q("foo.www.diff.test.", A), // below an existing name
        q("a.b.c.www.diff.test.", TXT),
        q("nothere.other.test.", A),
        q("nothere.child.diff.test.", A),
        q("x.a.b.ent.diff.test.", A),
        q("a\\.b.diff.test.", A),      // a label containing a dot
        q("\\000\\255.diff.test.", A), // binary label
        q(&format!("{}.diff.test.", "z".repeat(63)), A),
        // NODATA
        q("www.diff.test.", MX),
        q("www.diff.test.", TXT).rd(),
        q("ns2.diff.test.", AAAA),
        q("b.ent.diff.test.", A), // empty non-terminal
        q("ent.diff.test.", AAAA),
        q("_tcp.diff.test.", SRV), // empty non-terminal above _sip._tcp
        q("_sip._tcp.diff.test.", A),
        q("diff.test.", SRV),
        q("diff.test.", ty(46)), // RRSIG, unsigned zone
        q("diff.test.", ty(47)), // NSEC
        q("diff.test.", ty(43)), // DS at an apex whose parent is not served
        q("unknown.diff.test.", ty(65282)),
        q("www.other.test.", AAAA),
        q("www.child.diff.test.", AAAA),
        q("child.diff.test.", MX),
        // outside every served zone: REFUSED
        q("www.example.com.", A),
        q("test.", SOA),
        q(".", NS),
        q("xdiff.test.", A), // suffix but not a label boundary
        q("diff.test.example.", A),
        q("www.example.com.", A).rd().no_edns(),
        // other classes
        q("version.bind.", TXT)
            .class(DNSClass::CH)
            .mode(Mode::VersionString),
        q("VERSION.BIND.", TXT)
            .class(DNSClass::CH)
            .no_edns()
            .mode(Mode::VersionString),
        q("version.server.", TXT)
            .class(DNSClass::CH)
            .mode(Mode::VersionString),
        q("version.bind.", A).class(DNSClass::CH),
        q("id.server.", TXT).class(DNSClass::CH),
        q("hostname.bind.", TXT).class(DNSClass::CH),
        q("diff.test.", SOA).class(DNSClass::CH),
        q("www.diff.test.", A)
            .class(DNSClass::HS)
            .documented(Against::Nsd, QUESTION_ECHOED),
    ]
}

pub fn wildcards() -> Vec<Case> {
    vec![
        q("foo.wild.diff.test.", A),
        q("foo.wild.diff.test.", TXT),
        q("foo.wild.diff.test.", MX), // additional: mail A/AAAA
        q("FOO.Wild.Diff.Test.", A),
        q("a.b.c.wild.diff.test.", A),  // several labels deep
        q("foo.wild.diff.test.", AAAA), // NODATA from the wildcard
        q("*.wild.diff.test.", A),      // the wildcard owner itself
        q("*.wild.diff.test.", AAAA),
        q("exists.wild.diff.test.", A),
        q("exists.wild.diff.test.", TXT), // NODATA, wildcard does not apply
        q("x.exists.wild.diff.test.", A), // NXDOMAIN (RFC 4592 s2.2.1)
        q("wild.diff.test.", A),          // empty non-terminal
        q("foo.wcname.diff.test.", A),    // wildcard CNAME
        q("foo.wcname.diff.test.", CNAME),
        q("foo.wcname.diff.test.", AAAA),
        q("foo.wcname.diff.test.", MX),
        q("foo.wchain.diff.test.", A), // wildcard CNAME to a chain
        q("z.went.diff.test.", A),
        q("y.went.diff.test.", A),   // ENT blocks the wildcard: NODATA
        q("q.y.went.diff.test.", A), // closest encloser y.went: NXDOMAIN
        q("x.y.went.diff.test.", A),
        q("towild.diff.test.", A), // CNAME into a wildcard
        q("foo.wild.diff.test.", A).tcp(),
    ]
}

pub fn delegations() -> Vec<Case> {
    vec![
        q("www.sub.diff.test.", A),
        q("www.sub.diff.test.", A).rd(),
        q("deep.www.sub.diff.test.", AAAA),
        q("sub.diff.test.", NS),
        q("sub.diff.test.", A),
        q("sub.diff.test.", SOA),
        q("ns1.sub.diff.test.", A), // glue is not authoritative data
        q("ns1.sub.diff.test.", AAAA),
        q("sub.diff.test.", ty(43)), // DS: answered by the parent
        q("SUB.Diff.Test.", ty(43)),
        q("sub.diff.test.", ty(43)).rd().dnssec_ok(),
        q("insecure.diff.test.", NS),
        q("www.insecure.diff.test.", A),
        q("insecure.diff.test.", ty(43)), // no DS: NODATA from the parent
        q("child.diff.test.", ty(43)),    // DS of a served child: from the parent
        q("child.diff.test.", NS),        // from the child zone
        q("child.diff.test.", SOA),
        q("www.child.diff.test.", A),
        q("www.sub.diff.test.", A).no_edns(),
        q("www.sub.diff.test.", A).tcp(),
    ]
}

pub fn cname_and_dname_chains() -> Vec<Case> {
    let long_label = "c".repeat(63);
    let overflow = format!("{l}.{l}.{l}.grow.diff.test.", l = long_label);
    vec![
        q("alias.diff.test.", A),
        q("alias.diff.test.", AAAA),
        q("alias.diff.test.", MX), // chain ends in NODATA
        q("ALIAS.diff.test.", A),
        q("alias2.diff.test.", A),
        q("mixcase.diff.test.", A),
        q("cross.diff.test.", A), // into another served zone
        q("CROSS.Diff.Test.", A),
        q("crosschain.diff.test.", A),
        q("xloop.diff.test.", A),
        q("loop1.diff.test.", A),
        q("selfloop.diff.test.", A),
        q("out.diff.test.", A),
        q("dangling.diff.test.", A),
        q("tochild.diff.test.", A),
        q("tosub.diff.test.", A),
        q("toent.diff.test.", A),
        q("c1.diff.test.", A),
        q("c1.diff.test.", TXT),
        q("c3.diff.test.", HINFO),
        // a chain of 24 CNAMEs (chain00 .. chain23 -> chain24 A): how far each server follows
        q("chain00.diff.test.", A),
        q("chain00.diff.test.", A).tcp(),
        q("chain04.diff.test.", A),   // 20 hops
        q("chain08.diff.test.", A),   // 16 hops
        q("chain12.diff.test.", A),   // 12 hops
        q("chain15.diff.test.", A),   // 9 hops
        q("chain16.diff.test.", A),   // 8 hops
        q("chain17.diff.test.", A),   // 7 hops
        q("chain00.diff.test.", TXT), // chain ends in NODATA
        q("back.other.test.", A),
        q("xloop.other.test.", A),
        // DNAME (RFC 6672)
        q("x.dname.diff.test.", A),
        q("x.dname.diff.test.", TXT),
        q("X.DName.Diff.Test.", A),
        q("y.dname.diff.test.", A), // synthesised target does not exist
        q("www.x.dname.diff.test.", A),
        q("dname.diff.test.", A), // the DNAME owner itself
        q("x.ldname.diff.test.", A),
        q("a.b.ldname.diff.test.", A),
        q("foo.dnameout.diff.test.", A),
        q("x.grow.diff.test.", A),
        q(&overflow, A), // substitution exceeds 255 octets: YXDOMAIN
        q("x.dname.diff.test.", ty(39)),
    ]
}

pub fn truncation_and_tcp() -> Vec<Case> {
    vec![
        q("bigtxt.diff.test.", TXT).no_edns(),
        q("bigtxt.diff.test.", TXT),
        q("bigtxt.diff.test.", TXT).payload(4096),
        q("bigtxt.diff.test.", TXT).payload(65535),
        q("bigtxt.diff.test.", TXT).tcp(),
        q("bigtxt.diff.test.", TXT).tcp().no_edns(),
        q("biga.diff.test.", A).no_edns(),
        q("biga.diff.test.", A).payload(512),
        q("biga.diff.test.", A),
        q("biga.diff.test.", A)
            .payload(700)
            .mode(Mode::SectionsMayShrink),
        q("biga.diff.test.", A).tcp(),
        q("biga.diff.test.", A).tcp().no_edns(),
        q("manymx.diff.test.", MX)
            .no_edns()
            .mode(Mode::SectionsMayShrink),
        q("manymx.diff.test.", MX),
        q("manymx.diff.test.", MX).tcp().no_edns(),
        q("www.diff.test.", A).tcp(),
        q("www.diff.test.", A).tcp().no_edns().rd(),
        q("nothere.diff.test.", A).tcp(),
        q("alias.diff.test.", A).tcp(),
        q("www.example.com.", A).tcp(),
        q("version.bind.", TXT)
            .class(DNSClass::CH)
            .tcp()
            .mode(Mode::VersionString),
    ]
}

pub fn edns() -> Vec<Case> {
    vec![
        q("www.diff.test.", A).no_edns(),
        q("www.diff.test.", A).payload(512),
        q("www.diff.test.", A).payload(1232),
        q("www.diff.test.", A).payload(4096),
        q("www.diff.test.", A).payload(65535),
        q("www.diff.test.", A).payload(0), // < 512 is treated as 512
        q("www.diff.test.", A).payload(100),
        q("www.diff.test.", A).dnssec_ok(),
        q("nothere.diff.test.", A).dnssec_ok(),
        q("www.diff.test.", A)
            .dnssec_ok()
            .cd()
            .rd()
            .documented(Against::Both, CD_COPIED),
        q("www.diff.test.", A).edns_version(1), // BADVERS
        q("nothere.diff.test.", A).edns_version(1),
        q("www.example.com.", A).edns_version(1),
        q("www.diff.test.", A).unknown_option(),
        q("www.diff.test.", A).edns_z(0x1234),
        q("www.example.com.", A),
        q("nothere.diff.test.", A).payload(512),
        q("www.diff.test.", A).tcp().payload(512),
    ]
}

pub fn any_queries() -> Vec<Case> {
    let any = |n: &str| q(n, ANY).mode(Mode::Any);
    vec![
        any("diff.test."),
        any("diff.test.").no_edns(),
        any("diff.test.").tcp(),
        any("www.diff.test."),
        any("host.diff.test."),
        any("txt.diff.test.").rd(),
        any("alias.diff.test."),
        any("foo.wild.diff.test."),
        any("foo.wcname.diff.test."),
        any("unknown.diff.test."),
        any("child.diff.test."),
        any("www.other.test.").tcp(),
        // RFC 8482 over TCP too: NSD and Knot give one RRset whatever the transport
        any("www.diff.test.").tcp(),
        any("host.diff.test.").tcp(),
        any("txt.diff.test.").tcp().no_edns(),
        // at a name a wildcard matches: which RRset each server picks
        any("bar.wild.diff.test."),
        any("bar.wild.diff.test.").tcp(),
        any("a.b.wild.diff.test.").tcp(),
        // empty answers from NSD: compared exactly
        any("nothere.diff.test."),
        any("b.ent.diff.test."),
        any("www.sub.diff.test."),
        any("sub.diff.test."),
        any("www.example.com."),
    ]
}

/// Header-only, malformed or unusual messages.
pub fn unusual_messages() -> Vec<Case> {
    // header: id=0, flags, qd, an, ns, ar
    let header = |flags: u16, qd: u16, an: u16, ns: u16, ar: u16| -> Vec<u8> {
        let mut v = vec![0, 0];
        for x in [flags, qd, an, ns, ar] {
            v.extend_from_slice(&x.to_be_bytes());
        }
        v
    };
    let www_a: Vec<u8> = {
        let mut v = vec![];
        for l in ["www", "diff", "test"] {
            v.push(l.len() as u8);
            v.extend_from_slice(l.as_bytes());
        }
        v.extend_from_slice(&[0, 0, 1, 0, 1]);
        v
    };
    let opt_rr: Vec<u8> = vec![0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0];
    let cat = |parts: &[&[u8]]| -> Vec<u8> { parts.concat() };

    vec![
            raw("header only, QDCOUNT=0", header(0, 0, 0, 0, 0)),
            raw("QDCOUNT=2", cat(&[&header(0, 2, 0, 0, 0), &www_a, &www_a])),
            raw(
                "two OPT records",
                cat(&[&header(0, 1, 0, 0, 2), &www_a, &opt_rr, &opt_rr]),
            ).documented(Against::Nsd, QUESTION_ECHOED),
            raw(
                "QR=1 (a response)",
                cat(&[&header(0x8000, 1, 0, 0, 0), &www_a]),
            ),
            raw("5 octets", vec![0, 0, 0, 0, 0]),
            raw("QDCOUNT=1 but no question", header(0, 1, 0, 0, 0)),
            raw(
                "TC=1 in the query",
                cat(&[&header(0x0200, 1, 0, 0, 0), &www_a]),
            ),
            raw(
                "AA=1 RA=1 AD=1 in the query",
                cat(&[&header(0x04a0, 1, 0, 0, 0), &www_a]),
            ),
            raw(
                "unknown opcode 3",
                cat(&[&header(3 << 11, 1, 0, 0, 0), &www_a]),
            ).documented(Against::Nsd, QUESTION_ECHOED),
            q("www.diff.test.", A).opcode(OpCode::Status).documented(Against::Nsd, QUESTION_ECHOED),
            q("diff.test.", SOA)
                .opcode(OpCode::Notify)
                .documented(Against::Nsd, "NOTIFY for a zone we are primary of is REFUSED as NSD says, with the question echoed; docs/answers.md: differences from NSD and Knot"),
            q("diff.test.", SOA).opcode(OpCode::Update).documented(Against::Both, "an UPDATE to a zone that takes none is REFUSED with the reason (RFC 2136 §3.3, as BIND); NSD has no dynamic update (NOTIMP), Knot says NOTAUTH; docs/answers.md: differences from NSD and Knot"),
            q("www.diff.test.", A)
                .class(DNSClass::ANY)
                .documented(Against::Knot, QCLASS_ANY_NOT_AA),
            q("www.diff.test.", ty(0)),
            // a valid query, then octets that belong to no record: FORMERR (NSD, Knot)
            q("www.diff.test.", A).no_edns().trailing(&[0xde, 0xad, 0xbe, 0xef]),
            q("www.diff.test.", A).trailing(&[0; 7]),
            q("www.diff.test.", A).tcp().trailing(&[0xde, 0xad, 0xbe, 0xef]),
            // a TCP message padded with zero octets to the largest length a TCP frame holds
            q("www.diff.test.", A).tcp().pad_to(65535),
            q("www.diff.test.", A).tcp().no_edns().pad_to(65535),
            // genreport's `opcode`: dig +noedns +noad +norec +header-only +opcode=15
            raw("opcode 15, header only (genreport opcode)", header(15 << 11, 0, 0, 0, 0)),
            // genreport's `opcodeflg`: the same with TC RD RA CD AD AA Z set
            raw(
                "opcode 15, header only, TC RD RA CD AD AA Z set (genreport opcodeflg)",
                header((15 << 11) | 0x07f0, 0, 0, 0, 0),
            ).documented(Against::Both, OPCODE_FLAGS_CLEARED),
            raw("opcode 15 with a question", cat(&[&header(15 << 11, 1, 0, 0, 0), &www_a])),
        ]
}

/// Extended DNS Errors (RFC 8914) on refusals.
pub fn extended_errors() -> Vec<Case> {
    vec![
        // a name outside every served zone: REFUSED with EDE 20 (Not Authoritative)
        q("www.example.com.", A),
        q("www.example.com.", A).rd(),
        q("www.example.com.", A).tcp(),
        q("example.com.", SOA).dnssec_ok(),
        q(".", SOA),
        q("test.", NS),
        q("xdiff.test.", A),
        q("www.example.com.", A).no_edns(), // no OPT: nowhere to put the EDE
        // a refused transfer: EDE 18 (Prohibited)
        q("diff.test.", AXFR).tcp(),
        q("diff.test.", AXFR).tcp().no_edns(),
        q("other.test.", AXFR).tcp(),
        q("diff.test.", IXFR).tcp(),
        // a transfer of a zone not served
        q("example.com.", AXFR).tcp(),
    ]
}

/// QTYPEs that are not data types (RFC 1035 §3.2.3, RFC 6895 §3.1): MAILA, MAILB, OPT, TSIG,
/// TKEY in a plain query, AXFR and IXFR over UDP.
pub fn meta_qtypes() -> Vec<Case> {
    vec![
        // MAILA / MAILB (obsolete, RFC 883): NOERROR, no data, SOA in authority
        q("diff.test.", ty(254)),
        q("www.diff.test.", ty(254)),
        q("diff.test.", ty(253)),
        q("www.diff.test.", ty(253)).no_edns(),
        q("nothere.diff.test.", ty(254)),
        // meta-types asked for as data (RFC 6895 §3.1): NOERROR, no data, AA, SOA
        q("diff.test.", ty(41)), // OPT
        q("www.diff.test.", ty(41)),
        q("www.diff.test.", ty(41)).no_edns(),
        q("diff.test.", ty(250)), // TSIG
        q("www.diff.test.", ty(250)).no_edns(),
        q("diff.test.", ty(249)), // TKEY
        q("www.diff.test.", ty(249)).tcp(),
        // a zone transfer asked for over UDP: NOTIMP
        q("diff.test.", AXFR),
        q("diff.test.", AXFR).no_edns(),
        q("diff.test.", IXFR),
        q("diff.test.", IXFR).no_edns(),
        q("www.diff.test.", AXFR),
        q("www.example.com.", AXFR),
        // CH TXT identity: no AA
        q("version.bind.", TXT)
            .class(DNSClass::CH)
            .rd()
            .mode(Mode::VersionString),
        q("id.server.", TXT).class(DNSClass::CH).no_edns(),
        q("hostname.bind.", TXT).class(DNSClass::CH).tcp(),
    ]
}

/// Where NSD and Knot answer differently from each other: the CD bit, QCLASS ANY, EDNS Client
/// Subnet, TTLs in a zone file without `$TTL`.
pub fn reference_disagreements() -> Vec<Case> {
    vec![
        // CD (RFC 4035 §3.2.2: copied into the response)
        q("nothere.diff.test.", A)
            .cd()
            .documented(Against::Both, CD_COPIED),
        q("www.example.com.", A)
            .cd()
            .documented(Against::Both, CD_COPIED),
        q("diff.test.", SOA)
            .cd()
            .dnssec_ok()
            .documented(Against::Both, CD_COPIED),
        q("www.diff.test.", A)
            .cd()
            .no_edns()
            .documented(Against::Both, CD_COPIED),
        // QCLASS ANY: answered from IN (NSD without AA, Knot with AA)
        q("diff.test.", SOA)
            .class(DNSClass::ANY)
            .documented(Against::Knot, QCLASS_ANY_NOT_AA),
        q("nothere.diff.test.", A)
            .class(DNSClass::ANY)
            .documented(Against::Knot, QCLASS_ANY_NOT_AA),
        q("www.example.com.", A).class(DNSClass::ANY),
        // EDNS Client Subnet (RFC 7871): Knot (edns-client-subnet: on) echoes it with scope 0,
        // NSD ignores it. Asked at names where NSD and Knot give the same sections.
        q("nothere.diff.test.", A).ecs([192, 0, 2, 0], 24),
        q("www.example.com.", A).ecs([192, 0, 2, 0], 24),
        q("diff.test.", SOA).ecs([198, 51, 100, 7], 32),
        q("nothere.diff.test.", A).ecs([0, 0, 0, 0], 0),
        q("nothere.diff.test.", A).ecs([10, 1, 2, 3], 16).tcp(),
        // a malformed ECS (address longer than the source prefix): FORMERR per RFC 7871 §6
        q("nothere.diff.test.", A)
            .option(8, &[0, 1, 8, 0, 192, 0, 2, 0])
            .documented(Against::Both, ECS_MALFORMED),
        // TTLs in a zone file without $TTL (tests/zones/diff/nottl.test.zone)
        q("nottl.test.", SOA).documented(Against::Both, TTL_WITHOUT_DOLLAR_TTL),
        q("nottl.test.", NS).documented(Against::Both, TTL_WITHOUT_DOLLAR_TTL),
        q("ns1.nottl.test.", A).documented(Against::Both, TTL_WITHOUT_DOLLAR_TTL),
        q("a.nottl.test.", A).documented(Against::Both, TTL_WITHOUT_DOLLAR_TTL),
        q("b.nottl.test.", A).documented(Against::Both, TTL_WITHOUT_DOLLAR_TTL),
        q("c.nottl.test.", TXT).documented(Against::Both, TTL_WITHOUT_DOLLAR_TTL),
        q("d.nottl.test.", TXT).documented(Against::Both, TTL_WITHOUT_DOLLAR_TTL),
        q("e.nottl.test.", AAAA).documented(Against::Both, TTL_WITHOUT_DOLLAR_TTL),
        q("nothere.nottl.test.", A).documented(Against::Both, TTL_WITHOUT_DOLLAR_TTL),
        q("e.nottl.test.", A).documented(Against::Both, TTL_WITHOUT_DOLLAR_TTL),
    ]
}
