//! The kernel's floor for the health-check benchmark (`bench/health.sh`): a blocking client
//! with no runtime that opens RATE fresh connections a second for SECS seconds, sends the
//! checker's GET, reads the response headers and closes (with RST when asked), then prints
//! its own CPU. On loopback this is what one connection per probe costs before any checker
//! code runs.
//!
//!   taskset -c 1 target/release/examples/http_ok 127.0.0.1:18091 &
//!   taskset -c 0 target/release/examples/connect_floor 127.0.0.1:18091 1000 15 [rst]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let addr = args.get(1).map_or("127.0.0.1:18091", |s| s.as_str());
    let rate: u64 = args.get(2).map_or(1000, |s| s.parse().expect("RATE"));
    let secs: u64 = args.get(3).map_or(15, |s| s.parse().expect("SECS"));
    let rst = args.get(4).is_some_and(|s| s == "rst");
    let req = format!(
        "GET /c/1 HTTP/1.1\r\nhost: {addr}\r\nuser-agent: policydns-health-check/0\r\naccept: */*\r\nconnection: close\r\n\r\n"
    );
    let start = Instant::now();
    let mut buf = [0u8; 2048];
    let n = rate * secs;
    for i in 0..n {
        let due = start + Duration::from_micros(i * 1_000_000 / rate);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let mut c = TcpStream::connect(addr).expect("connect");
        c.write_all(req.as_bytes()).expect("send");
        let mut got = 0;
        loop {
            let k = c.read(&mut buf[got..]).expect("read");
            got += k;
            if k == 0 || buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        if rst {
            let l = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid socket and a linger struct of the size passed.
            unsafe {
                libc::setsockopt(
                    c.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    &l as *const libc::linger as *const libc::c_void,
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                );
            }
        }
    }
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let user: f64 = f[11].parse::<f64>().unwrap_or(0.0) / hz;
    let kernel: f64 = f[12].parse::<f64>().unwrap_or(0.0) / hz;
    let wall = start.elapsed().as_secs_f64();
    println!(
        "{n} connections{} in {wall:.1} s: {:.2} % of a core (user {:.2} %, kernel {:.2} %), {:.0} us per connection",
        if rst { " (RST close)" } else { "" },
        100.0 * (user + kernel) / wall,
        100.0 * user / wall,
        100.0 * kernel / wall,
        (user + kernel) * 1e6 / n as f64
    );
}
