//! A signed demo zone to serve and look at: its configuration (signed or not, with extra
//! `[[zone]]` lines), the server, its trust anchor, and the tools that read it (`dig`, raw
//! queries with or without DO, AXFR into `dnssec-verify` and `kzonecheck`, a Knot secondary),
//! and the same zone signed by `dnssec-signzone` or `policydns dnssec sign`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use super::dnssec::anchors;
use super::{
    dns_ready, exchange, query_with, require_tool, serve, start_on_free_port, Opt, Proc, Proto,
    Reply, Server, TempDir, BIN,
};

pub const ORIGIN: &str = "example.test.";

/// The demo zone, plus a delegation with no DS (an unsigned child).
pub fn zone_file(dir: &TempDir) -> PathBuf {
    let demo = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/example.test.zone"),
    )
    .unwrap();
    dir.write(
        "example.test.zone",
        &format!("{demo}unsigned IN NS ns.elsewhere.example.\n"),
    )
}

/// A configuration serving the zone, signed or not, with `extra` lines in its `[[zone]]`.
pub fn config(dir: &TempDir, signed: bool, extra: &str) -> PathBuf {
    let zone = zone_file(dir);
    dir.write(
        if signed { "signed.toml" } else { "unsigned.toml" },
        &format!(
            "[server]\nstate_dir = \"state\"\n[[zone]]\norigin = \"{ORIGIN}\"\nfile = \"{}\"\ndnssec = {signed}\n{extra}",
            zone.display()
        ),
    )
}

pub fn start(dir: &TempDir, signed: bool, extra: &str) -> Server {
    let conf = config(dir, signed, extra);
    serve(
        dir,
        &["--config", conf.to_str().unwrap()],
        "www.example.test",
    )
}

pub fn ok(what: &str, o: Output) -> String {
    assert!(
        o.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The trust anchor for the keys the server made in its state directory.
pub fn trust_anchor(dir: &TempDir) -> PathBuf {
    anchors(dir, ORIGIN, &ds_lines(dir))
}

/// `policydns dnssec ds` for the server's keys.
pub fn ds_lines(dir: &TempDir) -> String {
    ok(
        "dnssec ds",
        Command::new(BIN)
            .args(["dnssec", "ds", ORIGIN, "--state-dir"])
            .arg(dir.path().join("state"))
            .output()
            .unwrap(),
    )
}

pub fn dig(addr: SocketAddr, args: &[&str]) -> String {
    ok(
        "dig",
        Command::new(require_tool("dig", "bind9-dnsutils"))
            .arg(format!("@{}", addr.ip()))
            .args(["-p", &addr.port().to_string(), "+norec"])
            .args(args)
            .output()
            .unwrap(),
    )
}

/// A query with EDNS (`payload`) and the DO bit set or not.
pub fn edns_query(id: u16, name: &str, qtype: u16, payload: u16, dnssec_ok: bool) -> Vec<u8> {
    let mut q = query_with(id, false, name, qtype, Some(Opt { payload, ecs: None }));
    if dnssec_ok {
        // The OPT record follows the question: root, TYPE, CLASS, then TTL = extended rcode,
        // version, flags; DO is the flags' top bit (RFC 3225).
        let flags_at = q.len() - 4;
        q[flags_at] |= 0x80;
    }
    q
}

pub fn response(addr: SocketAddr, proto: Proto, q: &[u8]) -> Vec<u8> {
    match exchange(addr, proto, q, Duration::from_secs(2)) {
        Reply::Response(b) => b,
        other => panic!("no response: {other:?}"),
    }
}

/// Knot as a secondary of example.test at `primary`.
pub fn knot_secondary(dir: &TempDir, primary: SocketAddr) -> (Proc, SocketAddr) {
    let knotd = require_tool("knotd", "knot");
    start_on_free_port(
        "knotd",
        |port| {
            let w = dir.path().join(format!("knot-{port}"));
            std::fs::create_dir_all(&w).unwrap();
            let conf = w.join("knot.conf");
            std::fs::write(
                &conf,
                format!(
                    "server:\n  rundir: \"{w}\"\n  listen: 127.0.0.1@{port}\n  background-workers: 1\n\
                     database:\n  storage: \"{w}\"\n\
                     log:\n  - target: stderr\n    any: info\n\
                     remote:\n  - id: primary\n    address: {}@{}\n\
                     template:\n  - id: default\n    storage: \"{w}\"\n    zonefile-sync: -1\n\
                     zone:\n  - domain: {ORIGIN}\n    master: primary\n",
                    primary.ip(),
                    primary.port(),
                    w = w.display()
                ),
            )
            .unwrap();
            let mut cmd = Command::new(&knotd);
            cmd.arg("-c").arg(&conf);
            Proc::spawn("knotd", &mut cmd, w.join("knot.log"))
        },
        |addr| dns_ready(addr, "www.example.test", 1),
    )
}

/// The zone as AXFR gives it, accepted whole by the three verifiers.
pub fn verify_transfer(dir: &TempDir, addr: SocketAddr) -> String {
    verify_axfr(dir, addr, ORIGIN)
}

/// Zone `origin` as AXFR from `addr` gives it, accepted whole by `dnssec-verify`,
/// `kzonecheck` and `ldns-verify-zone`.
pub fn verify_axfr(dir: &TempDir, addr: SocketAddr, origin: &str) -> String {
    let axfr = dig(addr, &[origin, "AXFR"]);
    let file = dir.write("axfr.zone", &axfr);
    let bind = Command::new(require_tool("dnssec-verify", "bind9-utils"))
        .args(["-z", "-o", origin])
        .arg(&file)
        .output()
        .unwrap();
    let knot = Command::new(require_tool("kzonecheck", "knot-dnssecutils"))
        .args(["-o", origin, "--dnssec", "on"])
        .arg(&file)
        .output()
        .unwrap();
    let ldns = Command::new(require_tool("ldns-verify-zone", "ldnsutils"))
        .arg(&file)
        .output()
        .unwrap();
    for (tool, o) in [
        ("dnssec-verify", bind),
        ("kzonecheck", knot),
        ("ldns-verify-zone", ldns),
    ] {
        assert!(
            o.status.success(),
            "{tool} refused the transferred zone: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    axfr
}

pub fn soa_serial(addr: SocketAddr) -> u32 {
    let out = dig(addr, &["+short", "example.test", "SOA"]);
    out.split_whitespace().nth(2).unwrap().parse().unwrap()
}

/// The demo zone signed by `dnssec-signzone` (BIND 9.18) in `dir`, with its `denial` options
/// (none: NSEC; `-3 - -H 0`: NSEC3 with RFC 9276's parameters; `-A` added: opt-out); returns
/// the signed file and the DS `dnssec-dsfromkey` prints.
pub fn signed_by_bind(dir: &TempDir, denial: &[&str]) -> (PathBuf, String) {
    let keys = dir.path().join("bind-keys");
    std::fs::create_dir_all(&keys).unwrap();
    let keygen = Command::new(require_tool("dnssec-keygen", "bind9-utils"))
        .current_dir(&keys)
        .args(["-q", "-a", "ECDSAP256SHA256", "-f", "KSK", "example.test"])
        .output()
        .unwrap();
    let key = ok("dnssec-keygen", keygen).trim().to_string();
    let out = dir.path().join(format!("bind{}.signed", denial.join("")));
    // The demo zone with two unsigned delegations, one below an empty non-terminal (with
    // opt-out, neither it nor the delegation gets an NSEC3).
    let zone = zone_file(dir);
    let text = std::fs::read_to_string(&zone).unwrap();
    let zone = dir.write(
        "example.test.bind.zone",
        &format!("{text}child.ent IN NS ns.elsewhere.example.\n"),
    );
    let mut cmd = Command::new(require_tool("dnssec-signzone", "bind9-utils"));
    // -d: the dsset- file goes beside the keys, not into the working directory.
    cmd.args(["-q", "-S", "-z", "-d"])
        .arg(&keys)
        .arg("-K")
        .arg(&keys);
    cmd.args(denial);
    cmd.args(["-o", ORIGIN, "-f"]).arg(&out).arg(&zone);
    ok("dnssec-signzone", cmd.output().unwrap());
    let ds = ok(
        "dnssec-dsfromkey",
        Command::new(require_tool("dnssec-dsfromkey", "bind9-utils"))
            .arg("-2")
            .arg(keys.join(format!("{key}.key")))
            .output()
            .unwrap(),
    );
    (out, ds)
}

/// The demo zone signed by `policydns dnssec sign` into `dir`; its file and DS.
pub fn signed_by_policydns(dir: &TempDir, nsec3: bool) -> (PathBuf, String) {
    let out = dir.path().join("policydns.signed");
    let state = dir.path().join("sign-state");
    let zone = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/example.test.zone");
    let mut cmd = Command::new(BIN);
    cmd.args(["dnssec", "sign"])
        .arg(&zone)
        .args(["--origin", ORIGIN, "--state-dir"])
        .arg(&state)
        .arg("--out")
        .arg(&out);
    if nsec3 {
        cmd.arg("--nsec3");
    }
    ok("dnssec sign", cmd.output().unwrap());
    let ds = ok(
        "dnssec ds",
        Command::new(BIN)
            .args(["dnssec", "ds", ORIGIN, "--state-dir"])
            .arg(&state)
            .output()
            .unwrap(),
    );
    (out, ds)
}
