//! The health view the answer path reads: every check's reported status, one atomic per
//! check written by the probes, and the rule that turns a calculated check's children into its
//! status. It is the only place a query asks "is check N healthy?", so the rule tested in
//! [`super::state`] is the rule that runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::state::{calculated, reported};

/// The health of every configured check, read by the answer path per query and written by the
/// probes: one atomic per check, so a transition is visible to the next query with no reload
/// and no lock.
#[derive(Debug, Default)]
pub struct HealthTable {
    states: Box<[AtomicBool]>,
}

impl HealthTable {
    pub fn new(initial: impl IntoIterator<Item = bool>) -> Self {
        HealthTable {
            states: initial.into_iter().map(AtomicBool::new).collect(),
        }
    }

    /// Unknown indices are healthy (a check with no result yet is healthy, §5.2).
    #[inline]
    pub fn get(&self, i: u32) -> bool {
        self.states
            .get(i as usize)
            .is_none_or(|s| s.load(Ordering::Relaxed))
    }

    pub fn set(&self, i: u32, healthy: bool) {
        if let Some(s) = self.states.get(i as usize) {
            s.store(healthy, Ordering::Relaxed);
        }
    }

    pub fn len(&self) -> usize {
        self.states.len()
    }

    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }
}

/// A calculated check with its children as indices into the same table (docs/route53.md
/// §5.1: one level, no nesting).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalculatedCheck {
    pub children: Box<[u32]>,
    /// How many children must be healthy.
    pub threshold: usize,
    pub inverted: bool,
    pub disabled: bool,
}

/// Every check's status as queries see it: the table the probes write, plus calculated checks
/// worked out from their children when read.
#[derive(Debug, Clone, Default)]
pub struct HealthView {
    /// Shared with the probes (and kept across reloads by `load`), so a transition is visible
    /// to the next query.
    pub table: Arc<HealthTable>,
    /// The check id of each index, so a reload keeps states by id.
    pub ids: Vec<String>,
    /// By the same index: the calculated checks.
    pub calculated: Vec<Option<CalculatedCheck>>,
}

impl HealthView {
    /// Check `i`'s reported status. Unknown indices are healthy (§5.2).
    #[inline]
    pub fn healthy(&self, i: u32) -> bool {
        match self.calculated.get(i as usize) {
            Some(Some(c)) => reported(
                calculated(c.children.iter().map(|&ch| self.table.get(ch)), c.threshold),
                c.inverted,
                c.disabled,
            ),
            _ => self.table.get(i),
        }
    }

    /// The index of check `id`.
    pub fn index(&self, id: &str) -> Option<u32> {
        self.ids.iter().position(|x| x == id).map(|i| i as u32)
    }

    /// Every check's id and status, for the status listener.
    pub fn statuses(&self) -> Vec<(String, bool)> {
        (0..self.ids.len())
            .map(|i| (self.ids[i].clone(), self.healthy(i as u32)))
            .collect()
    }
}
