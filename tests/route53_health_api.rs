//! Health checks through the Route 53 API: created, probed by this server for real, reported
//! in Route 53's words, driving a failover record set, kept across kill -9.

mod common;
use common::api::{a_record, create_zone, signed, start, SECRET};
use common::{Backend, TempDir};

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Waits (at most 40 s: checks run every 10 s) until `f` holds.
fn within_probes(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(40);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for: {what}");
}

fn check_request(port: u16, caller: &str, path: &str) -> String {
    format!(
        "<CreateHealthCheckRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><CallerReference>{caller}</CallerReference><HealthCheckConfig><IPAddress>127.0.0.1</IPAddress><Port>{port}</Port><Type>HTTP</Type><ResourcePath>{path}</ResourcePath><RequestInterval>10</RequestInterval><FailureThreshold>1</FailureThreshold></HealthCheckConfig></CreateHealthCheckRequest>"
    )
}

fn between<'t>(text: &'t str, open: &str, close: &str) -> &'t str {
    let s = text.find(open).map(|i| i + open.len()).unwrap_or(0);
    let e = text[s..].find(close).map(|i| s + i).unwrap_or(text.len());
    &text[s..e]
}

#[test]
fn an_api_health_check_is_probed_for_real_and_drives_failover() {
    let dir = TempDir::new("api-health");
    let backend = Backend::start(0, 200);
    let s = start(&dir, None, &[]);
    let api = s.api;

    let (status, text) = signed(
        api,
        "POST",
        "/2013-04-01/healthcheck",
        check_request(backend.port, "hc-1", "/health").as_bytes(),
        SECRET,
    );
    assert_eq!(status, 201, "{text}");
    let id = between(&text, "<Id>", "</Id>").to_string();
    assert!(
        text.contains("<HealthCheckVersion>1</HealthCheckVersion>"),
        "{text}"
    );
    assert!(
        text.contains("<MeasureLatency>false</MeasureLatency>"),
        "Route 53's defaults are filled in: {text}"
    );

    // The same request again returns the same check; other settings under the same reference
    // are refused.
    let (status, again) = signed(
        api,
        "POST",
        "/2013-04-01/healthcheck",
        check_request(backend.port, "hc-1", "/health").as_bytes(),
        SECRET,
    );
    assert_eq!(
        (status, between(&again, "<Id>", "</Id>")),
        (200, id.as_str()),
        "{again}"
    );
    let (status, other) = signed(
        api,
        "POST",
        "/2013-04-01/healthcheck",
        check_request(backend.port, "hc-1", "/other").as_bytes(),
        SECRET,
    );
    assert_eq!(status, 409, "{other}");
    assert!(other.contains("HealthCheckAlreadyExists"), "{other}");

    let zone = create_zone(api, "hc.test.");
    let batch = format!(
        "<ChangeResourceRecordSetsRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><ChangeBatch><Changes>\
<Change><Action>CREATE</Action><ResourceRecordSet><Name>www.hc.test.</Name><Type>A</Type><SetIdentifier>primary</SetIdentifier><Failover>PRIMARY</Failover><TTL>5</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords><HealthCheckId>{id}</HealthCheckId></ResourceRecordSet></Change>\
<Change><Action>CREATE</Action><ResourceRecordSet><Name>www.hc.test.</Name><Type>A</Type><SetIdentifier>secondary</SetIdentifier><Failover>SECONDARY</Failover><TTL>5</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.2</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change>\
</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>"
    );
    let (status, text) = signed(
        api,
        "POST",
        &format!("/2013-04-01/hostedzone/{zone}/rrset/"),
        batch.as_bytes(),
        SECRET,
    );
    assert_eq!(status, 200, "{text}");

    let status_path = format!("/2013-04-01/healthcheck/{id}/status");
    within_probes("a first observation", || {
        signed(api, "GET", &status_path, b"", SECRET)
            .1
            .contains("Success: HTTP Status Code 200, OK")
    });
    assert_eq!(
        a_record(s.server.addr, "www.hc.test.").as_deref(),
        Some("192.0.2.1")
    );

    backend.status.store(503, Ordering::SeqCst);
    within_probes("failover to the secondary", || {
        a_record(s.server.addr, "www.hc.test.").as_deref() == Some("192.0.2.2")
    });
    let (_, reason) = signed(
        api,
        "GET",
        &format!("/2013-04-01/healthcheck/{id}/lastfailurereason"),
        b"",
        SECRET,
    );
    assert!(
        reason.contains("Failure: HTTP Status Code 503, Service Unavailable"),
        "{reason}"
    );
    assert!(reason.contains("<CheckedTime>"), "{reason}");

    let (status, list) = signed(api, "GET", "/2013-04-01/healthcheck", b"", SECRET);
    assert_eq!(status, 200, "{list}");
    assert!(
        list.contains(&format!("<Id>{id}</Id>"))
            && list.contains("<IsTruncated>false</IsTruncated>"),
        "{list}"
    );

    // Updates name the version they change.
    let update = |version: u32, path: &str| {
        format!("<UpdateHealthCheckRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><HealthCheckVersion>{version}</HealthCheckVersion><ResourcePath>{path}</ResourcePath></UpdateHealthCheckRequest>")
    };
    let (status, text) = signed(
        api,
        "POST",
        &format!("/2013-04-01/healthcheck/{id}"),
        update(7, "/x").as_bytes(),
        SECRET,
    );
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("HealthCheckVersionMismatch"), "{text}");
    let (status, text) = signed(
        api,
        "POST",
        &format!("/2013-04-01/healthcheck/{id}"),
        update(1, "/ready").as_bytes(),
        SECRET,
    );
    assert_eq!(status, 200, "{text}");
    assert!(
        text.contains("<ResourcePath>/ready</ResourcePath>")
            && text.contains("<HealthCheckVersion>2</HealthCheckVersion>"),
        "{text}"
    );

    // kill -9: the check and its use survive, and probing resumes.
    s.server.signal(libc::SIGKILL);
    let state = s.state.clone();
    drop(s);
    backend.status.store(200, Ordering::SeqCst);
    let again = start(&dir, Some(state), &[]);
    let (status, text) = signed(
        again.api,
        "GET",
        &format!("/2013-04-01/healthcheck/{id}"),
        b"",
        SECRET,
    );
    assert_eq!(status, 200, "{text}");
    within_probes("probing after the restart", || {
        signed(again.api, "GET", &status_path, b"", SECRET)
            .1
            .contains("Success")
    });
    within_probes("the primary back", || {
        a_record(again.server.addr, "www.hc.test.").as_deref() == Some("192.0.2.1")
    });

    // Route 53 deletes a check record sets still name; they then count as healthy.
    let (status, text) = signed(
        again.api,
        "DELETE",
        &format!("/2013-04-01/healthcheck/{id}"),
        b"",
        SECRET,
    );
    assert_eq!(status, 200, "{text}");
    let (status, text) = signed(
        again.api,
        "GET",
        &format!("/2013-04-01/healthcheck/{id}"),
        b"",
        SECRET,
    );
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("NoSuchHealthCheck"), "{text}");
    assert_eq!(
        a_record(again.server.addr, "www.hc.test.").as_deref(),
        Some("192.0.2.1")
    );
}
