//! Record type codes the server itself needs to know about, and mnemonic lookup.
//!
//! Codes are plain `u16` on the query path; hickory-proto's `RecordType` supplies the
//! mnemonics of the types we do not treat specially.

use hickory_proto::rr::RecordType;
use std::str::FromStr;

pub const A: u16 = 1;
pub const NS: u16 = 2;
pub const CNAME: u16 = 5;
pub const SOA: u16 = 6;
pub const MB: u16 = 7;
pub const MG: u16 = 8;
pub const MR: u16 = 9;
pub const PTR: u16 = 12;
pub const HINFO: u16 = 13;
pub const MINFO: u16 = 14;
pub const MX: u16 = 15;
pub const TXT: u16 = 16;
pub const RP: u16 = 17;
pub const AFSDB: u16 = 18;
pub const AAAA: u16 = 28;
pub const SRV: u16 = 33;
pub const NAPTR: u16 = 35;
pub const KX: u16 = 36;
pub const DNAME: u16 = 39;
pub const OPT: u16 = 41;
pub const DS: u16 = 43;
pub const SSHFP: u16 = 44;
pub const RRSIG: u16 = 46;
pub const NSEC: u16 = 47;
pub const DNSKEY: u16 = 48;
pub const NSEC3: u16 = 50;
pub const NSEC3PARAM: u16 = 51;
pub const CDNSKEY: u16 = 60;
pub const TLSA: u16 = 52;
pub const CDS: u16 = 59;
pub const SPF: u16 = 99;
pub const TKEY: u16 = 249;
pub const TSIG: u16 = 250;
pub const IXFR: u16 = 251;
pub const AXFR: u16 = 252;
pub const MAILB: u16 = 253;
pub const MAILA: u16 = 254;
pub const ANY: u16 = 255;
pub const CAA: u16 = 257;
pub const NULL: u16 = 10;
pub const WKS: u16 = 11;
pub const X25: u16 = 19;
pub const ISDN: u16 = 20;
pub const RT: u16 = 21;
pub const PX: u16 = 26;
pub const GPOS: u16 = 27;
pub const LOC: u16 = 29;
pub const CERT: u16 = 37;
pub const APL: u16 = 42;
pub const IPSECKEY: u16 = 45;
pub const DHCID: u16 = 49;
pub const SMIMEA: u16 = 53;
pub const OPENPGPKEY: u16 = 61;
pub const CSYNC: u16 = 62;
pub const ZONEMD: u16 = 63;
pub const SVCB: u16 = 64;
pub const HTTPS: u16 = 65;
pub const NID: u16 = 104;
pub const L32: u16 = 105;
pub const L64: u16 = 106;
pub const LP: u16 = 107;
pub const EUI48: u16 = 108;
pub const EUI64: u16 = 109;
pub const URI: u16 = 256;
pub const AMTRELAY: u16 = 260;
pub const NSAP: u16 = 22;
pub const A6: u16 = 38;
pub const ATMA: u16 = 34;
pub const HIP: u16 = 55;
pub const DOA: u16 = 259;
pub const NSAP_PTR: u16 = 23;
pub const KEY: u16 = 25;
pub const EID: u16 = 31;
pub const NIMLOC: u16 = 32;
pub const SINK: u16 = 40;
pub const NINFO: u16 = 56;
pub const RKEY: u16 = 57;
pub const TALINK: u16 = 58;
pub const AVC: u16 = 258;
pub const RESINFO: u16 = 261;
pub const TA: u16 = 32768;
pub const DLV: u16 = 32769;

/// Mnemonics of the types whose presentation form `zone::rdata` reads, so that lookup does not
/// depend on which ones hickory-proto knows.
const NAMED: [(&str, u16); 75] = [
    ("A", A),
    ("NS", NS),
    ("CNAME", CNAME),
    ("SOA", SOA),
    ("MB", MB),
    ("MG", MG),
    ("MR", MR),
    ("NULL", NULL),
    ("WKS", WKS),
    ("PTR", PTR),
    ("HINFO", HINFO),
    ("MINFO", MINFO),
    ("MX", MX),
    ("TXT", TXT),
    ("RP", RP),
    ("AFSDB", AFSDB),
    ("X25", X25),
    ("ISDN", ISDN),
    ("RT", RT),
    ("PX", PX),
    ("GPOS", GPOS),
    ("AAAA", AAAA),
    ("LOC", LOC),
    ("SRV", SRV),
    ("NAPTR", NAPTR),
    ("KX", KX),
    ("CERT", CERT),
    ("DNAME", DNAME),
    ("OPT", OPT),
    ("APL", APL),
    ("DS", DS),
    ("SSHFP", SSHFP),
    ("IPSECKEY", IPSECKEY),
    ("RRSIG", RRSIG),
    ("NSEC", NSEC),
    ("DNSKEY", DNSKEY),
    ("DHCID", DHCID),
    ("NSEC3", NSEC3),
    ("NSEC3PARAM", NSEC3PARAM),
    ("TLSA", TLSA),
    ("SMIMEA", SMIMEA),
    ("CDS", CDS),
    ("CDNSKEY", CDNSKEY),
    ("OPENPGPKEY", OPENPGPKEY),
    ("CSYNC", CSYNC),
    ("ZONEMD", ZONEMD),
    ("SVCB", SVCB),
    ("HTTPS", HTTPS),
    ("SPF", SPF),
    ("NID", NID),
    ("L32", L32),
    ("L64", L64),
    ("LP", LP),
    ("EUI48", EUI48),
    ("EUI64", EUI64),
    ("URI", URI),
    ("CAA", CAA),
    ("AMTRELAY", AMTRELAY),
    ("NSAP", NSAP),
    ("NSAP-PTR", NSAP_PTR),
    ("KEY", KEY),
    ("EID", EID),
    ("NIMLOC", NIMLOC),
    ("SINK", SINK),
    ("NINFO", NINFO),
    ("RKEY", RKEY),
    ("TALINK", TALINK),
    ("AVC", AVC),
    ("RESINFO", RESINFO),
    ("TA", TA),
    ("DLV", DLV),
    ("A6", A6),
    ("ATMA", ATMA),
    ("HIP", HIP),
    ("DOA", DOA),
];
/// Private use (RFC 6895 §3.1): a zone's routing policy, carried by transfers to policydns
/// secondaries only (`transfer::records`).
pub const POLICYDNS: u16 = 65300;

pub const CLASS_IN: u16 = 1;
pub const CLASS_CH: u16 = 3;
pub const CLASS_ANY: u16 = 255;
/// RFC 2136 §1.3: in an update, "delete this record" (and "name or RRset not in use").
pub const CLASS_NONE: u16 = 254;

/// Query-only types (RFC 6895 §3.1: 128–255 are meta/Q-types); never stored.
pub fn is_meta(t: u16) -> bool {
    t == OPT || (128..=255).contains(&t)
}

/// Types whose RDATA names may be compressed on output (RFC 3597 §4: only RFC 1035's).
pub fn rdata_names_compressible(t: u16) -> bool {
    matches!(t, NS | CNAME | SOA | MB | MG | MR | PTR | MINFO | MX)
}

pub fn from_mnemonic(text: &str) -> Option<u16> {
    let upper = text.to_ascii_uppercase();
    if let Some(num) = upper.strip_prefix("TYPE") {
        return num.parse::<u16>().ok();
    }
    if let Some(&(_, t)) = NAMED.iter().find(|(n, _)| *n == upper) {
        return Some(t);
    }
    match RecordType::from_str(&upper) {
        Ok(RecordType::Unknown(_)) | Err(_) => None,
        Ok(rt) => Some(u16::from(rt)),
    }
}

/// The Type Bit Maps field of NSEC and NSEC3 for `types` (RFC 4034 §4.1.2): one window per
/// 256 types that has any, each as long as its highest type needs.
pub fn bitmap(types: &[u16]) -> Vec<u8> {
    let mut t = types.to_vec();
    t.sort_unstable();
    t.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let window = (t[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < t.len() && (t[i] >> 8) as u8 == window {
            let low = (t[i] & 0xFF) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            i += 1;
        }
        out.push(window);
        out.push(len as u8);
        out.extend_from_slice(&bits[..len]);
    }
    out
}

pub fn mnemonic(t: u16) -> String {
    if let Some(&(n, _)) = NAMED.iter().find(|&&(_, c)| c == t) {
        return n.to_string();
    }
    match RecordType::from(t) {
        RecordType::Unknown(_) => format!("TYPE{t}"),
        rt => rt.to_string(),
    }
}
