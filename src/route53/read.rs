//! Reading Route 53's JSON documents from files, and applying change batches in order.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{
    Action, ChangeBatch, CidrBlockList, Document, RecordSetList, ResourceRecordSet,
    WrappedChangeBatch,
};
use crate::wire::name;
use crate::zone::parse::ParseError;

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
    /// A simple record set (no routing policy, no alias) of these values.
    pub fn simple(name: String, rtype: String, ttl: i64, values: Vec<String>) -> Self {
        ResourceRecordSet {
            name,
            rtype,
            set_identifier: None,
            weight: None,
            region: None,
            geo_location: None,
            failover: None,
            multi_value_answer: None,
            ttl: Some(ttl),
            resource_records: Some(
                values
                    .into_iter()
                    .map(|value| super::ResourceRecord { value })
                    .collect(),
            ),
            alias_target: None,
            health_check_id: None,
            traffic_policy_instance_id: None,
            cidr_routing_config: None,
            geo_proximity_location: None,
        }
    }

    /// "Name Type (SetIdentifier)", for messages.
    pub fn describe(&self) -> String {
        match &self.set_identifier {
            Some(id) => format!("{} {} ({id})", self.name, self.rtype),
            None => format!("{} {}", self.name, self.rtype),
        }
    }

    /// What identifies a record set in a change: lowercase wire name, type, set identifier.
    fn key(&self) -> Result<(Vec<u8>, String, Option<String>), ValueError> {
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

/// A `list-cidr-blocks` file that does not read.
#[derive(Debug, thiserror::Error)]
pub enum CidrBlocksError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Json(ParseError),
    #[error("{}: the listing is truncated (NextToken): export every page of aws route53 list-cidr-blocks", .0.display())]
    Truncated(PathBuf),
    #[error("{}: location \"*\" is the default of a record set, not a location of blocks", .0.display())]
    DefaultLocation(PathBuf),
}

/// Reads `list-cidr-blocks` output into location → blocks (as written; the caller checks them).
pub fn read_cidr_blocks(path: &Path) -> Result<BTreeMap<String, Vec<String>>, CidrBlocksError> {
    let text = std::fs::read_to_string(path).map_err(|source| CidrBlocksError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let list: CidrBlockList =
        serde_json::from_str(&text).map_err(|e| CidrBlocksError::Json(json_error(path, e)))?;
    if list.next_token.is_some() {
        return Err(CidrBlocksError::Truncated(path.to_path_buf()));
    }
    let mut locations: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in list.cidr_blocks {
        if b.location_name == "*" {
            return Err(CidrBlocksError::DefaultLocation(path.to_path_buf()));
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
pub fn octal_to_master(text: &str) -> Result<String, ValueError> {
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
                    .ok_or_else(|| ValueError::Escape(text.to_string()))?;
                let v = digits
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                let c = u8::try_from(v).map_err(|_| ValueError::EscapeRange {
                    text: text.to_string(),
                    digits: String::from_utf8_lossy(digits).into_owned(),
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
            None => return Err(ValueError::LoneBackslash(text.to_string())),
        }
    }
    Ok(String::from_utf8(out).expect("only ASCII was inserted into valid UTF-8"))
}

/// A Route 53 name (trailing dot optional, octal escapes) in wire form.
pub(super) fn wire_name(text: &str) -> Result<Vec<u8>, ValueError> {
    let text = text.trim();
    let mut t = octal_to_master(text)?;
    if !t.ends_with('.') || t.ends_with("\\.") {
        t.push('.');
    }
    name::from_text(&t, None).map_err(|source| ValueError::Name {
        text: text.to_string(),
        source,
    })
}

/// A name or value as Route 53 writes it that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("{0:?}: a backslash followed by digits must be a three-digit octal escape, as Route 53 writes them (\\052 is *)")]
    Escape(String),
    #[error("{text:?}: octal escape \\{digits} is above \\377")]
    EscapeRange { text: String, digits: String },
    #[error("{0:?}: ends in a lone backslash")]
    LoneBackslash(String),
    #[error("name {text:?}: {source}")]
    Name {
        text: String,
        source: name::NameError,
    },
}
