//! CIDR collections through the API: the locations IP-based record sets name. A change joins
//! the configuration's collections on the reload it triggers, and is answered once that reload
//! serves it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::commit::{Write, Written};
use super::error::ApiError;
use super::ids;
use super::ops::{ok, Reply};
use super::xml::{self, document, leaf};
use super::Api;
use crate::store::{CidrCollection, Entry, State};

/// Route 53's limits: names, locations and blocks per collection.
const MAX_NAME: usize = 64;
const MAX_LOCATION: usize = 16;
const MAX_BLOCKS: usize = 1000;

fn no_such(id: &str) -> ApiError {
    ApiError::new(
        404,
        "NoSuchCidrCollectionException",
        format!("The CIDR collection {id} does not exist."),
    )
}

fn arn(id: &str) -> String {
    format!("arn:aws:route53:::cidrcollection/{id}")
}

fn collection_xml(out: &mut String, tag: &str, c: &CidrCollection) {
    let _ = write!(out, "<{tag}>");
    leaf(out, "Arn", &arn(&c.id));
    leaf(out, "Id", &c.id);
    leaf(out, "Name", &c.name);
    let _ = write!(out, "<Version>{}</Version></{tag}>", c.version);
}

pub(super) async fn route(
    api: &Api,
    method: &str,
    parts: &[&str],
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    match (method, parts) {
        ("POST", []) => {
            let req = xml::parse(body, "CreateCidrCollectionRequest")?;
            let field = |n: &str| {
                req.text_of(n)
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| {
                        ApiError::invalid_input(format!("CreateCidrCollectionRequest needs {n}"))
                    })
            };
            let (name, caller_reference) = (field("Name")?, field("CallerReference")?);
            // A retried create (same name, same reference) gets the collection it made.
            let existing = api
                .store
                .lock()
                .state
                .cidr_collections
                .values()
                .find(|c| c.name == name && c.caller_reference == caller_reference)
                .cloned();
            if let Some(c) = existing {
                let mut out = String::new();
                collection_xml(&mut out, "Collection", &c);
                return ok(document("CreateCidrCollectionResponse", &out));
            }
            let done = api
                .store
                .write_seq(Write::CreateCidr {
                    name,
                    caller_reference,
                })
                .await?;
            api.store.wait_applied(done.seq).await;
            let Written::Cidr(c, created, _) = done.written else {
                return Err(ApiError::internal("unexpected store answer"));
            };
            let mut out = String::new();
            collection_xml(&mut out, "Collection", &c);
            Ok(Reply {
                status: if created { 201 } else { 200 },
                body: document("CreateCidrCollectionResponse", &out),
                location: Some(format!(
                    "https://route53.amazonaws.com/2013-04-01/cidrcollection/{}",
                    c.id
                )),
            })
        }
        ("GET", []) => {
            let all: Vec<CidrCollection> = api
                .store
                .lock()
                .state
                .cidr_collections
                .values()
                .cloned()
                .collect();
            let (page, next) = paginate(&all, query, |c| c.id.clone())?;
            let mut out = String::new();
            if let Some(n) = next {
                leaf(&mut out, "NextToken", &n);
            }
            out.push_str("<CidrCollections>");
            page.iter()
                .for_each(|c| collection_xml(&mut out, "member", c));
            out.push_str("</CidrCollections>");
            ok(document("ListCidrCollectionsResponse", &out))
        }
        ("POST", [id]) => change(api, id, body).await,
        ("GET", [id]) => {
            let c = get(api, id)?;
            let names: Vec<String> = c.locations.keys().cloned().collect();
            let (page, next) = paginate(&names, query, Clone::clone)?;
            let mut out = String::new();
            if let Some(n) = next {
                leaf(&mut out, "NextToken", &n);
            }
            out.push_str("<CidrLocations>");
            for l in page {
                out.push_str("<member>");
                leaf(&mut out, "LocationName", l);
                out.push_str("</member>");
            }
            out.push_str("</CidrLocations>");
            ok(document("ListCidrLocationsResponse", &out))
        }
        ("GET", [id, "cidrblocks"]) => {
            let c = get(api, id)?;
            let only = query.get("location");
            if let Some(l) = only {
                if !c.locations.contains_key(l) {
                    return Err(ApiError::new(
                        404,
                        "NoSuchCidrLocationException",
                        format!("The CIDR collection location {l} does not exist."),
                    ));
                }
            }
            let blocks: Vec<(String, String)> = c
                .locations
                .iter()
                .filter(|(l, _)| only.is_none_or(|o| o == *l))
                .flat_map(|(l, bs)| bs.iter().map(move |b| (l.clone(), b.clone())))
                .collect();
            let (page, next) = paginate(&blocks, query, |(l, b)| format!("{l} {b}"))?;
            let mut out = String::new();
            if let Some(n) = next {
                leaf(&mut out, "NextToken", &n);
            }
            out.push_str("<CidrBlocks>");
            for (l, b) in page {
                out.push_str("<member>");
                leaf(&mut out, "CidrBlock", b);
                leaf(&mut out, "LocationName", l);
                out.push_str("</member>");
            }
            out.push_str("</CidrBlocks>");
            ok(document("ListCidrBlocksResponse", &out))
        }
        ("DELETE", [id]) => {
            let done = api
                .store
                .write_seq(Write::DeleteCidr { id: id.to_string() })
                .await?;
            api.store.wait_applied(done.seq).await;
            ok(document("DeleteCidrCollectionResponse", ""))
        }
        _ => Err(ApiError::new(
            400,
            "InvalidAction",
            format!(
                "{method} cidrcollection/{} is not implemented",
                parts.join("/")
            ),
        )),
    }
}

fn get(api: &Api, id: &str) -> Result<CidrCollection, ApiError> {
    api.store
        .lock()
        .state
        .cidr_collections
        .get(id)
        .cloned()
        .ok_or_else(|| no_such(id))
}

/// A page of `items` after `nexttoken` (the key of the last item of the previous page), at
/// most `maxresults`.
fn paginate<'a, T>(
    items: &'a [T],
    query: &BTreeMap<String, String>,
    key: impl Fn(&T) -> String,
) -> Result<(&'a [T], Option<String>), ApiError> {
    let max = match query.get("maxresults") {
        None => 100,
        Some(t) => t.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::invalid_input(format!("MaxResults {t:?} is not a positive number"))
        })?,
    };
    let start = match query.get("nexttoken") {
        None => 0,
        Some(t) => items
            .iter()
            .position(|i| key(i) > *t)
            .unwrap_or(items.len()),
    };
    let end = (start + max).min(items.len());
    let next = (end < items.len()).then(|| key(&items[end - 1]));
    Ok((&items[start..end], next))
}

async fn change(api: &Api, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let req = xml::parse(body, "ChangeCidrCollectionRequest")?;
    let version = match req.text_of("CollectionVersion") {
        Some(v) => Some(
            v.trim()
                .parse::<i64>()
                .map_err(|_| ApiError::invalid_input("CollectionVersion is not a number"))?,
        ),
        None => None,
    };
    let mut changes = Vec::new();
    for c in req
        .child("Changes")
        .map(|c| c.children.as_slice())
        .unwrap_or_default()
    {
        let location = c.text_of("LocationName").unwrap_or("").trim().to_string();
        let put = match c.text_of("Action").map(str::trim) {
            Some("PUT") => true,
            Some("DELETE_IF_EXISTS") => false,
            other => {
                return Err(ApiError::invalid_input(format!(
                    "Action {other:?}: PUT or DELETE_IF_EXISTS"
                )))
            }
        };
        let blocks = c
            .child("CidrList")
            .map(|l| {
                l.children
                    .iter()
                    .map(|b| b.text.trim().to_string())
                    .collect()
            })
            .unwrap_or_default();
        changes.push((location, put, blocks));
    }
    if changes.is_empty() {
        return Err(ApiError::invalid_input(
            "ChangeCidrCollectionRequest needs Changes",
        ));
    }
    let done = api
        .store
        .write_seq(Write::ChangeCidr {
            id: id.to_string(),
            version,
            changes,
        })
        .await?;
    api.store.wait_applied(done.seq).await;
    let Written::Cidr(_, _, change) = done.written else {
        return Err(ApiError::internal("unexpected store answer"));
    };
    let mut out = String::new();
    leaf(&mut out, "Id", &change);
    ok(document("ChangeCidrCollectionResponse", &out))
}

/// Record sets that use a collection (or one location of it).
fn users(state: &State, id: &str, location: Option<&str>) -> Option<String> {
    state.zones.values().find_map(|z| {
        z.record_sets
            .iter()
            .find(|s| {
                s.cidr_routing_config.as_ref().is_some_and(|c| {
                    c.collection_id == id && location.is_none_or(|l| c.location_name == l)
                })
            })
            .map(|s| format!("record set {} in hosted zone {}", s.describe(), z.name))
    })
}

/// Checks a CIDR write against the state: the journal entry and the answer.
pub(super) fn prepare(state: &State, write: Write) -> Result<(Entry, Written), ApiError> {
    match write {
        Write::CreateCidr {
            name,
            caller_reference,
        } => {
            if name.len() > MAX_NAME
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
            {
                return Err(ApiError::invalid_input(format!(
                    "Name {name:?}: 1 to {MAX_NAME} of A-Z a-z 0-9 - _"
                )));
            }
            if let Some(c) = state.cidr_collections.values().find(|c| c.name == name) {
                return Err(ApiError::new(
                    409,
                    "CidrCollectionAlreadyExistsException",
                    format!("A CIDR collection named {} already exists ({}) with another caller reference", c.name, c.id),
                ));
            }
            let collection = CidrCollection {
                id: ids::uuid(),
                name,
                caller_reference,
                version: 1,
                locations: BTreeMap::new(),
            };
            Ok((
                Entry::PutCidrCollection {
                    collection: collection.clone(),
                },
                Written::Cidr(Box::new(collection), true, ids::uuid()),
            ))
        }
        Write::ChangeCidr {
            id,
            version,
            changes,
        } => {
            let current = state
                .cidr_collections
                .get(&id)
                .ok_or_else(|| no_such(&id))?;
            if version.is_some_and(|v| v != current.version) {
                return Err(ApiError::new(
                    409,
                    "CidrCollectionVersionMismatchException",
                    format!(
                        "The CIDR collection version is {}, not the one given",
                        current.version
                    ),
                ));
            }
            let mut next = current.clone();
            for (location, put, blocks) in changes {
                if location.is_empty()
                    || location.len() > MAX_LOCATION
                    || location == "*"
                    || !location
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
                {
                    return Err(ApiError::invalid_input(format!("LocationName {location:?}: 1 to {MAX_LOCATION} of A-Z a-z 0-9 - _ (the default location * is not a location)")));
                }
                for b in &blocks {
                    let net = crate::policy::spec::parse_block(b)
                        .map_err(|e| ApiError::invalid_input(format!("CIDR block {b:?}: {e}")))?;
                    if net.prefix() < if net.is_ipv4() { 8 } else { 0 } {
                        return Err(ApiError::invalid_input(format!(
                            "CIDR block {b} is too wide"
                        )));
                    }
                }
                let list = next.locations.entry(location.clone()).or_default();
                if put {
                    for b in blocks {
                        if !list.contains(&b) {
                            list.push(b);
                        }
                    }
                } else {
                    list.retain(|b| !blocks.contains(b));
                    if list.is_empty() {
                        if let Some(user) = users(state, &id, Some(&location)) {
                            return Err(ApiError::new(
                                400,
                                "CidrBlockInUseException",
                                format!(
                                    "Location {location} would be left empty but is used by {user}"
                                ),
                            ));
                        }
                        next.locations.remove(&location);
                    }
                }
            }
            if next.locations.values().map(Vec::len).sum::<usize>() > MAX_BLOCKS {
                return Err(ApiError::new(
                    400,
                    "LimitsExceeded",
                    format!("A CIDR collection holds at most {MAX_BLOCKS} blocks"),
                ));
            }
            next.version += 1;
            Ok((
                Entry::PutCidrCollection {
                    collection: next.clone(),
                },
                Written::Cidr(Box::new(next), false, ids::uuid()),
            ))
        }
        Write::DeleteCidr { id } => {
            let c = state
                .cidr_collections
                .get(&id)
                .ok_or_else(|| no_such(&id))?;
            if !c.locations.is_empty() {
                return Err(ApiError::new(400, "CidrCollectionInUseException", "The CIDR collection still has locations; delete them first (Route 53 deletes only an empty collection)"));
            }
            if let Some(user) = users(state, &id, None) {
                return Err(ApiError::new(
                    400,
                    "CidrCollectionInUseException",
                    format!("The CIDR collection is used by {user}"),
                ));
            }
            Ok((Entry::DeleteCidrCollection { id }, Written::Deleted))
        }
        _ => Err(ApiError::internal("not a CIDR collection write")),
    }
}
