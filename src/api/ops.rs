//! The operations: a verified request's method, path and query → the store → Route 53's
//! response XML. Paths and shapes are botocore's service model for `route53` 2013-04-01.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::commit::{Write, Written};
use super::error::ApiError;
use super::xml::{self, document, leaf, opt_leaf, Element};
use super::Api;
use crate::route53::{ChangeBatch, ResourceRecord, ResourceRecordSet};
use crate::store::{self, ChangeInfo, HostedZone};
use crate::wire::name;

/// A response: status, XML body, extra headers.
pub struct Reply {
    pub status: u16,
    pub body: String,
    pub location: Option<String>,
}

pub(super) fn ok(body: String) -> Result<Reply, ApiError> {
    Ok(Reply {
        status: 200,
        body,
        location: None,
    })
}

/// Dispatches one request (already authenticated).
pub async fn route(
    api: &Api,
    method: &str,
    path: &str,
    query: &BTreeMap<String, String>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let rest = path
        .strip_prefix("/2013-04-01/")
        .ok_or_else(|| unknown(method, path))?;
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("POST", ["hostedzone"]) => create_hosted_zone(api, body).await,
        ("GET", ["hostedzone"]) => list_hosted_zones(api, query),
        ("GET", ["hostedzone", id]) => get_hosted_zone(api, id),
        ("DELETE", ["hostedzone", id]) => {
            let written = api
                .store
                .write(Write::DeleteZone {
                    zone_id: id.to_string(),
                })
                .await?;
            ok(document("DeleteHostedZoneResponse", &change_info(&written)))
        }
        ("POST", ["hostedzone", id, "rrset"]) => change_record_sets(api, id, body).await,
        ("GET", ["hostedzone", id, "rrset"]) => list_record_sets(api, id, query),
        ("GET", ["hostedzonesbyname"]) => list_by_name(api, query),
        ("GET", ["hostedzonecount"]) => {
            let n = all_zones(api).len();
            ok(document(
                "GetHostedZoneCountResponse",
                &format!("<HostedZoneCount>{n}</HostedZoneCount>"),
            ))
        }
        ("POST", ["hostedzone", id, "enable-dnssec"]) => super::dnssec::enable(api, id).await,
        ("POST", ["hostedzone", id, "disable-dnssec"]) => super::dnssec::disable(api, id).await,
        ("GET", ["hostedzone", id, "dnssec"]) => super::dnssec::get(api, id),
        (_, ["keysigningkey", rest @ ..]) => {
            super::dnssec::route_ksk(api, method, rest, body).await
        }
        ("GET", ["change", id]) => get_change(api, id),
        ("GET", ["testdnsanswer"]) => super::test_answer::test_dns_answer(api, query),
        (_, ["cidrcollection", rest @ ..]) => {
            super::cidr::route(api, method, rest, query, body).await
        }
        (_, ["healthcheck", rest @ ..]) => {
            super::health::route(api, method, rest, query, body).await
        }
        ("GET", ["tags", kind, id]) => list_tags(api, kind, id),
        ("POST", ["tags", kind, id]) => change_tags(api, kind, id, body).await,
        _ => Err(unknown(method, path)),
    }
}

pub(super) fn unknown(method: &str, path: &str) -> ApiError {
    ApiError::new(
        400,
        "InvalidAction",
        format!("{method} {path} is not a Route 53 action this server implements"),
    )
}

/// A hosted zone as listed: one of the store's, or a zone from the configuration's files
/// (read-only).
struct Listed {
    id: String,
    name: String,
    caller_reference: String,
    comment: Option<String>,
    count: usize,
    name_servers: Vec<String>,
    /// A private hosted zone's VPCs (empty: public).
    vpcs: Vec<store::Vpc>,
}

/// Every zone the API shows, store zones and file zones, by id.
fn all_zones(api: &Api) -> Vec<Listed> {
    let (mut out, store_origins): (Vec<Listed>, Vec<Vec<u8>>) = {
        let inner = api.store.lock();
        let zones = inner.state.zones.values();
        (
            zones.clone().map(listed).collect(),
            zones.map(HostedZone::origin).collect(),
        )
    };
    let snapshot = api.publisher.snapshot.load();
    for z in snapshot.catalog.zones() {
        if store_origins.iter().any(|o| o[..] == z.origin[..]) {
            continue;
        }
        out.push(Listed {
            id: file_zone_id(&z.origin),
            name: store::route53_name(&z.origin),
            caller_reference: "policydns-zone-file".into(),
            comment: Some(match &z.source {
                Some(f) => format!("served from {} (read-only through the API)", f.display()),
                None => "served from the configuration (read-only through the API)".into(),
            }),
            count: z.record_count,
            name_servers: Vec::new(),
            vpcs: Vec::new(),
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

fn listed(z: &HostedZone) -> Listed {
    Listed {
        id: z.id.clone(),
        name: z.name.clone(),
        caller_reference: z.caller_reference.clone(),
        comment: z.comment.clone(),
        count: z.record_sets.len(),
        name_servers: z.name_servers.clone(),
        vpcs: z.vpcs.clone(),
    }
}

/// A stable id for a zone from the files: `Z` and 20 characters of its origin's digest.
fn file_zone_id(origin: &[u8]) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, &name::to_lowercase(origin));
    let text = data_encoding::BASE32_NOPAD.encode(d.as_ref());
    format!("Z{}", &text[..20])
}

fn hosted_zone_xml(out: &mut String, z: &Listed) {
    out.push_str("<HostedZone>");
    leaf(out, "Id", &format!("/hostedzone/{}", z.id));
    leaf(out, "Name", &z.name);
    leaf(out, "CallerReference", &z.caller_reference);
    out.push_str("<Config>");
    opt_leaf(out, "Comment", z.comment.as_deref());
    let _ = write!(
        out,
        "<PrivateZone>{}</PrivateZone></Config>",
        !z.vpcs.is_empty()
    );
    let _ = write!(
        out,
        "<ResourceRecordSetCount>{}</ResourceRecordSetCount>",
        z.count
    );
    out.push_str("</HostedZone>");
}

/// A private hosted zone's VPCs: `<VPC>` in CreateHostedZone's answer, `<VPCs>` in
/// GetHostedZone's.
fn vpcs_xml(out: &mut String, vpcs: &[store::Vpc], element: &str) {
    let many = element == "VPCs";
    if many {
        out.push_str("<VPCs>");
    }
    for v in vpcs {
        out.push_str("<VPC>");
        leaf(out, "VPCRegion", &v.region);
        leaf(out, "VPCId", &v.id);
        out.push_str("</VPC>");
        if !many {
            break;
        }
    }
    if many {
        out.push_str("</VPCs>");
    }
}

fn delegation_set_xml(out: &mut String, z: &Listed) {
    out.push_str("<DelegationSet><NameServers>");
    for ns in &z.name_servers {
        // Route 53 lists its name servers without the final dot.
        leaf(out, "NameServer", ns.trim_end_matches('.'));
    }
    out.push_str("</NameServers></DelegationSet>");
}

pub(super) fn change_info_xml(out: &mut String, c: &ChangeInfo) {
    out.push_str("<ChangeInfo>");
    leaf(out, "Id", &format!("/change/{}", c.id));
    // A change is answered only once it is durable and served (and its NOTIFYs sent).
    leaf(out, "Status", "INSYNC");
    leaf(out, "SubmittedAt", &xml::timestamp(c.submitted_at));
    opt_leaf(out, "Comment", c.comment.as_deref());
    out.push_str("</ChangeInfo>");
}

fn change_info(written: &Written) -> String {
    let mut out = String::new();
    match written {
        Written::Zone(_, c) | Written::Change(c) | Written::Ksk(_, c) => {
            change_info_xml(&mut out, c)
        }
        Written::Tags
        | Written::HealthCheck(..)
        | Written::Deleted
        | Written::Cidr(..)
        | Written::Nothing => {}
    }
    out
}

pub(super) fn bare_id<'a>(id: &'a str, prefix: &str) -> &'a str {
    id.trim_start_matches('/')
        .strip_prefix(prefix)
        .unwrap_or(id)
        .trim_start_matches('/')
}

async fn create_hosted_zone(api: &Api, body: &[u8]) -> Result<Reply, ApiError> {
    let req = xml::parse(body, "CreateHostedZoneRequest")?;
    let name = required(&req, "Name")?;
    let caller_reference = required(&req, "CallerReference")?;
    if caller_reference.is_empty() || caller_reference.chars().count() > 128 {
        return Err(ApiError::invalid_input(
            "CallerReference must be 1 to 128 characters",
        ));
    }
    // A VPC makes it a private hosted zone (Route 53 takes PrivateZone from the VPC's
    // presence, not from HostedZoneConfig).
    let vpc = match req.child("VPC") {
        None => None,
        Some(v) => Some(store::Vpc {
            id: v
                .text_of("VPCId")
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .ok_or_else(|| ApiError::invalid_input("VPC needs VPCId"))?,
            region: v
                .text_of("VPCRegion")
                .map(|t| t.trim().to_string())
                .ok_or_else(|| ApiError::invalid_input("VPC needs VPCRegion"))?,
        }),
    };
    if vpc.is_none()
        && req
            .child("HostedZoneConfig")
            .and_then(|c| c.text_of("PrivateZone"))
            .is_some_and(|p| p == "true")
    {
        return Err(ApiError::invalid_input(
            "a private hosted zone needs a VPC (VPCRegion and VPCId)",
        ));
    }
    if req.child("DelegationSetId").is_some() {
        return Err(ApiError::new(
            400,
            "NoSuchDelegationSet",
            "reusable delegation sets are not supported; new zones take the name servers of [api] name_servers",
        ));
    }
    let comment = req
        .child("HostedZoneConfig")
        .and_then(|c| c.text_of("Comment"))
        .map(str::to_string);
    let written = api
        .store
        .write(Write::CreateZone {
            name,
            caller_reference,
            comment,
            vpc,
        })
        .await?;
    let Written::Zone(zone, change) = written else {
        return Err(ApiError::internal("unexpected store answer"));
    };
    let l = listed(&zone);
    let mut body = String::new();
    hosted_zone_xml(&mut body, &l);
    change_info_xml(&mut body, &change);
    if l.vpcs.is_empty() {
        delegation_set_xml(&mut body, &l);
    } else {
        vpcs_xml(&mut body, &l.vpcs, "VPC");
    }
    Ok(Reply {
        status: 201,
        body: document("CreateHostedZoneResponse", &body),
        location: Some(format!(
            "https://route53.amazonaws.com/2013-04-01/hostedzone/{}",
            zone.id
        )),
    })
}

fn required(el: &Element, name: &str) -> Result<String, ApiError> {
    el.text_of(name)
        .map(|t| t.trim().to_string())
        .ok_or_else(|| ApiError::invalid_input(format!("{} needs {name}", el.name)))
}

fn find(api: &Api, id: &str) -> Result<Listed, ApiError> {
    let id = bare_id(id, "hostedzone/");
    all_zones(api)
        .into_iter()
        .find(|z| z.id == id)
        .ok_or_else(|| ApiError::no_such_zone(id))
}

fn get_hosted_zone(api: &Api, id: &str) -> Result<Reply, ApiError> {
    let z = find(api, id)?;
    let mut body = String::new();
    hosted_zone_xml(&mut body, &z);
    if !z.vpcs.is_empty() {
        // Route 53 gives a private hosted zone no delegation set.
        vpcs_xml(&mut body, &z.vpcs, "VPCs");
    } else if !z.name_servers.is_empty() {
        delegation_set_xml(&mut body, &z);
    }
    ok(document("GetHostedZoneResponse", &body))
}

/// `maxitems`: Route 53 takes up to `cap`, and the default when absent.
fn max_items(
    query: &BTreeMap<String, String>,
    default: usize,
    cap: usize,
) -> Result<usize, ApiError> {
    match query.get("maxitems") {
        None => Ok(default),
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|n| *n >= 1)
            .map(|n| n.min(cap))
            .ok_or_else(|| {
                ApiError::invalid_input(format!("MaxItems {t:?} is not a positive number"))
            }),
    }
}

fn list_hosted_zones(api: &Api, query: &BTreeMap<String, String>) -> Result<Reply, ApiError> {
    let max = max_items(query, 100, 100)?;
    let zones = all_zones(api);
    let start = match query.get("marker") {
        Some(m) => zones.iter().position(|z| z.id == *m).ok_or_else(|| {
            ApiError::invalid_input(format!("marker {m} is not a hosted zone id"))
        })?,
        None => 0,
    };
    let page = &zones[start..(start + max).min(zones.len())];
    let next = zones.get(start + max);
    let mut body = String::from("<HostedZones>");
    page.iter().for_each(|z| hosted_zone_xml(&mut body, z));
    body.push_str("</HostedZones>");
    // Required in the model: empty on the first page.
    leaf(
        &mut body,
        "Marker",
        query.get("marker").map_or("", String::as_str),
    );
    let _ = write!(body, "<IsTruncated>{}</IsTruncated>", next.is_some());
    if let Some(n) = next {
        leaf(&mut body, "NextMarker", &n.id);
    }
    let _ = write!(body, "<MaxItems>{max}</MaxItems>");
    ok(document("ListHostedZonesResponse", &body))
}

fn list_by_name(api: &Api, query: &BTreeMap<String, String>) -> Result<Reply, ApiError> {
    let max = max_items(query, 100, 100)?;
    let mut zones = all_zones(api);
    let order = |z: &Listed| {
        (
            store::reversed_labels(&store::key_name(&z.name)),
            z.id.clone(),
        )
    };
    zones.sort_by_key(order);
    let start_name = query.get("dnsname");
    let start_id = query.get("hostedzoneid");
    if start_id.is_some() && start_name.is_none() {
        return Err(ApiError::invalid_input("HostedZoneId needs DNSName"));
    }
    let from = start_name.map(|n| {
        (
            store::reversed_labels(&store::key_name(n)),
            start_id
                .map(|i| bare_id(i, "hostedzone/").to_string())
                .unwrap_or_default(),
        )
    });
    let start = from
        .as_ref()
        .map(|f| {
            zones
                .iter()
                .position(|z| order(z) >= *f)
                .unwrap_or(zones.len())
        })
        .unwrap_or(0);
    let page = &zones[start..(start + max).min(zones.len())];
    let next = zones.get(start + max);
    let mut body = String::from("<HostedZones>");
    page.iter().for_each(|z| hosted_zone_xml(&mut body, z));
    body.push_str("</HostedZones>");
    opt_leaf(&mut body, "DNSName", start_name.map(String::as_str));
    opt_leaf(&mut body, "HostedZoneId", start_id.map(String::as_str));
    let _ = write!(body, "<IsTruncated>{}</IsTruncated>", next.is_some());
    if let Some(n) = next {
        leaf(&mut body, "NextDNSName", &n.name);
        leaf(&mut body, "NextHostedZoneId", &n.id);
    }
    let _ = write!(body, "<MaxItems>{max}</MaxItems>");
    ok(document("ListHostedZonesByNameResponse", &body))
}

async fn change_record_sets(api: &Api, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let id = bare_id(id, "hostedzone/").to_string();
    let req = xml::parse(body, "ChangeResourceRecordSetsRequest")?;
    let batch_el = req.child("ChangeBatch").ok_or_else(|| {
        ApiError::invalid_input("ChangeResourceRecordSetsRequest needs ChangeBatch")
    })?;
    let batch: ChangeBatch = serde_json::from_value(xml::to_json(batch_el))
        .map_err(|e| ApiError::invalid_input(format!("ChangeBatch: {e}")))?;
    if !api.store.lock().state.zones.contains_key(&id) {
        // A zone from the files: say so rather than "no such zone".
        if let Ok(z) = find(api, &id) {
            return Err(ApiError::invalid_input(format!(
                "{} is {}; change it there and reload",
                z.name,
                z.comment.unwrap_or_default()
            )));
        }
    }
    let mut changes = batch.changes;
    for c in &mut changes {
        let set = &mut c.resource_record_set;
        let wire = store::key_name(&set.name);
        if !wire.is_empty() {
            set.name = store::route53_name(&wire);
        }
        set.rtype = set.rtype.to_ascii_uppercase();
    }
    let written = api
        .store
        .write(Write::Change {
            zone_id: id,
            comment: batch.comment,
            changes,
        })
        .await?;
    ok(document(
        "ChangeResourceRecordSetsResponse",
        &change_info(&written),
    ))
}

fn list_record_sets(
    api: &Api,
    id: &str,
    query: &BTreeMap<String, String>,
) -> Result<Reply, ApiError> {
    let id = bare_id(id, "hostedzone/");
    let max = max_items(query, 300, 300)?;
    let start_name = query.get("name");
    let start_type = query.get("type").map(|t| t.to_ascii_uppercase());
    let start_id = query.get("identifier");
    if start_type.is_some() && start_name.is_none() {
        return Err(ApiError::invalid_input(
            "StartRecordType needs StartRecordName",
        ));
    }
    if start_id.is_some() && start_type.is_none() {
        return Err(ApiError::invalid_input(
            "StartRecordIdentifier needs StartRecordType",
        ));
    }
    // Where the page starts in Route 53's order: the first set at or after the given name
    // (type, identifier). The empty type sorts before every type, no identifier before any.
    let start = store::OrderKey {
        labels: start_name
            .map(|n| store::reversed_labels(&store::key_name(n)))
            .unwrap_or_default(),
        rtype: start_type.unwrap_or_default(),
        set_identifier: start_id.cloned(),
    };
    // One more than the page: whether it is truncated, and where the next one starts.
    let page: Vec<ResourceRecordSet> = {
        let inner = api.store.lock();
        match inner.state.zones.get(id) {
            Some(z) => z
                .record_sets
                .from_key(&start)
                .take(max + 1)
                .map(|(_, s)| z.listed(s))
                .collect(),
            None => {
                drop(inner);
                let z = find(api, id)?;
                file_zone_record_sets(api, &z.name)
                    .into_iter()
                    .filter(|s| store::OrderKey::of(s) >= start)
                    .take(max + 1)
                    .collect()
            }
        }
    };
    let shown = page.len().min(max);
    let mut body = String::from("<ResourceRecordSets>");
    page[..shown]
        .iter()
        .for_each(|s| xml::record_set(&mut body, s));
    body.push_str("</ResourceRecordSets>");
    let next = page.get(shown);
    let _ = write!(body, "<IsTruncated>{}</IsTruncated>", next.is_some());
    if let Some(n) = next {
        leaf(&mut body, "NextRecordName", &n.name);
        leaf(&mut body, "NextRecordType", &n.rtype);
        opt_leaf(
            &mut body,
            "NextRecordIdentifier",
            n.set_identifier.as_deref(),
        );
    }
    let _ = write!(body, "<MaxItems>{max}</MaxItems>");
    ok(document("ListResourceRecordSetsResponse", &body))
}

/// A zone from the configuration, read-only: its records as a standard secondary receives
/// them (routing-policy names as their static rendering), grouped into record sets.
fn file_zone_record_sets(api: &Api, name: &str) -> Vec<ResourceRecordSet> {
    let snapshot = api.publisher.snapshot.load();
    let origin = store::key_name(name);
    let Some(zone) = snapshot.catalog.zone_by_origin(&origin) else {
        return Vec::new();
    };
    let mut sets: BTreeMap<(Vec<u8>, u16), ResourceRecordSet> = BTreeMap::new();
    let mut add = |rr: crate::transfer::records::Rr<'_>| {
        // The signer's records are not record sets: Route 53 lists none of them.
        if crate::dnssec::signer_made(rr.rtype) {
            return;
        }
        let set = sets
            .entry((rr.owner.to_vec(), rr.rtype))
            .or_insert_with(|| {
                ResourceRecordSet::simple(
                    store::route53_name(&rr.owner),
                    crate::wire::types::mnemonic(rr.rtype),
                    i64::from(rr.ttl),
                    Vec::new(),
                )
            });
        let value = crate::answer::explain::rdata_text(rr.rtype, &rr.rdata);
        if let Some(values) = set.resource_records.as_mut() {
            values.push(ResourceRecord { value });
        }
    };
    if !zone.servfail {
        add(crate::transfer::records::soa(zone));
        crate::transfer::records::for_each(
            zone,
            &snapshot.inputs.load_balancers,
            false,
            |_, rr| add(rr),
        );
    }
    let mut out: Vec<ResourceRecordSet> = sets.into_values().collect();
    out.sort_by_cached_key(store::OrderKey::of);
    out
}

fn get_change(api: &Api, id: &str) -> Result<Reply, ApiError> {
    let id = bare_id(id, "change/");
    let inner = api.store.lock();
    let (_, info) = inner.state.changes.get(id).ok_or_else(|| {
        ApiError::new(
            404,
            "NoSuchChange",
            format!("A change with the specified change ID does not exist: {id}"),
        )
    })?;
    let mut body = String::new();
    change_info_xml(&mut body, info);
    ok(document("GetChangeResponse", &body))
}

fn tag_zone(api: &Api, kind: &str, id: &str) -> Result<String, ApiError> {
    match kind {
        "hostedzone" => {
            let id = bare_id(id, "hostedzone/").to_string();
            if api.store.lock().state.zones.contains_key(&id) {
                Ok(id)
            } else {
                Err(ApiError::no_such_zone(&id))
            }
        }
        "healthcheck" => {
            if api.store.lock().state.health_checks.contains_key(id) {
                Ok(id.to_string())
            } else {
                Err(super::health::no_such(id))
            }
        }
        other => Err(ApiError::invalid_input(format!(
            "ResourceType {other:?} must be hostedzone or healthcheck"
        ))),
    }
}

fn list_tags(api: &Api, kind: &str, id: &str) -> Result<Reply, ApiError> {
    let id = tag_zone(api, kind, id)?;
    let inner = api.store.lock();
    let tags = match (
        inner.state.zones.get(&id),
        inner.state.health_checks.get(&id),
    ) {
        (Some(z), _) => &z.tags,
        (None, Some(h)) => &h.tags,
        (None, None) => return Err(ApiError::no_such_zone(&id)),
    };
    let mut body = format!("<ResourceTagSet><ResourceType>{kind}</ResourceType>");
    leaf(&mut body, "ResourceId", &id);
    body.push_str("<Tags>");
    for (k, v) in tags {
        body.push_str("<Tag>");
        leaf(&mut body, "Key", k);
        leaf(&mut body, "Value", v);
        body.push_str("</Tag>");
    }
    body.push_str("</Tags></ResourceTagSet>");
    ok(document("ListTagsForResourceResponse", &body))
}

async fn change_tags(api: &Api, kind: &str, id: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let id = tag_zone(api, kind, id)?;
    let req = xml::parse(body, "ChangeTagsForResourceRequest")?;
    let add: BTreeMap<String, String> = req
        .child("AddTags")
        .map(|a| {
            a.children
                .iter()
                .filter_map(|t| {
                    Some((
                        t.text_of("Key")?.to_string(),
                        t.text_of("Value").unwrap_or("").to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let remove: Vec<String> = req
        .child("RemoveTagKeys")
        .map(|r| r.children.iter().map(|k| k.text.clone()).collect())
        .unwrap_or_default();
    if add.len() > 10 || remove.len() > 10 {
        return Err(ApiError::invalid_input(
            "at most 10 tags can be added or removed at once",
        ));
    }
    api.store
        .write(Write::Tags {
            zone_id: id,
            add,
            remove,
        })
        .await?;
    ok(document("ChangeTagsForResourceResponse", ""))
}
