//! Differential test: the same zones served by NSD (the reference) and by
//! policydns (`policydns serve --listen .. --zone ORIGIN=FILE ..`), the same
//! query corpus sent to both, every answer compared section by section.
//!
//! Zones: `tests/zones/diff/` (diff.test., its served child child.diff.test.,
//! and other.test.).  NSD must be installed (`scripts/install-test-deps.sh`);
//! the test fails, it does not skip, when NSD is missing.
//!
//! What is compared, per query (see `compare`):
//! * whether each server answered at all (a dropped query is an outcome too);
//! * id, opcode, rcode (including the EDNS extended rcode bits), and the
//!   header flags QR AA TC RD RA AD CD;
//! * the question section, exactly, qname case included;
//! * answer, authority and additional sections as multisets of records:
//!   owner compared case-insensitively; TTL, class, type and rdata exactly
//!   (rdata as wire octets after expanding compression; domain names inside
//!   rdata case-insensitively, because NSD keeps one spelling per name in
//!   its name table and its compression may copy the qname's case). Record
//!   order within a section is not significant (RFC 2181 s5);
//! * OPT: presence, version, DO bit and Z must match. The advertised UDP
//!   payload size is compared loosely: both must be >= 512, a different
//!   value is only printed as a note. EDNS options in responses are not
//!   compared (NSD 4.6 adds Extended DNS Errors, RFC 8914, to REFUSED etc.).
//!
//! Documented, deliberate differences / loose comparisons:
//! * ANY (RFC 8482): both servers answer with a subset (NSD 4.6 gives one
//!   RRset over UDP and TCP; policydns one over UDP).  When NSD's answer
//!   section is non-empty, we only require: rcode NOERROR, same AA, a
//!   non-empty answer, and every RRset we return equal to a subset of
//!   what NSD answers (over TCP) to a query for that specific type.
//!   Authority/additional of ANY answers are not compared.  When NSD's
//!   answer is empty (NXDOMAIN, NODATA, referral) the comparison is exact.
//! * Truncated UDP responses (TC=1 from both): header, question and OPT
//!   presence are compared, the (partial) record sections are not: what a
//!   server puts into a truncated message is its own choice (RFC 2181 s9,
//!   RFC 1035 s4.2.1). Every such query is also sent over TCP, exact.
//! * `Mode::SectionsMayShrink` (answer fits, authority/additional do not):
//!   header (TC included) and answer are exact; authority/additional need
//!   only be a subset of NSD's full (TCP) response (RFC 2181 s9: no TC for
//!   data that is not required).
//! * Address records of NS names in additional: both servers give A/AAAA
//!   only for NS names inside the zone being answered from (NSD does not
//!   add ns.other.test.'s addresses to diff.test. answers); compared exactly.
//! * CH TXT version.bind / version.server (`Mode::VersionString`): both
//!   servers answer it (NSD with `hide-version: no`); everything is compared
//!   except the text of the TXT record, in which each server names itself.
//!   id.server / hostname.bind: NSD has `hide-identity: yes`; exact.
//! * AXFR/IXFR are not in the corpus (transfers are handled elsewhere).
//! * A case marked `.documented("why")` is a deliberate difference: its
//!   mismatch is printed but not counted.
//!
//! Run: `cargo test --test differential_nsd` (add `-- --nocapture` to see
//! the per-group summary even when everything matches).
//! Harness self-test: `DIFF_SELFTEST_NSD_VS_NSD=1 cargo test --test
//! differential_nsd` compares NSD against a second NSD (must pass).
//! `DIFF_VERBOSE=1 ... -- --nocapture` prints both responses of every query.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{DNSClass, Name, RData, RecordType};
use hickory_proto::serialize::binary::{BinDecoder, BinEncodable, Restrict};

// ---------------------------------------------------------------------------
// zones and processes
// ---------------------------------------------------------------------------

/// (origin, file name in tests/zones/diff)
const ZONES: &[(&str, &str)] = &[
    ("diff.test.", "diff.test.zone"),
    ("child.diff.test.", "child.diff.test.zone"),
    ("other.test.", "other.test.zone"),
];

const UDP_TIMEOUT: Duration = Duration::from_millis(1000);
const TCP_TIMEOUT: Duration = Duration::from_secs(3);
const START_TIMEOUT: Duration = Duration::from_secs(10);

fn zone_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zones/diff")
}

fn find_nsd() -> PathBuf {
    let is_exe = |p: &Path| {
        p.is_file()
            && fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
    };
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let c = dir.join("nsd");
            if is_exe(&c) {
                return c;
            }
        }
    }
    for c in ["/usr/sbin/nsd", "/usr/local/sbin/nsd"] {
        if is_exe(Path::new(c)) {
            return PathBuf::from(c);
        }
    }
    panic!(
        "NSD (`nsd`) was not found in PATH, /usr/sbin or /usr/local/sbin; the differential \
         test needs it as the reference server. Run `scripts/install-test-deps.sh` \
         (installs nsd, knot, bind9, dnsutils, knot-dnsutils, dnsperf) and retry."
    );
}

/// A directory under CARGO_TARGET_TMPDIR, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "differential-nsd-{}-{}-{}",
            std::process::id(),
            tag,
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// A started server process (in its own process group); killed on drop.
struct Proc {
    what: &'static str,
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(what: &'static str, cmd: &mut Command, log: PathBuf) -> Proc {
        let out = fs::File::create(&log).expect("create log file");
        let err = out.try_clone().expect("clone log file");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({cmd:?}): {e}"));
        Proc { what, child, log }
    }

    fn has_exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Some(format!("{st}")),
            Ok(None) => None,
            Err(e) => Some(format!("wait error {e}")),
        }
    }

    fn log_tail(&self) -> String {
        let s = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        let from = lines.len().saturating_sub(30);
        lines[from..].join("\n")
    }

    fn stop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        if self.child.try_wait().ok().flatten().is_none() {
            // SIGTERM the group: NSD's main process then stops its children.
            unsafe { libc::kill(-pid, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                if self.child.try_wait().ok().flatten().is_some() {
                    break;
                }
                if Instant::now() > deadline {
                    unsafe { libc::kill(-pid, libc::SIGKILL) };
                    let _ = self.child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Leftover members of the group we created (e.g. NSD's xfrd)?
        if unsafe { libc::kill(-pid, 0) } == 0 {
            std::thread::sleep(Duration::from_millis(100));
            if unsafe { libc::kill(-pid, 0) } == 0 {
                unsafe { libc::kill(-pid, libc::SIGKILL) };
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A UDP+TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
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
    fs::write(&path, conf).expect("write nsd.conf");
    path
}

/// Wait until `addr` answers a SOA query for diff.test. over UDP and accepts TCP.
fn wait_ready(proc_: &mut Proc, addr: SocketAddr) {
    let deadline = Instant::now() + START_TIMEOUT;
    let probe = q("diff.test.", RecordType::SOA).wire(0x4242);
    loop {
        if let Some(st) = proc_.has_exited() {
            panic!(
                "{} exited during start-up ({st}); log:\n{}",
                proc_.what,
                proc_.log_tail()
            );
        }
        if let Outcome::Response(_) = udp_exchange(addr, &probe, Duration::from_millis(200)) {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
        }
        if Instant::now() > deadline {
            panic!(
                "{} did not answer on {addr} within {START_TIMEOUT:?}; log:\n{}",
                proc_.what,
                proc_.log_tail()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Start a process on a fresh port; retry on a lost port race.
fn start_with_retry(what: &str, mut start: impl FnMut(u16) -> Proc) -> (Proc, SocketAddr) {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut p = start(port);
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| wait_ready(&mut p, addr))) {
            Ok(()) => return (p, addr),
            Err(e) => {
                last = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                drop(p);
            }
        }
    }
    panic!("could not start {what}: {last}");
}

/// NSD and policydns serving the same zones. Dropping it stops both.
struct Servers {
    nsd_addr: SocketAddr,
    ours_addr: SocketAddr,
    _nsd: Proc,
    _ours: Proc,
    _dir: TempDir,
}

impl Servers {
    fn start(group: &str) -> Servers {
        let nsd_bin = find_nsd();
        let dir = TempDir::new(group);
        let dir_path = dir.0.clone();
        let (nsd, nsd_addr) = start_with_retry("nsd", |port| {
            let conf = write_nsd_conf(&dir_path, port);
            Proc::spawn(
                "nsd",
                Command::new(&nsd_bin).arg("-d").arg("-c").arg(&conf),
                dir_path.join("nsd.log"),
            )
        });
        if std::env::var_os("DIFF_SELFTEST_NSD_VS_NSD").is_some() {
            // Harness self-test: a second NSD in place of policydns; every group
            // must pass (checks the corpus and the comparison, not policydns).
            let dir2 = dir_path.join("second");
            fs::create_dir_all(&dir2).unwrap();
            let (nsd2, nsd2_addr) = start_with_retry("second nsd", |port| {
                let conf = write_nsd_conf(&dir2, port);
                Proc::spawn(
                    "second nsd",
                    Command::new(&nsd_bin).arg("-d").arg("-c").arg(&conf),
                    dir2.join("nsd.log"),
                )
            });
            return Servers {
                nsd_addr,
                ours_addr: nsd2_addr,
                _nsd: nsd,
                _ours: nsd2,
                _dir: dir,
            };
        }
        let (ours, ours_addr) = start_with_retry("policydns", |port| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_policydns"));
            cmd.arg("serve")
                .arg("--listen")
                .arg(format!("127.0.0.1:{port}"));
            for (origin, file) in ZONES {
                cmd.arg("--zone")
                    .arg(format!("{origin}={}", zone_dir().join(file).display()));
            }
            Proc::spawn("policydns", &mut cmd, dir_path.join("policydns.log"))
        });
        Servers {
            nsd_addr,
            ours_addr,
            _nsd: nsd,
            _ours: ours,
            _dir: dir,
        }
    }
}

// ---------------------------------------------------------------------------
// transport
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Outcome {
    Response(Vec<u8>),
    NoResponse,
    Error(String),
}

fn udp_exchange(addr: SocketAddr, wire: &[u8], timeout: Duration) -> Outcome {
    let sock = match UdpSocket::bind("127.0.0.1:0") {
        Ok(s) => s,
        Err(e) => return Outcome::Error(format!("bind: {e}")),
    };
    if let Err(e) = sock.connect(addr) {
        return Outcome::Error(format!("connect: {e}"));
    }
    if let Err(e) = sock.send(wire) {
        return Outcome::Error(format!("send: {e}"));
    }
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; 65535];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Outcome::NoResponse;
        }
        sock.set_read_timeout(Some(left)).unwrap();
        match sock.recv(&mut buf) {
            Ok(n) => {
                // Ignore stray datagrams with another id.
                if wire.len() >= 2 && n >= 2 && buf[..2] != wire[..2] {
                    continue;
                }
                return Outcome::Response(buf[..n].to_vec());
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut =>
            {
                return Outcome::NoResponse
            }
            // ICMP port unreachable etc.
            Err(e) => return Outcome::Error(format!("recv: {e}")),
        }
    }
}

fn tcp_exchange(addr: SocketAddr, wire: &[u8]) -> Outcome {
    let mut s = match TcpStream::connect_timeout(&addr, TCP_TIMEOUT) {
        Ok(s) => s,
        Err(e) => return Outcome::Error(format!("tcp connect: {e}")),
    };
    s.set_read_timeout(Some(TCP_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(TCP_TIMEOUT)).unwrap();
    let mut framed = (wire.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(wire);
    if let Err(e) = s.write_all(&framed) {
        return Outcome::Error(format!("tcp write: {e}"));
    }
    let mut len = [0u8; 2];
    match s.read_exact(&mut len) {
        Ok(()) => {}
        // closed or timed out without an answer: the query was dropped
        Err(_) => return Outcome::NoResponse,
    }
    let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
    match s.read_exact(&mut body) {
        Ok(()) => Outcome::Response(body),
        Err(e) => Outcome::Error(format!("tcp short read: {e}")),
    }
}

fn exchange(addr: SocketAddr, tcp: bool, wire: &[u8]) -> Outcome {
    if tcp {
        tcp_exchange(addr, wire)
    } else {
        udp_exchange(addr, wire, UDP_TIMEOUT)
    }
}

// ---------------------------------------------------------------------------
// the query corpus
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
enum Mode {
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

#[derive(Clone, Copy, Debug)]
struct EdnsSpec {
    payload: u16,
    dnssec_ok: bool,
    version: u8,
    z: u16,
    unknown_option: bool,
}

#[derive(Clone, Debug)]
struct Case {
    qname: String,
    qtype: RecordType,
    qclass: DNSClass,
    rd: bool,
    cd: bool,
    edns: Option<EdnsSpec>,
    tcp: bool,
    opcode: OpCode,
    /// a hand-made message instead of the fields above: (label, bytes with id 0)
    raw: Option<(&'static str, Vec<u8>)>,
    mode: Mode,
    /// a documented, deliberate difference: printed, not counted
    documented: Option<&'static str>,
}

const DEFAULT_EDNS: EdnsSpec = EdnsSpec {
    payload: 1232,
    dnssec_ok: false,
    version: 0,
    z: 0,
    unknown_option: false,
};

/// A query with the defaults: class IN, RD=0, CD=0, EDNS payload 1232, UDP.
fn q(qname: &str, qtype: RecordType) -> Case {
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
        mode: Mode::Exact,
        documented: None,
    }
}

fn raw(label: &'static str, bytes: Vec<u8>) -> Case {
    let mut c = q(".", RecordType::A);
    c.raw = Some((label, bytes));
    c
}

/// A query name in presentation format (`\\.` and `\\DDD` escapes allowed,
/// labels are not restricted to ASCII letters/digits), case preserved.
fn qname_from_presentation(text: &str) -> Name {
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

fn ty(code: u16) -> RecordType {
    RecordType::from(code)
}

impl Case {
    fn rd(mut self) -> Self {
        self.rd = true;
        self
    }
    fn cd(mut self) -> Self {
        self.cd = true;
        self
    }
    fn tcp(mut self) -> Self {
        self.tcp = true;
        self
    }
    fn no_edns(mut self) -> Self {
        self.edns = None;
        self
    }
    fn payload(mut self, p: u16) -> Self {
        self.edns.get_or_insert(DEFAULT_EDNS).payload = p;
        self
    }
    fn dnssec_ok(mut self) -> Self {
        self.edns.get_or_insert(DEFAULT_EDNS).dnssec_ok = true;
        self
    }
    fn edns_version(mut self, v: u8) -> Self {
        self.edns.get_or_insert(DEFAULT_EDNS).version = v;
        self
    }
    fn edns_z(mut self, z: u16) -> Self {
        self.edns.get_or_insert(DEFAULT_EDNS).z = z;
        self
    }
    fn unknown_option(mut self) -> Self {
        self.edns.get_or_insert(DEFAULT_EDNS).unknown_option = true;
        self
    }
    fn class(mut self, c: DNSClass) -> Self {
        self.qclass = c;
        self
    }
    fn opcode(mut self, op: OpCode) -> Self {
        self.opcode = op;
        self
    }
    fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    /// Marks a documented, deliberate difference from NSD (say why, and
    /// where it is documented): its mismatch is printed but not counted.
    #[allow(dead_code)] // used when a difference is accepted as deliberate
    fn documented(mut self, why: &'static str) -> Self {
        self.documented = Some(why);
        self
    }
    fn with_type(&self, t: RecordType) -> Self {
        let mut c = self.clone();
        c.qtype = t;
        c
    }

    fn wire(&self, id: u16) -> Vec<u8> {
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
        if let Some(e) = self.edns {
            let mut edns = Edns::new();
            edns.set_max_payload(e.payload);
            edns.set_dnssec_ok(e.dnssec_ok);
            edns.set_version(e.version);
            edns.flags_mut().z = e.z;
            if e.unknown_option {
                edns.options_mut()
                    .insert(EdnsOption::Unknown(65001, vec![0xde, 0xad, 0xbe, 0xef]));
            }
            m.edns = Some(edns);
        }
        let mut wire = m.to_vec().expect("encode query");
        if let Some(e) = self.edns {
            // hickory clamps payload sizes below 512; patch the OPT CLASS field.
            let opt = 12 + qlen;
            assert_eq!(&wire[opt..opt + 3], &[0, 0, 41], "OPT not where expected");
            wire[opt + 3..opt + 5].copy_from_slice(&e.payload.to_be_bytes());
        }
        wire
    }

    fn describe(&self) -> String {
        if let Some((label, bytes)) = &self.raw {
            return format!("raw message: {label} ({} octets)", bytes.len());
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
        match self.edns {
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
            }
        }
        if self.mode != Mode::Exact {
            s.push_str(&format!(" mode={:?}", self.mode));
        }
        s.push(']');
        s
    }
}

// ---------------------------------------------------------------------------
// response parsing (self-contained, so that every legal response decodes,
// e.g. zero-length rdata, and rdata is compared octet for octet)
// ---------------------------------------------------------------------------

/// One record, normalised for comparison. Equality and order use owner
/// (lower-cased), type, class, TTL and the rdata octets with compression
/// expanded and embedded domain names lower-cased; `rdata` (presentation,
/// original case) is only for printing.
#[derive(Clone)]
struct Rr {
    owner: String,
    rtype: u16,
    class: u16,
    ttl: u32,
    wire: Vec<u8>,
    rdata: String,
}

impl Rr {
    fn key(&self) -> (&str, u16, u16, u32, &[u8]) {
        (&self.owner, self.rtype, self.class, self.ttl, &self.wire)
    }
}

impl PartialEq for Rr {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Rr {}

impl PartialOrd for Rr {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Rr {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl fmt::Display for Rr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {}",
            self.owner,
            self.ttl,
            class_name(self.class),
            type_name(self.rtype),
            self.rdata
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
struct OptInfo {
    payload: u16,
    ext_rcode: u8,
    version: u8,
    dnssec_ok: bool,
    z: u16,
    options: Vec<u16>,
}

struct Parsed {
    id: u16,
    qr: bool,
    opcode: u8,
    aa: bool,
    tc: bool,
    rd: bool,
    ra: bool,
    z: bool,
    ad: bool,
    cd: bool,
    rcode_low: u8,
    question: Vec<String>, // "qname class type", qname case preserved
    answer: Vec<Rr>,
    authority: Vec<Rr>,
    additional: Vec<Rr>, // without OPT
    opt: Option<OptInfo>,
    opt_count: usize,
}

impl Parsed {
    fn rcode(&self) -> u16 {
        let ext = self.opt.as_ref().map_or(0, |o| o.ext_rcode as u16);
        (ext << 4) | self.rcode_low as u16
    }
    fn rcode_str(&self) -> String {
        rcode_name(self.rcode())
    }
    fn flags(&self) -> String {
        let mut v = vec![];
        for (on, n) in [
            (self.qr, "qr"),
            (self.aa, "aa"),
            (self.tc, "tc"),
            (self.rd, "rd"),
            (self.ra, "ra"),
            (self.z, "z"),
            (self.ad, "ad"),
            (self.cd, "cd"),
        ] {
            if on {
                v.push(n);
            }
        }
        v.join(" ")
    }
    fn opt_str(&self) -> String {
        match &self.opt {
            None if self.opt_count == 0 => "none".into(),
            None => format!("{} OPT records", self.opt_count),
            Some(o) if self.opt_count > 1 => format!("{} OPT records, first {o:?}", self.opt_count),
            Some(o) => format!("version={} do={} z={:#x}", o.version, o.dnssec_ok, o.z),
        }
    }
    fn summary(&self) -> String {
        format!(
            "{} [{}] an={} ns={} ar={}{}",
            self.rcode_str(),
            self.flags(),
            self.answer.len(),
            self.authority.len(),
            self.additional.len(),
            if self.opt.is_some() { " +OPT" } else { "" }
        )
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, String> {
        let v = *self
            .msg
            .get(self.pos)
            .ok_or_else(|| format!("short message at offset {}", self.pos))?;
        self.pos += 1;
        Ok(v)
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(((self.u8()? as u16) << 8) | self.u8()? as u16)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(((self.u16()? as u32) << 16) | self.u16()? as u32)
    }
    fn bytes(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.pos + n;
        if end > self.msg.len() {
            return Err(format!(
                "short message: need {n} octets at offset {}",
                self.pos
            ));
        }
        let s = &self.msg[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    /// A possibly compressed name: (uncompressed wire form, presentation).
    fn name(&mut self) -> Result<(Vec<u8>, String), String> {
        let mut wire = vec![];
        let mut text = String::new();
        let mut pos = self.pos;
        let mut jumped = false;
        let mut hops = 0;
        loop {
            let len = *self.msg.get(pos).ok_or("name runs past the end")? as usize;
            if len & 0xC0 == 0xC0 {
                let lo = *self.msg.get(pos + 1).ok_or("short compression pointer")? as usize;
                if !jumped {
                    self.pos = pos + 2;
                    jumped = true;
                }
                hops += 1;
                if hops > 127 {
                    return Err("compression pointer loop".into());
                }
                pos = ((len & 0x3F) << 8) | lo;
                continue;
            }
            if len & 0xC0 != 0 {
                return Err(format!("unsupported label type {len:#x}"));
            }
            let label = self
                .msg
                .get(pos + 1..pos + 1 + len)
                .ok_or("label runs past the end")?;
            wire.push(len as u8);
            wire.extend_from_slice(label);
            pos += 1 + len;
            if len == 0 {
                break;
            }
            for &c in label {
                match c {
                    b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                        text.push('\\');
                        text.push(c as char)
                    }
                    0x21..=0x7e => text.push(c as char),
                    _ => text.push_str(&format!("\\{c:03}")),
                }
            }
            text.push('.');
            if wire.len() > 255 {
                return Err("name longer than 255 octets".into());
            }
        }
        if !jumped {
            self.pos = pos;
        }
        if text.is_empty() {
            text.push('.');
        }
        Ok((wire, text))
    }
}

/// Rdata with embedded (possibly compressed) names expanded, and lower-cased
/// if `lower` (NSD keeps one spelling per name in its name table and its
/// name compression may point into the qname, so the case of names inside
/// rdata is not stable there; they are compared case-insensitively).
fn expand_rdata(
    msg: &[u8],
    start: usize,
    len: usize,
    rtype: u16,
    lower: bool,
) -> Result<Vec<u8>, String> {
    enum F {
        Name,
        Fixed(usize),
        CharString,
    }
    use F::*;
    let layout: &[F] = match rtype {
        2 | 3 | 4 | 5 | 7 | 8 | 9 | 12 | 39 => &[Name], // NS MD MF CNAME MB MG MR PTR DNAME
        6 => &[Name, Name, Fixed(20)],                  // SOA
        14 | 17 => &[Name, Name],                       // MINFO RP
        15 | 18 | 21 | 36 => &[Fixed(2), Name],         // MX AFSDB RT KX
        26 => &[Fixed(2), Name, Name],                  // PX
        33 => &[Fixed(6), Name],                        // SRV
        35 => &[Fixed(4), CharString, CharString, CharString, Name], // NAPTR
        _ => return Ok(msg[start..start + len].to_vec()),
    };
    let mut r = Reader { msg, pos: start };
    let mut out = vec![];
    for f in layout {
        match f {
            Name => {
                let n = r.name()?.0;
                out.extend(
                    n.iter()
                        .map(|c| if lower { c.to_ascii_lowercase() } else { *c }),
                )
            }
            Fixed(n) => out.extend_from_slice(r.bytes(*n)?),
            CharString => {
                let n = r.u8()? as usize;
                out.push(n as u8);
                out.extend_from_slice(r.bytes(n)?);
            }
        }
    }
    if r.pos != start + len {
        return Err(format!(
            "rdata of type {rtype} has {} octets, fields use {}",
            len,
            r.pos - start
        ));
    }
    Ok(out)
}

fn rcode_name(rc: u16) -> String {
    let n = match rc {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        16 => "BADVERS",
        _ => return format!("RCODE{rc}"),
    };
    n.to_string()
}

fn type_name(t: u16) -> String {
    match RecordType::from(t) {
        RecordType::Unknown(_) | RecordType::ZERO => format!("TYPE{t}"),
        rt => rt.to_string(),
    }
}

fn class_name(c: u16) -> String {
    match DNSClass::from(c) {
        DNSClass::Unknown(_) | DNSClass::OPT(_) => format!("CLASS{c}"),
        dc => dc.to_string(),
    }
}

/// `"..."` presentation of one <character-string> (RFC 1035 s5.1).
fn char_string(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(c as char)
            }
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\{c:03}")),
        }
    }
    s.push('"');
    s
}

/// A sequence of <character-string>s (TXT, HINFO), or None if malformed.
fn char_strings(mut b: &[u8]) -> Option<String> {
    let mut out = vec![];
    while let Some((&n, rest)) = b.split_first() {
        let n = n as usize;
        if rest.len() < n {
            return None;
        }
        out.push(char_string(&rest[..n]));
        b = &rest[n..];
    }
    Some(out.join(" "))
}

fn present_rdata(rtype: u16, wire: &[u8]) -> String {
    let generic = || format!("\\# {} {}", wire.len(), hex(wire));
    if wire.is_empty() {
        return generic();
    }
    match rtype {
        13 | 16 | 99 => return char_strings(wire).unwrap_or_else(generic), // HINFO TXT SPF
        43 | 59 if wire.len() > 4 => {
            // DS, CDS (hickory-proto's dnssec feature is off)
            let tag = u16::from_be_bytes([wire[0], wire[1]]);
            return format!("{tag} {} {} {}", wire[2], wire[3], hex(&wire[4..]));
        }
        39 => {
            // DNAME: not an RData variant in hickory-proto
            let mut r = Reader { msg: wire, pos: 0 };
            return match r.name() {
                Ok((_, n)) if r.pos == wire.len() => n,
                _ => generic(),
            };
        }
        _ => {}
    }
    let mut d = BinDecoder::new(wire);
    match RData::read(
        &mut d,
        RecordType::from(rtype),
        Restrict::new(wire.len() as u16),
    ) {
        Ok(RData::Unknown { .. }) | Ok(RData::Update0(_)) => generic(),
        Ok(rd) if d.index() == wire.len() => rd.to_string(),
        _ => generic(),
    }
}

fn parse(msg: &[u8]) -> Result<Parsed, String> {
    let mut r = Reader { msg, pos: 0 };
    let id = r.u16()?;
    let fl = r.u16()?;
    let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
    let mut p = Parsed {
        id,
        qr: fl & 0x8000 != 0,
        opcode: ((fl >> 11) & 0xF) as u8,
        aa: fl & 0x0400 != 0,
        tc: fl & 0x0200 != 0,
        rd: fl & 0x0100 != 0,
        ra: fl & 0x0080 != 0,
        z: fl & 0x0040 != 0,
        ad: fl & 0x0020 != 0,
        cd: fl & 0x0010 != 0,
        rcode_low: (fl & 0xF) as u8,
        question: vec![],
        answer: vec![],
        authority: vec![],
        additional: vec![],
        opt: None,
        opt_count: 0,
    };
    for _ in 0..counts[0] {
        let (_, name) = r.name()?;
        let t = r.u16()?;
        let c = r.u16()?;
        p.question
            .push(format!("{name} {} {}", class_name(c), type_name(t)));
    }
    for (si, &n) in counts[1..].iter().enumerate() {
        for _ in 0..n {
            let (_, owner) = r.name()?;
            let rtype = r.u16()?;
            let class = r.u16()?;
            let ttl = r.u32()?;
            let rdlen = r.u16()? as usize;
            let start = r.pos;
            r.bytes(rdlen)?;
            if rtype == 41 {
                p.opt_count += 1;
                if si != 2 {
                    return Err("OPT outside the additional section".into());
                }
                let mut options = vec![];
                let mut o = Reader { msg, pos: start };
                while o.pos < start + rdlen {
                    let code = o.u16()?;
                    let l = o.u16()? as usize;
                    o.bytes(l)?;
                    options.push(code);
                }
                if p.opt.is_none() {
                    p.opt = Some(OptInfo {
                        payload: class,
                        ext_rcode: (ttl >> 24) as u8,
                        version: (ttl >> 16) as u8,
                        dnssec_ok: ttl & 0x8000 != 0,
                        z: (ttl & 0x7FFF) as u16,
                        options,
                    });
                }
                continue;
            }
            let rr = Rr {
                owner: owner.to_ascii_lowercase(),
                rtype,
                class,
                ttl,
                rdata: present_rdata(rtype, &expand_rdata(msg, start, rdlen, rtype, false)?),
                wire: expand_rdata(msg, start, rdlen, rtype, true)?,
            };
            [&mut p.answer, &mut p.authority, &mut p.additional][si].push(rr);
        }
    }
    if r.pos != msg.len() {
        return Err(format!("{} trailing octets", msg.len() - r.pos));
    }
    p.answer.sort();
    p.authority.sort();
    p.additional.sort();
    Ok(p)
}

fn decode(o: &Outcome) -> Result<Option<Parsed>, String> {
    match o {
        Outcome::NoResponse => Ok(None),
        Outcome::Error(e) => Err(e.clone()),
        Outcome::Response(b) => parse(b)
            .map(Some)
            .map_err(|e| format!("malformed response ({e}): {}", hex(b))),
    }
}

// ---------------------------------------------------------------------------
// comparison
// ---------------------------------------------------------------------------

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

/// Differences in one section; pushes readable lines into `out`.
fn diff_section(out: &mut Vec<String>, name: &str, nsd: &[Rr], ours: &[Rr]) {
    let (only_nsd, only_ours) = multiset_diff(nsd, ours);
    if only_nsd.is_empty() && only_ours.is_empty() {
        return;
    }
    out.push(format!("{name} section differs:"));
    for r in only_nsd {
        out.push(format!("    - {r}    (only NSD)"));
    }
    for r in only_ours {
        out.push(format!("    + {r}    (only policydns)"));
    }
}

/// `ours` must be a sub-multiset of `reference`.
fn subset_check(out: &mut Vec<String>, name: &str, reference: &[Rr], ours: &[Rr]) {
    let (_, extra) = multiset_diff(reference, ours);
    if !extra.is_empty() {
        out.push(format!(
            "{name}: records NSD does not give (even over TCP):"
        ));
        for r in extra {
            out.push(format!("    + {r}    (only policydns)"));
        }
    }
}

struct Verdict {
    problems: Vec<String>,
    notes: Vec<String>,
}

fn compare_headers(v: &mut Verdict, id: u16, nsd: &Parsed, ours: &Parsed) {
    if ours.id != id {
        v.problems.push(format!(
            "id: sent {id:#06x}, policydns answered {:#06x}",
            ours.id
        ));
    }
    if nsd.opcode != ours.opcode {
        v.problems.push(format!(
            "opcode: NSD={} policydns={}",
            nsd.opcode, ours.opcode
        ));
    }
    if nsd.rcode() != ours.rcode() {
        v.problems.push(format!(
            "rcode: NSD={} policydns={}",
            nsd.rcode_str(),
            ours.rcode_str()
        ));
    }
    if nsd.flags() != ours.flags() {
        v.problems.push(format!(
            "flags: NSD=[{}] policydns=[{}]",
            nsd.flags(),
            ours.flags()
        ));
    }
    if nsd.question != ours.question {
        v.problems.push(format!(
            "question: NSD={:?} policydns={:?}",
            nsd.question, ours.question
        ));
    }
    if nsd.opt_str() != ours.opt_str() {
        v.problems.push(format!(
            "OPT: NSD={} policydns={}",
            nsd.opt_str(),
            ours.opt_str()
        ));
    }
    if let (Some(a), Some(b)) = (&nsd.opt, &ours.opt) {
        if a.payload != b.payload {
            v.notes.push(format!(
                "OPT UDP payload: NSD={} policydns={} (loose: not a failure)",
                a.payload, b.payload
            ));
        }
        if b.payload < 512 {
            v.problems.push(format!(
                "OPT UDP payload {} < 512 (RFC 6891 s6.2.5)",
                b.payload
            ));
        }
        if a.options != b.options {
            v.notes.push(format!(
                "EDNS option codes: NSD={:?} policydns={:?} (not compared)",
                a.options, b.options
            ));
        }
    }
}

struct Ctx<'a> {
    servers: &'a Servers,
}

impl Ctx<'_> {
    fn nsd_tcp(&self, case: &Case, id: u16) -> Result<Option<Parsed>, String> {
        let mut c = case.clone();
        c.tcp = true;
        decode(&tcp_exchange(self.servers.nsd_addr, &c.wire(id)))
    }

    fn compare(&self, case: &Case, id: u16, nsd_o: &Outcome, ours_o: &Outcome) -> Verdict {
        let mut v = Verdict {
            problems: vec![],
            notes: vec![],
        };
        let nsd = match decode(nsd_o) {
            Ok(m) => m,
            Err(e) => {
                v.problems.push(format!("NSD: {e} (harness problem?)"));
                return v;
            }
        };
        let ours = match decode(ours_o) {
            Ok(m) => m,
            Err(e) => {
                v.problems.push(format!("policydns: {e}"));
                if let Some(n) = &nsd {
                    v.notes.push(format!("NSD answered: {}", n.summary()));
                }
                return v;
            }
        };
        let (mut nsd, mut ours) = match (nsd, ours) {
            (None, None) => return v,
            (Some(n), None) => {
                v.problems.push(format!(
                    "NSD answered ({}), policydns did not answer",
                    n.summary()
                ));
                return v;
            }
            (None, Some(o)) => {
                v.problems.push(format!(
                    "NSD did not answer (dropped the query), policydns answered ({})",
                    o.summary()
                ));
                return v;
            }
            (Some(n), Some(o)) => (n, o),
        };

        if case.mode == Mode::VersionString {
            for p in [&mut nsd, &mut ours] {
                for r in p
                    .answer
                    .iter_mut()
                    .filter(|r| r.rtype == 16 && r.class == 3)
                {
                    r.wire = b"(version string)".to_vec();
                    r.rdata = format!("(version string, here {})", r.rdata);
                }
            }
        }

        if case.mode == Mode::Any && !nsd.answer.is_empty() {
            self.compare_any(&mut v, case, id, &nsd, &ours);
            return v;
        }

        compare_headers(&mut v, id, &nsd, &ours);

        if nsd.tc && ours.tc {
            v.notes.push(format!(
                "both truncated; sections not compared (NSD: {}; policydns: {})",
                nsd.summary(),
                ours.summary()
            ));
            return v;
        }

        diff_section(&mut v.problems, "answer", &nsd.answer, &ours.answer);
        if case.mode == Mode::SectionsMayShrink {
            match self.nsd_tcp(case, id) {
                Ok(Some(full)) => {
                    subset_check(
                        &mut v.problems,
                        "authority",
                        &full.authority,
                        &ours.authority,
                    );
                    subset_check(
                        &mut v.problems,
                        "additional",
                        &full.additional,
                        &ours.additional,
                    );
                    let (a, b) = (nsd.authority.len(), ours.authority.len());
                    let (c, d) = (nsd.additional.len(), ours.additional.len());
                    if (a, c) != (b, d) {
                        v.notes.push(format!(
                            "authority/additional counts: NSD {a}/{c}, policydns {b}/{d} (loose)"
                        ));
                    }
                }
                other => v.problems.push(format!(
                    "NSD over TCP gave no reference answer: {:?}",
                    other.err()
                )),
            }
        } else {
            diff_section(
                &mut v.problems,
                "authority",
                &nsd.authority,
                &ours.authority,
            );
            diff_section(
                &mut v.problems,
                "additional",
                &nsd.additional,
                &ours.additional,
            );
        }
        v
    }

    /// RFC 8482: see module docs.
    fn compare_any(&self, v: &mut Verdict, case: &Case, id: u16, nsd: &Parsed, ours: &Parsed) {
        if ours.id != id {
            v.problems
                .push(format!("id: sent {id:#06x}, got {:#06x}", ours.id));
        }
        if ours.rcode() != 0 {
            v.problems.push(format!(
                "ANY: rcode {} (NSD {})",
                ours.rcode_str(),
                nsd.rcode_str()
            ));
        }
        if ours.aa != nsd.aa || ours.qr != nsd.qr {
            v.problems.push(format!(
                "ANY: flags NSD=[{}] policydns=[{}]",
                nsd.flags(),
                ours.flags()
            ));
        }
        if nsd.question != ours.question {
            v.problems.push(format!(
                "question: NSD={:?} policydns={:?}",
                nsd.question, ours.question
            ));
        }
        if nsd.opt_str() != ours.opt_str() {
            v.problems.push(format!(
                "OPT: NSD={} policydns={}",
                nsd.opt_str(),
                ours.opt_str()
            ));
        }
        if ours.answer.is_empty() {
            v.problems.push(format!(
                "ANY: empty answer (NSD answered {})",
                nsd.answer
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join(" | ")
            ));
            return;
        }
        let types = |rs: &[Rr]| {
            let mut t: Vec<u16> = rs.iter().map(|r| r.rtype).collect();
            t.dedup();
            t
        };
        let names = |t: &[u16]| {
            t.iter()
                .map(|t| type_name(*t))
                .collect::<Vec<_>>()
                .join(",")
        };
        v.notes.push(format!(
            "ANY: NSD chose [{}], policydns chose [{}]",
            names(&types(&nsd.answer)),
            names(&types(&ours.answer))
        ));
        for t in types(&ours.answer) {
            let of_type: Vec<Rr> = ours
                .answer
                .iter()
                .filter(|r| r.rtype == t)
                .cloned()
                .collect();
            let rt = RecordType::from(t);
            match self.nsd_tcp(&case.with_type(rt), id) {
                Ok(Some(full)) => subset_check(
                    &mut v.problems,
                    &format!("ANY answer, {} RRset", type_name(t)),
                    &full.answer,
                    &of_type,
                ),
                other => v.problems.push(format!(
                    "NSD gave no reference answer for {rt}: {:?}",
                    other.err()
                )),
            }
        }
    }
}

/// Run one group of cases against a fresh pair of servers; fail on mismatches.
fn run_group(group: &str, cases: Vec<Case>) {
    let servers = Servers::start(group);
    let ctx = Ctx { servers: &servers };
    let mut mismatches = 0;
    let mut report = String::new();
    // DIFF_VERBOSE=1: print both responses of every query (with --nocapture)
    let verbose = std::env::var_os("DIFF_VERBOSE").is_some();
    for (i, case) in cases.iter().enumerate() {
        let id = 0x1000u16.wrapping_add(i as u16 * 7);
        let wire = case.wire(id);
        // both at once, so that a dropped query costs one timeout, not two
        let (nsd, ours) = std::thread::scope(|s| {
            let n = s.spawn(|| exchange(servers.nsd_addr, case.tcp, &wire));
            let o = exchange(servers.ours_addr, case.tcp, &wire);
            (n.join().expect("nsd exchange thread"), o)
        });
        let v = ctx.compare(case, id, &nsd, &ours);
        if verbose {
            report.push_str(&format!("\n=== [{group}] {}\n", case.describe()));
            for (who, o) in [("NSD", &nsd), ("policydns", &ours)] {
                match decode(o) {
                    Ok(Some(p)) => {
                        report.push_str(&format!("  {who}: {} OPT={}\n", p.summary(), p.opt_str()));
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
        if let (false, Some(why)) = (v.problems.is_empty(), case.documented) {
            report.push_str(&format!(
                "\n--- documented difference (not counted) [{group}] {}\n  why: {why}\n",
                case.describe()
            ));
            for p in v.problems.iter().chain(&v.notes) {
                report.push_str(&format!("  {p}\n"));
            }
        } else if !v.problems.is_empty() {
            mismatches += 1;
            report.push_str(&format!("\n--- MISMATCH [{group}] {}\n", case.describe()));
            for p in &v.problems {
                report.push_str(&format!("  {p}\n"));
            }
            for n in &v.notes {
                report.push_str(&format!("  note: {n}\n"));
            }
        } else if case.documented.is_some() {
            report.push_str(&format!(
                "\n--- ok [{group}] {}\n  note: marked as a documented difference, but none seen\n",
                case.describe()
            ));
        } else if !v.notes.is_empty() {
            report.push_str(&format!("\n--- ok [{group}] {}\n", case.describe()));
            for n in &v.notes {
                report.push_str(&format!("  note: {n}\n"));
            }
        }
    }
    println!("{report}");
    println!(
        "[{group}] {} queries, {} differ from NSD",
        cases.len(),
        mismatches
    );
    if mismatches > 0 {
        panic!(
            "[{group}] {mismatches} of {} queries answered differently by policydns and NSD \
             (per-query diffs above)",
            cases.len()
        );
    }
}

// ---------------------------------------------------------------------------
// the groups
// ---------------------------------------------------------------------------

use RecordType::*;

#[test]
fn positive_answers() {
    run_group(
        "positive",
        vec![
            q("diff.test.", SOA),
            q("diff.test.", NS),
            q("diff.test.", A).rd(),
            q("diff.test.", AAAA),
            q("diff.test.", MX),
            q("diff.test.", TXT),
            q("diff.test.", CAA),
            q("ns1.diff.test.", A),
            q("ns1.diff.test.", AAAA).cd().documented("CD copied into the response, as BIND and RFC 4035 §3.2.2 do; NSD clears it (README: differences from NSD)"),
            q("ns2.diff.test.", A),
            q("mail.diff.test.", A),
            q("www.diff.test.", A),
            q("www.diff.test.", A).rd().cd().documented("CD copied into the response, as BIND and RFC 4035 §3.2.2 do; NSD clears it (README: differences from NSD)"),
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
        ],
    );
}

#[test]
fn negative_answers() {
    run_group(
        "negative",
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
                .mode(Mode::VersionString).documented("AA set on our CH TXT identity answers, as BIND does; NSD clears it (README: differences from NSD)"),
            q("VERSION.BIND.", TXT)
                .class(DNSClass::CH)
                .no_edns()
                .mode(Mode::VersionString).documented("AA set on our CH TXT identity answers, as BIND does; NSD clears it (README: differences from NSD)"),
            q("version.server.", TXT)
                .class(DNSClass::CH)
                .mode(Mode::VersionString).documented("AA set on our CH TXT identity answers, as BIND does; NSD clears it (README: differences from NSD)"),
            q("version.bind.", A).class(DNSClass::CH),
            q("id.server.", TXT).class(DNSClass::CH),
            q("hostname.bind.", TXT).class(DNSClass::CH),
            q("diff.test.", SOA).class(DNSClass::CH),
            q("www.diff.test.", A).class(DNSClass::HS).documented("error responses echo the question, as BIND does; NSD sends none (README: differences from NSD)"),
        ],
    );
}

#[test]
fn wildcards() {
    run_group(
        "wildcards",
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
        ],
    );
}

#[test]
fn delegations() {
    run_group(
        "delegations",
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
        ],
    );
}

#[test]
fn cname_and_dname_chains() {
    let long_label = "c".repeat(63);
    let overflow = format!("{l}.{l}.{l}.grow.diff.test.", l = long_label);
    run_group(
        "cname",
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
        ],
    );
}

#[test]
fn truncation_and_tcp() {
    run_group(
        "truncation",
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
                .mode(Mode::VersionString).documented("AA set on our CH TXT identity answers, as BIND does; NSD clears it (README: differences from NSD)"),
        ],
    );
}

#[test]
fn edns() {
    run_group(
        "edns",
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
            q("www.diff.test.", A).dnssec_ok().cd().rd().documented("CD copied into the response, as BIND and RFC 4035 §3.2.2 do; NSD clears it (README: differences from NSD)"),
            q("www.diff.test.", A).edns_version(1), // BADVERS
            q("nothere.diff.test.", A).edns_version(1),
            q("www.example.com.", A).edns_version(1),
            q("www.diff.test.", A).unknown_option(),
            q("www.diff.test.", A).edns_z(0x1234),
            q("www.example.com.", A),
            q("nothere.diff.test.", A).payload(512),
            q("www.diff.test.", A).tcp().payload(512),
        ],
    );
}

#[test]
fn any_queries() {
    let any = |n: &str| q(n, ANY).mode(Mode::Any);
    run_group(
        "any",
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
            // empty answers from NSD: compared exactly
            any("nothere.diff.test."),
            any("b.ent.diff.test."),
            any("www.sub.diff.test."),
            any("sub.diff.test."),
            any("www.example.com."),
        ],
    );
}

/// Header-only, malformed or unusual messages.
#[test]
fn unusual_messages() {
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

    run_group(
        "unusual",
        vec![
            raw("header only, QDCOUNT=0", header(0, 0, 0, 0, 0)),
            raw("QDCOUNT=2", cat(&[&header(0, 2, 0, 0, 0), &www_a, &www_a])),
            raw(
                "two OPT records",
                cat(&[&header(0, 1, 0, 0, 2), &www_a, &opt_rr, &opt_rr]),
            ).documented("error responses echo the question, as BIND does; NSD sends none (README: differences from NSD)"),
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
            ).documented("error responses echo the question, as BIND does; NSD sends none (README: differences from NSD)"),
            q("www.diff.test.", A).opcode(OpCode::Status).documented("error responses echo the question, as BIND does; NSD sends none (README: differences from NSD)"),
            q("diff.test.", SOA)
                .opcode(OpCode::Notify)
                .documented("NOTIFY for a zone we are primary of is REFUSED as NSD says, with the question echoed; README: differences from NSD"),
            q("diff.test.", SOA).opcode(OpCode::Update).documented("error responses echo the question, as BIND does; NSD sends none (README: differences from NSD)"),
            q("www.diff.test.", A)
                .class(DNSClass::ANY)
                .documented("QCLASS ANY is REFUSED (NSD answers from IN without AA, BIND says FORMERR); README: differences from NSD"),
            q("www.diff.test.", ty(0)),
            q("www.diff.test.", ty(41)) // OPT as QTYPE
                .documented("QTYPE OPT is FORMERR, as BIND answers (NSD: empty NOERROR); README: differences from NSD"),
        ],
    );
}
