//! A hosted zone's own description (`aws route53 get-hosted-zone` output): a private hosted
//! zone (`Config.PrivateZone: true`) is imported into an internal `[[view]]`, since it answers
//! only inside the VPCs it is associated with.

use std::fmt::Write;
use std::path::Path;

use serde::Deserialize;

/// What the import needs of a hosted zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedZoneInfo {
    /// As Route 53 spells it, with the final dot.
    pub name: String,
    pub private: bool,
    /// `(VPCId, VPCRegion)` of each associated VPC.
    pub vpcs: Vec<(String, String)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetHostedZone {
    hosted_zone: HostedZone,
    #[serde(default, rename = "VPCs")]
    vpcs: Vec<Vpc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HostedZone {
    name: String,
    #[serde(default)]
    config: Option<ZoneConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ZoneConfig {
    #[serde(default)]
    private_zone: bool,
}

#[derive(Deserialize)]
struct Vpc {
    #[serde(rename = "VPCId")]
    id: String,
    #[serde(rename = "VPCRegion", default)]
    region: String,
}

/// Reads `get-hosted-zone` output.
pub fn read_hosted_zone(path: &Path) -> Result<HostedZoneInfo, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let g: GetHostedZone = serde_json::from_str(&text)
        .map_err(|e| format!("{e} (expected the output of aws route53 get-hosted-zone --id ID)"))?;
    Ok(HostedZoneInfo {
        name: g.hosted_zone.name,
        private: g.hosted_zone.config.is_some_and(|c| c.private_zone),
        vpcs: g.vpcs.into_iter().map(|v| (v.id, v.region)).collect(),
    })
}

/// Who is inside when the operator does not say: the private address blocks a VPC's CIDRs
/// come from (RFC 1918, RFC 4193) and this host (so `dig` here reaches the zone).
pub const DEFAULT_CLIENTS: &[&str] = &[
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "fc00::/7",
    "127.0.0.0/8",
    "::1",
];

/// The view a private hosted zone is served in: named for its first VPC.
pub fn view_name(info: &HostedZoneInfo) -> String {
    info.vpcs
        .first()
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| "private".to_string())
}

/// The `[[view]]` table for a private hosted zone, clients `clients`.
pub fn view_toml(info: &HostedZoneInfo, clients: &[String]) -> String {
    let mut t = String::new();
    let vpcs: Vec<String> = info
        .vpcs
        .iter()
        .map(|(id, region)| format!("{id} ({region})"))
        .collect();
    let _ = writeln!(
        t,
        "# {} is a private hosted zone (PrivateZone: true){}: it answers only to the clients",
        info.name,
        if vpcs.is_empty() {
            String::new()
        } else {
            format!(" associated with {}", vpcs.join(", "))
        }
    );
    let _ = writeln!(
        t,
        "# of this internal view. match_clients should be the VPCs' CIDR blocks."
    );
    let _ = writeln!(t, "[[view]]");
    let _ = writeln!(t, "name = {:?}", view_name(info));
    let _ = writeln!(t, "internal = true");
    let list: Vec<String> = clients.iter().map(|c| format!("{c:?}")).collect();
    let _ = writeln!(t, "match_clients = [{}]\n", list.join(", "));
    t
}
