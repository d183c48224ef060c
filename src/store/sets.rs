//! A hosted zone's record sets, kept in Route 53's order and found by identity without a scan,
//! and the planning of a change batch against them: what each touched identity holds once the
//! batch applies, worked out without copying the zone, so a one-record change to a zone of a
//! hundred thousand costs what a one-record change to a small one does.

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{describe, key_name, reversed_labels};
use crate::route53::{Action, Change, ResourceRecordSet};
use crate::wire::name;

/// A record set's identity in Route 53's listing order: the name's labels top first
/// (lowercase), the type (uppercase), the set identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderKey {
    pub labels: Vec<Vec<u8>>,
    pub rtype: String,
    pub set_identifier: Option<String>,
}

impl OrderKey {
    pub fn of(s: &ResourceRecordSet) -> OrderKey {
        OrderKey {
            labels: reversed_labels(&key_name(&s.name)),
            rtype: s.rtype.to_ascii_uppercase(),
            set_identifier: s.set_identifier.clone(),
        }
    }

    /// The owner in lowercase wire form.
    pub fn owner(&self) -> Vec<u8> {
        let mut wire = Vec::new();
        for l in self.labels.iter().rev() {
            wire.push(l.len() as u8);
            wire.extend_from_slice(l);
        }
        wire.push(0);
        wire
    }

    /// The first key of a name and type (the set without identifier sorts first).
    fn first_of(labels: &[Vec<u8>], rtype: &str) -> OrderKey {
        OrderKey {
            labels: labels.to_vec(),
            rtype: rtype.to_string(),
            set_identifier: None,
        }
    }
}

/// A name and type: the unit a zone compiles (one RRset, or one routing-policy group).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    pub labels: Vec<Vec<u8>>,
    pub rtype: String,
}

impl From<&OrderKey> for GroupKey {
    fn from(k: &OrderKey) -> Self {
        GroupKey {
            labels: k.labels.clone(),
            rtype: k.rtype.clone(),
        }
    }
}

/// The record sets of a hosted zone, in Route 53's order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordSets {
    map: BTreeMap<OrderKey, ResourceRecordSet>,
}

impl RecordSets {
    pub fn from_sets(sets: impl IntoIterator<Item = ResourceRecordSet>) -> RecordSets {
        RecordSets {
            map: sets.into_iter().map(|s| (OrderKey::of(&s), s)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// In Route 53's order.
    pub fn iter(&self) -> impl Iterator<Item = &ResourceRecordSet> + '_ {
        self.map.values()
    }

    pub fn get(&self, key: &OrderKey) -> Option<&ResourceRecordSet> {
        self.map.get(key)
    }

    /// From `key` on (inclusive), in Route 53's order: a listing page.
    pub fn from_key<'a>(
        &'a self,
        key: &OrderKey,
    ) -> impl Iterator<Item = (&'a OrderKey, &'a ResourceRecordSet)> + 'a {
        self.map
            .range((Bound::Included(key.clone()), Bound::Unbounded))
    }

    /// The sets of one name and type (several when a routing policy decides between them).
    pub fn group<'a>(&'a self, g: &GroupKey) -> impl Iterator<Item = &'a ResourceRecordSet> + 'a {
        let rtype = g.rtype.clone();
        let labels = g.labels.clone();
        self.map
            .range(OrderKey::first_of(&g.labels, &g.rtype)..)
            .take_while(move |(k, _)| k.labels == labels && k.rtype == rtype)
            .map(|(_, s)| s)
    }

    /// Every set at one name (labels top first), in Route 53's order.
    pub fn at_name<'a>(
        &'a self,
        labels: &'a [Vec<u8>],
    ) -> impl Iterator<Item = &'a ResourceRecordSet> + 'a {
        self.map
            .range(OrderKey::first_of(labels, "")..)
            .take_while(move |(k, _)| k.labels == labels)
            .map(|(_, s)| s)
    }

    /// Applies a planned batch.
    pub fn commit(&mut self, plan: Plan) {
        for (key, set) in plan.after {
            match set {
                Some(s) => {
                    self.map.insert(key, s);
                }
                None => {
                    self.map.remove(&key);
                }
            }
        }
    }
}

impl Serialize for RecordSets {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.map.values())
    }
}

impl<'de> Deserialize<'de> for RecordSets {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Vec::<ResourceRecordSet>::deserialize(d).map(RecordSets::from_sets)
    }
}

/// What a batch leaves at each identity it touches (`None`: deleted), checked with Route 53's
/// identity and apex rules; what the record sets say is checked when they are compiled.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub after: BTreeMap<OrderKey, Option<ResourceRecordSet>>,
}

impl Plan {
    /// The names and types whose content the batch changes.
    pub fn groups(&self) -> std::collections::BTreeSet<GroupKey> {
        self.after.keys().map(GroupKey::from).collect()
    }

    /// The sets of a name and type once the batch applies, in Route 53's order.
    pub fn group_after(&self, sets: &RecordSets, g: &GroupKey) -> Vec<ResourceRecordSet> {
        let mut out: BTreeMap<&OrderKey, &ResourceRecordSet> = sets
            .map
            .range(OrderKey::first_of(&g.labels, &g.rtype)..)
            .take_while(|(k, _)| k.labels == g.labels && k.rtype == g.rtype)
            .collect();
        for (k, v) in self
            .after
            .range(OrderKey::first_of(&g.labels, &g.rtype)..)
            .take_while(|(k, _)| k.labels == g.labels && k.rtype == g.rtype)
        {
            match v {
                Some(s) => {
                    out.insert(k, s);
                }
                None => {
                    out.remove(k);
                }
            }
        }
        out.into_values().cloned().collect()
    }

    fn current<'a>(
        &'a self,
        sets: &'a RecordSets,
        key: &OrderKey,
    ) -> Option<&'a ResourceRecordSet> {
        match self.after.get(key) {
            Some(v) => v.as_ref(),
            None => sets.get(key),
        }
    }
}

/// Plans a batch in order, all or nothing, with Route 53's `InvalidChangeBatch` messages.
/// Costs a lookup per change: the zone is neither scanned nor copied.
pub fn plan_changes(
    sets: &RecordSets,
    origin: &[u8],
    changes: &[Change],
) -> Result<Plan, Vec<String>> {
    let mut problems = Vec::new();
    let mut plan = Plan::default();
    let apex = reversed_labels(origin);
    let mut apex_touched = false;
    for change in changes {
        let set = &change.resource_record_set;
        let wire = key_name(&set.name);
        if wire.is_empty() {
            problems.push(format!("{} is not a valid domain name", describe(set)));
            continue;
        }
        if !name::is_subdomain(&wire, origin) {
            problems.push(format!(
                "RRSet with DNS name {} is not permitted in zone {}",
                set.name,
                name::to_text(origin)
            ));
            continue;
        }
        let key = OrderKey::of(set);
        if key.labels == apex && matches!(key.rtype.as_str(), "SOA" | "NS") {
            apex_touched = true;
        }
        let current = plan.current(sets, &key);
        match (change.action, current) {
            (Action::Create, Some(_)) => problems.push(format!(
                "Tried to create resource record set {} but it already exists",
                describe(set)
            )),
            (Action::Create | Action::Upsert, _) => {
                plan.after.insert(key, Some(set.clone()));
            }
            (Action::Delete, None) => problems.push(format!(
                "Tried to delete resource record set {} but it was not found",
                describe(set)
            )),
            (Action::Delete, Some(cur)) => {
                let mut given = set.clone();
                given.name.clone_from(&cur.name);
                given.rtype.clone_from(&cur.rtype);
                if *cur == given {
                    plan.after.insert(key, None);
                } else {
                    problems.push(format!(
                        "Tried to delete resource record set {} but the values provided do not match the current values",
                        describe(set)
                    ));
                }
            }
        }
    }
    if problems.is_empty() && apex_touched {
        for (rtype, message) in [
            ("SOA", "A HostedZone must contain exactly one SOA record."),
            (
                "NS",
                "A HostedZone must contain at least one NS record for the zone itself.",
            ),
        ] {
            let g = GroupKey {
                labels: apex.clone(),
                rtype: rtype.into(),
            };
            if plan.group_after(sets, &g).len() != 1 {
                problems.push(message.to_string());
            }
        }
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}
