//! The Route 53 API's test helpers: a server with the API on, the Python venv with the AWS
//! clients, and signed requests over raw HTTP/1.1.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use policydns::api::sigv4;

use super::{eventually, free_port, try_udp, Server, TempDir};

pub const AKID: &str = "AKIDPOLICYDNSTEST";
pub const SECRET: &str = "policydns/test/secret+key";

/// The venv with awscli and boto3; the test command makes it.
pub fn venv() -> PathBuf {
    let dir = std::env::var_os("POLICYDNS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/policydns-venv")
        });
    assert!(
        dir.join("bin/python").exists(),
        "no Python venv at {} with awscli and boto3: run scripts/install-python-deps.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

pub struct ApiServer {
    pub server: Server,
    pub api: SocketAddr,
    pub state: PathBuf,
}

/// `policydns serve` with the API on a free port, its state in `dir/state`.
pub fn start(dir: &TempDir, state: Option<PathBuf>, extra: &[&str]) -> ApiServer {
    let state = state.unwrap_or_else(|| dir.path().join("state"));
    let api: SocketAddr = ([127, 0, 0, 1], free_port()).into();
    let api_text = api.to_string();
    let key = format!("{AKID}:{SECRET}");
    let state_text = state.display().to_string();
    let mut args = vec![
        "--api-listen",
        &api_text,
        "--api-key",
        &key,
        "--state-dir",
        &state_text,
    ];
    args.extend_from_slice(extra);
    let server = super::serve(dir, &args, "nothing.invalid.");
    eventually("the API to listen", || TcpStream::connect(api).is_ok());
    ApiServer { server, api, state }
}

/// [`start`] with a configuration file of `toml` (its `[api]` table, load balancers, ...).
pub fn start_with_config(dir: &TempDir, toml: &str) -> ApiServer {
    let config = dir.write("api.toml", toml).display().to_string();
    start(dir, None, &["--config", &config])
}

pub fn env_cmd(program: PathBuf) -> Command {
    let mut c = Command::new(program);
    c.env("AWS_ACCESS_KEY_ID", AKID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_ROUTE_53")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    c
}

pub fn run_ok(what: &str, cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// A signed request over a fresh connection: status and body.
pub fn signed(
    api: SocketAddr,
    method: &str,
    path: &str,
    body: &[u8],
    secret: &str,
) -> (u16, String) {
    let host = api.to_string();
    let base = vec![("host".to_string(), host.clone().into_bytes())];
    let req = sigv4::Request {
        method,
        path,
        query: "",
        headers: &base,
        body,
    };
    let key = sigv4::Key {
        access_key_id: AKID.into(),
        secret_access_key: secret.into(),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let auth = sigv4::sign(&req, &key, &sigv4::ROUTE53, &sigv4::amz_date(now));
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (n, v) in auth {
        head.push_str(&format!("{n}: {}\r\n", String::from_utf8_lossy(&v)));
    }
    head.push_str("\r\n");
    raw(api, head.as_bytes(), body)
}

pub fn raw(api: SocketAddr, head: &[u8], body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(api).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(head).unwrap();
    // A server may refuse before reading all of an oversized body.
    let _ = s.write_all(body);
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, text)
}

pub fn create_zone(api: SocketAddr, name: &str) -> String {
    let body = format!(
        "<CreateHostedZoneRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><Name>{name}</Name><CallerReference>{name}-ref</CallerReference></CreateHostedZoneRequest>"
    );
    let (status, text) = signed(
        api,
        "POST",
        "/2013-04-01/hostedzone",
        body.as_bytes(),
        SECRET,
    );
    assert_eq!(status, 201, "{text}");
    let start = text.find("<Id>/hostedzone/").unwrap() + "<Id>/hostedzone/".len();
    text[start..start + text[start..].find('<').unwrap()].to_string()
}

pub fn a_record(dns: SocketAddr, name: &str) -> Option<String> {
    let m = try_udp(dns, name, 1, Duration::from_secs(2))?;
    super::a_records(&m).into_iter().next()
}

/// A change batch request with these `<Change>` elements.
pub fn change_batch(changes: &str) -> String {
    format!("<ChangeResourceRecordSetsRequest xmlns=\"https://route53.amazonaws.com/doc/2013-04-01/\"><ChangeBatch><Changes>{changes}</Changes></ChangeBatch></ChangeResourceRecordSetsRequest>")
}

/// One `<Change>` of an A record set `name` with TTL 60 and `addrs`; `policy` is what goes
/// between the type and the TTL (`<SetIdentifier>…</SetIdentifier><Weight>…</Weight>`, …).
pub fn a_change(action: &str, name: &str, policy: &str, addrs: &[&str]) -> String {
    let values: String = addrs
        .iter()
        .map(|a| format!("<ResourceRecord><Value>{a}</Value></ResourceRecord>"))
        .collect();
    format!("<Change><Action>{action}</Action><ResourceRecordSet><Name>{name}</Name><Type>A</Type>{policy}<TTL>60</TTL><ResourceRecords>{values}</ResourceRecords></ResourceRecordSet></Change>")
}

/// A weighted member of an A record set, created.
pub fn weighted(name: &str, id: &str, weight: u32, addr: &str) -> String {
    a_change(
        "CREATE",
        name,
        &format!("<SetIdentifier>{id}</SetIdentifier><Weight>{weight}</Weight>"),
        &[addr],
    )
}

/// Sends `changes` as one batch to hosted zone `zone`: status and body.
pub fn change(api: SocketAddr, zone: &str, changes: &str) -> (u16, String) {
    let path = format!("/2013-04-01/hostedzone/{zone}/rrset/");
    signed(api, "POST", &path, change_batch(changes).as_bytes(), SECRET)
}
