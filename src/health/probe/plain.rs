//! Plain-HTTP probes by hand: one HTTP/1.1 exchange on a fresh connection, as Route 53 makes
//! it, or on a connection kept from the check's previous probe (`reuse_connection`).

use std::io;
use std::time::{Duration, Instant};

use super::{body, verdict_on_body, HttpSpec, Reason, Timing, HTTP_CONNECT_TIMEOUT};

/// At most this many probes share one kept connection (`reuse_connection`); the next opens a
/// fresh one. A server that still answers on its open connections but no longer accepts new
/// ones (a full backlog, a listener that died while workers live) fails only on a fresh
/// connection, so with reuse it is noticed up to this many intervals, less one, late.
pub const FRESH_EVERY: u32 = 10;

/// Most response bytes read to reach the end of a response whose connection is to be kept;
/// a longer response closes the connection instead of being downloaded.
const DRAIN_LIMIT: usize = body::RAW_LIMIT;

/// A plain-HTTP check's connection between its probes, when the check has `reuse_connection`.
/// It lives in the check's own scheduled state rather than in a pool: one check, one
/// connection, so nothing is shared and nothing is locked. Idle, it costs a file descriptor
/// and ~3.8 KiB of kernel memory on each side (socket, inode, file, epoll entries; docs/health-checks.md,
/// "Connection reuse") and the runtime's registration; in the check itself, this struct.
#[derive(Debug, Default)]
pub struct KeptConnection {
    conn: Option<tokio::net::TcpStream>,
    /// Probes answered on `conn` so far, counted to force a fresh connection (FRESH_EVERY).
    served: u32,
}

impl KeptConnection {
    /// Whether a connection is kept for the next probe.
    pub fn is_kept(&self) -> bool {
        self.conn.is_some()
    }

    /// The kept connection if it can carry a request. The server may have closed it while it
    /// sat idle (a keep-alive timeout shorter than the interval) or sent something unasked;
    /// writing into it would only fail. The non-blocking read makes no system call unless the
    /// runtime has seen the socket become readable.
    fn take_live(&mut self) -> Option<tokio::net::TcpStream> {
        let conn = self.conn.take()?;
        let mut byte = [0u8; 1];
        match conn.try_read(&mut byte) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Some(conn),
            _ => None,
        }
    }

    /// Keeps `conn` (if the attempt left one that can be reused) unless it has served its share.
    fn put(&mut self, conn: Option<tokio::net::TcpStream>, fresh: bool) {
        self.served = if fresh { 1 } else { self.served + 1 };
        self.conn = conn.filter(|_| self.served < FRESH_EVERY);
    }
}

/// One plain-HTTP probe. Without `reuse_connection`, one fresh connection, as Route 53 does.
/// With it, the connection `kept` holds is tried first, and a probe that fails on it for any
/// reason is repeated at once on a fresh connection, which decides: a connection gone stale
/// between probes never fails a check by itself, and every failure is a failure on a fresh
/// connection. The latency is the deciding attempt's.
pub(super) async fn plain_http(
    spec: &HttpSpec,
    kept: &mut KeptConnection,
) -> (bool, Reason, Duration, Timing) {
    if !spec.reuse_connection {
        kept.conn = None;
    } else if let Some(conn) = kept.take_live() {
        let start = Instant::now();
        let (passed, reason, conn, timing) = plain_attempt(spec, Some(conn)).await;
        if passed {
            kept.put(conn, false);
            return (passed, reason, start.elapsed(), timing);
        }
    }
    let start = Instant::now();
    let (passed, reason, conn, timing) = plain_attempt(spec, None).await;
    kept.put(conn, true);
    (passed, reason, start.elapsed(), timing)
}

/// One exchange by hand: connect (unless given a kept connection), send a GET, read the status
/// line and headers, then (with a search string) at most [`SEARCH_WINDOW`] bytes of the body,
/// de-chunked if needed. Redirects are not followed; the same timeouts as HTTPS.
/// Returns the connection only when the check reuses connections, the probe passed, and the
/// response was read to its exact end on a connection the server keeps open.
async fn plain_attempt(
    spec: &HttpSpec,
    kept: Option<tokio::net::TcpStream>,
) -> (bool, Reason, Option<tokio::net::TcpStream>, Timing) {
    use tokio::time::Instant;
    // One timer for the whole probe, moved on at each phase: a timer costs more than the rest
    // of a loopback probe's user-space work (bench/health.sh), and phases never overlap.
    let start = Instant::now();
    let overall = spec.total_timeout.map(|t| start + t);
    let bound = |d: Instant| overall.map_or(d, |o| d.min(o));
    let timer = tokio::time::sleep_until(bound(
        start + spec.connect_timeout.min(HTTP_CONNECT_TIMEOUT),
    ));
    tokio::pin!(timer);
    let mut connected = None;
    let mut conn = match kept {
        Some(c) => c,
        None => {
            let connect = tokio::net::TcpStream::connect((spec.host.as_str(), spec.port));
            let c = tokio::select! {
                biased;
                c = connect => match c {
                    Ok(c) => c,
                    Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return (false, Reason::Refused, None, Timing::default()),
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => return (false, Reason::Timeout, None, Timing::default()),
                    Err(e) => return (false, Reason::Other(e.to_string()), None, Timing::default()),
                },
                _ = &mut timer => return (false, Reason::Timeout, None, Timing::default()),
            };
            connected = Some(start.elapsed());
            // Close with RST rather than FIN whenever it is closed, as HAProxy's checks do: by
            // then the verdict is known and nothing more is wanted from the server, and an
            // abortive close leaves no TIME_WAIT on either side and saves the FIN/ACK exchange
            // (bench/health.sh). Zero linger never blocks.
            let _ = c.set_zero_linger();
            c
        }
    };
    let mut first_byte = None;
    let (passed, reason, reusable) = exchange(spec, &mut conn, timer, bound, &mut first_byte).await;
    let timing = Timing {
        connected,
        tls_handshake: None,
        first_byte: first_byte.map(|t: Instant| t - start),
    };
    (passed, reason, reusable.then_some(conn), timing)
}

/// The request and the response on a connected socket (or a TLS session over one); the
/// caller closes or keeps it. The last value says whether the connection may carry the next
/// probe.
pub(super) async fn exchange<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    spec: &HttpSpec,
    conn: &mut S,
    mut timer: std::pin::Pin<&mut tokio::time::Sleep>,
    bound: impl Fn(tokio::time::Instant) -> tokio::time::Instant,
    first_byte: &mut Option<tokio::time::Instant>,
) -> (bool, Reason, bool) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::Instant;
    let default_port = match spec.scheme {
        super::Scheme::Http => 80,
        super::Scheme::Https => 443,
    };
    let host = match &spec.host_header {
        Some(h) => h.clone(),
        None if spec.host.contains(':') && spec.port == default_port => format!("[{}]", spec.host),
        None if spec.host.contains(':') => format!("[{}]:{}", spec.host, spec.port),
        None if spec.port == default_port => spec.host.clone(),
        None => format!("{}:{}", spec.host, spec.port),
    };
    let path = if spec.path.starts_with('/') {
        spec.path.clone()
    } else {
        format!("/{}", spec.path)
    };
    let connection = if spec.reuse_connection {
        "keep-alive"
    } else {
        "close"
    };
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {host}\r\nuser-agent: policydns-health-check/{}\r\naccept: */*\r\nconnection: {connection}\r\n\r\n",
        env!("CARGO_PKG_VERSION")
    );
    timer
        .as_mut()
        .reset(bound(Instant::now() + spec.response_timeout));
    let exchange = async {
        conn.write_all(request.as_bytes()).await?;
        // Status line and headers, at most 16 KiB (Route 53's limit on response headers).
        // Buffers on the heap, not in the future: every check's task holds this future's size
        // while it sleeps between probes.
        let mut buf = Vec::with_capacity(2048);
        let mut chunk = vec![0u8; 2048];
        let mut first = None;
        let end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            if buf.len() > 16 * 1024 {
                return Err(io::Error::other("response headers over 16 KiB"));
            }
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::other(
                    "connection closed before the response headers ended",
                ));
            }
            first.get_or_insert_with(Instant::now);
            buf.extend_from_slice(&chunk[..n]);
        };
        Ok::<_, io::Error>((buf, end, first))
    };
    let (buf, end) = tokio::select! {
        biased;
        r = exchange => match r {
            Ok((buf, end, first)) => {
                *first_byte = first;
                (buf, end)
            }
            Err(e) => return (false, Reason::Other(e.to_string()), false),
        },
        _ = &mut timer => return (false, Reason::Timeout, false),
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    let status: u16 = match head.split_whitespace().nth(1).and_then(|c| c.parse().ok()) {
        Some(s) if head.starts_with("HTTP/") => s,
        _ => return (false, Reason::Other("not an HTTP response".into()), false),
    };
    if !spec.status.matches(status) {
        return (false, Reason::Status(status), false);
    }
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    };
    let framing = if spec.reuse_connection {
        reusable_framing(&head, status, &header)
    } else {
        None
    };
    let Some(needle) = spec.search.as_deref().filter(|s| !s.is_empty()) else {
        let reusable = match framing {
            Some(framing) => {
                timer
                    .as_mut()
                    .reset(bound(Instant::now() + spec.body_timeout));
                read_to_response_end(conn, buf[end..].to_vec(), framing, timer).await
            }
            None => false,
        };
        return (true, Reason::Ok(Some(status)), reusable);
    };
    let chunked =
        header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let coding = body::Coding::from_header(header("content-encoding"));
    timer
        .as_mut()
        .reset(bound(Instant::now() + spec.body_timeout));
    let read_body = async {
        let mut raw = buf[end..].to_vec();
        let mut chunk = vec![0u8; 4096];
        loop {
            let content = match framing {
                _ if chunked => dechunk(&raw),
                Some(Framing::Length(n)) => raw[..n.min(raw.len())].to_vec(),
                _ => raw.clone(),
            };
            let (window, fill) = body::window(coding, &content);
            // On a kept connection the server does not close after the body, so its end is
            // where the framing says; the window is what it holds by then, as when the
            // server closes.
            let ended = framing.is_some_and(|f| body_end(f, &raw) != BodyEnd::NeedMore);
            if fill != body::Fill::NeedMore || raw.len() >= body::RAW_LIMIT || ended {
                return Ok::<_, io::Error>((window, fill, raw));
            }
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok((window, fill, raw));
            }
            raw.extend_from_slice(&chunk[..n]);
        }
    };
    let (window, fill, raw) = tokio::select! {
        biased;
        r = read_body => match r {
            Ok(r) => r,
            Err(e) => return (false, Reason::Other(e.to_string()), false),
        },
        _ = &mut timer => return (false, Reason::Timeout, false),
    };
    let (passed, reason) = verdict_on_body(status, &window, fill, needle);
    let reusable = match framing {
        Some(framing) if passed => read_to_response_end(conn, raw, framing, timer).await,
        _ => false,
    };
    (passed, reason, reusable)
}

/// Where a response's body ends, for a connection that is to carry another request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Length(usize),
    Chunked,
}

/// How to find the end of this response, when the server keeps the connection open after it;
/// None when it will close it (`Connection: close`, HTTP/1.0) or the body has no length of
/// its own (it then ends when the connection does).
fn reusable_framing<'a>(
    head: &str,
    status: u16,
    header: &impl Fn(&str) -> Option<&'a str>,
) -> Option<Framing> {
    if !head.starts_with("HTTP/1.1 ") {
        return None;
    }
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    if has_token("connection", "close") {
        return None;
    }
    // RFC 9112 §6.3: these never have a body, whatever the headers say.
    if (100..200).contains(&status) || status == 204 || status == 304 {
        return Some(Framing::Length(0));
    }
    if let Some(te) = header("transfer-encoding") {
        let last = te.rsplit(',').next().unwrap_or("").trim();
        return last
            .eq_ignore_ascii_case("chunked")
            .then_some(Framing::Chunked);
    }
    header("content-length")?.parse().ok().map(Framing::Length)
}

/// What the bytes of a body received so far say about its end.
#[derive(Debug, PartialEq, Eq)]
enum BodyEnd {
    /// The response ends after this many body bytes.
    At(usize),
    NeedMore,
    Malformed,
}

fn body_end(framing: Framing, raw: &[u8]) -> BodyEnd {
    match framing {
        Framing::Length(n) if raw.len() >= n => BodyEnd::At(n),
        Framing::Length(_) => BodyEnd::NeedMore,
        Framing::Chunked => chunked_end(raw),
    }
}

/// The end of a chunked body: its chunks, the last (empty) chunk, and the trailer section.
fn chunked_end(raw: &[u8]) -> BodyEnd {
    let line_end = |from: usize| raw[from..].windows(2).position(|w| w == b"\r\n");
    let mut pos = 0;
    loop {
        let Some(eol) = line_end(pos) else {
            return BodyEnd::NeedMore;
        };
        let size_text = String::from_utf8_lossy(&raw[pos..pos + eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            return BodyEnd::Malformed;
        };
        pos += eol + 2;
        if size == 0 {
            loop {
                let Some(eol) = line_end(pos) else {
                    return BodyEnd::NeedMore;
                };
                pos += eol + 2;
                if eol == 0 {
                    return BodyEnd::At(pos);
                }
            }
        }
        if size > DRAIN_LIMIT {
            return BodyEnd::Malformed;
        }
        if raw.len() < pos + size + 2 {
            return BodyEnd::NeedMore;
        }
        if &raw[pos + size..pos + size + 2] != b"\r\n" {
            return BodyEnd::Malformed;
        }
        pos += size + 2;
    }
}

/// Reads what is left of the response whose body began with `raw`, so that the connection
/// stops exactly where the next response will start. False when it cannot: the body is
/// malformed or longer than [`DRAIN_LIMIT`], more bytes came than the response holds, or the
/// read fails or misses the deadline. The probe's verdict is known by then and stands.
async fn read_to_response_end<S: tokio::io::AsyncRead + Unpin>(
    conn: &mut S,
    mut raw: Vec<u8>,
    framing: Framing,
    timer: std::pin::Pin<&mut tokio::time::Sleep>,
) -> bool {
    use tokio::io::AsyncReadExt;
    let finish = async {
        let mut chunk = Vec::new();
        loop {
            match body_end(framing, &raw) {
                BodyEnd::At(n) => return n == raw.len(),
                BodyEnd::Malformed => return false,
                BodyEnd::NeedMore if raw.len() >= DRAIN_LIMIT => return false,
                BodyEnd::NeedMore => {}
            }
            chunk.resize(4096, 0);
            match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::select! {
        biased;
        done = finish => done,
        _ = timer => false,
    }
}

/// The content of a chunked body, as far as `raw` holds it.
fn dechunk(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(eol) = raw[pos..].windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[pos..pos + eol]);
        let Ok(size) = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
        else {
            break;
        };
        if size == 0 {
            break;
        }
        let start = pos + eol + 2;
        let end = (start + size).min(raw.len());
        out.extend_from_slice(&raw[start..end]);
        pos = end + 2;
        if pos >= raw.len() {
            break;
        }
    }
    out
}
