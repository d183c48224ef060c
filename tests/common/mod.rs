//! Helpers the integration tests share: a temporary directory, and queries built byte by byte
//! (hickory-proto lowercases names and cannot send every option we need).

#![allow(dead_code)] // each test file uses its own subset

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A temporary directory, removed on drop; `tag` keeps parallel tests apart.
pub struct Dir(pub PathBuf);

impl Dir {
    pub fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("policydns-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A query for `name` `qtype` (ID 0x1234), with an OPT carrying EDNS Client Subnet
/// (`address`, source prefix) when `ecs` is given.
pub fn query(name: &str, qtype: u16, ecs: Option<(IpAddr, u8)>) -> Vec<u8> {
    let mut p = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, ecs.is_some() as u8];
    for label in name.trim_end_matches('.').split('.') {
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    if let Some((addr, prefix)) = ecs {
        let (family, bytes): (u16, Vec<u8>) = match addr {
            IpAddr::V4(a) => (1, a.octets().to_vec()),
            IpAddr::V6(a) => (2, a.octets().to_vec()),
        };
        let n = (prefix as usize).div_ceil(8);
        let mut opt = vec![0, 8];
        opt.extend_from_slice(&((4 + n) as u16).to_be_bytes());
        opt.extend_from_slice(&family.to_be_bytes());
        opt.extend_from_slice(&[prefix, 0]);
        opt.extend_from_slice(&bytes[..n]);
        p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
        p.extend_from_slice(&(opt.len() as u16).to_be_bytes());
        p.extend_from_slice(&opt);
    }
    p
}

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_policydns");

/// A `policydns serve` process, killed on drop; its stderr goes to `log`.
pub struct Server {
    pub child: std::process::Child,
    pub addr: std::net::SocketAddr,
    pub log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port free for both UDP and TCP right now.
pub fn free_port() -> u16 {
    loop {
        let t = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = t.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Starts `policydns serve --listen 127.0.0.1:PORT ARGS` from the repository root and waits
/// (bounded) until `ready_name` A is answered.
pub fn serve(dir: &Dir, args: &[&str], ready_name: &str) -> Server {
    let port = free_port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let log = dir.0.join(format!("server-{port}.log"));
    let child = std::process::Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("serve")
        .args(["--listen", &addr.to_string(), "--udp-workers", "2"])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let server = Server { child, addr, log };
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if try_udp(addr, ready_name, 1, Duration::from_millis(200)).is_some() {
            return server;
        }
    }
    panic!(
        "server did not answer; log:\n{}",
        std::fs::read_to_string(&server.log).unwrap_or_default()
    );
}

/// One UDP query (`query` bytes) and its decoded answer, if one comes within `timeout`.
pub fn try_udp(
    addr: std::net::SocketAddr,
    name: &str,
    qtype: u16,
    timeout: Duration,
) -> Option<hickory_proto::op::Message> {
    let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    s.send_to(&query(name, qtype, None), addr).ok()?;
    let mut buf = [0u8; 4096];
    let n = s.recv(&mut buf).ok()?;
    hickory_proto::op::Message::from_vec(&buf[..n]).ok()
}

/// The A records of an answer, as text.
pub fn a_records(m: &hickory_proto::op::Message) -> Vec<String> {
    m.answers
        .iter()
        .filter_map(|r| match &r.data {
            hickory_proto::rr::RData::A(a) => Some(a.to_string()),
            _ => None,
        })
        .collect()
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
