//! Counters the answer path bumps from several threads without sharing a cache line: each
//! thread adds to its own stripe (one per thread, round-robin), a scrape sums the stripes. An
//! add is one uncontended atomic add on a line that stays in the adding core's cache.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Stripes per counter set: enough for the UDP workers and the TCP threads of a small machine
/// to each have one; beyond that, threads share stripes (still correct, atomic adds).
pub const STRIPES: usize = 4;

/// One cache line's worth of alignment, so two stripes never share a line.
#[repr(align(64))]
struct Line<const N: usize>([AtomicU64; N]);

/// `N` counters, striped per thread.
pub struct Striped<const N: usize> {
    stripes: [Line<N>; STRIPES],
}

impl<const N: usize> Default for Striped<N> {
    fn default() -> Self {
        Striped {
            stripes: std::array::from_fn(|_| Line(std::array::from_fn(|_| AtomicU64::new(0)))),
        }
    }
}

impl<const N: usize> std::fmt::Debug for Striped<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries((0..N).map(|i| self.get(i))).finish()
    }
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
}

/// This thread's stripe, handed out round-robin on first use.
#[inline]
fn stripe() -> usize {
    STRIPE.with(|s| {
        let v = s.get();
        if v != usize::MAX {
            return v;
        }
        let v = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
        s.set(v);
        v
    })
}

impl<const N: usize> Striped<N> {
    /// Adds `v` to counter `i` (out of range: ignored).
    #[inline]
    pub fn add(&self, i: usize, v: u64) {
        if let Some(c) = self.stripes[stripe()].0.get(i) {
            c.fetch_add(v, Ordering::Relaxed);
        }
    }

    /// Counter `i`, summed over the stripes.
    pub fn get(&self, i: usize) -> u64 {
        self.stripes
            .iter()
            .map(|s| s.0.get(i).map_or(0, |c| c.load(Ordering::Relaxed)))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn adds_from_many_threads_sum_exactly() {
        let c = Arc::new(Striped::<3>::default());
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || (0..10_000).for_each(|_| c.add(1, 1)))
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!((c.get(0), c.get(1), c.get(2)), (0, 60_000, 0));
    }

    #[test]
    fn an_index_out_of_range_is_ignored() {
        let c = Striped::<1>::default();
        c.add(5, 1);
        assert_eq!(c.get(0), 0);
        assert_eq!(c.get(5), 0);
    }
}
