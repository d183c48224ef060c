//! Route 53 health checks as `aws route53 list-health-checks` (or `get-health-check`) prints
//! them, read into the same [`CheckSpec`] a `[[health_check]]` table gives.

use crate::health::CheckSpec;

/// `list-health-checks` JSON that does not import.
#[derive(Debug, thiserror::Error)]
pub enum HealthJsonError {
    #[error("line {line}: {source}")]
    Json {
        line: usize,
        source: serde_json::Error,
    },
    #[error("IsTruncated is true: export every page of list-health-checks into the file")]
    Truncated,
    #[error("health check {id}: type {kind} needs AWS services policydns cannot reach")]
    Unreachable { id: String, kind: String },
}

/// Route 53's `list-health-checks` output (or one `get-health-check`) → (id, spec) pairs.
/// Route 53 does not validate HTTPS certificates, so these checks do not either.
pub fn import_checks(json: &str) -> Result<Vec<(String, CheckSpec)>, HealthJsonError> {
    use serde::Deserialize;
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Doc {
        #[serde(default)]
        health_checks: Vec<Check>,
        health_check: Option<Check>,
        #[serde(default)]
        is_truncated: bool,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Check {
        id: String,
        health_check_config: Cfg,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct Cfg {
        #[serde(rename = "IPAddress")]
        ip_address: Option<std::net::IpAddr>,
        port: Option<u16>,
        #[serde(rename = "Type")]
        kind: String,
        resource_path: Option<String>,
        fully_qualified_domain_name: Option<String>,
        search_string: Option<String>,
        request_interval: Option<u64>,
        failure_threshold: Option<u8>,
        #[serde(default)]
        inverted: bool,
        #[serde(default)]
        disabled: bool,
        #[serde(default)]
        child_health_checks: Vec<String>,
        health_threshold: Option<usize>,
        #[serde(rename = "EnableSNI")]
        enable_sni: Option<bool>,
    }
    let doc: Doc = serde_json::from_str(json).map_err(|e| HealthJsonError::Json {
        line: e.line(),
        source: e,
    })?;
    if doc.is_truncated {
        return Err(HealthJsonError::Truncated);
    }
    let mut out = Vec::new();
    for c in doc.health_checks.into_iter().chain(doc.health_check) {
        let cfg = c.health_check_config;
        if cfg.kind.eq_ignore_ascii_case("CLOUDWATCH_METRIC")
            || cfg.kind.eq_ignore_ascii_case("RECOVERY_CONTROL")
        {
            return Err(HealthJsonError::Unreachable {
                id: c.id,
                kind: cfg.kind,
            });
        }
        out.push((
            c.id,
            CheckSpec {
                kind: Some(cfg.kind),
                ip_address: cfg.ip_address,
                fqdn: cfg.fully_qualified_domain_name,
                port: cfg.port,
                resource_path: cfg.resource_path,
                search_string: cfg.search_string,
                request_interval: cfg.request_interval.unwrap_or(30),
                failure_threshold: cfg.failure_threshold.unwrap_or(3),
                inverted: cfg.inverted,
                disabled: cfg.disabled,
                validate_certs: false,
                enable_sni: cfg.enable_sni,
                // Route 53 opens a connection per check.
                reuse_connection: false,
                children: cfg.child_health_checks,
                health_threshold: cfg.health_threshold.unwrap_or(0),
            },
        ));
    }
    Ok(out)
}
