//! Validating answers as a resolver would: the DS records `policydns dnssec ds` prints as a
//! trust anchor, and `delv` (bind9-dnsutils) asking one server and validating from it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{require_tool, TempDir};

/// The DS lines `policydns dnssec ds` prints for `origin`, as a BIND trust-anchors file.
pub fn anchors(dir: &TempDir, origin: &str, ds: &str) -> PathBuf {
    let mut text = String::from("trust-anchors {\n");
    for line in ds.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(&f[..3], [origin, "IN", "DS"], "{line}");
        text.push_str(&format!(
            "  {origin} static-ds {} {} {} \"{}\";\n",
            f[3], f[4], f[5], f[6]
        ));
    }
    text.push_str("};\n");
    dir.write("anchors.conf", &text)
}

/// `delv`'s output for `name type`, validating from `anchors` (for the zone `root`) against
/// the server at `addr`: `; fully validated`, `; negative response, fully validated`, or why
/// not.
pub fn delv(addr: SocketAddr, anchors: &Path, root: &str, name: &str, rtype: &str) -> String {
    let o = Command::new(require_tool("delv", "bind9-dnsutils"))
        .arg(format!("@{}", addr.ip()))
        .args(["-p", &addr.port().to_string(), "-a"])
        .arg(anchors)
        .arg(format!("+root={}", root.trim_end_matches('.')))
        .args([name, rtype])
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `unbound-host -v`'s output for `name type`, validating from the DS lines `ds` (as
/// `policydns dnssec ds` prints them) with the zone `origin` served by `addr` as a stub zone:
/// `(secure)`, `(insecure)` or `(BOGUS ...)` at the end of each line.
pub fn unbound_host(
    dir: &TempDir,
    addr: SocketAddr,
    origin: &str,
    ds: &str,
    name: &str,
    rtype: &str,
) -> String {
    let anchors: String = ds
        .lines()
        .map(|l| format!("  trust-anchor: \"{}\"\n", l.replace(" IN DS ", " DS ")))
        .collect();
    // unbound serves test. as a locally empty zone by default (RFC 6761): not here.
    let conf = dir.write(
        "unbound.conf",
        &format!(
            "server:\n  module-config: \"validator iterator\"\n  local-zone: \"test.\" nodefault\n  \
             do-not-query-localhost: no\n{anchors}stub-zone:\n  name: \"{origin}\"\n  stub-addr: {}@{}\n",
            addr.ip(),
            addr.port()
        ),
    );
    let o = Command::new(require_tool("unbound-host", "unbound-host"))
        .args(["-v", "-C"])
        .arg(&conf)
        .args(["-t", rtype, name])
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
