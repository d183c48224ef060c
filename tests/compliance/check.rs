//! genreport's verdict on one response (genreport.c `process()`, for an authoritative server:
//! no `-R`), as the comma-separated tags it prints: "ok" when no check failed, else the failed
//! checks' tags, then the informational ones (nsid, expire, cookie, subnet).

use crate::probes::{hmac_sha256_wire, wkk_mac, Probe, CLIENT_COOKIE};

const SOA: u16 = 6;
const RRSIG: u16 = 46;
const OPT: u16 = 41;
const TSIG: u16 = 250;
const ANY: u16 = 255;

const NOERROR: u16 = 0;
const NOTIMP: u16 = 4;
const NOTAUTH: u16 = 9;
const BADVERS: u16 = 16;
const BADTIME: u16 = 18;
const BADCOOKIE: u16 = 23;

fn opcodetext(code: u8) -> String {
    match code {
        0 => "query".into(),
        1 => "iquery".into(),
        2 => "status".into(),
        4 => "notify".into(),
        5 => "update".into(),
        c => format!("opcode{c}"),
    }
}

fn rcodetext(code: u16) -> String {
    match code {
        0 => "noerror".into(),
        1 => "formerr".into(),
        2 => "servfail".into(),
        3 => "nxdomain".into(),
        4 => "notimp".into(),
        5 => "refused".into(),
        6 => "yxdomain".into(),
        7 => "yxrrset".into(),
        8 => "nxrrset".into(),
        9 => "notauth".into(),
        10 => "notzone".into(),
        16 => "badvers".into(),
        23 => "badcookie".into(),
        c => format!("rcode{c}"),
    }
}

fn tsigerrortext(code: u16) -> String {
    match code {
        16 => "badsig".into(),
        17 => "badkey".into(),
        18 => "badtime".into(),
        c => format!("rcode{c}"),
    }
}

/// A reader over the response; `None` is genreport's `goto err` ("malformed").
struct Rd<'a> {
    b: &'a [u8],
    i: usize,
}

impl Rd<'_> {
    fn u8(&mut self) -> Option<u8> {
        let v = *self.b.get(self.i)?;
        self.i += 1;
        Some(v)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_be_bytes([self.u8()?, self.u8()?]))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(((self.u16()? as u32) << 16) | self.u16()? as u32)
    }
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let s = self.b.get(self.i..self.i + n)?;
        self.i += n;
        Some(s)
    }
    /// A (possibly compressed) name, lower-cased, "" for the root (dn_expand's form).
    fn name(&mut self) -> Option<String> {
        let (name, end) = read_name(self.b, self.i)?;
        self.i = end;
        Some(name)
    }
}

/// The name at `at` and where it ends in the message (after the first pointer).
fn read_name(b: &[u8], mut at: usize) -> Option<(String, usize)> {
    let mut labels: Vec<String> = vec![];
    let mut end = None;
    let mut hops = 0;
    loop {
        let len = *b.get(at)? as usize;
        if len & 0xc0 == 0xc0 {
            let ptr = ((len & 0x3f) << 8) | *b.get(at + 1)? as usize;
            end.get_or_insert(at + 2);
            hops += 1;
            if hops > 64 || ptr >= b.len() {
                return None;
            }
            at = ptr;
            continue;
        }
        if len & 0xc0 != 0 {
            return None;
        }
        if len == 0 {
            end.get_or_insert(at + 1);
            break;
        }
        let l = b.get(at + 1..at + 1 + len)?;
        labels.push(String::from_utf8_lossy(l).to_ascii_lowercase());
        at += 1 + len;
    }
    Some((labels.join("."), end.unwrap()))
}

/// What a response was for genreport: the tags.
#[derive(Default)]
struct Seen {
    soa: bool,
    rrsig: bool,
    opt: bool,
    nsid: bool,
    ecs: bool,
    expire: bool,
    cookie: bool,
    goodcookie: bool,
    echo: bool,
    tsig: bool,
    ednsttl: u32,
}

/// genreport's tags for `resp`, the answer to `probe` for `zone` (no trailing dot)
/// (`request_mac`: the TSIG MAC of a `dnswkk` query).
pub fn check(probe: &Probe, zone: &str, resp: &[u8], request_mac: &[u8]) -> Vec<String> {
    match process(probe, zone, resp, request_mac) {
        Some(tags) => tags,
        None => vec!["malformed".into()],
    }
}

fn process(probe: &Probe, zone: &str, buf: &[u8], request_mac: &[u8]) -> Option<Vec<String>> {
    let mut tags: Vec<String> = vec![];
    let mut ok = true;
    let mut addrcode = true;
    let bad = |tags: &mut Vec<String>, t: String| {
        tags.push(t);
        false
    };
    if buf.len() < 12 {
        return None;
    }
    let opcode = (buf[2] >> 3) & 0xf;
    let aa = buf[2] & 0x04 != 0;
    let rd = buf[2] & 0x01 != 0;
    let ra = buf[3] & 0x80 != 0;
    let z = buf[3] & 0x40 != 0;
    let ad = buf[3] & 0x20 != 0;
    let cd = buf[3] & 0x10 != 0;
    let mut rcode = (buf[3] & 0x0f) as u16;
    let count = |i: usize| u16::from_be_bytes([buf[i], buf[i + 1]]);
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    let mut r = Rd { b: buf, i: 12 };
    let mut s = Seen::default();
    let zone = zone.trim_end_matches('.').to_ascii_lowercase();

    if probe.opcode != 0 && qd != 0 {
        ok = bad(&mut tags, "non-empty-question-section".into());
    } else {
        for _ in 0..qd {
            let name = r.name()?;
            let qtype = r.u16()?;
            r.u16()?;
            if name != zone || qtype != probe.qtype {
                // genreport drops such a UDP datagram (and times out) and says "mismatch"
                // over TCP
                return Some(vec!["mismatch".into()]);
            }
        }
    }
    if probe.opcode != 0 && an != 0 {
        ok = bad(&mut tags, "non-empty-answer-section".into());
    } else {
        for _ in 0..an {
            let name = r.name()?;
            let rtype = r.u16()?;
            r.u16()?;
            r.u32()?;
            let len = r.u16()? as usize;
            r.take(len)?;
            if rtype == SOA && name == zone {
                s.soa = true;
            }
            if rtype == RRSIG {
                s.rrsig = true;
            }
        }
    }
    if probe.opcode != 0 && ns != 0 {
        ok = bad(&mut tags, "non-empty-authority-section".into());
    } else {
        for _ in 0..ns {
            r.name()?;
            r.take(8)?;
            let len = r.u16()? as usize;
            r.take(len)?;
        }
    }
    let mut tsigerror = 0u16;
    let mut tsig_flags: Vec<&str> = vec![];
    if probe.opcode != 0 && ar != 0 {
        ok = bad(&mut tags, "non-empty-additional-section".into());
    } else {
        for i in 0..ar {
            let rs = r.i;
            let name = r.name()?;
            let rtype = r.u16()?;
            let ct = r.i;
            let class = r.u16()?;
            let ttl = r.u32()?;
            let len = r.u16()? as usize;
            let rdata_at = r.i;
            let rdata = r.take(len)?.to_vec();
            if rtype == OPT && !s.opt {
                s.ednsttl = ttl;
                s.opt = true;
                let mut o = Rd { b: &rdata, i: 0 };
                while rdata.len() - o.i >= 4 {
                    let code = o.u16()?;
                    let olen = o.u16()? as usize;
                    let data = o.take(olen)?;
                    match code {
                        3 if olen > 0 => s.nsid = true,
                        8 => s.ecs = true,
                        9 if olen == 4 => s.expire = true,
                        10 if (16..=40).contains(&olen) => {
                            s.cookie = true;
                            if data[..8] == CLIENT_COOKIE {
                                s.goodcookie = true;
                            } else if probe.cookie {
                                ok = false;
                            }
                        }
                        100 => s.echo = true,
                        _ => {}
                    }
                }
                if o.i != rdata.len() {
                    return None;
                }
            } else if rtype == OPT {
                return None;
            }
            if rtype == TSIG && !s.tsig {
                if i + 1 != ar {
                    tsig_flags.push("tsig-not-last");
                }
                if class != ANY {
                    tsig_flags.push("tsig-bad-class");
                }
                if ttl != 0 {
                    tsig_flags.push("tsig-bad-ttl");
                }
                let wrong_key = !name.is_empty();
                if wrong_key {
                    tsig_flags.push("tsig-wrong-key");
                }
                let (alg, alg_end) = read_name(buf, rdata_at)?;
                let wrong_alg = alg != "hmac-sha256";
                if wrong_alg {
                    tsig_flags.push("tsig-wrong-alg");
                }
                let mut t = Rd {
                    b: &buf[..rdata_at + len],
                    i: alg_end,
                };
                let tp = t.i;
                let time = ((t.u16()? as u64) << 32) | t.u32()? as u64;
                let fudge = t.u16()? as u64;
                if fudge == 0 {
                    tsig_flags.push("tsig-bad-fudge");
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                if time > now + fudge || time + fudge < now {
                    tsig_flags.push("tsig-bad-time");
                }
                let maclen = t.u16()? as usize;
                let mac = t.take(maclen)?.to_vec();
                let oid = t.take(2)?.to_vec();
                let ep = t.i;
                tsigerror = t.u16()?;
                let otherlen = t.u16()? as usize;
                if tsigerror == BADTIME && otherlen != 6 {
                    tsig_flags.push("tsig-bad-other-len");
                }
                t.take(otherlen)?;
                if t.i != rdata_at + len {
                    return None;
                }
                // the response's MAC (RFC 8945 §4.3.3): request MAC, the message without
                // the TSIG (ARCOUNT less one, the original ID), the TSIG variables
                let mut tbs = (request_mac.len() as u16).to_be_bytes().to_vec();
                tbs.extend_from_slice(request_mac);
                let mut unsigned = buf[..rs].to_vec();
                let arcount = u16::from_be_bytes([unsigned[10], unsigned[11]]) - 1;
                unsigned[10..12].copy_from_slice(&arcount.to_be_bytes());
                if unsigned[..2] != oid[..] {
                    tsig_flags.push("proxy");
                }
                unsigned[..2].copy_from_slice(&oid);
                tbs.extend_from_slice(&unsigned);
                tbs.push(0);
                tbs.extend_from_slice(&buf[ct..ct + 6]);
                tbs.extend_from_slice(hmac_sha256_wire());
                tbs.extend_from_slice(&buf[tp..tp + 8]);
                tbs.extend_from_slice(&buf[ep..rdata_at + len]);
                if (tsigerror == NOERROR || tsigerror == BADTIME)
                    && (wrong_key || wrong_alg || maclen != 32 || wkk_mac(&tbs) != mac)
                {
                    tsig_flags.push("tsig-bad-sig");
                }
                s.tsig = true;
            } else if rtype == TSIG {
                return None;
            }
        }
    }
    if r.i != buf.len() {
        return None;
    }
    rcode += ((s.ednsttl & 0xff00_0000) >> 20) as u16;

    if probe.opcode != opcode {
        ok = bad(&mut tags, opcodetext(opcode));
    }
    if probe.version == 0 {
        // NOERROR (or BADCOOKIE with a cookie) to a QUERY
        if probe.opcode == 0
            && ((rcode != 0 && !probe.cookie)
                || (rcode != 0 && (rcode != BADCOOKIE || !s.cookie) && probe.cookie))
        {
            ok = bad(&mut tags, rcodetext(rcode));
            addrcode = false;
        }
        // NOTIMP to another opcode
        if probe.opcode != 0 && rcode != NOTIMP {
            ok = bad(&mut tags, rcodetext(rcode));
            addrcode = false;
        }
    }
    if s.tsig && tsigerror != 0 {
        if addrcode && rcode != NOTAUTH {
            tags.push(rcodetext(rcode));
        }
        ok = bad(&mut tags, tsigerrortext(tsigerror));
    }
    if probe.name == "dnswkk" && !s.tsig {
        ok = bad(&mut tags, "notsig".into());
    }
    let proxy = tsig_flags.contains(&"proxy");
    for f in tsig_flags.iter().filter(|f| **f != "proxy") {
        ok = bad(&mut tags, f.to_string());
    }
    // BADVERS to EDNS version != 0
    if probe.version != 0 && rcode != BADVERS {
        ok = bad(&mut tags, rcodetext(rcode));
    }
    let ednsvers = ((s.ednsttl >> 16) & 0xff) as u8;
    if s.opt && ednsvers != 0 {
        ok = bad(&mut tags, "version-not-zero".into());
    }
    if s.opt
        && ((ednsvers < probe.version && rcode != BADVERS)
            || (ednsvers >= probe.version && rcode == BADVERS))
    {
        ok = bad(&mut tags, "badversion".into());
    }
    if !s.opt && probe.udpsize != 0 {
        ok = bad(&mut tags, "noopt".into());
    }
    if s.opt && probe.udpsize == 0 {
        ok = bad(&mut tags, "opt".into());
    }
    if probe.qtype == SOA && probe.version == 0 && !probe.ignore && !s.soa && rcode == NOERROR {
        ok = bad(&mut tags, "nosoa".into());
    }
    if probe.qtype == SOA && s.soa && (probe.version != 0 || rcode != NOERROR) {
        ok = bad(&mut tags, "soa".into());
    }
    if s.echo {
        ok = bad(&mut tags, "echoed".into());
    }
    let do_sent = probe.flags & 0x8000 != 0;
    if s.opt && do_sent && s.ednsttl & 0x8000 == 0 && s.rrsig {
        ok = bad(&mut tags, "nodo".into());
    }
    if s.opt && do_sent && probe.cd && s.ednsttl & 0x8000 != 0 && !cd && s.rrsig {
        ok = bad(&mut tags, "nocd".into());
    }
    // AA is only defined for QUERY
    if !aa && probe.version == 0 && rcode == NOERROR && probe.opcode == 0 {
        ok = bad(&mut tags, "noaa".into());
    }
    if aa && probe.opcode != 0 {
        ok = bad(&mut tags, "aa".into());
    }
    // RA is only defined for QUERY
    if ra && probe.opcode != 0 {
        ok = bad(&mut tags, "ra".into());
    }
    // RD is only defined for QUERY
    if rd && (probe.opcode != 0 || !probe.rd) {
        ok = bad(&mut tags, "rd".into());
    }
    if !rd && probe.rd && probe.opcode == 0 {
        ok = bad(&mut tags, "nord".into());
    }
    // AD is only defined for QUERY
    if ad && (probe.opcode != 0 || (!probe.ad && !do_sent)) {
        ok = bad(&mut tags, "ad".into());
    }
    // CD is only defined for QUERY
    if cd && (probe.opcode != 0 || !probe.cd) {
        ok = bad(&mut tags, "cd".into());
    }
    // the last reserved bit, not to be echoed (RFC 1034)
    if z {
        ok = bad(&mut tags, "z".into());
    }
    // only DO is defined
    if s.ednsttl & 0x7fff != 0 {
        ok = bad(&mut tags, "mbz".into());
    }
    let limit = if probe.udpsize != 0 {
        probe.udpsize
    } else {
        512
    } as usize;
    if probe.ignore && buf.len() > limit {
        ok = bad(&mut tags, "toobig".into());
    }
    if ok {
        tags.insert(0, "ok".into());
    }
    if s.nsid {
        tags.push("nsid".into());
    }
    if s.expire {
        tags.push("expire".into());
    }
    if s.cookie && s.goodcookie && probe.cookie {
        tags.push(
            if rcode == BADCOOKIE {
                "cookie+badcookie"
            } else {
                "cookie"
            }
            .into(),
        );
    } else if s.cookie && probe.cookie {
        tags.push(
            if rcode == BADCOOKIE {
                "cookie-mismatch+badcookie"
            } else {
                "cookie-mismatch"
            }
            .into(),
        );
    } else if s.cookie {
        tags.push("cookie".into());
    }
    if s.ecs {
        tags.push("subnet".into());
    }
    if proxy {
        tags.push("proxy".into());
    }
    Some(tags)
}

/// Whether genreport's UDP exchange falls back to TCP: TC set and the probe does not ignore it.
pub fn wants_tcp(probe: &Probe, resp: &[u8]) -> bool {
    resp.len() >= 3 && resp[2] & 0x02 != 0 && !probe.ignore
}
