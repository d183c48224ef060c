//! Child processes: `policydns serve` and the peers the interop tests run (NSD, BIND, Knot),
//! each in its own process group with its output in a log file, killed on drop.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{free_port, try_udp, TempDir};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_policydns");

/// A started process in its own process group, its stdout and stderr in `log_path`; on drop
/// the whole group (a daemon's children too) is killed and the process reaped.
pub struct Proc {
    pub what: String,
    pub child: Child,
    pub log_path: PathBuf,
}

impl Proc {
    /// Starts `cmd` (`what` names it in messages) with its output going to `log`.
    pub fn spawn(what: &str, cmd: &mut Command, log: PathBuf) -> Proc {
        let out = std::fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let err = out.try_clone().expect("clone the log file");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({cmd:?}): {e}"));
        Proc {
            what: what.to_string(),
            child,
            log_path: log,
        }
    }

    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let s = self.log();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// How the process ended, if it has.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Some(st.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("wait error {e}")),
        }
    }

    /// Sends `sig` to the process.
    pub fn signal(&self, sig: i32) {
        // SAFETY: sending a signal to our own child process.
        let r = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(r, 0, "cannot signal {}", self.what);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let pid = self.child.id() as libc::pid_t;
        // SAFETY: the group is the one this process leads (`process_group(0)` above).
        unsafe { libc::kill(-pid, libc::SIGKILL) };
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds a program on PATH or in the sbin and bin directories (sbin is not always on a
/// user's PATH).
pub fn find_tool(prog: &str) -> Option<PathBuf> {
    let is_exe = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .unwrap_or(false)
    };
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(
            [
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
                "/usr/local/sbin",
                "/usr/local/bin",
            ]
            .map(PathBuf::from),
        )
        .map(|d| d.join(prog))
        .find(|p| is_exe(p))
}

/// [`find_tool`], or a failure that says how to install it: a test that needs a peer fails
/// rather than skips without it. `package` is the Debian package that ships `prog`.
pub fn require_tool(prog: &str, package: &str) -> PathBuf {
    find_tool(prog).unwrap_or_else(|| {
        panic!(
            "{prog} ({package}) was not found in PATH, /usr/sbin, /usr/bin, /sbin, /bin or \
             /usr/local; run scripts/install-test-deps.sh (installs nsd, knot, bind9, \
             bind9-utils, dnsutils, knot-dnsutils, dnsperf) and retry. This test fails rather \
             than skips without it."
        )
    })
}

/// Whether a DNS server on `addr` answers `name` `qtype` over UDP and accepts TCP.
pub fn dns_ready(addr: SocketAddr, name: &str, qtype: u16) -> bool {
    try_udp(addr, name, qtype, Duration::from_millis(200)).is_some()
        && TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
}

/// Polls `ready` every 50 ms for at most `within`; an error with the log's tail when `proc`
/// exits first or time runs out.
pub fn wait_until(
    proc_: &mut Proc,
    within: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(st) = proc_.exited() {
            return Err(format!(
                "{} exited during start-up ({st}); log:\n{}",
                proc_.what,
                proc_.log_tail(30)
            ));
        }
        if ready() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} was not ready within {within:?}; log:\n{}",
                proc_.what,
                proc_.log_tail(30)
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts a server with `start(port)` on a port free a moment ago and waits (at most 10 s)
/// until `ready(addr)`; tries again on another port up to three times (another process may
/// take the port in between).
pub fn start_on_free_port(
    what: &str,
    mut start: impl FnMut(u16) -> Proc,
    mut ready: impl FnMut(SocketAddr) -> bool,
) -> (Proc, SocketAddr) {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut p = start(port);
        match wait_until(&mut p, Duration::from_secs(10), || ready(addr)) {
            Ok(()) => return (p, addr),
            Err(e) => last = e,
        }
    }
    panic!("could not start {what}: {last}");
}

/// A `policydns serve` process and the address it listens on; killed on drop.
pub struct Server {
    pub process: Proc,
    pub addr: SocketAddr,
}

impl Server {
    /// Its log so far.
    pub fn log(&self) -> String {
        self.process.log()
    }

    /// Sends `sig` (SIGHUP: reload; SIGTERM: stop).
    pub fn signal(&self, sig: i32) {
        self.process.signal(sig);
    }
}

/// Starts `policydns serve --listen 127.0.0.1:PORT --udp-workers 2 ARGS` from the repository
/// root, its log in `dir`, and waits (bounded) until `ready_name` A is answered.
pub fn serve(dir: &TempDir, args: &[&str], ready_name: &str) -> Server {
    let (process, addr) = start_on_free_port(
        "policydns",
        |port| {
            let mut cmd = Command::new(BIN);
            cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
                .arg("serve")
                .args([
                    "--listen",
                    &format!("127.0.0.1:{port}"),
                    "--udp-workers",
                    "2",
                ])
                .args(args);
            Proc::spawn(
                "policydns",
                &mut cmd,
                dir.path().join(format!("server-{port}.log")),
            )
        },
        |addr| dns_ready(addr, ready_name, 1),
    );
    Server { process, addr }
}

/// BIND (`named`) as a secondary of `zone` at `primary`, NOTIFY accepted from it; with `key`
/// (a base64 hmac-sha256 secret), its requests are signed with the key `xfr-key`.
pub fn named_secondary(
    dir: &TempDir,
    port: u16,
    primary: SocketAddr,
    zone: &str,
    key: Option<&str>,
) -> Proc {
    let work = dir.path().join(format!("named-{port}"));
    std::fs::create_dir_all(&work).unwrap();
    let key_conf = match key {
        Some(secret) => format!(
            "key \"xfr-key\" {{ algorithm hmac-sha256; secret \"{secret}\"; }};\nserver {} {{ keys {{ xfr-key; }}; }};\n",
            primary.ip()
        ),
        None => String::new(),
    };
    let conf = format!(
        "options {{ directory \"{w}\"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};
  pid-file none; recursion no; notify no; dnssec-validation no; session-keyfile \"{w}/session.key\"; }};
{key_conf}controls {{ }};
zone \"{zone}\" {{ type secondary; primaries port {pport} {{ {pip}; }}; file \"{w}/{zone}.bk\"; }};\n",
        w = work.display(),
        pport = primary.port(),
        pip = primary.ip(),
    );
    let conf_path = work.join("named.conf");
    std::fs::write(&conf_path, conf).unwrap();
    Proc::spawn(
        "named",
        Command::new(require_tool("named", "bind9"))
            .args(["-g", "-c"])
            .arg(&conf_path),
        work.join("named.log"),
    )
}

/// Knot as a secondary of the zone `xfr.test` at `primary`, NOTIFY accepted from it; with
/// `key` (a base64 hmac-sha256 secret), its requests are signed with the key `xfr-key`.
pub fn knot_secondary(dir: &TempDir, port: u16, primary: SocketAddr, key: Option<&str>) -> Proc {
    let work = dir.path().join(format!("knot-{port}"));
    std::fs::create_dir_all(&work).unwrap();
    let (key_section, key_ref) = if let Some(secret) = key {
        (
            format!("key:\n  - id: xfr-key\n    algorithm: hmac-sha256\n    secret: {secret}\n"),
            "    key: xfr-key\n",
        )
    } else {
        (String::new(), "")
    };
    let conf = format!(
        "server:\n    rundir: \"{w}\"\n    listen: 127.0.0.1@{port}\n    background-workers: 1\n\
database:\n    storage: \"{w}\"\n\
log:\n  - target: stderr\n    any: info\n\
{key_section}\
remote:\n  - id: primary\n    address: {pip}@{pport}\n{key_ref}\
acl:\n  - id: notify_from_primary\n    address: {pip}\n    action: notify\n\
template:\n  - id: default\n    storage: \"{w}\"\n    zonefile-sync: -1\n\
zone:\n  - domain: xfr.test\n    master: primary\n    acl: notify_from_primary\n",
        w = work.display(),
        pip = primary.ip(),
        pport = primary.port(),
    );
    let conf_path = work.join("knot.conf");
    std::fs::write(&conf_path, conf).unwrap();
    Proc::spawn(
        "knotd",
        Command::new(require_tool("knotd", "knot"))
            .arg("-c")
            .arg(&conf_path),
        work.join("knot.log"),
    )
}
