//! `TestDNSAnswer`: what this server answers right now — its live snapshot, with the probes'
//! health — for a resolver address and an optional EDNS Client Subnet, through the same code
//! as every query. The response carries Route 53's fields, and (outside the model, so SDKs
//! ignore it) an `Explanation` element with `policydns explain`'s account of the decision,
//! which `policydns explain --server` prints.

use std::collections::BTreeMap;
use std::net::IpAddr;

use hickory_proto::op::Message;

use super::error::ApiError;
use super::ops::Reply;
use super::xml::{document, leaf};
use super::Api;
use crate::wire::{name, types, Transport};

pub(super) fn test_dns_answer(
    api: &Api,
    query: &BTreeMap<String, String>,
) -> Result<Reply, ApiError> {
    let get = |k: &str| query.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let record =
        get("recordname").ok_or_else(|| ApiError::invalid_input("RecordName is required"))?;
    let rtype_text =
        get("recordtype").ok_or_else(|| ApiError::invalid_input("RecordType is required"))?;
    let qtype = types::from_mnemonic(rtype_text).ok_or_else(|| {
        ApiError::invalid_input(format!("RecordType {rtype_text:?} is not a record type"))
    })?;
    let client: IpAddr = match get("resolverip") {
        Some(ip) => ip
            .parse()
            .map_err(|_| ApiError::invalid_input(format!("ResolverIP {ip:?} is not an address")))?,
        None => IpAddr::from([127, 0, 0, 1]),
    };
    let ecs = match get("edns0clientsubnetip") {
        None => None,
        Some(ip) => {
            let addr: IpAddr = ip.parse().map_err(|_| {
                ApiError::invalid_input(format!("EDNS0ClientSubnetIP {ip:?} is not an address"))
            })?;
            let full = if addr.is_ipv4() { 32 } else { 128 };
            // Route 53's default mask: /24 for IPv4, /48 for IPv6... as resolvers send.
            let default = if addr.is_ipv4() { 24 } else { 48 };
            let mask = match get("edns0clientsubnetmask") {
                None => default,
                Some(m) => m.parse::<u8>().ok().filter(|m| *m <= full).ok_or_else(|| {
                    ApiError::invalid_input(format!(
                        "EDNS0ClientSubnetMask {m:?} must be 0 to {full}"
                    ))
                })?,
            };
            Some((addr, mask))
        }
    };
    let wire = crate::store::key_name(record);
    if wire.is_empty() {
        return Err(ApiError::invalid_input(format!(
            "RecordName {record:?} is not a domain name"
        )));
    }
    // The SDKs always send the zone; the answer comes from the whole server either way, as a
    // resolver would get it, but a zone given must hold the name.
    if let Some(id) = get("hostedzoneid") {
        let inner = api.store.lock();
        if let Some(z) = inner.state.zones.get(id) {
            if !name::is_subdomain(&name::to_lowercase(&wire), &z.origin()) {
                return Err(ApiError::invalid_input(format!(
                    "RecordName {record} is not in hosted zone {id} ({})",
                    z.name
                )));
            }
        }
    }
    let packet = query_packet(&wire, qtype, ecs);
    let snapshot = api.publisher.snapshot.load();
    let mut out = vec![0u8; 65535];
    let n = crate::answer::respond_uncounted(
        &snapshot,
        &packet,
        Transport::Tcp,
        Some(client),
        &mut out,
    );
    let reply = Message::from_vec(&out[..n])
        .map_err(|e| ApiError::internal(format!("our own answer does not decode: {e}")))?;
    let mut body = String::new();
    leaf(&mut body, "Nameserver", "policydns");
    leaf(&mut body, "RecordName", &name::to_text(&wire));
    leaf(&mut body, "RecordType", &types::mnemonic(qtype));
    body.push_str("<RecordData>");
    for r in reply
        .answers
        .iter()
        .filter(|r| u16::from(r.record_type()) == qtype)
    {
        leaf(&mut body, "RecordDataEntry", &r.data.to_string());
    }
    body.push_str("</RecordData>");
    let rcode = match u16::from(reply.metadata.response_code) {
        0 => "NOERROR".to_string(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        n => format!("RCODE{n}"),
    };
    leaf(&mut body, "ResponseCode", &rcode);
    leaf(&mut body, "Protocol", "UDP");
    let text =
        crate::answer::explain::explain(&snapshot, &name::to_text(&wire), qtype, client, ecs);
    leaf(&mut body, "Explanation", &text);
    Ok(Reply {
        status: 200,
        body: document("TestDNSAnswerResponse", &body),
        location: None,
    })
}

/// A query as a resolver sends it: RD clear, EDNS with a 1232 payload, the client subnet
/// when given.
fn query_packet(wire: &[u8], qtype: u16, ecs: Option<(IpAddr, u8)>) -> Vec<u8> {
    let mut p = vec![0x50, 0x44, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1];
    p.extend_from_slice(wire);
    p.extend_from_slice(&qtype.to_be_bytes());
    p.extend_from_slice(&[0, 1]);
    let mut rdata = Vec::new();
    if let Some((addr, prefix)) = ecs {
        let (family, bytes): (u16, Vec<u8>) = match addr {
            IpAddr::V4(a) => (1, a.octets().to_vec()),
            IpAddr::V6(a) => (2, a.octets().to_vec()),
        };
        let n = (prefix as usize).div_ceil(8);
        rdata.extend_from_slice(&8u16.to_be_bytes());
        rdata.extend_from_slice(&((4 + n) as u16).to_be_bytes());
        rdata.extend_from_slice(&family.to_be_bytes());
        rdata.extend_from_slice(&[prefix, 0]);
        rdata.extend_from_slice(&bytes[..n]);
    }
    p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    p.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    p.extend_from_slice(&rdata);
    p
}
