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

/// The history's file in a state directory: `<dir>/<origin>journal`.
pub fn file(dir: &std::path::Path, origin: &[u8]) -> std::path::PathBuf {
    let text = crate::wire::name::to_text(origin);
    let base = if text == "." {
        "root.".to_string()
    } else {
        text
    };
    dir.join(format!("{base}journal"))
}

const MAGIC: &[u8; 8] = b"PDNSJRN1";

fn put_rr(out: &mut Vec<u8>, r: &Rr<'_>) {
    out.extend_from_slice(&r.owner);
    out.extend_from_slice(&r.rtype.to_be_bytes());
    out.extend_from_slice(&r.ttl.to_be_bytes());
    out.extend_from_slice(&(r.rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(&r.rdata);
}

fn get_rr(b: &[u8], pos: &mut usize) -> Option<Rr<'static>> {
    let name_len = crate::zone::rdata::wire_name_len(b.get(*pos..)?)?;
    let owner = b[*pos..*pos + name_len].to_vec();
    let mut p = *pos + name_len;
    let head = b.get(p..p + 8)?;
    let rtype = u16::from_be_bytes([head[0], head[1]]);
    let ttl = u32::from_be_bytes(head[2..6].try_into().ok()?);
    let len = u16::from_be_bytes([head[6], head[7]]) as usize;
    p += 8;
    let rdata = b.get(p..p + len)?.to_vec();
    *pos = p + len;
    Some(Rr {
        owner: std::borrow::Cow::Owned(owner),
        rtype,
        ttl,
        rdata: std::borrow::Cow::Owned(rdata),
    })
}

impl Journal {
    /// The history as bytes: a magic, then per step the two SOAs and the counted removals and
    /// additions, records in uncompressed wire form (owner, type, TTL, RDLENGTH, RDATA).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for c in &self.changes {
            put_rr(&mut out, &c.old_soa);
            put_rr(&mut out, &c.new_soa);
            for list in [&c.removed, &c.added] {
                out.extend_from_slice(&(list.len() as u32).to_be_bytes());
                list.iter().for_each(|r| put_rr(&mut out, r));
            }
        }
        out
    }

    /// Reads what [`Journal::encode`] wrote; `None` for anything else.
    pub fn decode(b: &[u8]) -> Option<Journal> {
        if b.get(..8)? != MAGIC {
            return None;
        }
        let mut pos = 8;
        let mut j = Journal::default();
        while pos < b.len() {
            let old_soa = get_rr(b, &mut pos)?;
            let new_soa = get_rr(b, &mut pos)?;
            let mut lists = [Vec::new(), Vec::new()];
            for list in lists.iter_mut() {
                let n = u32::from_be_bytes(b.get(pos..pos + 4)?.try_into().ok()?) as usize;
                pos += 4;
                for _ in 0..n {
                    list.push(get_rr(b, &mut pos)?);
                }
            }
            let [removed, added] = lists;
            j = j.with(Change {
                old_soa,
                new_soa,
                removed,
                added,
            });
        }
        Some(j)
    }

    /// The serial the history leads to.
    pub fn last_serial(&self) -> Option<u32> {
        self.changes.back().map(|c| c.to_serial())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    #[test]
    fn a_history_reads_back_as_written() {
        let mut step1 = step(1, 2);
        step1.removed.push(rr(b"\x01a\x00", &[1, 2, 3, 4]));
        step1.added.push(rr(b"\x01b\x00", &[5, 6, 7, 8]));
        let j = Journal::default().with(step1).with(step(2, 3));
        let back = Journal::decode(&j.encode()).unwrap();
        assert_eq!(back.changes, j.changes);
        assert_eq!(back.last_serial(), Some(3));
        assert!(Journal::decode(b"not a journal").is_none());
    }

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
