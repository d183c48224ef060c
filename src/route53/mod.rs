//! Amazon Route 53's JSON, as the AWS CLI writes it, turned into what policydns serves.
//!
//! Three documents are read (field names are the API's, docs/route53.md §9):
//!
//! - `aws route53 list-resource-record-sets` output: `{"ResourceRecordSets": [...]}` (a bare
//!   array of record sets is taken too, as `--query ResourceRecordSets` prints it);
//! - a change batch: `{"Comment"?, "Changes": [{"Action", "ResourceRecordSet"}]}`, also wrapped as
//!   `{"HostedZoneId"?, "ChangeBatch": {...}}`; changes apply in order (CREATE adds and refuses a
//!   record set that exists, UPSERT adds or replaces, DELETE removes an exact match);
//! - `aws route53 list-cidr-blocks` output: `{"CidrBlocks": [{"CidrBlock", "LocationName"}]}`.
//!
//! Unknown fields are refused by name. [`convert`] turns record sets into simple zone-file
//! records (a simple record set that is not an alias, the apex SOA and NS included) and
//! [`RecordSetSpec`]s (any routing policy, any alias), checked against Route 53's group rules
//! ([`validate_group`]) with every message naming the record set and its file.
//!
//! Route 53 writes characters other than `a-z 0-9 - _` in names and TXT data as `\ooo` octal
//! escapes (`*` is `\052`); master files use `\DDD` decimal, so every escape is converted
//! ([`octal_to_master`]). Names in values are fully qualified whether or not they end in a dot,
//! as Route 53 reads them.

mod convert;
mod export;
pub mod health;
pub mod private;
mod read;

pub use convert::{convert, ConvertOptions, Imported, RecordSetError, ROUTE53_TYPES};
pub use export::{
    config_toml, health_check_toml, import, record_set_toml, zone_file_text, ImportError,
    ImportSources, ImportedFiles,
};
pub use read::{
    apply_changes, octal_to_master, parse_document, read_cidr_blocks, read_files, CidrBlocksError,
    Located, ValueError,
};

use serde::{Deserialize, Serialize};

/// Route 53's documents, field for field (unknown fields are refused by name).
/// One `ResourceRecordSet`, field for field.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ResourceRecordSet {
    pub name: String,
    #[serde(rename = "Type")]
    pub rtype: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo_location: Option<GeoLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multi_value_answer: Option<bool>,
    #[serde(rename = "TTL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_records: Option<Vec<ResourceRecord>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias_target: Option<AliasTarget>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub traffic_policy_instance_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cidr_routing_config: Option<CidrRoutingConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo_proximity_location: Option<GeoProximityLocation>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ResourceRecord {
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct GeoLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continent_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subdivision_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct AliasTarget {
    pub hosted_zone_id: String,
    #[serde(rename = "DNSName")]
    pub dns_name: String,
    pub evaluate_target_health: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct CidrRoutingConfig {
    pub collection_id: String,
    pub location_name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct GeoProximityLocation {
    #[serde(rename = "AWSRegion")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_zone_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coordinates: Option<Coordinates>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bias: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Coordinates {
    pub latitude: Degrees,
    pub longitude: Degrees,
}

/// The API gives coordinates as strings ("47.61"); hand-written files often use numbers.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Degrees {
    Number(f64),
    Text(String),
}

impl Degrees {
    fn value(&self, what: &'static str) -> Result<f64, convert::RecordSetError> {
        match self {
            Degrees::Number(v) => Ok(*v),
            Degrees::Text(t) => t
                .trim()
                .parse()
                .map_err(|_| convert::RecordSetError::NotANumber {
                    what,
                    text: t.clone(),
                }),
        }
    }
}

/// `list-resource-record-sets` output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct RecordSetList {
    pub resource_record_sets: Vec<ResourceRecordSet>,
    #[serde(default)]
    pub is_truncated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_record_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_record_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_record_identifier: Option<String>,
    /// The AWS CLI's own pagination token (with `--max-items`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    Create,
    Upsert,
    Delete,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Change {
    pub action: Action,
    pub resource_record_set: ResourceRecordSet,
}

/// The `--change-batch` document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ChangeBatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub changes: Vec<Change>,
}

/// A `ChangeResourceRecordSets` request as JSON: the batch wrapped, with the zone's id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct WrappedChangeBatch {
    #[allow(dead_code)]
    hosted_zone_id: Option<String>,
    change_batch: ChangeBatch,
}

/// `list-cidr-blocks` output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct CidrBlockList {
    pub cidr_blocks: Vec<CidrBlock>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct CidrBlock {
    pub cidr_block: String,
    pub location_name: String,
}

/// A record-set document, whichever of the accepted shapes it came in.
#[derive(Debug, Clone)]
pub enum Document {
    RecordSets(Vec<ResourceRecordSet>),
    Changes(ChangeBatch),
}

#[cfg(test)]
mod tests;
