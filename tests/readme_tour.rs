//! The README's ten-minute tour, step by step, on a copy of the demo files: the same edits (the
//! `sed` commands are taken from the README, which must still contain them verbatim), the same
//! SIGHUPs, the same questions, and BIND and Knot secondaries configured as the README shows.

mod common;
use common::{
    a_records, eventually, free_port, require_tool, start_on_free_port, try_udp, Proc, Server,
    TempDir, BIN,
};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The demo files (the zone, the config, the GeoIP database the config names) in `dir`, laid
/// out as in the repository.
fn demo_copy(dir: &TempDir) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (from, to) in [
        ("zones/policydns.toml", "zones/policydns.toml"),
        ("zones/example.test.zone", "zones/example.test.zone"),
        ("geoip/policydns-test.mmdb", "geoip/policydns-test.mmdb"),
    ] {
        let to = dir.path().join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(root.join(from), &to).unwrap();
    }
    dir.path().to_path_buf()
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// Runs a shell command of the README in `cwd`, after checking the README still has it.
fn run_readme_command(cwd: &Path, command: &str) {
    assert!(
        readme().contains(command),
        "the README no longer contains {command:?}: update this test with it"
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(cwd)
        .output()
        .unwrap();
    assert!(out.status.success(), "{command}: {out:?}");
}

/// `policydns serve` on the demo configuration of `root`, with `extra` arguments.
fn serve_demo(root: &Path, extra: &[&str]) -> Server {
    let (process, addr) = start_on_free_port(
        "policydns",
        |port| {
            let mut cmd = Command::new(BIN);
            cmd.current_dir(root)
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .args(extra);
            Proc::spawn(
                "policydns",
                &mut cmd,
                root.join(format!("policydns-{port}.log")),
            )
        },
        |addr| common::dns_ready(addr, "www.example.test.", 1),
    );
    Server { process, addr }
}

fn answers(addr: SocketAddr, name: &str, n: usize) -> Vec<String> {
    (0..n)
        .flat_map(|_| {
            a_records(&try_udp(addr, name, 1, Duration::from_secs(2)).expect("an answer"))
        })
        .collect()
}

fn first_a(addr: SocketAddr, name: &str) -> Option<String> {
    try_udp(addr, name, 1, Duration::from_millis(500))
        .and_then(|m| a_records(&m).into_iter().next())
}

#[test]
fn tour_steps_1_and_2_edits_of_the_config_take_effect_on_sighup() {
    let dir = TempDir::new("tour-12");
    let root = demo_copy(&dir);
    let s = serve_demo(&root, &["--config", "zones/policydns.toml"]);

    // 1. A weighted record, 3:1; drained by weight 0.
    let before = answers(s.addr, "api.example.test.", 200);
    let blue = before.iter().filter(|a| *a == "192.0.2.111").count();
    assert!(
        (110..=190).contains(&blue),
        "about 3 in 4 to blue: {blue}/200"
    );
    run_readme_command(
        &root,
        "sed -i 's/^weight = 3$/weight = 0/' zones/policydns.toml",
    );
    s.signal(libc::SIGHUP);
    eventually("the reload", || {
        s.log()
            .contains("serial 2026112201 → 2026112202: the configuration changed")
    });
    let after = answers(s.addr, "api.example.test.", 50);
    assert!(
        after.iter().all(|a| a == "192.0.2.112"),
        "the drained member gets nothing: {after:?}"
    );
    let soa = try_udp(s.addr, "example.test.", 6, Duration::from_secs(2)).unwrap();
    assert!(
        format!("{:?}", soa.answers[0].data).contains("2026112202"),
        "the served serial advanced: {soa:?}"
    );

    // 2. A failover pair: the health state set in the file.
    assert_eq!(
        first_a(s.addr, "fo.example.test.").as_deref(),
        Some("192.0.2.121")
    );
    run_readme_command(
        &root,
        "sed -i '/^id = \"primary\"$/{n;s/healthy = true/healthy = false/}' zones/policydns.toml",
    );
    s.signal(libc::SIGHUP);
    eventually("the failover", || {
        first_a(s.addr, "fo.example.test.").as_deref() == Some("192.0.2.122")
    });
    assert!(s
        .log()
        .contains("serial 2026112202 → 2026112203: the configuration changed"));
}

#[test]
fn tour_step_4_bind_and_knot_secondaries_follow_a_zone_file_edit() {
    let dir = TempDir::new("tour-4");
    let root = demo_copy(&dir);
    let (bind_port, knot_port) = (free_port(), free_port());
    let notify_bind = format!("127.0.0.1:{bind_port}");
    let notify_knot = format!("127.0.0.1:{knot_port}");
    let s = serve_demo(
        &root,
        &[
            "--config",
            "zones/policydns.toml",
            "--notify",
            &notify_bind,
            "--notify",
            &notify_knot,
        ],
    );
    let ours = s.addr.port().to_string();

    // The README's secondaries, with this test's ports and directories.
    let readme = readme();
    let block = |start: &str| -> String {
        let at = readme.find(start).expect("the README shows the config");
        let end = readme[at..].find("```").unwrap();
        readme[at..at + end].to_string()
    };
    let bind_dir = root.join("bind-secondary");
    let knot_dir = root.join("knot-secondary");
    std::fs::create_dir_all(&bind_dir).unwrap();
    std::fs::create_dir_all(&knot_dir).unwrap();
    let bind_conf = block("options {")
        .replace("/tmp/bind-secondary", bind_dir.to_str().unwrap())
        .replace("port 5301", &format!("port {bind_port}"))
        .replace("port 5353", &format!("port {ours}"));
    let knot_conf = block("server:\n    rundir")
        .replace("/tmp/knot-secondary", knot_dir.to_str().unwrap())
        .replace("127.0.0.1@5302", &format!("127.0.0.1@{knot_port}"))
        .replace("127.0.0.1@5353", &format!("127.0.0.1@{ours}"));
    std::fs::write(bind_dir.join("named.conf"), bind_conf).unwrap();
    std::fs::write(knot_dir.join("knot.conf"), knot_conf).unwrap();
    let _named = Proc::spawn(
        "named",
        Command::new(require_tool("named", "bind9"))
            .args(["-g", "-c"])
            .arg(bind_dir.join("named.conf")),
        bind_dir.join("named.log"),
    );
    let _knot = Proc::spawn(
        "knotd",
        Command::new(require_tool("knotd", "knot"))
            .arg("-c")
            .arg(knot_dir.join("knot.conf")),
        knot_dir.join("knot.log"),
    );
    let bind: SocketAddr = ([127, 0, 0, 1], bind_port).into();
    let knot: SocketAddr = ([127, 0, 0, 1], knot_port).into();
    for (who, addr) in [("BIND", bind), ("Knot", knot)] {
        eventually(&format!("{who} transferring the zone"), || {
            first_a(addr, "www.example.test.").as_deref() == Some("192.0.2.10")
        });
    }

    run_readme_command(
        &root,
        "sed -i -e 's/^www     IN A    192.0.2.10$/www     IN A    192.0.2.11/' \\\n       -e 's/2026112201 ; serial/2026112202 ; serial/' zones/example.test.zone",
    );
    s.signal(libc::SIGHUP);
    for (who, addr) in [("BIND", bind), ("Knot", knot), ("policydns", s.addr)] {
        eventually(&format!("{who} serving the edit"), || {
            first_a(addr, "www.example.test.").as_deref() == Some("192.0.2.11")
        });
    }
}
