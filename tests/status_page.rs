//! The status page at `/` as a person sees it: loaded in headless Chromium (the Debian
//! package) while a backend goes down. The page names each member's health, whether it is in
//! the answer and why not in plain words, draws the probes as a timeline, shows a zone's load
//! problems with file:line, and needs no script or external asset.

mod common;
use common::policy_server::start;
use common::{ask, eventually, free_port, http_get, query, require_tool, Backend, Proto, TempDir};
use std::process::Command;
use std::time::Duration;

/// The page's DOM as headless Chromium renders it.
fn chromium_dom(dir: &TempDir, url: &str) -> String {
    let chromium = require_tool("chromium", "chromium");
    let profile = dir.path().join("chromium-profile");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--timeout=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url])
        .env("HOME", dir.path())
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn healthy_gauge(status: u16) -> Option<bool> {
    let r = http_get(status, "/metrics");
    r.lines()
        .find_map(|l| l.strip_prefix("policydns_health_check_healthy{check=\"web-1\"} "))
        .map(|v| v == "1")
}

#[test]
fn the_page_says_why_a_member_is_out_of_the_answer_as_a_backend_goes_down() {
    let dir = TempDir::new("status-page");
    let backend = Backend::start(0, 200);
    let status = free_port();
    let server = start(&dir, backend.port, status, &[]);
    let url = format!("http://127.0.0.1:{status}/");
    eventually("the first probe", || {
        healthy_gauge(status) == Some(true)
            && http_get(status, "/health-checks").contains("\"probed\": true")
    });
    for _ in 0..20 {
        ask(
            server.addr,
            Proto::Udp,
            &query("fo.metrics.test", 1, None),
            Duration::from_secs(2),
        )
        .unwrap();
    }

    let up = chromium_dom(&dir, &url);
    assert!(up.contains("<title>policydns status</title>"), "{up}");
    assert!(up.contains("fo.metrics.test. A"), "{up}");
    assert!(up.contains("web-1 healthy"), "{up}");
    assert!(
        up.contains("standby: the primary (primary) is healthy"),
        "{up}"
    );
    assert!(up.contains("in the answer, chance 75.0%"), "{up}");
    // 20 answers since the page was last viewed (never): all from the primary.
    assert!(up.contains("100.0%"), "{up}");
    assert!(
        up.contains("class=\"tl p\""),
        "a passed probe on the timeline: {up}"
    );

    backend
        .status
        .store(503, std::sync::atomic::Ordering::SeqCst);
    eventually("the check fails", || healthy_gauge(status) == Some(false));
    let down = chromium_dom(&dir, &url);
    assert!(down.contains("web-1 unhealthy"), "{down}");
    let why = "excluded: health check web-1 unhealthy since ";
    let at = down.find(why).unwrap_or_else(|| panic!("{down}"));
    let line = &down[at..down[at..].find('<').map_or(down.len(), |e| at + e)];
    assert!(
        line.contains("HTTP status 503")
            && line.contains(&format!("from HTTP 127.0.0.1:{}/health", backend.port)),
        "{line}"
    );
    assert!(
        down.contains("in the answer: the primary (primary) is unhealthy"),
        "{down}"
    );
    assert!(
        down.contains("class=\"tl f\""),
        "a failed probe on the timeline: {down}"
    );
    assert!(
        down.contains("out of the answers: fo.metrics.test. A member primary (PRIMARY)"),
        "the transition names the failover member it takes out: {down}"
    );
}

#[test]
fn a_zone_that_does_not_load_shows_its_problems_with_file_and_line() {
    let dir = TempDir::new("status-page-zone");
    let backend = Backend::start(0, 200);
    let status = free_port();
    let bad = dir.write(
        "bad.zone",
        "$ORIGIN bad.test.\n@ 300 IN SOA ns1 host 1 3600 600 86400 60\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.1\nwww 300 IN A 192.0.2.300\n",
    );
    let _server = start(
        &dir,
        backend.port,
        status,
        &["--zone", &format!("bad.test.={}", bad.display())],
    );
    let page = chromium_dom(&dir, &format!("http://127.0.0.1:{status}/"));
    assert!(page.contains("bad.test."), "{page}");
    assert!(page.contains("SERVFAIL"), "{page}");
    assert!(page.contains(&format!("{}:5:", bad.display())), "{page}");
}

#[test]
fn the_page_needs_no_script_and_no_external_asset() {
    let dir = TempDir::new("status-page-self");
    let backend = Backend::start(0, 200);
    let status = free_port();
    let _server = start(&dir, backend.port, status, &[]);
    let r = http_get(status, "/");
    let (head, body) = r.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.contains("Content-Type: text/html; charset=utf-8"),
        "{head}"
    );
    assert!(!body.contains("<script"), "{body}");
    for attr in ["src=", "href=\"http", "url("] {
        assert!(!body.contains(attr), "{attr} in {body}");
    }
    assert!(body.contains("<meta http-equiv=\"refresh\""), "{body}");
}
