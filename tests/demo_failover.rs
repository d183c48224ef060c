//! `policydns demo failover` as a user runs it: it must run by itself on loopback, print the
//! primary → secondary → primary timeline with both flips measured, and exit.

mod common;
use common::{free_port, BIN};

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn demo_failover_prints_both_flips_and_exits_by_itself() {
    let port = free_port();
    let mut child = Command::new(BIN)
        .args([
            "demo",
            "failover",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--down",
            "2",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The demo takes about 7 s; allow a loaded machine far more before calling it stuck.
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the demo did not exit by itself");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{out}\n{err}");
    // Each event after the one before it, in this order.
    let events = [
        "answer 127.0.0.11 (primary)",
        "-- primary backend stopped",
        "answer 127.0.0.12 (secondary)",
        "-- primary backend started again",
        "answer 127.0.0.11 (primary)",
        "flip to secondary: ",
    ];
    let mut rest = out.as_str();
    for e in events {
        let at = rest
            .find(e)
            .unwrap_or_else(|| panic!("{e:?} missing or out of order in:\n{out}"));
        rest = &rest[at + e.len()..];
    }
    assert!(
        rest.contains(" ms after the primary stopped; back to primary: "),
        "{out}"
    );
    assert!(err.contains(" is unhealthy: "), "{err}");
}
