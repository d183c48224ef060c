//! `policydns demo failover`: two HTTP backends on loopback, a failover record set served by
//! the real server and probed by the real health checks every second, the primary backend
//! stopped and started again, and a timeline of what a DNS query gets back with the measured
//! time of each flip. Nothing is simulated: the answers come over UDP from [`Server`].

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::{Config, Overrides};
use crate::serve::Service;
use crate::server::Server;

const NAME: &str = "app.demo.test.";
const PRIMARY: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);
const SECONDARY: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 12);
/// Longest wait for a flip before the demo gives up (a flip takes about one interval).
const FLIP_LIMIT: Duration = Duration::from_secs(15);

/// What the demo measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flips {
    /// From stopping the primary backend to the first answer with the secondary.
    pub to_secondary: Duration,
    /// From starting it again to the first answer with the primary.
    pub to_primary: Duration,
}

/// Runs the demo, serving on `listen`, keeping the primary down for `down`, and writing the
/// timeline to `out`.
pub async fn failover(
    listen: SocketAddr,
    down: Duration,
    out: &mut dyn Write,
) -> anyhow::Result<Flips> {
    let primary = Backend::start(0).await?;
    let secondary = Backend::start(0).await?;
    let dir = TempDir::new()?;
    let config_path = dir.write_config(primary.port, secondary.port)?;
    let overrides = Overrides {
        listen: vec![listen.to_string()],
        udp_workers: Some(1),
        ..Overrides::default()
    };
    let config = Config::load(Some(&config_path), &overrides)?;
    let built = crate::load::build(&config, None);
    if let Some(f) = built.failures.first() {
        anyhow::bail!("demo zone {} does not load: {}", f.what, f.error);
    }
    let service = Service::start(config, built.snapshot)
        .await
        .with_context(|| format!("serving the demo on {listen} (choose another with --listen)"))?;
    let result = timeline(&service.server, listen, primary, down, out).await;
    drop(secondary);
    service.shutdown().await;
    result
}

async fn timeline(
    server: &Server,
    listen: SocketAddr,
    primary: Backend,
    down: Duration,
    out: &mut dyn Write,
) -> anyhow::Result<Flips> {
    let addr = server.listening.first().copied().unwrap_or(listen);
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0")
        .await
        .context("a UDP socket for the demo's queries")?;
    let start = Instant::now();
    let mut watcher = Watcher {
        socket,
        addr,
        start,
        last: None,
    };
    writeln!(
        out,
        "what a query to {addr} for {NAME} A gets back (health checks every 1 s, failure threshold 1):"
    )?;
    watcher
        .until(out, Some(PRIMARY), FLIP_LIMIT)
        .await
        .context("the primary was never answered")?;
    watcher.watch(out, Duration::from_secs(2)).await?;
    let port = primary.port;
    drop(primary);
    let stopped = Instant::now();
    writeln!(out, "{:7} ms  -- primary backend stopped", watcher.ms())?;
    let to_secondary = watcher
        .until(out, Some(SECONDARY), FLIP_LIMIT)
        .await
        .context("no flip to the secondary")?
        - stopped;
    watcher
        .watch(out, down.saturating_sub(stopped.elapsed()))
        .await?;
    let _primary = Backend::start(port).await?;
    let restarted = Instant::now();
    writeln!(
        out,
        "{:7} ms  -- primary backend started again",
        watcher.ms()
    )?;
    let to_primary = watcher
        .until(out, Some(PRIMARY), FLIP_LIMIT)
        .await
        .context("no flip back to the primary")?
        - restarted;
    watcher.watch(out, Duration::from_secs(1)).await?;
    writeln!(out)?;
    writeln!(
        out,
        "flip to secondary: {} ms after the primary stopped; back to primary: {} ms after it returned",
        to_secondary.as_millis(),
        to_primary.as_millis()
    )?;
    writeln!(
        out,
        "(interval × threshold = 1000 ms; the target is that + 100 ms)"
    )?;
    Ok(Flips {
        to_secondary,
        to_primary,
    })
}

/// Queries the server every 50 ms and prints each change of answer.
struct Watcher {
    socket: tokio::net::UdpSocket,
    addr: SocketAddr,
    start: Instant,
    last: Option<Option<Ipv4Addr>>,
}

impl Watcher {
    fn ms(&self) -> u128 {
        self.start.elapsed().as_millis()
    }

    /// One query; prints the answer when it differs from the last one.
    async fn poll(&mut self, out: &mut dyn Write) -> anyhow::Result<Option<Ipv4Addr>> {
        let answer = query(&self.socket, self.addr).await;
        if self.last != Some(answer) {
            let label = match answer {
                Some(PRIMARY) => " (primary)",
                Some(SECONDARY) => " (secondary)",
                _ => "",
            };
            let shown = answer.map_or("(nothing)".to_string(), |a| a.to_string());
            writeln!(out, "{:7} ms  answer {shown}{label}", self.ms())?;
            out.flush()?;
            self.last = Some(answer);
        }
        Ok(answer)
    }

    async fn watch(&mut self, out: &mut dyn Write, span: Duration) -> anyhow::Result<()> {
        let end = Instant::now() + span;
        while Instant::now() < end {
            self.poll(out).await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Polls until the answer is `want`; the time it first was, or an error after `limit`.
    async fn until(
        &mut self,
        out: &mut dyn Write,
        want: Option<Ipv4Addr>,
        limit: Duration,
    ) -> anyhow::Result<Instant> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if self.poll(out).await? == want {
                return Ok(Instant::now());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        anyhow::bail!("waited {} s", limit.as_secs())
    }
}

/// The first A record the server answers for [`NAME`], if any.
async fn query(socket: &tokio::net::UdpSocket, addr: SocketAddr) -> Option<Ipv4Addr> {
    let mut q = vec![0xde, 0x30, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in NAME.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    socket.send_to(&q, addr).await.ok()?;
    let mut buf = [0u8; 1500];
    // A reply to an earlier, timed-out query carries the same ID; at worst it is one poll
    // (50 ms) old.
    let n = tokio::time::timeout(Duration::from_millis(500), socket.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    let m = hickory_proto::op::Message::from_vec(&buf[..n]).ok()?;
    m.answers.iter().find_map(|r| match &r.data {
        hickory_proto::rr::RData::A(a) => Some(a.0),
        _ => None,
    })
}

/// A tiny HTTP backend answering 200 to everything until dropped (then its port refuses).
struct Backend {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl Backend {
    async fn start(port: u16) -> anyhow::Result<Backend> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .with_context(|| format!("a demo backend on 127.0.0.1:{port}"))?;
        let port = listener.local_addr()?.port();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    if conn.read(&mut buf).await.is_ok() {
                        let _ = conn
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
                            .await;
                    }
                });
            }
        });
        Ok(Backend { port, task })
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        // Aborting drops the listener, so new connections are refused at once.
        self.task.abort();
    }
}

/// The demo's zone and config, removed when the demo ends.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let p = std::env::temp_dir().join(format!("policydns-demo-{}", std::process::id()));
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
        Ok(TempDir(p))
    }

    fn write_config(&self, primary: u16, secondary: u16) -> anyhow::Result<PathBuf> {
        let zone =
            "$TTL 60\n@ SOA ns1 hostmaster 1 7200 900 1209600 5\n  NS ns1\nns1 A 127.0.0.1\n";
        let check = |id: &str, port: u16| {
            format!(
                "[[health_check]]\nid = \"{id}\"\ntype = \"HTTP\"\nip_address = \"127.0.0.1\"\nport = {port}\nresource_path = \"/health\"\nrequest_interval = 1\nfailure_threshold = 1\n"
            )
        };
        let set = |id: &str, role: &str, value: Ipv4Addr| {
            format!(
                "[[record_set]]\nname = \"{NAME}\"\ntype = \"A\"\nset_identifier = \"{id}\"\nfailover = \"{role}\"\nhealth_check = \"{id}\"\nttl = 1\nvalues = [\"{value}\"]\n"
            )
        };
        let config = format!(
            "[[zone]]\norigin = \"demo.test.\"\nfile = \"demo.test.zone\"\n{}{}{}{}",
            check("primary", primary),
            check("secondary", secondary),
            set("primary", "PRIMARY", PRIMARY),
            set("secondary", "SECONDARY", SECONDARY),
        );
        let write = |name: &str, text: &str| -> anyhow::Result<PathBuf> {
            let p = self.0.join(name);
            std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
            Ok(p)
        };
        write("demo.test.zone", zone)?;
        write("demo.toml", &config)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
