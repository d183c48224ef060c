//! Amazon Route 53's JSON, as the AWS CLI writes it, turned into what policydns serves.
//!
//! Three documents are read (field names are the API's, route53-semantics §9):
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

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::policy::spec::{validate_group, AliasSpec, ProximityAt, RecordSetSpec, RuleSpec};
use crate::policy::{FailoverRole, GeoKey};
use crate::zone::parse::{self, ParseError, Record};
use crate::zone::{name, types};

/// One `ResourceRecordSet`, field for field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ResourceRecordSet {
    pub name: String,
    #[serde(rename = "Type")]
    pub rtype: String,
    pub set_identifier: Option<String>,
    pub weight: Option<i64>,
    pub region: Option<String>,
    pub geo_location: Option<GeoLocation>,
    pub failover: Option<String>,
    pub multi_value_answer: Option<bool>,
    #[serde(rename = "TTL")]
    pub ttl: Option<i64>,
    pub resource_records: Option<Vec<ResourceRecord>>,
    pub alias_target: Option<AliasTarget>,
    pub health_check_id: Option<String>,
    pub traffic_policy_instance_id: Option<String>,
    pub cidr_routing_config: Option<CidrRoutingConfig>,
    pub geo_proximity_location: Option<GeoProximityLocation>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ResourceRecord {
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct GeoLocation {
    pub continent_code: Option<String>,
    pub country_code: Option<String>,
    pub subdivision_code: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct AliasTarget {
    pub hosted_zone_id: String,
    #[serde(rename = "DNSName")]
    pub dns_name: String,
    pub evaluate_target_health: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct CidrRoutingConfig {
    pub collection_id: String,
    pub location_name: String,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct GeoProximityLocation {
    #[serde(rename = "AWSRegion")]
    pub aws_region: Option<String>,
    pub local_zone_group: Option<String>,
    pub coordinates: Option<Coordinates>,
    pub bias: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Coordinates {
    pub latitude: Degrees,
    pub longitude: Degrees,
}

/// The API gives coordinates as strings ("47.61"); hand-written files often use numbers.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Degrees {
    Number(f64),
    Text(String),
}

impl Degrees {
    fn value(&self, what: &str) -> Result<f64, String> {
        match self {
            Degrees::Number(v) => Ok(*v),
            Degrees::Text(t) => t
                .trim()
                .parse()
                .map_err(|_| format!("{what} {t:?} is not a number")),
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
    pub max_items: Option<serde_json::Value>,
    pub next_record_name: Option<String>,
    pub next_record_type: Option<String>,
    pub next_record_identifier: Option<String>,
    /// The AWS CLI's own pagination token (with `--max-items`).
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Action {
    Create,
    Upsert,
    Delete,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct Change {
    pub action: Action,
    pub resource_record_set: ResourceRecordSet,
}

/// The `--change-batch` document.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct ChangeBatch {
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

/// A serde_json error as `file:line: message (column c)`.
fn json_error(file: &Path, e: serde_json::Error) -> ParseError {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    let message = match text.strip_suffix(&suffix) {
        Some(m) if e.line() > 0 => format!("{m} (column {})", e.column()),
        _ => text,
    };
    ParseError {
        file: file.to_path_buf(),
        line: e.line(),
        message,
    }
}

/// Reads one record-set document: an export or a change batch, told apart by its top-level key.
pub fn parse_document(text: &str, file: &Path) -> Result<Document, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| json_error(file, e))?;
    let problem = |message: String| ParseError {
        file: file.to_path_buf(),
        line: 0,
        message,
    };
    // Parse the text again into the typed shape, so errors carry their line.
    let typed_error = |e| json_error(file, e);
    match &value {
        serde_json::Value::Array(_) => Ok(Document::RecordSets(
            serde_json::from_str(text).map_err(typed_error)?,
        )),
        serde_json::Value::Object(map) if map.contains_key("ResourceRecordSets") => {
            let list: RecordSetList = serde_json::from_str(text).map_err(typed_error)?;
            if list.is_truncated || list.next_token.is_some() || list.next_record_name.is_some() {
                return Err(problem(
                    "the listing is truncated (IsTruncated/NextToken): export every page, as `aws route53 list-resource-record-sets --hosted-zone-id ID` does without --max-items".into(),
                ));
            }
            Ok(Document::RecordSets(list.resource_record_sets))
        }
        serde_json::Value::Object(map) if map.contains_key("ChangeBatch") => {
            let w: WrappedChangeBatch = serde_json::from_str(text).map_err(typed_error)?;
            Ok(Document::Changes(w.change_batch))
        }
        serde_json::Value::Object(map) if map.contains_key("Changes") => Ok(Document::Changes(
            serde_json::from_str(text).map_err(typed_error)?,
        )),
        _ => Err(problem(
            "not a Route 53 record-set document: expected {\"ResourceRecordSets\": [...]} (aws route53 list-resource-record-sets), {\"Changes\": [...]} or {\"ChangeBatch\": {...}} (a change batch)".into(),
        )),
    }
}

/// A record set with where it was read ("FILE record set 3", "FILE change 2").
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub set: ResourceRecordSet,
    /// The file it was read from.
    pub file: PathBuf,
    pub at: String,
}

impl ResourceRecordSet {
    /// "Name Type (SetIdentifier)", for messages.
    pub fn describe(&self) -> String {
        match &self.set_identifier {
            Some(id) => format!("{} {} ({id})", self.name, self.rtype),
            None => format!("{} {}", self.name, self.rtype),
        }
    }

    /// What identifies a record set in a change: lowercase wire name, type, set identifier.
    fn key(&self) -> Result<(Vec<u8>, String, Option<String>), String> {
        Ok((
            name::to_lowercase(&wire_name(&self.name)?),
            self.rtype.to_ascii_uppercase(),
            self.set_identifier.clone(),
        ))
    }
}

/// Reads record-set documents in order: an export adds its record sets, a change batch applies
/// its changes to what the files before it gave.
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<Located>, Vec<ParseError>> {
    let mut sets: Vec<Located> = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                problems.push(ParseError {
                    file: path.clone(),
                    line: 0,
                    message: format!("cannot read {}: {e}", path.display()),
                });
                continue;
            }
        };
        match parse_document(&text, path) {
            Err(e) => problems.push(e),
            Ok(Document::RecordSets(list)) => {
                for (i, set) in list.into_iter().enumerate() {
                    sets.push(Located {
                        set,
                        file: path.clone(),
                        at: format!("{} record set {}", path.display(), i + 1),
                    });
                }
            }
            Ok(Document::Changes(batch)) => {
                if let Err(e) = apply_changes(&mut sets, batch, path) {
                    problems.extend(e);
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(sets)
    } else {
        Err(problems)
    }
}

/// Applies a change batch in order. Route 53 applies a batch all or nothing; a failed change
/// fails the whole load here too.
pub fn apply_changes(
    sets: &mut Vec<Located>,
    batch: ChangeBatch,
    file: &Path,
) -> Result<(), Vec<ParseError>> {
    let mut problems = Vec::new();
    for (i, change) in batch.changes.into_iter().enumerate() {
        let at = format!("{} change {}", file.display(), i + 1);
        let problem = |message: String| ParseError {
            file: PathBuf::from(&at),
            line: 0,
            message,
        };
        let set = change.resource_record_set;
        let key = match set.key() {
            Ok(k) => k,
            Err(e) => {
                problems.push(problem(format!("{}: {e}", set.describe())));
                continue;
            }
        };
        let found = sets
            .iter()
            .position(|l| l.set.key().is_ok_and(|k| k == key));
        match (change.action, found) {
            (Action::Create, Some(j)) => problems.push(problem(format!(
                "CREATE {}: the record set already exists ({}); UPSERT replaces it",
                set.describe(),
                sets[j].at
            ))),
            (Action::Create | Action::Upsert, None) => sets.push(Located {
                set,
                file: file.to_path_buf(),
                at,
            }),
            (Action::Upsert, Some(j)) => {
                sets[j] = Located {
                    set,
                    file: file.to_path_buf(),
                    at,
                }
            }
            (Action::Delete, None) => problems.push(problem(format!(
                "DELETE {}: no such record set",
                set.describe()
            ))),
            (Action::Delete, Some(j)) => {
                let mut current = sets[j].set.clone();
                current.name.clone_from(&set.name);
                current.rtype.clone_from(&set.rtype);
                if current == set {
                    sets.remove(j);
                } else {
                    problems.push(problem(format!(
                        "DELETE {}: the values given differ from the record set's ({}); Route 53 deletes only an exact match",
                        set.describe(),
                        sets[j].at
                    )));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Reads `list-cidr-blocks` output into location → blocks (as written; the caller checks them).
pub fn read_cidr_blocks(path: &Path) -> Result<BTreeMap<String, Vec<String>>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let list: CidrBlockList =
        serde_json::from_str(&text).map_err(|e| json_error(path, e).to_string())?;
    if list.next_token.is_some() {
        return Err(format!(
            "{}: the listing is truncated (NextToken): export every page of aws route53 list-cidr-blocks",
            path.display()
        ));
    }
    let mut locations: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in list.cidr_blocks {
        if b.location_name == "*" {
            return Err(format!(
                "{}: location \"*\" is the default of a record set, not a location of blocks",
                path.display()
            ));
        }
        locations
            .entry(b.location_name)
            .or_default()
            .push(b.cidr_block);
    }
    Ok(locations)
}

/// Converts Route 53's octal escapes (`\052`) into master-file form: the plain character when
/// it needs no escape in a master file, else `\DDD` in decimal. Other escapes (`\"`, `\\`) are
/// kept as they are.
pub fn octal_to_master(text: &str) -> Result<String, String> {
    let b = text.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(d) if d.is_ascii_digit() => {
                let digits = b
                    .get(i + 1..i + 4)
                    .filter(|ds| ds.iter().all(|c| (b'0'..=b'7').contains(c)))
                    .ok_or_else(|| {
                        format!(
                            "{text:?}: a backslash followed by digits must be a three-digit octal escape, as Route 53 writes them (\\052 is *)"
                        )
                    })?;
                let v = digits
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                let c = u8::try_from(v).map_err(|_| {
                    format!(
                        "{text:?}: octal escape \\{} is above \\377",
                        String::from_utf8_lossy(digits)
                    )
                })?;
                if c.is_ascii_alphanumeric() || b"-_*/+=:,!#%&'<>?[]^`{|}~".contains(&c) {
                    out.push(c);
                } else {
                    out.extend_from_slice(format!("\\{c:03}").as_bytes());
                }
                i += 4;
            }
            Some(_) => {
                // `\X` for a non-digit: the same in both syntaxes. Copy the backslash and the
                // whole (possibly multi-byte) character after it.
                let rest = &text[i + 1..];
                let ch = rest.chars().next().expect("a character follows");
                out.push(b'\\');
                out.extend_from_slice(&rest.as_bytes()[..ch.len_utf8()]);
                i += 1 + ch.len_utf8();
            }
            None => return Err(format!("{text:?}: ends in a lone backslash")),
        }
    }
    Ok(String::from_utf8(out).expect("only ASCII was inserted into valid UTF-8"))
}

/// A Route 53 name (trailing dot optional, octal escapes) in wire form.
fn wire_name(text: &str) -> Result<Vec<u8>, String> {
    let text = text.trim();
    let mut t = octal_to_master(text)?;
    if !t.ends_with('.') || t.ends_with("\\.") {
        t.push('.');
    }
    name::from_text(&t, None).map_err(|e| format!("name {text:?}: {e}"))
}

/// Route 53's record types (API `RRType`).
const ROUTE53_TYPES: &[&str] = &[
    "SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR", "PTR", "SRV", "SPF", "AAAA", "CAA", "DS",
    "TLSA", "SSHFP", "SVCB", "HTTPS",
];

/// Route 53 reads the names inside values as fully qualified, with or without the final dot;
/// a master file would complete them with the origin. Adds the dot to each name field.
fn qualify_names(rtype: u16, value: &str) -> String {
    fn dot(name: &str) -> String {
        if name.ends_with('.') && !name.ends_with("\\.") {
            name.to_string()
        } else {
            format!("{name}.")
        }
    }
    let tokens: Vec<&str> = value.split_whitespace().collect();
    let at = |positions: &[usize]| -> String {
        tokens
            .iter()
            .enumerate()
            .map(|(i, t)| {
                if positions.contains(&i) {
                    dot(t)
                } else {
                    t.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    match rtype {
        types::CNAME | types::NS | types::PTR if tokens.len() == 1 => dot(tokens[0]),
        types::MX if tokens.len() == 2 => at(&[1]),
        types::SRV if tokens.len() == 4 => at(&[3]),
        types::SOA if tokens.len() == 7 => at(&[0, 1]),
        types::NAPTR => match value.trim_end().rsplit_once(char::is_whitespace) {
            Some((head, last)) if !last.is_empty() && !last.contains('"') => {
                format!("{head} {}", dot(last))
            }
            _ => value.to_string(),
        },
        65 | 64 /* HTTPS, SVCB */ => {
            let v = value.trim_start();
            let mut parts = v.splitn(2, char::is_whitespace);
            let (Some(prio), Some(rest)) = (parts.next(), parts.next()) else {
                return value.to_string();
            };
            let rest = rest.trim_start();
            let (target, params) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            format!("{prio} {} {params}", dot(target)).trim_end().to_string()
        }
        _ => value.to_string(),
    }
}

/// What an alias target outside the zone is, for the message that refuses it.
fn aws_resource(target: &str) -> Option<&'static str> {
    let t = target.to_ascii_lowercase();
    let t = t.trim_end_matches('.');
    if t.ends_with(".elb.amazonaws.com") {
        Some("an Elastic Load Balancing load balancer")
    } else if t.ends_with(".cloudfront.net") {
        Some("a CloudFront distribution")
    } else if t.contains("s3-website") && t.ends_with(".amazonaws.com") {
        Some("an S3 website endpoint")
    } else if t.contains(".execute-api.") {
        Some("an API Gateway endpoint")
    } else if t.ends_with(".elasticbeanstalk.com") {
        Some("an Elastic Beanstalk environment")
    } else if t.ends_with(".awsglobalaccelerator.com") {
        Some("a Global Accelerator")
    } else if t.ends_with(".amazonaws.com") || t.ends_with(".on.aws") {
        Some("an AWS resource")
    } else {
        None
    }
}

/// How [`convert`] treats the zone apex.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConvertOptions {
    /// A zone file gives the apex SOA and NS: the export's are left out (they name Route 53's
    /// servers). Otherwise the export must hold them.
    pub apex_from_zone_file: bool,
}

/// Record sets converted for a zone.
#[derive(Debug, Clone, Default)]
pub struct Imported {
    /// Simple record sets that are not aliases, as master-file text (absolute names, one line
    /// per value, in the order read).
    pub zone_text: String,
    /// The same, parsed; each record's file is where its record set was read, line 0.
    pub records: Vec<Record>,
    /// Routing-policy and alias record sets.
    pub record_sets: Vec<RecordSetSpec>,
}

impl Imported {
    /// Health-check ids the routing-policy record sets refer to.
    pub fn health_check_ids(&self) -> BTreeSet<&str> {
        self.record_sets
            .iter()
            .filter_map(|r| r.health_check.as_deref())
            .collect()
    }

    /// CIDR collection ids the IP-based record sets refer to.
    pub fn cidr_collection_ids(&self) -> BTreeSet<&str> {
        self.record_sets
            .iter()
            .filter_map(|r| match &r.rule {
                RuleSpec::IpBased { collection, .. } => Some(collection.as_str()),
                _ => None,
            })
            .collect()
    }
}

/// Converts record sets of the zone at `origin` (wire form). Groups are checked together with
/// `others` (record sets of the same zone from elsewhere, e.g. the TOML config). Every problem
/// is reported, each naming its record set (Name, Type, SetIdentifier) and where it was read.
pub fn convert(
    sets: &[Located],
    origin: &[u8],
    others: &[&RecordSetSpec],
    options: ConvertOptions,
) -> Result<Imported, Vec<ParseError>> {
    let origin = name::to_lowercase(origin);
    let mut problems = Vec::new();
    let mut specs: Vec<(RecordSetSpec, Vec<u8>)> = Vec::new();
    for l in sets {
        match record_set_spec(&l.set, &l.at, &origin) {
            Ok(Some(spec)) => {
                let owner =
                    name::to_lowercase(&name::from_text(&spec.name, None).expect("checked"));
                let apex_ns_soa = owner == origin && matches!(spec.rtype, types::SOA | types::NS);
                if apex_ns_soa && options.apex_from_zone_file {
                    continue;
                }
                specs.push((spec, owner));
            }
            Ok(None) => {}
            Err(message) => problems.push(ParseError {
                file: PathBuf::from(&l.at),
                line: 0,
                message: format!("{}: {message}", l.set.describe()),
            }),
        }
    }
    if !options.apex_from_zone_file {
        for (t, what) in [(types::SOA, "SOA"), (types::NS, "NS")] {
            if !specs.iter().any(|(s, o)| *o == origin && s.rtype == t) {
                problems.push(ParseError {
                    file: sets.first().map(|l| l.file.clone()).unwrap_or_default(),
                    line: 0,
                    message: format!(
                        "zone {}: no {what} record set at the apex; a zone given only as Route 53 JSON takes its SOA and NS from the export (list-resource-record-sets includes them), or give a zone file for the zone too",
                        name::to_text(&origin)
                    ),
                });
            }
        }
    }

    // Route 53's group rules, over this zone's record sets and the others of the same groups.
    // (owner, type) → the group's record sets, and whether any of them was read here.
    type Groups<'a> = BTreeMap<(Vec<u8>, u16), (Vec<&'a RecordSetSpec>, bool)>;
    let mut groups: Groups = BTreeMap::new();
    for (s, owner) in &specs {
        let g = groups.entry((owner.clone(), s.rtype)).or_default();
        g.0.push(s);
        g.1 = true;
    }
    for s in others {
        if let Ok(owner) = name::from_text(&s.name, None) {
            if let Some(g) = groups.get_mut(&(name::to_lowercase(&owner), s.rtype)) {
                g.0.push(s);
            }
        }
    }
    for (group, _) in groups.values().filter(|g| g.1) {
        problems.extend(validate_group(group).into_iter().map(|message| ParseError {
            file: PathBuf::new(),
            line: 0,
            message,
        }));
    }

    // The apex SOA and NS first, as a master file usually starts.
    specs.sort_by_key(|(s, owner)| match s.rtype {
        types::SOA if *owner == origin => 0,
        types::NS if *owner == origin => 1,
        _ => 2,
    });
    let mut out = Imported::default();
    for (spec, _) in specs {
        let simple = spec.alias.is_none() && matches!(spec.rule, RuleSpec::Simple);
        let mut lines = String::new();
        for value in &spec.values {
            let line = format!(
                "{} {} IN {} {value}\n",
                spec.name,
                spec.ttl,
                types::mnemonic(spec.rtype)
            );
            match parse::parse_str(&line, &origin, Path::new(&spec.defined_at)) {
                Ok(recs) if recs.len() == 1 => {
                    if simple {
                        out.records.extend(recs.into_iter().map(|mut r| {
                            r.line = 0;
                            r
                        }));
                    }
                }
                Ok(_) => problems.push(ParseError {
                    file: PathBuf::from(&spec.defined_at),
                    line: 0,
                    message: format!("{spec}: value {value:?} is not one record"),
                }),
                Err(e) => problems.push(ParseError {
                    file: PathBuf::from(&spec.defined_at),
                    line: 0,
                    message: format!("{spec}: value {value:?}: {}", e.message),
                }),
            }
            lines.push_str(&line);
        }
        if simple {
            out.zone_text.push_str(&lines);
        } else {
            out.record_sets.push(spec);
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// One record set → its spec, after the checks Route 53 makes on a single record set.
fn record_set_spec(
    r: &ResourceRecordSet,
    at: &str,
    origin: &[u8],
) -> Result<Option<RecordSetSpec>, String> {
    if let Some(id) = &r.traffic_policy_instance_id {
        return Err(format!(
            "created by a Route 53 traffic policy (TrafficPolicyInstanceId {id:?}); traffic policies are not supported: write the policy's tree as record sets (routing policies joined by aliases) instead"
        ));
    }
    let owner = wire_name(&r.name)?;
    if !name::is_subdomain(&name::to_lowercase(&owner), origin) {
        return Err(format!("not in zone {}", name::to_text(origin)));
    }
    let upper = r.rtype.to_ascii_uppercase();
    if !ROUTE53_TYPES.contains(&upper.as_str()) {
        return Err(format!(
            "Type {:?} is not a Route 53 record type ({})",
            r.rtype,
            ROUTE53_TYPES.join(" ")
        ));
    }
    let rtype = types::from_mnemonic(&upper).expect("Route 53 types are known");

    let mut rules = Vec::new();
    if let Some(w) = r.weight {
        let w = u8::try_from(w).map_err(|_| format!("Weight {w} is outside 0..255"))?;
        rules.push(RuleSpec::Weighted(w));
    }
    if let Some(f) = &r.failover {
        rules.push(RuleSpec::Failover(match f.as_str() {
            "PRIMARY" => FailoverRole::Primary,
            "SECONDARY" => FailoverRole::Secondary,
            _ => return Err(format!("Failover {f:?} must be PRIMARY or SECONDARY")),
        }));
    }
    if let Some(g) = &r.geo_location {
        let key = crate::config::geo_key(
            g.continent_code.as_deref(),
            g.country_code.as_deref(),
            g.subdivision_code.as_deref(),
        )
        .map_err(|e| format!("GeoLocation: {e}"))?;
        rules.push(RuleSpec::Geolocation(key));
    }
    if let Some(region) = &r.region {
        rules.push(RuleSpec::Latency(region.clone()));
    }
    if let Some(p) = &r.geo_proximity_location {
        let at = match (&p.aws_region, &p.local_zone_group, &p.coordinates) {
            (Some(region), None, None) => ProximityAt::Region(region.clone()),
            (None, None, Some(c)) => ProximityAt::Coordinates(
                c.latitude.value("Latitude")?,
                c.longitude.value("Longitude")?,
            ),
            (None, Some(g), None) => {
                return Err(format!(
                    "GeoProximityLocation LocalZoneGroup {g:?}: Local Zone locations are not known here; give Coordinates (or the AWSRegion) instead"
                ))
            }
            _ => {
                return Err(
                    "GeoProximityLocation takes exactly one of AWSRegion, LocalZoneGroup, Coordinates"
                        .into(),
                )
            }
        };
        let bias = p.bias.unwrap_or(0);
        let bias = crate::policy::spec::bias(bias)
            .ok_or_else(|| format!("GeoProximityLocation Bias {bias} is outside -99..99"))?;
        rules.push(RuleSpec::Geoproximity { at, bias });
    }
    if let Some(c) = &r.cidr_routing_config {
        rules.push(RuleSpec::IpBased {
            collection: c.collection_id.clone(),
            location: (c.location_name != "*").then(|| c.location_name.clone()),
        });
    }
    if r.multi_value_answer == Some(true) {
        rules.push(RuleSpec::Multivalue);
    }
    let rule = crate::policy::spec::single_rule(rules)?;
    if matches!(rule, RuleSpec::Simple) && r.set_identifier.is_some() {
        return Err("SetIdentifier is given but no routing policy (Weight, Region, GeoLocation, Failover, MultiValueAnswer, CidrRoutingConfig, GeoProximityLocation)".into());
    }

    let (ttl, values, alias) = match (&r.alias_target, &r.resource_records) {
        (Some(_), Some(_)) => {
            return Err("an alias (AliasTarget) has no ResourceRecords of its own".into())
        }
        (None, None) => return Err("neither ResourceRecords nor AliasTarget is given".into()),
        (Some(a), None) => {
            if r.ttl.is_some() {
                return Err(
                    "an alias takes its TTL from its target; remove TTL (Route 53 refuses it too)"
                        .into(),
                );
            }
            let target = wire_name(&a.dns_name).map_err(|e| format!("AliasTarget {e}"))?;
            if !name::is_subdomain(&name::to_lowercase(&target), origin) {
                let shown = a.dns_name.trim();
                // An AWS resource outside the zone: served if a [[load_balancer]] of that name
                // is configured (load.rs decides and says what to add otherwise).
                if aws_resource(shown).is_none() {
                    return Err(format!(
                        "alias target {shown} is not in zone {}: an alias points to a record set of its own zone (Route 53 allows no other zone) or to an AWS resource",
                        name::to_text(origin)
                    ));
                }
            }
            // An alias has no TTL of its own; 300 is what a TOML record set without `ttl` gets.
            (
                300,
                Vec::new(),
                Some(AliasSpec {
                    dns_name: name::to_text(&target),
                    evaluate_target_health: a.evaluate_target_health,
                }),
            )
        }
        (None, Some(records)) => {
            let ttl = r
                .ttl
                .ok_or("TTL is required for a record set that is not an alias")?;
            let ttl = u32::try_from(ttl)
                .ok()
                .filter(|t| *t <= i32::MAX as u32)
                .ok_or_else(|| format!("TTL {ttl} is outside 0..2147483647"))?;
            let mut values = Vec::with_capacity(records.len());
            for v in records {
                let converted = octal_to_master(v.value.trim())?;
                values.push(qualify_names(rtype, &converted));
            }
            (ttl, values, None)
        }
    };
    Ok(Some(RecordSetSpec {
        name: name::to_text(&owner),
        rtype,
        set_identifier: r.set_identifier.clone(),
        ttl,
        values,
        alias,
        health_check: r.health_check_id.clone(),
        consistent: false,
        rule,
        defined_at: at.to_string(),
    }))
}

/// A string as a TOML basic string.
fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML key: bare when it can be.
fn toml_key(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        s.to_string()
    } else {
        toml_str(s)
    }
}

/// One record set as a `[[record_set]]` table.
pub fn record_set_toml(s: &RecordSetSpec) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "[[record_set]]");
    let _ = writeln!(t, "name = {}", toml_str(&s.name));
    let _ = writeln!(t, "type = {}", toml_str(&types::mnemonic(s.rtype)));
    if let Some(id) = &s.set_identifier {
        let _ = writeln!(t, "set_identifier = {}", toml_str(id));
    }
    let code = |b: &[u8]| toml_str(String::from_utf8_lossy(b).trim_end_matches('\0'));
    match &s.rule {
        RuleSpec::Simple => {}
        RuleSpec::Weighted(w) => {
            let _ = writeln!(t, "weight = {w}");
        }
        RuleSpec::Failover(role) => {
            let role = match role {
                FailoverRole::Primary => "PRIMARY",
                FailoverRole::Secondary => "SECONDARY",
            };
            let _ = writeln!(t, "failover = \"{role}\"");
        }
        RuleSpec::Geolocation(k) => {
            let inner = match k {
                GeoKey::Continent(c) => format!("continent = {}", code(c)),
                GeoKey::Country(c) => format!("country = {}", code(c)),
                GeoKey::Subdivision(c, s) => {
                    format!("country = {}, subdivision = {}", code(c), code(s))
                }
                GeoKey::Default => "country = \"*\"".to_string(),
            };
            let _ = writeln!(t, "geolocation = {{ {inner} }}");
        }
        RuleSpec::Latency(region) => {
            let _ = writeln!(t, "region = {}", toml_str(region));
        }
        RuleSpec::Geoproximity { at, bias } => {
            let at = match at {
                ProximityAt::Region(r) => format!("region = {}", toml_str(r)),
                ProximityAt::Coordinates(lat, lon) => {
                    format!("latitude = {lat:?}, longitude = {lon:?}")
                }
            };
            if *bias == 0 {
                let _ = writeln!(t, "geoproximity = {{ {at} }}");
            } else {
                let _ = writeln!(t, "geoproximity = {{ {at}, bias = {bias} }}");
            }
        }
        RuleSpec::IpBased {
            collection,
            location,
        } => {
            let _ = writeln!(
                t,
                "cidr = {{ collection = {}, location = {} }}",
                toml_str(collection),
                toml_str(location.as_deref().unwrap_or("*"))
            );
        }
        RuleSpec::Multivalue => {
            let _ = writeln!(t, "multivalue = true");
        }
    }
    if let Some(hc) = &s.health_check {
        let _ = writeln!(t, "health_check = {}", toml_str(hc));
    }
    match &s.alias {
        Some(a) => {
            let _ = writeln!(
                t,
                "alias = {{ name = {}, evaluate_target_health = {} }}",
                toml_str(&a.dns_name),
                a.evaluate_target_health
            );
        }
        None => {
            let _ = writeln!(t, "ttl = {}", s.ttl);
            let values: Vec<String> = s.values.iter().map(|v| toml_str(v)).collect();
            let _ = writeln!(t, "values = [{}]", values.join(", "));
        }
    }
    t
}

/// The policydns configuration equivalent to an import: a `[[zone]]` naming `zone_file`
/// (relative to the config), a `[[health_check]]` (healthy, as Route 53 starts new checks) for
/// each id referred to, the CIDR collections used, and the routing-policy record sets.
pub fn config_toml(
    imported: &Imported,
    origin: &[u8],
    zone_file: &str,
    cidr: &BTreeMap<String, BTreeMap<String, Vec<ipnetwork::IpNetwork>>>,
    sources: &[PathBuf],
) -> String {
    let mut t = String::new();
    let from: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    let _ = writeln!(
        t,
        "# policydns configuration converted by `policydns import route53` from {}",
        from.join(", ")
    );
    let _ = writeln!(t, "# Simple record sets are in {zone_file}.\n");
    let _ = writeln!(t, "[[zone]]");
    let _ = writeln!(t, "origin = {}", toml_str(&name::to_text(origin)));
    let _ = writeln!(t, "file = {}\n", toml_str(zone_file));
    for id in imported.health_check_ids() {
        let _ = writeln!(t, "# Route 53 health check {id}: its configuration is not imported; healthy until probes run.");
        let _ = writeln!(t, "[[health_check]]");
        let _ = writeln!(t, "id = {}", toml_str(id));
        let _ = writeln!(t, "healthy = true\n");
    }
    for id in imported.cidr_collection_ids() {
        let Some(locations) = cidr.get(id) else {
            continue;
        };
        let _ = writeln!(t, "[[cidr_collection]]");
        let _ = writeln!(t, "id = {}", toml_str(id));
        let locs: Vec<String> = locations
            .iter()
            .map(|(loc, blocks)| {
                let blocks: Vec<String> = blocks.iter().map(|b| toml_str(&b.to_string())).collect();
                format!("{} = [{}]", toml_key(loc), blocks.join(", "))
            })
            .collect();
        let _ = writeln!(t, "locations = {{ {} }}\n", locs.join(", "));
    }
    for s in &imported.record_sets {
        t.push_str(&record_set_toml(s));
        t.push('\n');
    }
    t
}

/// The master file of an import: the simple record sets, with a header naming the sources.
pub fn zone_file_text(imported: &Imported, origin: &[u8], sources: &[PathBuf]) -> String {
    let from: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    format!(
        "; zone {}: simple record sets converted by `policydns import route53` from {}\n; (routing-policy and alias record sets are in the policydns configuration)\n{}",
        name::to_text(origin),
        from.join(", "),
        imported.zone_text
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn octal_escapes_become_master_file_form() {
        assert_eq!(
            octal_to_master("\\052.example.com.").unwrap(),
            "*.example.com."
        );
        assert_eq!(octal_to_master("a\\056b").unwrap(), "a\\046b");
        assert_eq!(
            octal_to_master("\"ex\\344mple\"").unwrap(),
            "\"ex\\228mple\""
        );
        assert_eq!(octal_to_master("a\\\"b").unwrap(), "a\\\"b");
        assert!(octal_to_master("\\089").is_err());
        assert!(octal_to_master("\\400").is_err());
    }

    #[test]
    fn names_in_values_are_fully_qualified() {
        assert_eq!(
            qualify_names(types::CNAME, "www.example.com"),
            "www.example.com."
        );
        assert_eq!(
            qualify_names(types::MX, "10 mail.example.com"),
            "10 mail.example.com."
        );
        assert_eq!(
            qualify_names(types::SRV, "1 2 3 t.example.com."),
            "1 2 3 t.example.com."
        );
        assert_eq!(
            qualify_names(types::SOA, "ns.x hm.x 1 2 3 4 5"),
            "ns.x. hm.x. 1 2 3 4 5"
        );
        assert_eq!(qualify_names(types::TXT, "\"a b\""), "\"a b\"");
        assert_eq!(qualify_names(65, "1 . alpn=h2"), "1 . alpn=h2");
    }

    #[test]
    fn toml_strings_read_back_unchanged() {
        for s in ["a\"b", "\"v=spf1 \\\" -all\"", "*.x.", "it's"] {
            let t: toml::Table = toml::from_str(&format!("k = {}", toml_str(s))).unwrap();
            assert_eq!(t["k"].as_str(), Some(s));
        }
    }
}
