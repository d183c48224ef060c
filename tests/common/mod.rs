//! Helpers the integration tests share: a temporary directory, a free port, DNS queries over
//! UDP and TCP decoded with hickory-proto, child processes (started, waited for, killed on
//! drop), an HTTP backend for health checks. Included with `mod common;`.
//!
//! The counting allocator (`counting_alloc.rs`) is not part of this module: it installs a
//! global allocator, so only the tests that count include it, with
//! `#[path = "common/counting_alloc.rs"] mod counting_alloc;`.

#![allow(dead_code, unused_imports)] // each test file uses its own subset

pub mod api;
mod dns;
pub mod dnssec;
mod http;
pub mod policy_server;
mod process;
pub mod signed_zone;

pub use dns::{
    a_records, ask, exchange, query, query_with, read_framed, try_udp, write_framed, Opt, Proto,
    Reply,
};
pub use http::{http_get, Backend, Hook};
pub use process::{
    dns_ready, find_tool, knot_secondary, named_secondary, require_tool, serve, start_on_free_port,
    wait_until, Proc, Server, BIN,
};

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A temporary directory under `std::env::temp_dir()`, with a name unique to this process and
/// call (`tag` says which test it is for); removed with its contents on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "policydns-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", p.display()));
        TempDir(p)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `text` to the file `name` in this directory; its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", p.display()));
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A port on 127.0.0.1 free for both UDP and TCP right now.
pub fn free_port() -> u16 {
    loop {
        let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = t.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Polls until `f` holds, for at most 10 s (effects of a signal or a probe).
pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for: {what}");
}

/// Pearson's chi-square of `counts` against a uniform spread (the order and share tests
/// compare it with the bound for p = 10⁻⁶, as their draws are not seeded).
pub fn chi_square(counts: &[usize]) -> f64 {
    let total: usize = counts.iter().sum();
    let expected = total as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// Runs an nsupdate-style script (`nsupdate` or `knsupdate`) for `zone` against `dns`, signed
/// with `key` (name, secret) when given; whether it succeeded, and what it printed.
pub fn run_update(
    tool: &str,
    dns: std::net::SocketAddr,
    zone: &str,
    key: Option<(&str, &str)>,
    lines: &str,
) -> (bool, String) {
    let prog = process::require_tool(
        tool,
        if tool == "knsupdate" {
            "knot-dnsutils"
        } else {
            "dnsutils"
        },
    );
    let mut cmd = std::process::Command::new(prog);
    if let Some((name, secret)) = key {
        cmd.args(["-y", &format!("hmac-sha256:{name}:{secret}")]);
    }
    let script = format!(
        "server {} {}\nzone {zone}\n{lines}\nsend\n{}",
        dns.ip(),
        dns.port(),
        if tool == "knsupdate" {
            "answer\nquit\n"
        } else {
            ""
        }
    );
    use std::io::Write as _;
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let failed = !out.status.success() || text.contains("update failed") || text.contains("error");
    (!failed, text)
}
