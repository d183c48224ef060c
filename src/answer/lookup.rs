//! Where a name is in one zone (RFC 1034 §4.3.2 step 3): the node that answers it, the zone
//! cut or DNAME above it, or nothing. Each step is one hash probe; nothing is written.

use crate::wire::{name, types};
use crate::zone::{flags, Zone, NONE};

/// What the name lookup decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Found {
    /// Answer from this node under the queried name (the node may be a wildcard).
    Node(u32),
    /// Referral from this zone cut.
    Referral(u32),
    /// Substitute with the DNAME at this node.
    Dname(u32),
    NxDomain,
}

/// Exact match, or the closest encloser and then a cut, a DNAME or a wildcard below it (RFC
/// 4592 §3.3.1).
pub(super) fn lookup(zone: &Zone, lower: &[u8], qtype: u16) -> Found {
    let shadowed = |s: u32| {
        if zone.node(s).is_cut() {
            Found::Referral(s)
        } else {
            Found::Dname(s)
        }
    };
    if let Some(id) = zone.find(lower) {
        let node = zone.node(id);
        if node.shadow != NONE {
            return shadowed(node.shadow);
        }
        // The DS RRset at a cut is the parent side's data (RFC 4035 §3.1.4.1).
        if node.is_cut() && qtype != types::DS {
            return Found::Referral(id);
        }
        return Found::Node(id);
    }
    let mut cur = lower;
    while let Some(parent) = name::parent(cur) {
        cur = parent;
        let Some(id) = zone.find(cur) else { continue };
        let node = zone.node(id);
        if node.shadow != NONE {
            return shadowed(node.shadow);
        }
        if node.is_cut() {
            return Found::Referral(id);
        }
        if node.flags & flags::DNAME != 0 {
            return Found::Dname(id);
        }
        if node.wildcard != NONE {
            return Found::Node(node.wildcard);
        }
        return Found::NxDomain;
    }
    Found::NxDomain
}
