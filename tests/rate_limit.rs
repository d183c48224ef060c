//! Response-rate limiting as an attacker and a bystander meet it: a flood of identical queries
//! from one network (a TXT-heavy answer, the amplifier's favourite) is answered at the rate,
//! every second limited answer slipped (TC=1) and the rest dropped; a client of another network
//! is answered in full meanwhile; `dig` from the flooded network gets a slipped answer and
//! retries over TCP, where it is answered. The amplification factor (bytes out / bytes in) with
//! the limit off and on is printed for the record. All on 127.0.0.0/8, every wait bounded.

mod common;
use common::{require_tool, serve, Server, TempDir};

use std::net::{SocketAddr, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

const ZONE: &str = "$TTL 300\n@ SOA ns1 admin 1 7200 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\n";

fn server(dir: &TempDir, extra: &[&str]) -> Server {
    // A name whose answer is many times its question and still fits 1232 octets: five
    // 200-octet strings.
    let big: String = (0..5)
        .map(|i| format!("big TXT \"{}\"\n", format!("{i:02}").repeat(100)))
        .collect();
    let file = dir.write("rrl.test.zone", &format!("{ZONE}{big}"));
    let zone = format!("rrl.test.={}", file.display());
    let mut args = vec!["--zone", zone.as_str()];
    args.extend_from_slice(extra);
    serve(dir, &args, "www.rrl.test.")
}

/// `big.rrl.test. TXT` with EDNS (payload 1232), ID `id`.
fn query(id: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    q.extend_from_slice(b"\x03big\x03rrl\x04test\x00\x00\x10\x00\x01");
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
    q
}

/// What a flood of `n` queries from `from` brought back.
#[derive(Debug, Default)]
struct Flood {
    /// The flooder's port (each UDP worker keeps its own table; the kernel sends one source
    /// port to one worker).
    port: u16,
    sent_bytes: usize,
    full: usize,
    truncated: usize,
    received_bytes: usize,
}

fn flood(server: SocketAddr, from: &str, n: u16) -> Flood {
    let sock = UdpSocket::bind((from, 0)).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    // Read while sending: the answers would overflow the socket's buffer otherwise.
    let reader = sock.try_clone().unwrap();
    let counts = std::thread::spawn(move || {
        let mut f = Flood::default();
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            match reader.recv(&mut buf) {
                Ok(len) => {
                    f.received_bytes += len;
                    if buf[2] & 0x02 != 0 {
                        f.truncated += 1;
                    } else {
                        f.full += 1;
                    }
                }
                Err(_) => break, // quiet for 300 ms: everything that comes has come
            }
        }
        f
    });
    let mut sent = 0;
    for id in 0..n {
        let q = query(id);
        sent += q.len();
        sock.send_to(&q, server).unwrap();
        if id % 20 == 19 {
            // Paced a little, so the client's own socket buffer keeps up with the answers.
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    let mut f = counts.join().unwrap();
    f.sent_bytes = sent;
    f.port = sock.local_addr().unwrap().port();
    f
}

#[test]
fn a_flood_is_answered_at_the_rate_with_slips_while_others_and_tcp_are_answered() {
    let dir = TempDir::new("rrl");
    let limited = server(&dir, &["--rrl", "5"]);
    let f = flood(limited.addr, "127.0.0.1", 400);
    // The burst fits in one or two seconds: the rate (5) plus a second's refill at most.
    assert!((5..=15).contains(&f.full), "answered in full: {f:?}");
    // Slip 2: about every second limited answer comes back truncated.
    let limited_count = 400 - f.full;
    assert!(
        f.truncated * 2 + 4 >= limited_count && f.truncated * 2 <= limited_count + 4,
        "slipped: {f:?}"
    );
    // A client of another network is not limited by that one.
    let other = flood(limited.addr, "127.0.1.1", 3);
    assert_eq!(other.full, 3, "{other:?}");
    // dig from the flooded network (and port: the same worker's table): a slipped answer, then
    // TCP (its SERVER line says so), then the records.
    let out = Command::new(require_tool("dig", "dnsutils"))
        .args([
            "-b",
            &format!("127.0.0.1#{}", f.port),
            "-p",
            &limited.addr.port().to_string(),
            "@127.0.0.1",
            "+tries=4",
            "+timeout=1",
            "big.rrl.test.",
            "TXT",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(TCP)")
            && text
                .lines()
                .filter(|l| l.starts_with("big.rrl.test."))
                .count()
                == 5,
        "{text}"
    );

    // For the record: the amplification a flooder gets with the limit off and on.
    let open = server(&dir, &[]);
    let g = flood(open.addr, "127.0.0.1", 400);
    assert_eq!(g.full, 400, "without RRL every query is answered: {g:?}");
    let factor = |f: &Flood| f.received_bytes as f64 / f.sent_bytes as f64;
    println!(
        "amplification (bytes out / bytes in), 400 queries: RRL off {:.1}x, RRL 5/s slip 2 {:.2}x",
        factor(&g),
        factor(&f)
    );
    assert!(factor(&f) < 1.5 && factor(&g) > 20.0);
}

/// `per_source` queries from each of `sources` addresses of one network, as a flood with forged
/// sources spread over a victim's network looks; (bytes sent, bytes received, full answers).
fn spread_flood(server: SocketAddr, sources: &[String], per_source: u16) -> (usize, usize, usize) {
    let socks: Vec<UdpSocket> = sources
        .iter()
        .map(|a| UdpSocket::bind((a.as_str(), 0)).unwrap())
        .collect();
    let mut sent = 0;
    for id in 0..per_source {
        for s in &socks {
            let q = query(id);
            sent += q.len();
            s.send_to(&q, server).unwrap();
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(Duration::from_millis(300));
    let (mut received, mut full) = (0, 0);
    let mut buf = [0u8; 4096];
    for s in &socks {
        s.set_nonblocking(true).unwrap();
        while let Ok(len) = s.recv(&mut buf) {
            received += len;
            if buf[2] & 0x02 == 0 {
                full += 1;
            }
        }
    }
    (sent, received, full)
}

#[test]
fn a_flood_spread_over_the_addresses_of_one_network_is_limited_as_one_client() {
    let dir = TempDir::new("rrl-spread");
    let sources: Vec<String> = (1..=50).map(|i| format!("127.0.7.{i}")).collect();
    let limited = server(&dir, &["--rrl", "5"]);
    let (sent, received, full) = spread_flood(limited.addr, &sources, 8);
    let open = server(&dir, &[]);
    let (open_sent, open_received, open_full) = spread_flood(open.addr, &sources, 8);
    println!(
        "400 queries from 50 addresses of 127.0.7.0/24: amplification RRL off {:.1}x ({open_full} full answers), RRL 5/s slip 2 {:.2}x ({full} full answers)",
        open_received as f64 / open_sent as f64,
        received as f64 / sent as f64
    );
    assert_eq!(open_full, 400, "without RRL every query is answered");
    // Two UDP workers, each with its own table: up to twice the rate and a second's refill.
    assert!(
        full <= 30,
        "one network, one allowance per worker: {full} answered in full"
    );
    assert!((received as f64) < 1.5 * sent as f64);
}
