//! A server with routing policies to watch: a zone `metrics.test.` with a large TXT, a weighted
//! pair (blue 3, green 1) and a failover pair whose primary is probed over HTTP, served with
//! the status listener on.

use super::{serve, Server, TempDir};

const ZONE: &str = "$ORIGIN metrics.test.
$TTL 300
@ IN SOA ns1 hostmaster 7 3600 600 86400 60
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.10
big IN TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\" \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\" \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"
";

/// A zone with a weighted pair (3:1) and a failover pair whose primary is probed over HTTP
/// at `backend`, served with the status listener on `status`.
pub fn start(dir: &TempDir, backend: u16, status: u16, extra: &[&str]) -> Server {
    dir.write("metrics.test.zone", ZONE);
    let config = dir.write(
        "policydns.toml",
        &format!(
            r#"
[[zone]]
origin = "metrics.test."
file = "metrics.test.zone"

[[health_check]]
id = "web-1"
type = "HTTP"
ip_address = "127.0.0.1"
port = {backend}
resource_path = "/health"
request_interval = 10
failure_threshold = 1

[[record_set]]
name = "api.metrics.test."
type = "A"
set_identifier = "blue"
weight = 3
ttl = 60
values = ["192.0.2.111"]

[[record_set]]
name = "api.metrics.test."
type = "A"
set_identifier = "green"
weight = 1
ttl = 60
values = ["192.0.2.112"]

[[record_set]]
name = "fo.metrics.test."
type = "A"
set_identifier = "primary"
failover = "PRIMARY"
health_check = "web-1"
ttl = 60
values = ["192.0.2.121"]

[[record_set]]
name = "fo.metrics.test."
type = "A"
set_identifier = "secondary"
failover = "SECONDARY"
ttl = 60
values = ["192.0.2.122"]
"#
        ),
    );
    let mut args = vec![
        "--config".to_string(),
        config.display().to_string(),
        "--status-listen".to_string(),
        format!("127.0.0.1:{status}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    serve(dir, &args, "www.metrics.test")
}
