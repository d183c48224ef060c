//! Client side of `bench/transfer.sh`; one client for every server measured.
//!
//! `xfr_bench axfr ADDR ZONE ROUNDS`: AXFR the zone ROUNDS times over TCP; prints the median time
//! and what came (messages, records, bytes). The client only walks the records to find the
//! closing SOA, so the server's work dominates.
//!
//! `xfr_bench reload SECONDARY[,SECONDARY...] ZONE SERIAL (--hup PID | CMD ARGS...)`: triggers a
//! reload on the primary (SIGHUP to PID, or a command such as `knotc zone-reload`), then asks each
//! secondary for the zone's SOA every 0.5 ms until it shows SERIAL; prints the elapsed
//! milliseconds per secondary.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

fn wire_name(zone: &str) -> Vec<u8> {
    let mut n = Vec::new();
    for l in zone.trim_end_matches('.').split('.') {
        n.push(l.len() as u8);
        n.extend_from_slice(l.as_bytes());
    }
    n.push(0);
    n
}

fn query(id: u16, zone: &str, qtype: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    q.extend_from_slice(&wire_name(zone));
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&[0, 1]);
    q
}

fn skip_name(m: &[u8], mut p: usize) -> usize {
    loop {
        let l = m[p] as usize;
        if l & 0xC0 == 0xC0 {
            return p + 2;
        }
        p += 1 + l;
        if l == 0 {
            return p;
        }
    }
}

/// (records, SOAs) in the answer section.
fn walk(m: &[u8]) -> (usize, usize) {
    let qd = u16::from_be_bytes([m[4], m[5]]) as usize;
    let an = u16::from_be_bytes([m[6], m[7]]) as usize;
    let mut p = 12;
    for _ in 0..qd {
        p = skip_name(m, p) + 4;
    }
    let mut soas = 0;
    for _ in 0..an {
        p = skip_name(m, p);
        if u16::from_be_bytes([m[p], m[p + 1]]) == 6 {
            soas += 1;
        }
        p += 10 + u16::from_be_bytes([m[p + 8], m[p + 9]]) as usize;
    }
    (an, soas)
}

fn axfr(addr: SocketAddr, zone: &str) -> (Duration, usize, usize, usize) {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).unwrap();
    let q = query(0x4242, zone, 252);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    s.write_all(&framed).unwrap();
    let (mut msgs, mut records, mut bytes, mut soas) = (0, 0, 0, 0);
    let mut buf = vec![0u8; 65536];
    while soas < 2 {
        let mut len = [0u8; 2];
        s.read_exact(&mut len).expect("transfer ended early");
        let n = u16::from_be_bytes(len) as usize;
        s.read_exact(&mut buf[..n]).unwrap();
        assert_eq!(buf[3] & 0xF, 0, "transfer refused (rcode {})", buf[3] & 0xF);
        let (r, k) = walk(&buf[..n]);
        msgs += 1;
        records += r;
        soas += k;
        bytes += n;
    }
    (start.elapsed(), msgs, records, bytes)
}

fn soa_serial(sock: &UdpSocket, addr: SocketAddr, zone: &str, id: u16) -> Option<u32> {
    sock.send_to(&query(id, zone, 6), addr).ok()?;
    let mut buf = [0u8; 1500];
    // A late answer to an earlier query is skipped, not taken for this one's.
    let m = loop {
        let n = sock.recv(&mut buf).ok()?;
        if n >= 12 && u16::from_be_bytes([buf[0], buf[1]]) == id {
            break &buf[..n];
        }
    };
    if u16::from_be_bytes([m[6], m[7]]) == 0 {
        return None;
    }
    let mut p = skip_name(m, 12) + 4;
    p = skip_name(m, p);
    let rdlen = u16::from_be_bytes([m[p + 8], m[p + 9]]) as usize;
    let end = p + 10 + rdlen;
    Some(u32::from_be_bytes(
        m[end - 20..end - 16].try_into().unwrap(),
    ))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("axfr") => {
            let addr: SocketAddr = args[1].parse().unwrap();
            let rounds: usize = args.get(3).map_or(5, |r| r.parse().unwrap());
            let mut times = Vec::new();
            let mut last = (0, 0, 0);
            for _ in 0..rounds {
                let (t, m, r, b) = axfr(addr, &args[2]);
                times.push(t);
                last = (m, r, b);
            }
            times.sort();
            println!(
                "median {:.4} s  min {:.4} s  ({} messages, {} records, {} bytes)",
                times[times.len() / 2].as_secs_f64(),
                times[0].as_secs_f64(),
                last.0,
                last.1,
                last.2
            );
        }
        Some("reload") => {
            // reload SECONDARY[,SECONDARY...] ZONE SERIAL (--hup PID | CMD ARGS...)
            let addrs: Vec<SocketAddr> = args[1].split(',').map(|a| a.parse().unwrap()).collect();
            let zone = &args[2];
            let serial: u32 = args[3].parse().unwrap();
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            let start = Instant::now();
            if args[4] == "--hup" {
                let pid: i32 = args[5].parse().unwrap();
                // SAFETY: plain kill(2) on a pid the caller gave.
                unsafe { libc::kill(pid, libc::SIGHUP) };
            } else {
                std::process::Command::new(&args[4])
                    .args(&args[5..])
                    .stdout(std::process::Stdio::null())
                    .status()
                    .unwrap();
            }
            let mut seen: Vec<Option<f64>> = vec![None; addrs.len()];
            let mut id = 1u16;
            while seen.iter().any(Option::is_none) {
                for (i, a) in addrs.iter().enumerate() {
                    if seen[i].is_some() {
                        continue;
                    }
                    id = id.wrapping_add(1);
                    if soa_serial(&sock, *a, zone, id) == Some(serial) {
                        seen[i] = Some(start.elapsed().as_secs_f64() * 1000.0);
                    }
                }
                if start.elapsed() > Duration::from_secs(30) {
                    eprintln!("a secondary never showed serial {serial}");
                    std::process::exit(1);
                }
                std::thread::sleep(Duration::from_micros(500));
            }
            let ms: Vec<String> = seen.iter().map(|t| format!("{:.2}", t.unwrap())).collect();
            println!("{}", ms.join(" "));
        }
        _ => {
            eprintln!("usage: xfr_bench axfr ADDR ZONE [ROUNDS] | xfr_bench reload SECONDARY ZONE SERIAL (--hup PID | CMD ARGS...)");
            std::process::exit(2);
        }
    }
}
