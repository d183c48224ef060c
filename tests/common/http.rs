//! An HTTP backend for health checks to probe, and a GET for the status listener.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Sees each request a [`Backend`] gets, with the status it answers.
pub type Hook = Arc<dyn Fn(u16) + Send + Sync>;

/// An HTTP backend on loopback answering every request with the current `status`; `hook`
/// sees each request (with the status it gets) as it arrives. Stops on drop.
pub struct Backend {
    pub port: u16,
    pub status: Arc<AtomicU16>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Backend {
    /// A backend on `port` (0: any free port) answering `status`.
    pub fn start(port: u16, status: u16) -> Backend {
        Self::start_with(port, Arc::new(AtomicU16::new(status)), Arc::new(|_| {}))
    }

    pub fn start_with(port: u16, status: Arc<AtomicU16>, hook: Hook) -> Backend {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, code) = (stop.clone(), status.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut c) = conn else { continue };
                let mut buf = [0u8; 1024];
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = c.read(&mut buf);
                let status = code.load(Ordering::SeqCst);
                hook(status);
                let _ = c.write_all(
                    format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                    )
                    .as_bytes(),
                );
            }
        });
        Backend {
            port,
            status,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops accepting (connections are refused from now on); returns the port for a restart.
    pub fn stop(mut self) -> u16 {
        self.halt();
        self.port
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.halt();
    }
}

/// `GET path` from an HTTP server on 127.0.0.1:`port` (the status listener): the whole
/// response, headers included; empty when nothing listens there.
pub fn http_get(port: u16, path: &str) -> String {
    let Ok(mut c) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    let mut out = String::new();
    let _ = c.read_to_string(&mut out);
    out
}
