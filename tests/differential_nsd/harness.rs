//! The servers under comparison: NSD and Knot (the references) and policydns, each started on a
//! free loopback port serving the zones in `tests/zones/diff/`, and how a query reaches them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use hickory_proto::op::ResponseCode;

use crate::common::{
    dns_ready, exchange, require_tool, start_on_free_port, try_udp, Proc, Proto, Reply, TempDir,
    BIN,
};

/// (origin, file name in tests/zones/diff)
pub const ZONES: &[(&str, &str)] = &[
    ("diff.test.", "diff.test.zone"),
    ("child.diff.test.", "child.diff.test.zone"),
    ("other.test.", "other.test.zone"),
    ("nottl.test.", "nottl.test.zone"),
];

const UDP_TIMEOUT: Duration = Duration::from_millis(1000);
const TCP_TIMEOUT: Duration = Duration::from_secs(3);

fn zone_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zones/diff")
}

/// Sends `wire` over TCP or UDP and waits for the response (UDP 1 s, TCP 3 s).
pub fn send(addr: SocketAddr, tcp: bool, wire: &[u8]) -> Reply {
    if tcp {
        exchange(addr, Proto::Tcp, wire, TCP_TIMEOUT)
    } else {
        exchange(addr, Proto::Udp, wire, UDP_TIMEOUT)
    }
}

fn write_nsd_conf(dir: &Path, port: u16) -> PathBuf {
    let d = dir.display();
    let mut conf = format!(
        "server:\n\
         \x20   ip-address: 127.0.0.1@{port}\n\
         \x20   port: {port}\n\
         \x20   do-ip4: yes\n\
         \x20   do-ip6: no\n\
         \x20   server-count: 1\n\
         \x20   reuseport: no\n\
         \x20   username: \"\"\n\
         \x20   chroot: \"\"\n\
         \x20   zonesdir: \"{d}\"\n\
         \x20   pidfile: \"{d}/nsd.pid\"\n\
         \x20   database: \"\"\n\
         \x20   xfrdfile: \"{d}/xfrd.state\"\n\
         \x20   xfrdir: \"{d}\"\n\
         \x20   zonelistfile: \"{d}/zone.list\"\n\
         \x20   logfile: \"{d}/nsd-file.log\"\n\
         \x20   verbosity: 1\n\
         \x20   hide-version: no\n\
         \x20   hide-identity: yes\n\
         \x20   minimal-responses: no\n\
         \x20   refuse-any: no\n\
         \x20   round-robin: no\n\
         \x20   ipv4-edns-size: 1232\n\
         \x20   rrl-ratelimit: 0\n\
         \x20   rrl-whitelist-ratelimit: 0\n\
         remote-control:\n\
         \x20   control-enable: no\n"
    );
    for (origin, file) in ZONES {
        conf.push_str(&format!(
            "zone:\n    name: \"{origin}\"\n    zonefile: \"{}\"\n",
            zone_dir().join(file).display()
        ));
    }
    let path = dir.join("nsd.conf");
    std::fs::write(&path, conf).expect("write nsd.conf");
    path
}

/// Ready: accepts TCP and answers a SOA query for each zone over UDP with NOERROR and the SOA
/// (Knot answers REFUSED until it has loaded a zone).
fn ready(addr: SocketAddr) -> bool {
    dns_ready(addr, "diff.test.", 6)
        && ZONES.iter().all(|(origin, _)| {
            try_udp(addr, origin, 6, Duration::from_millis(200)).is_some_and(|m| {
                m.metadata.response_code == ResponseCode::NoError && m.answers.len() == 1
            })
        })
}

/// A Knot configuration like NSD's above: the same zones, loaded from the files as they are
/// (semantic checks off, nothing written back, no journal), version.bind answered with the
/// version (NSD: `hide-version: no`), id.server and NSID off (NSD: `hide-identity: yes`, no
/// nsid), EDNS Client Subnet on (NSD has none: the difference is reported), 1232 octets.
fn write_knot_conf(dir: &Path, port: u16) -> PathBuf {
    let d = dir.display();
    let mut conf = format!(
        "server:\n\
         \x20   listen: 127.0.0.1@{port}\n\
         \x20   rundir: \"{d}\"\n\
         \x20   pidfile: \"{d}/knot.pid\"\n\
         \x20   background-workers: 1\n\
         \x20   udp-workers: 1\n\
         \x20   tcp-workers: 1\n\
         \x20   identity: \"\"\n\
         \x20   nsid: \"\"\n\
         \x20   edns-client-subnet: on\n\
         \x20   answer-rotation: off\n\
         \x20   udp-max-payload: 1232\n\
         log:\n\
         \x20 - target: stderr\n\
         \x20   any: info\n\
         database:\n\
         \x20   storage: \"{d}/knot-db\"\n\
         template:\n\
         \x20 - id: default\n\
         \x20   storage: \"{d}\"\n\
         \x20   semantic-checks: off\n\
         \x20   zonefile-sync: -1\n\
         \x20   zonefile-load: whole\n\
         \x20   journal-content: none\n\
         zone:\n"
    );
    for (origin, file) in ZONES {
        conf.push_str(&format!(
            "  - domain: \"{origin}\"\n    file: \"{}\"\n",
            zone_dir().join(file).display()
        ));
    }
    let path = dir.join("knot.conf");
    std::fs::write(&path, conf).expect("write knot.conf");
    path
}

/// Knot on a free port, its files in `dir`.
fn start_knot(knotd: &Path, dir: &Path) -> (Proc, SocketAddr) {
    start_on_free_port(
        "knotd",
        |port| {
            let conf = write_knot_conf(dir, port);
            Proc::spawn(
                "knotd",
                Command::new(knotd).arg("-c").arg(&conf),
                dir.join(format!("knot-{port}.log")),
            )
        },
        ready,
    )
}

/// NSD on a free port, its files in `dir`.
fn start_nsd(what: &str, nsd: &Path, dir: &Path) -> (Proc, SocketAddr) {
    start_on_free_port(
        what,
        |port| {
            let conf = write_nsd_conf(dir, port);
            Proc::spawn(
                what,
                Command::new(nsd).arg("-d").arg("-c").arg(&conf),
                dir.join("nsd.log"),
            )
        },
        ready,
    )
}

/// NSD, Knot and policydns serving the same zones. Dropping it stops all three.
pub struct Servers {
    pub nsd_addr: SocketAddr,
    pub knot_addr: SocketAddr,
    pub ours_addr: SocketAddr,
    _nsd: Proc,
    _knot: Proc,
    _ours: Proc,
    _dir: TempDir,
}

impl Servers {
    pub fn start(group: &str) -> Servers {
        let nsd_bin = require_tool("nsd", "nsd");
        let knot_bin = require_tool("knotd", "knot");
        let dir = TempDir::new(&format!("differential-nsd-{group}"));
        let (nsd, nsd_addr) = start_nsd("nsd", &nsd_bin, dir.path());
        let knot_dir = dir.path().join("knot");
        std::fs::create_dir_all(&knot_dir).unwrap();
        let (knot, knot_addr) = start_knot(&knot_bin, &knot_dir);
        if std::env::var_os("DIFF_SELFTEST_NSD_VS_NSD").is_some() {
            // Harness self-test: a second NSD in place of policydns; every group
            // must pass (checks the corpus and the comparison, not policydns).
            let dir2 = dir.path().join("second");
            std::fs::create_dir_all(&dir2).unwrap();
            let (nsd2, nsd2_addr) = start_nsd("second nsd", &nsd_bin, &dir2);
            return Servers {
                nsd_addr,
                knot_addr,
                ours_addr: nsd2_addr,
                _nsd: nsd,
                _knot: knot,
                _ours: nsd2,
                _dir: dir,
            };
        }
        let log = |port: u16| dir.path().join(format!("policydns-{port}.log"));
        let (ours, ours_addr) = start_on_free_port(
            "policydns",
            |port| {
                let mut cmd = Command::new(BIN);
                cmd.arg("serve")
                    .arg("--listen")
                    .arg(format!("127.0.0.1:{port}"));
                for (origin, file) in ZONES {
                    cmd.arg("--zone")
                        .arg(format!("{origin}={}", zone_dir().join(file).display()));
                }
                Proc::spawn("policydns", &mut cmd, log(port))
            },
            ready,
        );
        Servers {
            nsd_addr,
            knot_addr,
            ours_addr,
            _nsd: nsd,
            _knot: knot,
            _ours: ours,
            _dir: dir,
        }
    }
}
