//! TCP as an attacker holding connections open meets it, and a bystander beside them: one
//! network opening 1,100 idle connections gets its share (a quarter of the 1,024 slots) and no
//! more; several networks holding every slot open and silent lose their longest-idle
//! connections to newcomers; in both cases a client of another network has every fresh TCP
//! query answered, and the server's memory per idle connection stays small. The figures are
//! printed for the record. All on 127.0.0.0/8, every wait bounded.

mod common;
use common::{query, read_framed, serve, write_framed, Server, TempDir};

use std::io::{ErrorKind, Read};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const ZONE: &str =
    "$TTL 300\n@ SOA ns1 admin 1 7200 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\n";

fn server(dir: &TempDir, config: &str) -> Server {
    let file = dir.write("tcp.test.zone", ZONE);
    let conf = dir.write("c.toml", config);
    let zone = format!("tcp.test.={}", file.display());
    serve(
        dir,
        &["--config", conf.to_str().unwrap(), "--zone", &zone],
        "www.tcp.test.",
    )
}

/// A TCP connection to `to` from the address `from`.
fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    s.bind(&SocketAddr::new(from, 0).into())?;
    s.connect_timeout(&to.into(), Duration::from_secs(2))?;
    Ok(s.into())
}

/// `n` connections from the addresses `from` gives, opened and left silent.
fn hold(n: usize, to: SocketAddr, from: impl Fn(usize) -> IpAddr) -> Vec<TcpStream> {
    (0..n)
        .map(|i| connect_from(from(i), to).expect("connect"))
        .collect()
}

/// How many of `conns` the server has closed (read sees EOF or a reset) and how many it holds.
fn closed_and_open(conns: &[TcpStream]) -> (usize, usize) {
    let mut closed = 0;
    for c in conns {
        c.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        match (&*c).read(&mut b) {
            Ok(0) => closed += 1,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => closed += 1,
            Ok(_) => panic!("the server sent something unasked"),
        }
        c.set_nonblocking(false).unwrap();
    }
    (closed, conns.len() - closed)
}

/// Fresh TCP queries from `from`, one connection each; how many were answered.
fn fresh_queries(n: usize, from: IpAddr, to: SocketAddr) -> usize {
    let q = query("www.tcp.test.", 1, None);
    (0..n)
        .filter(|_| {
            let Ok(mut c) = connect_from(from, to) else {
                return false;
            };
            c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
            write_framed(&mut c, &q).is_ok() && read_framed(&mut c).is_ok_and(|r| r.len() > 12)
        })
        .count()
}

/// The server's resident memory, from /proc.
fn rss_kib(server: &Server) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.process.child.id()))
        .expect("the server's /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Waits until the server has dealt with every connection opened (closed the ones it refuses).
fn settle(conns: &[TcpStream], expect_open: usize) -> (usize, usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (closed, open) = closed_and_open(conns);
        if open <= expect_open || Instant::now() > deadline {
            return (closed, open);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn one_network_holds_only_its_share_and_another_client_is_answered() {
    let dir = TempDir::new("tcp-share");
    let s = server(&dir, "[server]\ntcp_idle_timeout_secs = 60\n");
    let before = rss_kib(&s);
    // 1,100 idle connections from one /24 (the attack: they once filled the 1,024 cap).
    let attacker = hold(1100, s.addr, |i| ip(&format!("127.0.9.{}", 1 + i % 200)));
    let (closed, open) = settle(&attacker, 256);
    assert_eq!(open, 256, "one network holds a quarter of the slots");
    assert_eq!(closed, 1100 - 256);
    let answered = fresh_queries(30, ip("127.0.0.1"), s.addr);
    let after = rss_kib(&s);
    println!(
        "one network: {open} of 1,100 held, {closed} closed at once; another client answered {answered}/30; RSS {before} → {after} KiB"
    );
    assert_eq!(answered, 30);
    assert!(
        s.log().contains("its network holds its share"),
        "the refusal is logged"
    );
    assert!(
        s.log().matches("its network holds its share").count() <= 2,
        "and not once per connection:\n{}",
        s.log()
    );
    drop(attacker);
}

#[test]
fn networks_holding_every_slot_lose_their_longest_idle_connections_to_newcomers() {
    let dir = TempDir::new("tcp-evict");
    let s = server(&dir, "[server]\ntcp_idle_timeout_secs = 60\n");
    let before = rss_kib(&s);
    // 1,100 silent connections from five /24s, 220 each (within each network's share): the
    // first 1,024 fill every slot, the next 76 push out the longest idle of them.
    let attacker = hold(1100, s.addr, |i| ip(&format!("127.0.{}.1", 10 + i % 5)));
    let (_, open) = settle(&attacker, 1024);
    assert_eq!(open, 1024, "every slot is held");
    let full = rss_kib(&s);
    let answered = fresh_queries(30, ip("127.0.0.1"), s.addr);
    let (closed, open) = settle(&attacker, 1023);
    // KiB × 1,024 octets over 1,024 connections: octets each.
    let per_conn = full.saturating_sub(before);
    println!(
        "five networks: 1,100 opened, {open} still held, {closed} closed for newcomers; another client answered {answered}/30; RSS {before} KiB idle → {full} KiB with 1,024 held (≈{per_conn} octets each)"
    );
    assert_eq!(
        answered, 30,
        "every fresh query from another network is answered"
    );
    assert!(open < 1024, "a newcomer took an idle attacker's slot");
    assert!(
        full.saturating_sub(before) < 16 * 1024,
        "1,024 idle connections cost {} KiB (at 136 KiB each they once cost 136 MiB)",
        full - before
    );
    drop(attacker);
}

#[test]
fn a_client_that_keeps_asking_keeps_its_connection_while_silent_ones_make_room() {
    let dir = TempDir::new("tcp-busy");
    let s = server(
        &dir,
        "[server]\ntcp_idle_timeout_secs = 60\ntcp_max_connections = 8\ntcp_max_connections_per_network = 8\n",
    );
    let q = query("www.tcp.test.", 1, None);
    let mut regular = connect_from(ip("127.0.0.1"), s.addr).unwrap();
    regular
        .set_read_timeout(Some(Duration::from_secs(3)))
        .unwrap();
    let silent = hold(7, s.addr, |_| ip("127.0.5.1"));
    let mut newcomers = Vec::new();
    for round in 0..10 {
        // The registry's clock counts milliseconds: let the others' idleness show.
        std::thread::sleep(Duration::from_millis(5));
        // The regular client asks just before each newcomer: it is the least idle.
        write_framed(&mut regular, &q).unwrap();
        assert!(read_framed(&mut regular).is_ok(), "round {round}");
        // Newcomers stay connected, so every one of them needs a slot made for it.
        let mut c = connect_from(ip("127.0.6.1"), s.addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        write_framed(&mut c, &q).unwrap();
        assert!(read_framed(&mut c).is_ok(), "newcomer {round} answered");
        newcomers.push(c);
    }
    write_framed(&mut regular, &q).unwrap();
    assert!(
        read_framed(&mut regular).is_ok(),
        "the regular client still has its connection"
    );
    let (closed, _) = settle(&silent, 0);
    assert_eq!(
        closed, 7,
        "the silent connections made room, the regular client kept its own"
    );
}
