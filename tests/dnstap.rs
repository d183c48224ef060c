//! dnstap as an operator uses it: `--dnstap FILE` (or `unix:PATH` for a collector) logs every
//! query and response as Frame Streams, read back by `dnstap-read` (bind9-dnsutils), over UDP
//! and TCP; an output that cannot be opened stops the start with a message saying which.

mod common;
use common::{ask, eventually, query, require_tool, serve, Proto, Server, TempDir, BIN};
use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const T: Duration = Duration::from_secs(2);

fn stop(mut server: Server) {
    server.signal(libc::SIGTERM);
    let mut exited = false;
    eventually("the server exits", || {
        exited = server.process.exited().is_some();
        exited
    });
}

fn dnstap_read(file: &Path) -> String {
    let tool = require_tool("dnstap-read", "bind9-dnsutils");
    let out = Command::new(tool).arg(file).output().unwrap();
    assert!(
        out.status.success(),
        "dnstap-read: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn queries_and_responses_are_logged_to_a_file_dnstap_read_reads() {
    let dir = TempDir::new("dnstap-file");
    let file = dir.path().join("queries.dnstap");
    let server = serve(
        &dir,
        &["--dnstap", file.to_str().unwrap()],
        "www.example.test",
    );
    let port = server.addr.port();
    ask(
        server.addr,
        Proto::Udp,
        &query("api.example.test", 1, None),
        T,
    )
    .unwrap();
    ask(
        server.addr,
        Proto::Tcp,
        &query("nothere.example.test", 16, None),
        T,
    )
    .unwrap();
    stop(server);
    let text = dnstap_read(&file);
    let has = |what: &str| text.lines().any(|l| l.contains(what));
    for line in [
        "AQ 127.0.0.1:".to_string(),
        format!(" -> 127.0.0.1:{port} UDP 34b api.example.test/IN/A"),
        format!(" <- 127.0.0.1:{port} UDP"),
        format!(" -> 127.0.0.1:{port} TCP 38b nothere.example.test/IN/TXT"),
    ] {
        assert!(has(&line), "{line:?} in\n{text}");
    }
    // Each answered query is a query message and a response message.
    let aq = text.lines().filter(|l| l.contains(" AQ ")).count();
    let ar = text.lines().filter(|l| l.contains(" AR ")).count();
    assert!(aq >= 3 && aq == ar, "{text}");
    // The response is logged whole: the YAML view decodes its rcode and answer.
    let yaml = Command::new(require_tool("dnstap-read", "bind9-dnsutils"))
        .args(["-y"])
        .arg(&file)
        .output()
        .unwrap();
    let yaml = String::from_utf8_lossy(&yaml.stdout);
    assert!(yaml.contains("status: NXDOMAIN"), "{yaml}");
    assert!(yaml.contains("identity: policydns"), "{yaml}");
}

/// A dnstap collector on a unix socket: the fstrm handshake (READY → ACCEPT, START ... STOP →
/// FINISH), everything from START to STOP saved to `out`, which is then a dnstap file.
fn collector(socket: &Path, out: std::path::PathBuf) -> std::thread::JoinHandle<()> {
    let listener = UnixListener::bind(socket).unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let read_frame = |s: &mut std::os::unix::net::UnixStream| -> Option<Vec<u8>> {
            let mut len = [0u8; 4];
            s.read_exact(&mut len).ok()?;
            let mut frame = len.to_vec();
            let n = u32::from_be_bytes(len) as usize;
            let n = if n == 0 {
                // A control frame: its own length follows the escape.
                s.read_exact(&mut len).ok()?;
                frame.extend_from_slice(&len);
                u32::from_be_bytes(len) as usize
            } else {
                n
            };
            let mut body = vec![0u8; n];
            s.read_exact(&mut body).ok()?;
            frame.extend_from_slice(&body);
            Some(frame)
        };
        let ready = read_frame(&mut s).expect("READY");
        assert_eq!(&ready[8..12], &4u32.to_be_bytes(), "READY first");
        // ACCEPT with the content type READY offered.
        let mut accept = 1u32.to_be_bytes().to_vec();
        accept.extend_from_slice(&ready[12..]);
        let mut frame = 0u32.to_be_bytes().to_vec();
        frame.extend_from_slice(&(accept.len() as u32).to_be_bytes());
        frame.extend_from_slice(&accept);
        s.write_all(&frame).unwrap();
        let mut saved = Vec::new();
        while let Some(f) = read_frame(&mut s) {
            let stop = f[..4] == [0; 4] && f[8..12] == 3u32.to_be_bytes();
            saved.extend_from_slice(&f);
            if stop {
                // FINISH
                s.write_all(&[0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 5]).unwrap();
                break;
            }
        }
        std::fs::write(out, saved).unwrap();
    })
}

#[test]
fn a_collector_on_a_unix_socket_gets_the_frame_streams_handshake_and_the_log() {
    let dir = TempDir::new("dnstap-unix");
    let socket = dir.path().join("dnstap.sock");
    let saved = dir.path().join("collected.dnstap");
    let collecting = collector(&socket, saved.clone());
    let server = serve(
        &dir,
        &["--dnstap", &format!("unix:{}", socket.display())],
        "www.example.test",
    );
    ask(
        server.addr,
        Proto::Udp,
        &query("geo.example.test", 1, None),
        T,
    )
    .unwrap();
    stop(server);
    collecting.join().unwrap();
    let text = dnstap_read(&saved);
    assert!(
        text.lines()
            .any(|l| l.contains(" AR ") && l.contains("geo.example.test/IN/A")),
        "{text}"
    );
}

#[test]
fn an_output_that_cannot_be_opened_stops_the_start_naming_it() {
    let dir = TempDir::new("dnstap-bad");
    let out = Command::new(BIN)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["serve", "--listen", "127.0.0.1:0", "--dnstap"])
        .arg(dir.path().join("no/such/dir/q.dnstap"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dnstap output") && err.contains("no/such/dir/q.dnstap"),
        "{err}"
    );
}
