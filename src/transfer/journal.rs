//! The history IXFR serves from (RFC 1995): for each reload that changed a zone, the records
//! that left and the records that came, between two serials.

use std::collections::VecDeque;
use std::sync::Arc;

use super::records::Rr;

/// Versions kept per zone. A client further behind gets a full zone (AXFR form).
pub const MAX_CHANGES: usize = 64;

/// Serial number arithmetic (RFC 1982): is `a` newer than `b`?
pub fn serial_gt(a: u32, b: u32) -> bool {
    a != b && (a.wrapping_sub(b) as i32) > 0
}

/// One step of a zone's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The SOA before and after (with their serials).
    pub old_soa: Rr<'static>,
    pub new_soa: Rr<'static>,
    pub removed: Vec<Rr<'static>>,
    pub added: Vec<Rr<'static>>,
}

impl Change {
    pub fn from_serial(&self) -> u32 {
        soa_serial(&self.old_soa.rdata)
    }
    pub fn to_serial(&self) -> u32 {
        soa_serial(&self.new_soa.rdata)
    }
}

/// The serial field of SOA RDATA: the 20 octets of counters end it.
pub fn soa_serial(rdata: &[u8]) -> u32 {
    let at = rdata.len().saturating_sub(20);
    rdata
        .get(at..at + 4)
        .map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap()))
}

/// The differences between two sorted, deduplicated record lists.
pub fn diff(old: &[Rr<'static>], new: &[Rr<'static>]) -> (Vec<Rr<'static>>, Vec<Rr<'static>>) {
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                removed.push(a.clone());
                i += 1;
            }
            (Some(_), Some(b)) => {
                added.push(b.clone());
                j += 1;
            }
            (Some(a), None) => {
                removed.push(a.clone());
                i += 1;
            }
            (None, Some(b)) => {
                added.push(b.clone());
                j += 1;
            }
            (None, None) => break,
        }
    }
    (removed, added)
}

/// A zone's history, oldest first. Immutable; a reload makes a new one sharing the old steps.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    pub changes: VecDeque<Arc<Change>>,
}

impl Journal {
    /// This history plus one step, forgetting the oldest beyond [`MAX_CHANGES`]. A step that
    /// does not start where the history ends restarts the history.
    pub fn with(&self, change: Change) -> Journal {
        let mut changes = self.changes.clone();
        if changes
            .back()
            .is_some_and(|last| last.to_serial() != change.from_serial())
        {
            changes.clear();
        }
        changes.push_back(Arc::new(change));
        while changes.len() > MAX_CHANGES {
            changes.pop_front();
        }
        Journal { changes }
    }

    /// The steps from `from` to `to`, if the history reaches back that far.
    pub fn path(&self, from: u32, to: u32) -> Option<Vec<Arc<Change>>> {
        let start = self.changes.iter().position(|c| c.from_serial() == from)?;
        let steps: Vec<Arc<Change>> = self.changes.iter().skip(start).cloned().collect();
        let end = steps.iter().position(|c| c.to_serial() == to)?;
        Some(steps[..=end].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn rr(owner: &[u8], rdata: &[u8]) -> Rr<'static> {
        Rr {
            owner: Cow::Owned(owner.to_vec()),
            rtype: 1,
            ttl: 300,
            rdata: Cow::Owned(rdata.to_vec()),
        }
    }

    fn soa(serial: u32) -> Rr<'static> {
        let mut rd = vec![0, 0];
        rd.extend_from_slice(&serial.to_be_bytes());
        rd.extend_from_slice(&[0; 16]);
        Rr {
            owner: Cow::Owned(vec![0]),
            rtype: 6,
            ttl: 300,
            rdata: Cow::Owned(rd),
        }
    }

    fn step(from: u32, to: u32) -> Change {
        Change {
            old_soa: soa(from),
            new_soa: soa(to),
            removed: vec![],
            added: vec![],
        }
    }

    #[test]
    fn serials_compare_across_the_wrap() {
        assert!(serial_gt(1, 0xFFFF_FFF0));
        assert!(!serial_gt(0xFFFF_FFF0, 1));
        assert!(serial_gt(2024010102, 2024010101));
        assert!(!serial_gt(7, 7));
    }

    #[test]
    fn diff_finds_removed_and_added_records() {
        let old = vec![
            rr(b"\x01a\x00", &[1, 1, 1, 1]),
            rr(b"\x01b\x00", &[2, 2, 2, 2]),
        ];
        let new = vec![
            rr(b"\x01b\x00", &[2, 2, 2, 2]),
            rr(b"\x01c\x00", &[3, 3, 3, 3]),
        ];
        let (removed, added) = diff(&old, &new);
        assert_eq!(removed, vec![old[0].clone()]);
        assert_eq!(added, vec![new[1].clone()]);
    }

    #[test]
    fn a_ttl_change_is_a_removal_and_an_addition() {
        let old = vec![rr(b"\x01a\x00", &[1, 1, 1, 1])];
        let mut changed = old[0].clone();
        changed.ttl = 60;
        let (removed, added) = diff(&old, std::slice::from_ref(&changed));
        assert_eq!((removed.len(), added.len()), (1, 1));
    }

    #[test]
    fn path_walks_consecutive_steps() {
        let j = Journal::default()
            .with(step(1, 2))
            .with(step(2, 3))
            .with(step(3, 5));
        let p = j.path(2, 5).unwrap();
        assert_eq!(
            p.iter().map(|c| c.to_serial()).collect::<Vec<_>>(),
            vec![3, 5]
        );
        assert!(j.path(4, 5).is_none());
    }

    #[test]
    fn a_gap_restarts_the_history() {
        let j = Journal::default().with(step(1, 2)).with(step(7, 8));
        assert_eq!(j.changes.len(), 1);
        assert!(j.path(1, 8).is_none());
    }

    #[test]
    fn history_is_bounded() {
        let mut j = Journal::default();
        for s in 0..(MAX_CHANGES as u32 + 10) {
            j = j.with(step(s, s + 1));
        }
        assert_eq!(j.changes.len(), MAX_CHANGES);
        assert!(j.path(0, 1).is_none());
    }
}
