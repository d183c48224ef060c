//! DNS compliance probes: the queries ISC's DNS Compliance Testing tool `genreport` sends to
//! an authoritative server (genreport.c's `opts[]` table: its EDNS, FULL and COMMON groups,
//! `dnswkk`, and the TYPE group), sent to policydns, NSD 4.6 and Knot 3.2 serving the zones of
//! `tests/zones/diff/` (started by `tests/differential_nsd/harness.rs`), each response judged
//! as genreport's `process()` judges it. The table of tags is printed, one line per server in
//! genreport's own format (`diff.test. @127.0.0.1 (policydns): dns=ok aa=ok ...`) and one row
//! per probe. The test fails when policydns does not pass ("ok") a probe that NSD or Knot
//! passes.
//!
//! `probes.rs`: the probes (names, header bits, EDNS version, flags, UDP size, options, the
//! dig command genreport gives for each) and the queries; `check.rs`: the verdict.
//!
//! How a probe is sent, as genreport sends it: over UDP (1 s, sent up to three times) unless
//! the probe says TCP; a UDP response with TC set is followed by the same query over TCP,
//! except for probes that ignore TC (`edns@512`). Tags that are not checks' verdicts: "timeout"
//! (no response), "eof" / "reset" (the TCP connection closed or reset before a response),
//! "malformed" (genreport could not parse it), "mismatch" (another question).
//!
//! Run: `cargo test --test compliance -- --nocapture` (the table prints either way on
//! failure). NSD and Knot must be installed (`scripts/install-test-deps.sh`).

#[path = "../common/mod.rs"]
mod common;

#[allow(dead_code)]
#[path = "../differential_nsd/harness.rs"]
mod harness;

mod check;
mod probes;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use probes::{Group, Probe, PROBES, TYPES};

const ZONE: &str = "diff.test";

/// genreport's outcome of one exchange: the response, or the tag of what went wrong.
fn udp(addr: SocketAddr, q: &[u8]) -> Result<Vec<u8>, String> {
    let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    sock.connect(addr).map_err(|e| format!("connect: {e}"))?;
    let mut buf = vec![0u8; 65535];
    for _ in 0..3 {
        sock.send(q).map_err(|_| "failed".to_string())?;
        sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        loop {
            match sock.recv(&mut buf) {
                Ok(n) if n >= 2 && buf[..2] == q[..2] => return Ok(buf[..n].to_vec()),
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
                Err(_) => return Err("failed".into()),
            }
        }
    }
    Err("timeout".into())
}

fn tcp(addr: SocketAddr, q: &[u8]) -> Result<Vec<u8>, String> {
    let tag = |e: std::io::Error| match e.kind() {
        ErrorKind::ConnectionReset => "reset".to_string(),
        ErrorKind::UnexpectedEof => "eof".to_string(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut => "timeout".to_string(),
        ErrorKind::BrokenPipe => "pipe".to_string(),
        ErrorKind::ConnectionRefused => "connection-refused".to_string(),
        _ => "read".to_string(),
    };
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3)).map_err(tag)?;
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(q);
    s.write_all(&framed).map_err(|_| "writev".to_string())?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).map_err(tag)?;
    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut body).map_err(tag)?;
    Ok(body)
}

/// The tags genreport gives `probe` sent to `addr`.
fn run_probe(addr: SocketAddr, probe: &Probe, id: u16) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (q, mac) = probes::query(probe, ZONE, id, now);
    let mut resp = if probe.tcp {
        tcp(addr, &q)
    } else {
        udp(addr, &q)
    };
    if let Ok(r) = &resp {
        if !probe.tcp && check::wants_tcp(probe, r) {
            resp = tcp(addr, &q);
        }
    }
    match resp {
        Ok(r) => check::check(probe, ZONE, &r, &mac).join(","),
        Err(tag) => tag,
    }
}

fn passes(tags: &str) -> bool {
    tags == "ok" || tags.starts_with("ok,")
}

/// Runs `probes` against the three servers, prints genreport's lines and the table, and fails
/// when policydns does not pass a probe NSD or Knot passes.
fn run(what: &str, probes: &[Probe]) {
    let servers = harness::Servers::start(&format!("compliance-{what}"));
    let who = [
        ("policydns", servers.ours_addr),
        ("NSD", servers.nsd_addr),
        ("Knot", servers.knot_addr),
    ];
    // results[probe][server]
    let results: Vec<[String; 3]> = probes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let id = 0x4000 + i as u16 * 3;
            std::thread::scope(|s| {
                let h: Vec<_> = who
                    .iter()
                    .map(|(_, addr)| s.spawn(move || run_probe(*addr, p, id)))
                    .collect();
                let mut r = h.into_iter().map(|h| h.join().expect("probe thread"));
                [r.next().unwrap(), r.next().unwrap(), r.next().unwrap()]
            })
        })
        .collect();

    println!("\ngenreport's lines ({what}):");
    for (k, (name, addr)) in who.iter().enumerate() {
        let mut line = format!("{ZONE}. @{} ({name}):", addr.ip());
        for (p, r) in probes.iter().zip(&results) {
            if p.name == "ednstcp" {
                // genreport prints the `do` result again as `signed` (",yes" with RRSIGs)
                if let Some(i) = probes.iter().position(|p| p.name == "do") {
                    line.push_str(&format!(" signed={}", results[i][k]));
                }
            }
            line.push_str(&format!(" {}={}", p.name, r[k]));
        }
        println!("{line}");
    }

    let mut failures = vec![];
    println!(
        "\n{:<12} {:<28} {:<28} {:<28} command",
        "probe", "policydns", "NSD", "Knot"
    );
    for (p, r) in probes.iter().zip(&results) {
        let reference_passes = passes(&r[1]) || passes(&r[2]);
        let fail = reference_passes && !passes(&r[0]);
        println!(
            "{:<12} {:<28} {:<28} {:<28} {}{}",
            p.name,
            r[0],
            r[1],
            r[2],
            p.dig,
            if fail { "   <-- FAIL" } else { "" }
        );
        if fail {
            failures.push(format!(
                "{} ({}): policydns={} NSD={} Knot={}",
                p.name, p.dig, r[0], r[1], r[2]
            ));
        }
    }
    println!(
        "\n[{what}] {} probes, policydns fails {} that NSD or Knot passes",
        probes.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "genreport probes ({what}) that NSD or Knot passes and policydns does not:\n  {}",
        failures.join("\n  ")
    );
}

/// genreport -f -c -i dnswkk: the EDNS, FULL and COMMON groups and `dnswkk`.
#[test]
fn genreport_edns_full_and_common_probes() {
    let probes: Vec<Probe> = PROBES
        .iter()
        .filter(|p| {
            matches!(
                p.group,
                Group::Edns | Group::Full | Group::Comm | Group::None
            )
        })
        .copied()
        .collect();
    run("full", &probes);
}

/// genreport -t: a query for each of 65 types at the zone's apex, without EDNS.
#[test]
fn genreport_type_probes() {
    let probes: Vec<Probe> = TYPES
        .iter()
        .map(|(name, t)| probes::type_probe(name, *t))
        .collect();
    run("types", &probes);
}
