//! The status of one health check as Route 53 computes it for a single checker: the state
//! flips only after `failure_threshold` consecutive results against it, in either direction.

/// A change of reported status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    pub from: bool,
    pub to: bool,
}

/// Threshold-based state of one check, fed with results already oriented so that `true`
/// means "counts as healthy".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckState {
    healthy: bool,
    threshold: u8,
    successes: u32,
    failures: u32,
}

impl CheckState {
    /// `failure_threshold` is clamped to Route 53's 1..=10 so a bad value can never make a
    /// check flip on nothing (0) or practically never flip.
    pub fn new(failure_threshold: u8, initially_healthy: bool) -> Self {
        CheckState {
            healthy: initially_healthy,
            threshold: failure_threshold.clamp(1, 10),
            successes: 0,
            failures: 0,
        }
    }

    pub fn healthy(&self) -> bool {
        self.healthy
    }

    pub fn failure_threshold(&self) -> u8 {
        self.threshold
    }

    pub fn consecutive_successes(&self) -> u32 {
        self.successes
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.failures
    }

    pub fn observe(&mut self, passed: bool) -> Option<Transition> {
        // Saturating: a check that stays up for years must not overflow.
        if passed {
            self.successes = self.successes.saturating_add(1);
            self.failures = 0;
        } else {
            self.failures = self.failures.saturating_add(1);
            self.successes = 0;
        }
        let against = if self.healthy {
            self.failures
        } else {
            self.successes
        };
        if against >= u32::from(self.threshold) {
            let from = self.healthy;
            self.healthy = !from;
            Some(Transition { from, to: !from })
        } else {
            None
        }
    }
}

/// A configured check: the threshold state plus Route 53's `Inverted` and `Disabled` flags.
///
/// The inner state tracks the endpoint itself (starting healthy, as new checks do), and the
/// reported status is that XOR `inverted`; so an inverted check starts unhealthy, which is
/// Route 53's documented behaviour "until enough data".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    state: CheckState,
    inverted: bool,
    disabled: bool,
}

impl HealthCheck {
    pub fn new(failure_threshold: u8, inverted: bool, disabled: bool) -> Self {
        HealthCheck {
            state: CheckState::new(failure_threshold, true),
            inverted,
            disabled,
        }
    }

    /// The reported status. Disabled checks are healthy, unless inverted: Route 53's way to
    /// force a check unhealthy is to invert a disabled one.
    pub fn healthy(&self) -> bool {
        if self.disabled {
            !self.inverted
        } else {
            self.state.healthy() != self.inverted
        }
    }

    pub fn state(&self) -> &CheckState {
        &self.state
    }

    pub fn inverted(&self) -> bool {
        self.inverted
    }

    pub fn disabled(&self) -> bool {
        self.disabled
    }

    /// Feeds one raw probe result. Disabled checks ignore results (Route 53 stops probing
    /// them) so that re-enabling starts from the state they had.
    pub fn observe(&mut self, passed: bool) -> Option<Transition> {
        if self.disabled {
            return None;
        }
        let t = self.state.observe(passed)?;
        Some(Transition {
            from: t.from != self.inverted,
            to: t.to != self.inverted,
        })
    }
}

/// A CALCULATED check: healthy when at least `healthy_threshold` children are. A threshold of
/// 0 is always healthy and one above the child count never is, as Route 53 documents.
pub fn calculated(children: &[bool], healthy_threshold: usize) -> bool {
    children.iter().filter(|&&h| h).count() >= healthy_threshold
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `results` through a fresh state and returns the status after each one.
    fn run(threshold: u8, initially: bool, results: &[bool]) -> Vec<bool> {
        let mut s = CheckState::new(threshold, initially);
        results
            .iter()
            .map(|&r| {
                let before = s.healthy();
                let t = s.observe(r);
                assert_eq!(t.is_some(), before != s.healthy());
                if let Some(t) = t {
                    assert_eq!((t.from, t.to), (before, s.healthy()));
                }
                s.healthy()
            })
            .collect()
    }

    #[test]
    fn threshold_table() {
        const T: bool = true;
        const F: bool = false;
        #[allow(clippy::type_complexity)]
        let cases: &[(&str, u8, bool, &[bool], &[bool])] = &[
            ("N-1 failures keep healthy", 3, T, &[F, F], &[T, T]),
            ("N failures flip", 3, T, &[F, F, F], &[T, T, F]),
            (
                "a pass resets the failure run",
                3,
                T,
                &[F, F, T, F, F],
                &[T; 5],
            ),
            ("threshold 1 flips at once", 1, T, &[F, T, F], &[F, T, F]),
            ("N-1 passes keep unhealthy", 3, F, &[T, T], &[F, F]),
            ("N passes recover", 3, F, &[T, T, T], &[F, F, T]),
            (
                "a failure resets the pass run",
                2,
                F,
                &[T, F, T, T],
                &[F, F, F, T],
            ),
            ("down then up", 2, T, &[F, F, T, T], &[T, F, F, T]),
            (
                "threshold 10",
                10,
                T,
                &[F; 10],
                &[T, T, T, T, T, T, T, T, T, F],
            ),
            ("0 clamps to 1", 0, T, &[F], &[F]),
            (
                "11 clamps to 10",
                11,
                T,
                &[F; 10],
                &[T, T, T, T, T, T, T, T, T, F],
            ),
            (
                "passes while healthy never flip",
                1,
                T,
                &[T, T, T],
                &[T, T, T],
            ),
        ];
        for (name, n, init, results, want) in cases {
            assert_eq!(&run(*n, *init, results), want, "{name}");
        }
    }

    #[test]
    fn counters() {
        let mut s = CheckState::new(3, true);
        s.observe(false);
        s.observe(false);
        assert_eq!(
            (s.consecutive_failures(), s.consecutive_successes()),
            (2, 0)
        );
        s.observe(true);
        assert_eq!(
            (s.consecutive_failures(), s.consecutive_successes()),
            (0, 1)
        );
        // Counters keep running past a flip: they are runs of results, not progress to a flip.
        for _ in 0..4 {
            s.observe(false);
        }
        assert_eq!(s.consecutive_failures(), 4);
        assert!(!s.healthy());
        assert_eq!(s.failure_threshold(), 3);
    }

    #[test]
    fn inverted_and_disabled() {
        // (inverted, disabled, results, expected status after each, initial status)
        #[allow(clippy::type_complexity)]
        let cases: &[(bool, bool, bool, &[bool], &[bool])] = &[
            (false, false, true, &[false, false], &[true, false]),
            // Inverted: starts unhealthy, and a reachable endpoint keeps it so.
            (
                true,
                false,
                false,
                &[true, true, true],
                &[false, false, false],
            ),
            (
                true,
                false,
                false,
                &[false, false, true, true],
                &[false, true, true, false],
            ),
            (
                false,
                true,
                true,
                &[false, false, false],
                &[true, true, true],
            ),
            (
                true,
                true,
                false,
                &[true, true, true],
                &[false, false, false],
            ),
        ];
        for (i, (inv, dis, init, results, want)) in cases.iter().enumerate() {
            let mut c = HealthCheck::new(2, *inv, *dis);
            assert_eq!(c.healthy(), *init, "case {i} initial");
            let got: Vec<bool> = results
                .iter()
                .map(|&r| {
                    let before = c.healthy();
                    if let Some(t) = c.observe(r) {
                        assert_eq!((t.from, t.to), (before, c.healthy()), "case {i}");
                    } else {
                        assert_eq!(before, c.healthy(), "case {i}");
                    }
                    c.healthy()
                })
                .collect();
            assert_eq!(&got, want, "case {i}");
            assert_eq!((c.inverted(), c.disabled()), (*inv, *dis));
        }
    }

    #[test]
    fn disabled_ignores_results() {
        let mut c = HealthCheck::new(1, false, true);
        assert_eq!(c.observe(false), None);
        assert_eq!(c.state().consecutive_failures(), 0);
        assert!(c.state().healthy());
    }

    #[test]
    fn calculated_table() {
        let cases: &[(&[bool], usize, bool)] = &[
            (&[], 0, true),
            (&[false, false], 0, true),
            (&[true, false, true], 2, true),
            (&[true, false, false], 2, false),
            (&[true, true], 2, true),
            (&[true, true], 3, false),
            (&[], 1, false),
            (&[false, true], 1, true),
        ];
        for (children, n, want) in cases {
            assert_eq!(calculated(children, *n), *want, "{children:?} >= {n}");
        }
    }
}
