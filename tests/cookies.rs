//! DNS cookies (RFC 7873, RFC 9018 server cookies) as clients meet them: `dig +cookie` gets a
//! server cookie for its address and sees it accepted; a malformed COOKIE option is FORMERR; a
//! client that returns its cookie is let through response-rate limiting while the same flood
//! without it, or with it from another address, is limited; and, with a shared secret, BIND
//! accepts the cookies policydns makes and policydns accepts BIND's (RFC 9018's point: servers
//! of one set, of any make, understand each other's cookies). All on 127.0.0.0/8.

mod common;
use common::{require_tool, serve, start_on_free_port, Proc, Server, TempDir};

use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ZONE: &str = "$TTL 300\n@ SOA ns1 admin 1 7200 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\nbig TXT \"0123456789012345678901234567890123456789012345678901234567890123456789\" \"0123456789012345678901234567890123456789012345678901234567890123456789\"\n";

/// Shared by the servers of a set (32 hex digits).
const SECRET: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

const CLIENT_COOKIE: [u8; 8] = [0x24, 0x64, 0xc4, 0xab, 0xcf, 0x10, 0xc9, 0x57];

fn server(dir: &TempDir, config: &str, extra: &[&str]) -> Server {
    let file = dir.write("cookie.test.zone", ZONE);
    let conf = dir.write("c.toml", config);
    let zone = format!("cookie.test.={}", file.display());
    let mut args = vec!["--config", conf.to_str().unwrap(), "--zone", zone.as_str()];
    args.extend_from_slice(extra);
    serve(dir, &args, "www.cookie.test.")
}

/// `NAME TYPE` with EDNS and a COOKIE option carrying `cookie` (any length: malformed ones too).
fn query(id: u16, name: &str, qtype: u16, cookie: Option<&[u8]>) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    let option: Vec<u8> = match cookie {
        Some(c) => [&10u16.to_be_bytes()[..], &(c.len() as u16).to_be_bytes(), c].concat(),
        None => Vec::new(),
    };
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    q.extend_from_slice(&(option.len() as u16).to_be_bytes());
    q.extend_from_slice(&option);
    q
}

/// What a response says about cookies: its full rcode (the OPT's extended bits included), TC,
/// and its COOKIE option.
#[derive(Debug)]
struct Reply {
    rcode: u16,
    truncated: bool,
    answers: u16,
    cookie: Option<Vec<u8>>,
}

fn skip_name(r: &[u8], mut i: usize) -> usize {
    loop {
        let l = r[i] as usize;
        if l == 0 {
            return i + 1;
        }
        if l & 0xC0 == 0xC0 {
            return i + 2;
        }
        i += 1 + l;
    }
}

fn read_reply(r: &[u8]) -> Reply {
    let count = |i: usize| u16::from_be_bytes([r[i], r[i + 1]]);
    let mut reply = Reply {
        rcode: u16::from(r[3] & 0x0F),
        truncated: r[2] & 0x02 != 0,
        answers: count(6),
        cookie: None,
    };
    let mut i = 12;
    for _ in 0..count(4) {
        i = skip_name(r, i) + 4;
    }
    for _ in 0..u32::from(count(6)) + u32::from(count(8)) + u32::from(count(10)) {
        i = skip_name(r, i);
        let rtype = u16::from_be_bytes([r[i], r[i + 1]]);
        let rdlen = u16::from_be_bytes([r[i + 8], r[i + 9]]) as usize;
        if rtype == 41 {
            reply.rcode |= u16::from(r[i + 4]) << 4;
            let mut o = i + 10;
            while o < i + 10 + rdlen {
                let code = u16::from_be_bytes([r[o], r[o + 1]]);
                let len = u16::from_be_bytes([r[o + 2], r[o + 3]]) as usize;
                if code == 10 {
                    reply.cookie = Some(r[o + 4..o + 4 + len].to_vec());
                }
                o += 4 + len;
            }
        }
        i += 10 + rdlen;
    }
    reply
}

fn ask(from: &str, to: SocketAddr, q: &[u8]) -> Reply {
    let sock = UdpSocket::bind((from, 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    sock.send_to(q, to).unwrap();
    let mut buf = [0u8; 4096];
    let n = sock.recv(&mut buf).expect("an answer");
    read_reply(&buf[..n])
}

fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// Answers in full, truncated and missing for `n` queries `q` sent from one socket at `from`.
fn flood(from: &str, to: SocketAddr, q: &[u8], n: usize) -> (usize, usize, usize) {
    let sock = UdpSocket::bind((from, 0)).unwrap();
    // Answers on loopback come within a millisecond; a dropped one is waited for briefly.
    sock.set_read_timeout(Some(Duration::from_millis(30)))
        .unwrap();
    let (mut full, mut truncated) = (0, 0);
    let mut buf = [0u8; 4096];
    for _ in 0..n {
        sock.send_to(q, to).unwrap();
        // One at a time: the socket's buffer never overflows, every answer sent is counted.
        if let Ok(len) = sock.recv(&mut buf) {
            if read_reply(&buf[..len]).truncated {
                truncated += 1;
            } else {
                full += 1;
            }
        }
    }
    (full, truncated, n - full - truncated)
}

#[test]
fn a_client_cookie_is_answered_with_a_fresh_server_cookie_for_its_address() {
    let dir = TempDir::new("cookie-answer");
    let s = server(&dir, "", &[]);
    let r = ask(
        "127.0.0.1",
        s.addr,
        &query(1, "www.cookie.test", 1, Some(&CLIENT_COOKIE)),
    );
    let cookie = r.cookie.expect("a COOKIE option in the answer");
    assert_eq!(
        cookie.len(),
        24,
        "client cookie and a 16-octet server cookie"
    );
    assert_eq!(cookie[..8], CLIENT_COOKIE, "the client's cookie first");
    assert_eq!(cookie[8], 1, "RFC 9018 version 1");
    assert_eq!(cookie[9..12], [0, 0, 0], "reserved");
    let stamp = u32::from_be_bytes(cookie[12..16].try_into().unwrap());
    assert!(now().abs_diff(stamp) <= 5, "stamped now: {stamp}");
    // Another address gets another server cookie for the same client cookie.
    let other = ask(
        "127.0.0.2",
        s.addr,
        &query(2, "www.cookie.test", 1, Some(&CLIENT_COOKIE)),
    );
    assert_ne!(other.cookie.unwrap()[16..], cookie[16..]);
    // No cookie asked, none given.
    assert!(
        ask("127.0.0.1", s.addr, &query(3, "www.cookie.test", 1, None))
            .cookie
            .is_none()
    );
}

#[test]
fn dig_learns_a_server_cookie_and_sends_it_back() {
    let dir = TempDir::new("cookie-dig");
    let s = server(&dir, "", &[]);
    let dig = require_tool("dig", "bind9-dnsutils");
    let run = |cookie: &str| {
        let out = Command::new(&dig)
            .args(["@127.0.0.1", "-p", &s.addr.port().to_string()])
            .args([
                &format!("+cookie={cookie}"),
                "+norec",
                "www.cookie.test",
                "A",
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = run("2464c4abcf10c957");
    let line = first
        .lines()
        .find(|l| l.contains("COOKIE:"))
        .unwrap_or_else(|| panic!("dig shows a cookie:\n{first}"));
    assert!(line.contains("(good)"), "dig judges it good: {line}");
    let full = line.split_whitespace().nth(2).unwrap().to_lowercase();
    assert_eq!(full.len(), 48, "{line}");
    let again = run(&full);
    assert!(
        again.contains("status: NOERROR") && again.contains("192.0.2.1"),
        "{again}"
    );
    assert!(
        again
            .lines()
            .any(|l| l.contains("COOKIE:") && l.contains("(good)")),
        "{again}"
    );
}

#[test]
fn a_malformed_cookie_is_formerr() {
    let dir = TempDir::new("cookie-formerr");
    let s = server(&dir, "", &[]);
    // RFC 7873 §5.2.2: a client cookie that is not 8 octets, a server cookie under 8 or over 32.
    for len in [0usize, 7, 9, 15, 41] {
        let cookie = vec![7u8; len];
        let r = ask(
            "127.0.0.1",
            s.addr,
            &query(4, "www.cookie.test", 1, Some(&cookie)),
        );
        assert_eq!(r.rcode, 1, "{len} octets: FORMERR");
        assert!(r.cookie.is_none(), "{len} octets: no cookie given");
    }
    // A server cookie of someone else's design (8 to 32 octets) is no error: the client gets
    // one of ours.
    let mut foreign = CLIENT_COOKIE.to_vec();
    foreign.extend_from_slice(&[9u8; 12]);
    let r = ask(
        "127.0.0.1",
        s.addr,
        &query(5, "www.cookie.test", 1, Some(&foreign)),
    );
    assert_eq!((r.rcode, r.answers), (0, 1));
    assert_eq!(r.cookie.unwrap().len(), 24);
}

#[test]
fn cookies_can_be_turned_off() {
    let dir = TempDir::new("cookie-off");
    let s = server(&dir, "[server]\ncookies = false\n", &[]);
    let r = ask(
        "127.0.0.1",
        s.addr,
        &query(6, "www.cookie.test", 1, Some(&CLIENT_COOKIE)),
    );
    assert_eq!((r.rcode, r.answers), (0, 1));
    assert!(r.cookie.is_none());
}

#[test]
fn a_returned_cookie_exempts_its_client_from_rate_limiting_and_no_one_else() {
    let dir = TempDir::new("cookie-rrl");
    let s = server(&dir, "", &["--rrl", "5"]);
    let q = |cookie: Option<&[u8]>| query(7, "big.cookie.test", 16, cookie);
    let learned = ask("127.0.0.1", s.addr, &q(Some(&CLIENT_COOKIE)))
        .cookie
        .unwrap();
    // Each flood from its own /24, so one's allowance is not another's. 127.0.1.1 learns its
    // own cookie and floods with it.
    let its_own = ask("127.0.1.1", s.addr, &q(Some(&CLIENT_COOKIE)))
        .cookie
        .unwrap();
    let proven = flood("127.0.1.1", s.addr, &q(Some(&its_own)), 200);
    let client_only = flood("127.0.2.1", s.addr, &q(Some(&CLIENT_COOKIE)), 200);
    let stolen = flood("127.0.3.1", s.addr, &q(Some(&learned)), 200);
    println!(
        "200 queries each (full, truncated, dropped): own cookie returned {proven:?}; client cookie only {client_only:?}; another address's cookie {stolen:?}"
    );
    assert_eq!(
        proven.0, 200,
        "a client that proves its address is not limited"
    );
    assert!(client_only.0 < 100, "without the server cookie: limited");
    assert!(
        stolen.0 < 100,
        "a cookie made for another address proves nothing"
    );
}

/// BIND as a primary for cookie.test requiring a valid server cookie over UDP, with `secret`.
fn named_requiring_cookies(dir: &TempDir, zone_file: &std::path::Path) -> (Proc, SocketAddr) {
    let named = require_tool("named", "bind9");
    start_on_free_port(
        "named",
        |port| {
            let work = dir.path().join(format!("named-{port}"));
            std::fs::create_dir_all(&work).unwrap();
            let conf = format!(
                "options {{ directory \"{w}\"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
  pid-file none; recursion no; notify no; dnssec-validation no; session-keyfile \"{w}/session.key\";
  cookie-algorithm siphash24; cookie-secret \"{SECRET}\"; require-server-cookie yes; }};
controls {{ }};
zone \"cookie.test\" {{ type primary; file \"{zone}\"; }};\n",
                w = work.display(),
                zone = zone_file.display(),
            );
            let path = work.join("named.conf");
            std::fs::write(&path, conf).unwrap();
            Proc::spawn(
                "named",
                Command::new(&named).args(["-g", "-c"]).arg(&path),
                work.join("named.log"),
            )
        },
        |addr| {
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let _ = sock.send_to(&query(1, "www.cookie.test", 1, Some(&CLIENT_COOKIE)), addr);
            let mut b = [0u8; 512];
            sock.recv(&mut b).is_ok()
        },
    )
}

#[test]
fn bind_and_policydns_accept_each_others_cookies_with_a_shared_secret() {
    let dir = TempDir::new("cookie-bind");
    let s = server(
        &dir,
        &format!("[server]\ncookie_secret = [\"{SECRET}\"]\n"),
        &["--rrl", "5"],
    );
    let zone = dir.write("bind.zone", &format!("$ORIGIN cookie.test.\n{ZONE}"));
    let (_named, bind) = named_requiring_cookies(&dir, &zone);
    let q = |cookie: &[u8]| query(8, "www.cookie.test", 1, Some(cookie));

    // BIND refuses a client cookie alone (BADCOOKIE, 23) and hands out its own.
    let r = ask("127.0.0.1", bind, &q(&CLIENT_COOKIE));
    assert_eq!(r.rcode, 23, "BADCOOKIE without a server cookie");
    let from_bind = r.cookie.unwrap();

    // Ours, made with the shared secret, is one BIND accepts.
    let ours = ask("127.0.0.1", s.addr, &q(&CLIENT_COOKIE)).cookie.unwrap();
    let r = ask("127.0.0.1", bind, &q(&ours));
    assert_eq!(
        (r.rcode, r.answers),
        (0, 1),
        "BIND answers with policydns's cookie"
    );
    let mut tampered = ours.clone();
    tampered[23] ^= 1;
    assert_eq!(
        ask("127.0.0.1", bind, &q(&tampered)).rcode,
        23,
        "a tampered one is not"
    );

    // And BIND's is one we accept: a flood carrying it passes our rate limit.
    let big = query(9, "big.cookie.test", 16, Some(&from_bind));
    let (full, _, _) = flood("127.0.0.1", s.addr, &big, 100);
    assert_eq!(full, 100, "BIND's cookie proves the address to policydns");
}
