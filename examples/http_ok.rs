//! A minimal HTTP/1.1 server answering `200 OK` to every request, for the health-check
//! benchmark (`bench/health.sh`): `cargo run --release --example http_ok -- 127.0.0.1:PORT`.
//! It keeps a connection open for further requests unless the request says
//! `Connection: close` (the checker's default), so it serves both of the checker's modes.
//! With `HTTP_OK_COUNT=FILE` it writes the number of requests answered so far to FILE ten
//! times a second, so the benchmark counts the probes that really happened.

use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static ANSWERED: AtomicU64 = AtomicU64::new(0);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18090".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    if let Ok(path) = std::env::var("HTTP_OK_COUNT") {
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let tmp = format!("{path}.tmp");
                let n = ANSWERED.load(Ordering::Relaxed).to_string();
                if std::fs::write(&tmp, n).is_ok() {
                    let _ = std::fs::rename(&tmp, &path);
                }
            }
        });
    }
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let mut pending = Vec::new();
            let mut buf = [0u8; 1024];
            loop {
                let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => pending.extend_from_slice(&buf[..n]),
                    }
                    continue;
                };
                let head = String::from_utf8_lossy(&pending[..end]).to_ascii_lowercase();
                let close = head.lines().any(|l| {
                    l.split_once(':').is_some_and(|(k, v)| {
                        k.trim() == "connection" && v.split(',').any(|t| t.trim() == "close")
                    })
                });
                pending.drain(..end + 4);
                let reply: &[u8] = if close {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                } else {
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                };
                if conn.write_all(reply).await.is_err() {
                    return;
                }
                ANSWERED.fetch_add(1, Ordering::Relaxed);
                if close {
                    return;
                }
            }
        });
    }
}
