//! The API's XML: requests read into a small element tree (bounded in depth and size), and
//! responses written element by element in the order botocore's service model gives.
//!
//! A `ResourceRecordSet` in XML carries the same fields as in Route 53's JSON, so requests are
//! turned into the JSON shape (lists, numbers and booleans where the model says so) and read
//! by the same `serde` types as `--route53` files: one definition, one set of messages.

use std::borrow::Cow;
use std::fmt::Write as _;

use quick_xml::events::Event;

use super::error::ApiError;
use crate::route53::ResourceRecordSet;

/// Route 53's XML namespace.
pub const NS: &str = "https://route53.amazonaws.com/doc/2013-04-01/";

const MAX_DEPTH: usize = 16;
const MAX_ELEMENTS: usize = 200_000;

/// One element: its local name, its text, its children.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// A child's text, if the child is there.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// Parses a request body; the root must be `root`.
pub fn parse(body: &[u8], root: &str) -> Result<Element, ApiError> {
    let bad = |why: String| ApiError::new(400, "MalformedInput", why);
    let mut reader = quick_xml::Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Element> = Vec::new();
    let mut count = 0usize;
    let mut done: Option<Element> = None;
    let mut buf = Vec::new();
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| bad(format!("the request body is not XML: {e}")))?;
        match event {
            Event::Start(e) | Event::Empty(e) if done.is_some() => {
                let _ = e;
                return Err(bad("the request body has more than one root element".into()));
            }
            Event::Start(e) => {
                count += 1;
                if stack.len() >= MAX_DEPTH || count > MAX_ELEMENTS {
                    return Err(bad(
                        "the request body is nested too deeply or too large".into()
                    ));
                }
                stack.push(Element {
                    name: local(e.local_name().as_ref()),
                    ..Default::default()
                });
            }
            Event::Empty(e) => {
                count += 1;
                let el = Element {
                    name: local(e.local_name().as_ref()),
                    ..Default::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => done = Some(el),
                }
            }
            Event::Text(t) => {
                let text = t
                    .unescape()
                    .map_err(|e| bad(format!("the request body is not XML: {e}")))?;
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&text);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| bad("unbalanced XML".into()))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => done = Some(el),
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    let el = done.ok_or_else(|| bad("the request body is empty".into()))?;
    if el.name != root {
        return Err(bad(format!("expected a {root} document, not {}", el.name)));
    }
    Ok(el)
}

fn local(name: &[u8]) -> String {
    String::from_utf8_lossy(name).into_owned()
}

/// Elements that are lists in the model (their children are the items), numbers and booleans.
const LISTS: &[&str] = &["ResourceRecords", "Changes"];
const NUMBERS: &[&str] = &["Weight", "TTL", "Bias"];
const BOOLEANS: &[&str] = &["MultiValueAnswer", "EvaluateTargetHealth"];

/// An element as the JSON the AWS CLI would write for the same shape.
pub fn to_json(el: &Element) -> serde_json::Value {
    use serde_json::Value;
    if LISTS.contains(&el.name.as_str()) {
        return Value::Array(el.children.iter().map(to_json).collect());
    }
    if el.children.is_empty() {
        if NUMBERS.contains(&el.name.as_str()) {
            if let Ok(n) = el.text.trim().parse::<i64>() {
                return Value::from(n);
            }
        }
        if BOOLEANS.contains(&el.name.as_str()) {
            match el.text.trim() {
                "true" => return Value::Bool(true),
                "false" => return Value::Bool(false),
                _ => {}
            }
        }
        return Value::String(el.text.clone());
    }
    let mut map = serde_json::Map::new();
    for c in &el.children {
        map.insert(c.name.clone(), to_json(c));
    }
    Value::Object(map)
}

/// Escapes text for an element or attribute.
pub fn esc(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Writes `<name>text</name>`.
pub fn leaf(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>{}</{name}>", esc(text));
}

/// Writes `<name>text</name>` when there is a text.
pub fn opt_leaf(out: &mut String, name: &str, text: Option<&str>) {
    if let Some(t) = text {
        leaf(out, name, t);
    }
}

/// A response document: the declaration and the root element in Route 53's namespace.
pub fn document(root: &str, body: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{NS}\">{body}</{root}>")
}

/// One record set, in the model's member order.
pub fn record_set(out: &mut String, s: &ResourceRecordSet) {
    out.push_str("<ResourceRecordSet>");
    leaf(out, "Name", &s.name);
    leaf(out, "Type", &s.rtype);
    opt_leaf(out, "SetIdentifier", s.set_identifier.as_deref());
    opt_leaf(out, "Weight", s.weight.map(|w| w.to_string()).as_deref());
    opt_leaf(out, "Region", s.region.as_deref());
    if let Some(g) = &s.geo_location {
        out.push_str("<GeoLocation>");
        opt_leaf(out, "ContinentCode", g.continent_code.as_deref());
        opt_leaf(out, "CountryCode", g.country_code.as_deref());
        opt_leaf(out, "SubdivisionCode", g.subdivision_code.as_deref());
        out.push_str("</GeoLocation>");
    }
    opt_leaf(out, "Failover", s.failover.as_deref());
    opt_leaf(
        out,
        "MultiValueAnswer",
        s.multi_value_answer.map(|b| b.to_string()).as_deref(),
    );
    opt_leaf(out, "TTL", s.ttl.map(|t| t.to_string()).as_deref());
    if let Some(rrs) = &s.resource_records {
        out.push_str("<ResourceRecords>");
        for r in rrs {
            out.push_str("<ResourceRecord>");
            leaf(out, "Value", &r.value);
            out.push_str("</ResourceRecord>");
        }
        out.push_str("</ResourceRecords>");
    }
    if let Some(a) = &s.alias_target {
        out.push_str("<AliasTarget>");
        leaf(out, "HostedZoneId", &a.hosted_zone_id);
        leaf(out, "DNSName", &a.dns_name);
        leaf(
            out,
            "EvaluateTargetHealth",
            &a.evaluate_target_health.to_string(),
        );
        out.push_str("</AliasTarget>");
    }
    opt_leaf(out, "HealthCheckId", s.health_check_id.as_deref());
    opt_leaf(
        out,
        "TrafficPolicyInstanceId",
        s.traffic_policy_instance_id.as_deref(),
    );
    if let Some(c) = &s.cidr_routing_config {
        out.push_str("<CidrRoutingConfig>");
        leaf(out, "CollectionId", &c.collection_id);
        leaf(out, "LocationName", &c.location_name);
        out.push_str("</CidrRoutingConfig>");
    }
    if let Some(g) = &s.geo_proximity_location {
        out.push_str("<GeoProximityLocation>");
        opt_leaf(out, "AWSRegion", g.aws_region.as_deref());
        opt_leaf(out, "LocalZoneGroup", g.local_zone_group.as_deref());
        if let Some(c) = &g.coordinates {
            out.push_str("<Coordinates>");
            leaf(out, "Latitude", &degrees(&c.latitude));
            leaf(out, "Longitude", &degrees(&c.longitude));
            out.push_str("</Coordinates>");
        }
        opt_leaf(out, "Bias", g.bias.map(|b| b.to_string()).as_deref());
        out.push_str("</GeoProximityLocation>");
    }
    out.push_str("</ResourceRecordSet>");
}

fn degrees(d: &crate::route53::Degrees) -> String {
    match d {
        crate::route53::Degrees::Number(n) => n.to_string(),
        crate::route53::Degrees::Text(t) => t.clone(),
    }
}

/// ISO 8601 with milliseconds, as Route 53 writes `SubmittedAt`.
pub fn timestamp(unix: i64) -> String {
    crate::clock::rfc3339_millis(unix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_batch_reads_as_the_cli_json_would() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>CREATE</Action><ResourceRecordSet><Name>w.z.test.</Name><Type>A</Type><SetIdentifier>a</SetIdentifier><Weight>3</Weight><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>192.0.2.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>"#;
        let el = parse(body, "ChangeResourceRecordSetsRequest").unwrap();
        let batch = to_json(el.child("ChangeBatch").unwrap());
        let batch: crate::route53::ChangeBatch = serde_json::from_value(batch).unwrap();
        let set = &batch.changes[0].resource_record_set;
        assert_eq!(set.weight, Some(3));
        assert_eq!(set.ttl, Some(60));
        assert_eq!(set.resource_records.as_ref().unwrap()[0].value, "192.0.2.1");
    }

    #[test]
    fn malformed_bodies_are_refused_with_malformed_input() {
        for body in [
            &b"<a><b></a>"[..],
            b"",
            b"not xml",
            b"<Other/>",
            b"<a/><a/>",
        ] {
            let e = parse(body, "a").unwrap_err();
            assert_eq!(
                e.code,
                "MalformedInput",
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert_eq!(
            parse(deep.as_bytes(), "a").unwrap_err().code,
            "MalformedInput"
        );
    }

    #[test]
    fn timestamps_are_iso_8601_utc() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(1_440_938_160), "2015-08-30T12:36:00.000Z");
    }

    #[test]
    fn text_is_escaped() {
        let mut out = String::new();
        leaf(&mut out, "Value", "\"a<b&c\"");
        assert_eq!(out, "<Value>&quot;a&lt;b&amp;c&quot;</Value>");
    }
}
