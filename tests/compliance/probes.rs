//! The probes of ISC's DNS Compliance Testing `genreport` (genreport.c, the `opts[]` table),
//! with genreport's names, and the queries they send (genreport.c `dotest()`).
//!
//! Each probe asks for `<zone>` (here diff.test.) with the header bits, EDNS version, flags,
//! UDP size and options of its row. As `dotest()` builds it: `res_mkquery(QUERY, zone, IN,
//! type)`, then for a non-zero opcode the opcode is written into the header and, for opcode
//! 15, the question removed (a 12-octet message); TC, RD, RA, Z, AD, CD set as the row says
//! (RD cleared otherwise); an OPT record (owner ".", CLASS = UDP size, TTL = version << 16 |
//! flags, the row's options) when the UDP size is not 0; for `dnswkk` a TSIG record signed
//! with hmac-sha256 and the well-known all-zero key named ".".
//!
//! One departure: the row's `aa` column. genreport.c's `dotest()` sets TC, RD, RA, Z, AD and
//! CD from the table but never AA, so the `aa` probe it sends is the `dns` probe; its dig
//! command (`+aaflag`) and table say AA=1, and that is what is sent here.

use hickory_proto::rr::rdata::tsig::TsigAlgorithm;

/// genreport's test groups (`-e` EDNS, the default; `-f` FULL, with EDNS; `-c` COMM; `-t`
/// TYPE; `-i NAME` for the ones in no group).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Group {
    Edns,
    Full,
    Comm,
    Type,
    None,
}

/// One row of genreport's `opts[]`.
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    pub name: &'static str,
    pub group: Group,
    /// EDNS options (the OPT RDATA)
    pub rdata: &'static [u8],
    /// EDNS UDP size; 0: no EDNS
    pub udpsize: u16,
    /// EDNS flags (0x8000: DO)
    pub flags: u16,
    pub version: u8,
    pub tcp: bool,
    /// the OPT record carries a COOKIE
    pub cookie: bool,
    /// TC in the response is not followed up over TCP
    pub ignore: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    pub cd: bool,
    pub ad: bool,
    pub aa: bool,
    pub z: bool,
    pub opcode: u8,
    pub qtype: u16,
    /// genreport's equivalent dig command
    pub dig: &'static str,
}

const SOA: u16 = 6;
const DNSKEY: u16 = 48;

const NSID: &[u8] = b"\x00\x03\x00\x00";
const ECS: &[u8] = b"\x00\x08\x00\x04\x00\x01\x00\x00"; // 0.0.0.0/0
const EXPIRE: &[u8] = b"\x00\x09\x00\x00";
const COOKIE: &[u8] = b"\x00\x0a\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08";
const OPT100: &[u8] = b"\x00\x64\x00\x00";
const OPTLIST: &[u8] = b"\x00\x03\x00\x00\x00\x08\x00\x04\x00\x01\x00\x00\x00\x09\x00\x00\x00\x0a\x00\x08\x01\x02\x03\x04\x05\x06\x07\x08";

/// The client cookie genreport sends (and expects back at the start of a server's COOKIE).
pub const CLIENT_COOKIE: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

const P: Probe = Probe {
    name: "",
    group: Group::Full,
    rdata: b"",
    udpsize: 0,
    flags: 0,
    version: 0,
    tcp: false,
    cookie: false,
    ignore: false,
    tc: false,
    rd: false,
    ra: false,
    cd: false,
    ad: false,
    aa: false,
    z: false,
    opcode: 0,
    qtype: SOA,
    dig: "",
};

/// genreport's EDNS, FULL and COMM probes and `dnswkk`, in its table's order.
pub const PROBES: &[Probe] = &[
    Probe { name: "dns", group: Group::Edns, dig: "dig +noedns +noad +norec SOA <zone>", ..P },
    Probe { name: "aa", aa: true, dig: "dig +noedns +noad +norec +aaflag SOA <zone>", ..P },
    Probe { name: "ad", ad: true, dig: "dig +noedns +ad +norec SOA <zone>", ..P },
    Probe { name: "cd", cd: true, dig: "dig +noedns +noad +norec +cd SOA <zone>", ..P },
    Probe { name: "ra", ra: true, dig: "dig +noedns +noad +norec +raflag SOA <zone>", ..P },
    Probe { name: "rd", rd: true, dig: "dig +noedns +noad +rec SOA <zone>", ..P },
    Probe { name: "tc", tc: true, dig: "dig +noedns +noad +norec +tcflag SOA <zone>", ..P },
    Probe { name: "zflag", z: true, dig: "dig +noedns +noad +norec +zflag SOA <zone>", ..P },
    Probe {
        name: "opcode",
        opcode: 15,
        qtype: 0,
        dig: "dig +noedns +noad +norec +header-only +opcode=15",
        ..P
    },
    Probe {
        name: "opcodeflg",
        opcode: 15,
        qtype: 0,
        tc: true,
        rd: true,
        ra: true,
        cd: true,
        ad: true,
        aa: true,
        z: true,
        dig: "dig +noedns +header-only +opcode=15 +tcflag +rec +raflag +cd +ad +aaflag +zflag",
        ..P
    },
    Probe { name: "type666", qtype: 666, dig: "dig +noedns +noad +norec TYPE666 <zone>", ..P },
    Probe { name: "tcp", tcp: true, dig: "dig +noedns +noad +norec +tcp SOA <zone>", ..P },
    Probe {
        name: "edns",
        group: Group::Edns,
        udpsize: 4096,
        dig: "dig +edns=0 +nocookie +noad +norec SOA <zone>",
        ..P
    },
    Probe {
        name: "edns1",
        group: Group::Edns,
        udpsize: 4096,
        version: 1,
        dig: "dig +edns=1 +noednsneg +nocookie +noad +norec SOA <zone>",
        ..P
    },
    Probe {
        name: "edns@512",
        group: Group::Edns,
        udpsize: 512,
        ignore: true,
        qtype: DNSKEY,
        dig: "dig +edns=0 +nocookie +noad +norec +dnssec +ignoretc +bufsize=512 DNSKEY <zone>",
        ..P
    },
    Probe {
        name: "ednsopt",
        group: Group::Edns,
        rdata: OPT100,
        udpsize: 4096,
        dig: "dig +edns=0 +nocookie +noad +norec +ednsopt=100 SOA <zone>",
        ..P
    },
    Probe {
        name: "edns1opt",
        group: Group::Edns,
        rdata: OPT100,
        udpsize: 4096,
        version: 1,
        dig: "dig +edns=1 +noednsneg +nocookie +noad +norec +ednsopt=100 SOA <zone>",
        ..P
    },
    Probe {
        name: "do",
        group: Group::Edns,
        udpsize: 4096,
        flags: 0x8000,
        dig: "dig +edns=0 +nocookie +noad +norec +dnssec SOA <zone>",
        ..P
    },
    Probe {
        name: "docd",
        udpsize: 4096,
        flags: 0x8000,
        cd: true,
        dig: "dig +edns=0 +nocookie +noad +norec +dnssec SOA <zone>",
        ..P
    },
    Probe {
        name: "edns1do",
        udpsize: 4096,
        flags: 0x8000,
        version: 1,
        dig: "dig +edns=1 +noednsneg +nocookie +noad +norec +dnssec SOA <zone>",
        ..P
    },
    Probe {
        name: "ednsflags",
        group: Group::Edns,
        udpsize: 4096,
        flags: 0x0080,
        dig: "dig +edns=0 +nocookie +noad +norec +ednsflags=0x0080 SOA <zone>",
        ..P
    },
    Probe {
        name: "optlist",
        group: Group::Edns,
        rdata: OPTLIST,
        udpsize: 4096,
        cookie: true,
        dig: "dig +edns=0 +noad +norec +nsid +subnet=0.0.0.0/0 +expire +cookie=0102030405060708 SOA <zone>",
        ..P
    },
    Probe {
        name: "ednsnsid",
        rdata: NSID,
        udpsize: 4096,
        dig: "dig +edns=0 +nocookie +noad +norec +nsid SOA <zone>",
        ..P
    },
    Probe {
        name: "ednscookie",
        rdata: COOKIE,
        udpsize: 4096,
        cookie: true,
        dig: "dig +edns=0 +noad +norec +cookie=0102030405060708 SOA <zone>",
        ..P
    },
    Probe {
        name: "ednsexpire",
        rdata: EXPIRE,
        udpsize: 4096,
        dig: "dig +edns=0 +nocookie +noad +norec +expire SOA <zone>",
        ..P
    },
    Probe {
        name: "ednssubnet",
        rdata: ECS,
        udpsize: 4096,
        dig: "dig +edns=0 +nocookie +noad +norec +subnet=0.0.0.0/0 SOA <zone>",
        ..P
    },
    Probe {
        name: "edns1nsid",
        rdata: NSID,
        udpsize: 4096,
        version: 1,
        dig: "dig +edns=1 +noednsneg +nocookie +noad +norec +nsid SOA <zone>",
        ..P
    },
    Probe {
        name: "edns1cookie",
        rdata: COOKIE,
        udpsize: 4096,
        version: 1,
        cookie: true,
        dig: "dig +edns=1 +noednsneg +noad +norec +cookie=0102030405060708 SOA <zone>",
        ..P
    },
    Probe {
        name: "edns1expire",
        rdata: EXPIRE,
        udpsize: 4096,
        version: 1,
        dig: "dig +edns=1 +noednsneg +nocookie +noad +norec +expire SOA <zone>",
        ..P
    },
    Probe {
        name: "edns1subnet",
        rdata: ECS,
        udpsize: 4096,
        version: 1,
        dig: "dig +edns=1 +noednsneg +nocookie +noad +norec +subnet=0.0.0.0/0 SOA <zone>",
        ..P
    },
    Probe {
        name: "ednstcp",
        group: Group::Edns,
        udpsize: 512,
        flags: 0x8000,
        tcp: true,
        qtype: DNSKEY,
        dig: "dig +edns=0 +nocookie +noad +norec +dnssec +bufsize=512 +tcp DNSKEY <zone>",
        ..P
    },
    Probe {
        name: "bind11",
        group: Group::Comm,
        rdata: COOKIE,
        udpsize: 4096,
        flags: 0x8000,
        cookie: true,
        dig: "dig +edns=0 +cookie=0102030405060708 +noad +norec +dnssec SOA <zone>",
        ..P
    },
    Probe {
        name: "dig11",
        group: Group::Comm,
        rdata: COOKIE,
        udpsize: 4096,
        cookie: true,
        rd: true,
        ad: true,
        dig: "dig +edns=0 +cookie=0102030405060708 +ad +rec SOA <zone>",
        ..P
    },
    Probe {
        name: "dnswkk",
        group: Group::None,
        dig: "dig +noedns +noad +norec -y hmac-sha256:.:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= SOA <zone>",
        ..P
    },
];

/// genreport's TYPE probes (`-t`): `dig +noedns +noad +norec TYPE <zone>`, one per type.
pub const TYPES: &[(&str, u16)] = &[
    ("A", 1),
    ("NS", 2),
    ("MD", 3),
    ("MF", 4),
    ("CNAME", 5),
    ("SOA", 6),
    ("MB", 7),
    ("MG", 8),
    ("MR", 9),
    ("NULL", 10),
    ("WKS", 11),
    ("PTR", 12),
    ("HINFO", 13),
    ("MINFO", 14),
    ("MX", 15),
    ("TXT", 16),
    ("RP", 17),
    ("AFSDB", 18),
    ("X25", 19),
    ("ISDN", 20),
    ("RT", 21),
    ("NSAP", 22),
    ("NSAP-PTR", 23),
    ("SIG", 24),
    ("KEY", 25),
    ("PX", 26),
    ("GPOS", 27),
    ("AAAA", 28),
    ("LOC", 29),
    ("NXT", 30),
    ("SRV", 33),
    ("NAPTR", 35),
    ("KX", 36),
    ("CERT", 37),
    ("A6", 38),
    ("DNAME", 39),
    ("APL", 42),
    ("DS", 43),
    ("SSHFP", 44),
    ("IPSECKEY", 45),
    ("RRSIG", 46),
    ("NSEC", 47),
    ("DNSKEY", 48),
    ("DHCID", 49),
    ("NSEC3", 50),
    ("NSEC3PARAM", 51),
    ("TLSA", 52),
    ("SMIMEA", 53),
    ("HIP", 55),
    ("CDS", 59),
    ("CDNSKEY", 60),
    ("OPENPGPKEY", 61),
    ("SPF", 99),
    ("NID", 104),
    ("L32", 105),
    ("L64", 106),
    ("LP", 107),
    ("EUI48", 108),
    ("EUI64", 109),
    ("URI", 256),
    ("CAA", 257),
    ("AVC", 258),
    ("DOA", 259),
    ("DLV", 32769),
    ("TYPE1000", 1000),
];

/// The TYPE probe for `qtype`, named as genreport names it.
pub fn type_probe(name: &'static str, qtype: u16) -> Probe {
    Probe {
        name,
        group: Group::Type,
        qtype,
        dig: "dig +noedns +noad +norec <TYPE> <zone>",
        ..P
    }
}

/// The well-known TSIG key of `dnswkk`: name ".", hmac-sha256, 32 zero octets.
pub const WKK: [u8; 32] = [0; 32];
const HMAC_SHA256_WIRE: &[u8] = b"\x0bhmac-sha256\x00";

/// HMAC-SHA256 with the well-known key.
pub fn wkk_mac(data: &[u8]) -> Vec<u8> {
    TsigAlgorithm::HmacSha256
        .mac_data(&WKK, data)
        .expect("hmac-sha256")
}

/// The query of `probe` for `zone` with ID `id`; for `dnswkk` also the request MAC (the
/// response's TSIG is computed over it).
pub fn query(probe: &Probe, zone: &str, id: u16, now: u64) -> (Vec<u8>, Vec<u8>) {
    // res_mkquery: ID, RD (cleared or set below), QDCOUNT 1, the question
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in zone
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.push(0);
    m.extend_from_slice(&probe.qtype.to_be_bytes());
    m.extend_from_slice(&[0, 1]);
    if probe.opcode != 0 {
        m[2] &= 0x17;
        m[2] |= (probe.opcode & 0x0f) << 3;
        if probe.opcode == 15 {
            m[4] = 0;
            m[5] = 0;
        }
        m.truncate(12);
    }
    if probe.tc {
        m[2] |= 0x02;
    }
    if probe.rd {
        m[2] |= 0x01;
    } else {
        m[2] &= !0x01;
    }
    if probe.aa {
        m[2] |= 0x04; // see the module documentation
    }
    if probe.ra {
        m[3] |= 0x80;
    }
    if probe.z {
        m[3] |= 0x40;
    }
    if probe.ad {
        m[3] |= 0x20;
    }
    if probe.cd {
        m[3] |= 0x10;
    }
    if probe.udpsize > 0 {
        m.push(0);
        m.extend_from_slice(&41u16.to_be_bytes());
        m.extend_from_slice(&probe.udpsize.to_be_bytes());
        let ttl = ((probe.version as u32) << 16) | probe.flags as u32;
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&(probe.rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(probe.rdata);
        m[11] += 1;
    }
    let mut mac = vec![];
    if probe.name == "dnswkk" {
        // RFC 8945 §4.3.3: the message, then the TSIG variables
        let mut tbs = m.clone();
        tbs.push(0); // key name "."
        tbs.extend_from_slice(&255u16.to_be_bytes()); // class ANY
        tbs.extend_from_slice(&0u32.to_be_bytes()); // TTL
        tbs.extend_from_slice(HMAC_SHA256_WIRE);
        let time = &now.to_be_bytes()[2..];
        tbs.extend_from_slice(time);
        tbs.extend_from_slice(&300u16.to_be_bytes()); // fudge
        tbs.extend_from_slice(&[0, 0, 0, 0]); // error, other len
        mac = wkk_mac(&tbs);
        let mut rdata = HMAC_SHA256_WIRE.to_vec();
        rdata.extend_from_slice(time);
        rdata.extend_from_slice(&300u16.to_be_bytes());
        rdata.extend_from_slice(&(mac.len() as u16).to_be_bytes());
        rdata.extend_from_slice(&mac);
        rdata.extend_from_slice(&id.to_be_bytes());
        rdata.extend_from_slice(&[0, 0, 0, 0]);
        m.push(0);
        m.extend_from_slice(&250u16.to_be_bytes());
        m.extend_from_slice(&255u16.to_be_bytes());
        m.extend_from_slice(&0u32.to_be_bytes());
        m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        m.extend_from_slice(&rdata);
        m[11] += 1;
    }
    (m, mac)
}

/// The TSIG algorithm name as genreport compares it.
pub fn hmac_sha256_wire() -> &'static [u8] {
    HMAC_SHA256_WIRE
}
