//! Health checks through the API: created, updated and deleted in the store, probed by this
//! server (the store's checks join the configuration's on the reload each change triggers),
//! and reported from the probes themselves — `GetHealthCheckStatus` shows what the checker
//! saw, not a constant.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::commit::{Write, Written};
use super::error::ApiError;
use super::ops::{ok, Reply};
use super::xml::{self, document, leaf, Element};
use super::Api;
use crate::store::{HealthCheck, State};

/// `HealthCheckConfig` members in the model's order, with the kind of value each holds.
const MEMBERS: &[(&str, Kind)] = &[
    ("IPAddress", Kind::Text),
    ("Port", Kind::Number),
    ("Type", Kind::Text),
    ("ResourcePath", Kind::Text),
    ("FullyQualifiedDomainName", Kind::Text),
    ("SearchString", Kind::Text),
    ("RequestInterval", Kind::Number),
    ("FailureThreshold", Kind::Number),
    ("MeasureLatency", Kind::Bool),
    ("Inverted", Kind::Bool),
    ("Disabled", Kind::Bool),
    ("HealthThreshold", Kind::Number),
    ("ChildHealthChecks", Kind::List("ChildHealthCheck")),
    ("EnableSNI", Kind::Bool),
    ("Regions", Kind::List("Region")),
    ("InsufficientDataHealthStatus", Kind::Text),
];

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Number,
    Bool,
    List(&'static str),
}

/// Reads the members of `el` (a `HealthCheckConfig`, or an `UpdateHealthCheckRequest`, whose
/// members sit at the top) into Route 53's JSON shape.
fn read_members(el: &Element) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    for c in &el.children {
        let Some((name, kind)) = MEMBERS.iter().find(|(n, _)| *n == c.name) else {
            continue;
        };
        let v = match kind {
            Kind::Text => Value::String(c.text.trim().to_string()),
            Kind::Number => Value::from(c.text.trim().parse::<i64>().map_err(|_| {
                ApiError::invalid_input(format!("{name} {:?} is not a number", c.text))
            })?),
            Kind::Bool => Value::Bool(c.text.trim() == "true"),
            Kind::List(_) => Value::Array(
                c.children
                    .iter()
                    .map(|i| Value::String(i.text.trim().to_string()))
                    .collect(),
            ),
        };
        out.insert(name.to_string(), v);
    }
    Ok(out)
}

/// Route 53's defaults for what a request left out.
fn with_defaults(mut cfg: Map<String, Value>) -> Map<String, Value> {
    let kind = cfg
        .get("Type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let calculated = kind == "CALCULATED";
    if !calculated {
        cfg.entry("RequestInterval").or_insert(Value::from(30));
        cfg.entry("FailureThreshold").or_insert(Value::from(3));
        cfg.entry("MeasureLatency").or_insert(Value::Bool(false));
    }
    cfg.entry("Inverted").or_insert(Value::Bool(false));
    cfg.entry("Disabled").or_insert(Value::Bool(false));
    if kind.starts_with("HTTPS") {
        cfg.entry("EnableSNI").or_insert(Value::Bool(true));
    }
    if !calculated && !cfg.contains_key("Port") {
        let port = match kind.as_str() {
            "HTTPS" | "HTTPS_STR_MATCH" => Some(443),
            "HTTP" | "HTTP_STR_MATCH" => Some(80),
            _ => None,
        };
        if let Some(p) = port {
            cfg.insert("Port".into(), Value::from(p));
        }
    }
    cfg
}

fn health_check_xml(out: &mut String, c: &HealthCheck) {
    out.push_str("<HealthCheck>");
    leaf(out, "Id", &c.id);
    leaf(out, "CallerReference", &c.caller_reference);
    out.push_str("<HealthCheckConfig>");
    for (name, kind) in MEMBERS {
        let Some(v) = c.config.get(*name) else {
            continue;
        };
        match (kind, v) {
            (Kind::List(item), Value::Array(items)) => {
                let _ = write!(out, "<{name}>");
                for i in items {
                    leaf(out, item, i.as_str().unwrap_or(""));
                }
                let _ = write!(out, "</{name}>");
            }
            (_, Value::String(s)) => leaf(out, name, s),
            (_, other) => leaf(out, name, &other.to_string()),
        }
    }
    out.push_str("</HealthCheckConfig>");
    let _ = write!(
        out,
        "<HealthCheckVersion>{}</HealthCheckVersion>",
        c.version
    );
    out.push_str("</HealthCheck>");
}

/// Checks a health check as the configuration will: its kind and fields, and that its
/// children exist.
pub(super) fn validate(
    state: &State,
    config: &crate::config::Config,
    check: &HealthCheck,
) -> Result<(), ApiError> {
    let json = serde_json::json!({
        "HealthChecks": [{ "Id": check.id, "HealthCheckConfig": check.config }]
    })
    .to_string();
    if let Some(i) = check.config.get("RequestInterval").and_then(Value::as_i64) {
        if i != 10 && i != 30 {
            return Err(ApiError::invalid_input(format!(
                "RequestInterval {i}: Route 53 checks every 10 or 30 seconds"
            )));
        }
    }
    let specs = crate::route53::health::import_checks(&json)
        .map_err(|e| ApiError::invalid_input(e.to_string()))?;
    for (_, spec) in specs {
        spec.build()
            .map_err(|e| ApiError::invalid_input(e.to_string()))?;
        for child in &spec.children {
            if !state.health_checks.contains_key(child) && !config.health.contains_key(child) {
                return Err(ApiError::new(
                    404,
                    "NoSuchHealthCheck",
                    format!("No health check exists with the ID {child} (a child of this calculated health check)"),
                ));
            }
        }
    }
    Ok(())
}

/// A record set that names the health check, if any.
pub(super) fn record_set_user(state: &State, id: &str) -> Option<String> {
    state.zones.values().find_map(|z| {
        z.record_sets
            .iter()
            .find(|s| s.health_check_id.as_deref() == Some(id))
            .map(|s| format!("record set {} in hosted zone {}", s.describe(), z.name))
    })
}

/// A calculated check that has this one as a child, if any.
pub(super) fn calculated_parent(state: &State, id: &str) -> Option<String> {
    state
        .health_checks
        .values()
        .find(|c| {
            c.config
                .get("ChildHealthChecks")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(id)))
        })
        .map(|c| c.id.clone())
}

pub(super) async fn route(
    api: &Api,
    method: &str,
    parts: &[&str],
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    match (method, parts) {
        ("POST", []) => create(api, body).await,
        ("GET", []) => list(api, query),
        ("GET", [id]) => {
            let c = get(api, id)?;
            let mut out = String::new();
            health_check_xml(&mut out, &c);
            ok(document("GetHealthCheckResponse", &out))
        }
        ("POST", [id]) => update(api, id, body).await,
        ("DELETE", [id]) => {
            let done = api
                .store
                .write_seq(Write::DeleteHealthCheck { id: id.to_string() })
                .await?;
            api.store.wait_applied(done.seq).await;
            ok(document("DeleteHealthCheckResponse", ""))
        }
        ("GET", [id, "status"]) => status(api, id, false),
        ("GET", [id, "lastfailurereason"]) => status(api, id, true),
        _ => Err(ApiError::new(
            400,
            "InvalidAction",
            format!(
                "{method} healthcheck/{} is not implemented",
                parts.join("/")
            ),
        )),
    }
}

fn get(api: &Api, id: &str) -> Result<HealthCheck, ApiError> {
    api.store
        .lock()
        .state
        .health_checks
        .get(id)
        .cloned()
        .ok_or_else(|| no_such(id))
}

pub(super) fn no_such(id: &str) -> ApiError {
    ApiError::new(
        404,
        "NoSuchHealthCheck",
        format!("No health check exists with the specified ID {id}"),
    )
}

async fn create(api: &Api, body: &[u8]) -> Result<Reply, ApiError> {
    let req = xml::parse(body, "CreateHealthCheckRequest")?;
    let caller_reference = req
        .text_of("CallerReference")
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty() && t.chars().count() <= 64)
        .ok_or_else(|| ApiError::invalid_input("CallerReference must be 1 to 64 characters"))?;
    let cfg = req.child("HealthCheckConfig").ok_or_else(|| {
        ApiError::invalid_input("CreateHealthCheckRequest needs HealthCheckConfig")
    })?;
    let config = Value::Object(with_defaults(read_members(cfg)?));
    let done = api
        .store
        .write_seq(Write::PutHealthCheck {
            id: None,
            caller_reference,
            config,
            version: None,
        })
        .await?;
    // The probe runs by the time the client hears of the check.
    api.store.wait_applied(done.seq).await;
    let Written::HealthCheck(c, created) = done.written else {
        return Err(ApiError::internal("unexpected store answer"));
    };
    let mut out = String::new();
    health_check_xml(&mut out, &c);
    Ok(Reply {
        // A repeated request (same CallerReference and settings) gets the existing check.
        status: if created { 201 } else { 200 },
        body: document("CreateHealthCheckResponse", &out),
        location: Some(format!(
            "https://route53.amazonaws.com/2013-04-01/healthcheck/{}",
            c.id
        )),
    })
}

async fn update(api: &Api, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let req = xml::parse(body, "UpdateHealthCheckRequest")?;
    let current = get(api, id)?;
    let version = match req.text_of("HealthCheckVersion") {
        Some(v) => Some(
            v.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::invalid_input("HealthCheckVersion is not a number"))?,
        ),
        None => None,
    };
    let mut config = match current.config.clone() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    // ResetElements returns fields to their defaults.
    if let Some(reset) = req.child("ResetElements") {
        for r in &reset.children {
            config.remove(r.text.trim());
        }
    }
    config.extend(read_members(&req)?);
    let done = api
        .store
        .write_seq(Write::PutHealthCheck {
            id: Some(id.to_string()),
            caller_reference: current.caller_reference,
            config: Value::Object(with_defaults(config)),
            version,
        })
        .await?;
    api.store.wait_applied(done.seq).await;
    let Written::HealthCheck(c, _) = done.written else {
        return Err(ApiError::internal("unexpected store answer"));
    };
    let mut out = String::new();
    health_check_xml(&mut out, &c);
    ok(document("UpdateHealthCheckResponse", &out))
}

fn list(api: &Api, query: &BTreeMap<String, String>) -> Result<Reply, ApiError> {
    let max = match query.get("maxitems") {
        None => 100,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| n.min(1000))
            .ok_or_else(|| {
                ApiError::invalid_input(format!("MaxItems {t:?} is not a positive number"))
            })?,
    };
    let checks: Vec<HealthCheck> = api
        .store
        .lock()
        .state
        .health_checks
        .values()
        .cloned()
        .collect();
    let start = match query.get("marker") {
        None => 0,
        Some(m) => checks
            .iter()
            .position(|c| c.id.as_str() >= m.as_str())
            .unwrap_or(checks.len()),
    };
    let end = (start + max).min(checks.len());
    let mut out = String::from("<HealthChecks>");
    checks[start..end]
        .iter()
        .for_each(|c| health_check_xml(&mut out, c));
    out.push_str("</HealthChecks>");
    leaf(
        &mut out,
        "Marker",
        query.get("marker").map_or("", String::as_str),
    );
    // Route 53 always says whether there is more (moto leaves it out; clients need it).
    let _ = write!(out, "<IsTruncated>{}</IsTruncated>", end < checks.len());
    if let Some(n) = checks.get(end) {
        leaf(&mut out, "NextMarker", &n.id);
    }
    let _ = write!(out, "<MaxItems>{max}</MaxItems>");
    ok(document("ListHealthChecksResponse", &out))
}

/// `GetHealthCheckStatus` / `GetHealthCheckLastFailureReason`: this server is the one checker.
fn status(api: &Api, id: &str, failure: bool) -> Result<Reply, ApiError> {
    let check = get(api, id)?;
    let report = api.reports.snapshot().remove(id);
    let observation = report.as_ref().and_then(|r| {
        if failure {
            r.last_failure.clone()
        } else {
            r.last_observation.clone()
        }
    });
    let mut out = String::from("<HealthCheckObservations>");
    if let Some(o) = observation {
        out.push_str("<HealthCheckObservation><Region>us-east-1</Region>");
        if let Some(ip) = check.config.get("IPAddress").and_then(Value::as_str) {
            leaf(&mut out, "IPAddress", ip);
        }
        out.push_str("<StatusReport>");
        leaf(&mut out, "Status", &o.status);
        leaf(&mut out, "CheckedTime", &xml::timestamp(o.time as i64));
        out.push_str("</StatusReport></HealthCheckObservation>");
    }
    out.push_str("</HealthCheckObservations>");
    let root = if failure {
        "GetHealthCheckLastFailureReasonResponse"
    } else {
        "GetHealthCheckStatusResponse"
    };
    ok(document(root, &out))
}
