//! The status of one health check as Route 53 computes it for a single checker: the state
//! flips only after `failure_threshold` consecutive results against it, in either direction.
//! Elastic Load Balancing's target-group checks use the same machine with a count for each
//! direction and a starting state of its own ([`CheckState::target`]).

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
    /// Consecutive failures that take a healthy check down.
    threshold: u8,
    /// Consecutive successes that bring an unhealthy check up (Route 53: the same count).
    up_threshold: u8,
    /// ELB's "initial": no verdict yet. Reported unhealthy (not routed to); one success makes
    /// it healthy, `threshold` failures make it unhealthy.
    initial: bool,
    /// An ELB target's state (named with [`TargetState`] for people).
    elb: bool,
    successes: u32,
    failures: u32,
}

impl CheckState {
    /// `failure_threshold` is clamped to Route 53's 1..=10 so a bad value can never make a
    /// check flip on nothing (0) or practically never flip.
    pub fn new(failure_threshold: u8, initially_healthy: bool) -> Self {
        let threshold = failure_threshold.clamp(1, 10);
        CheckState {
            healthy: initially_healthy,
            threshold,
            up_threshold: threshold,
            initial: false,
            elb: false,
            successes: 0,
            failures: 0,
        }
    }

    /// An ELB target: `unhealthy_count` consecutive failures take it out of service and
    /// `healthy_count` consecutive successes put it back (ELB's UnhealthyThresholdCount and
    /// HealthyThresholdCount). A new target starts in [`TargetState::Initial`]: "after your
    /// target is registered, it must pass one health check to be considered healthy" (ALB
    /// User Guide, "Health checks for your target groups").
    pub fn target(unhealthy_count: u8, healthy_count: u8, start: TargetState) -> Self {
        let threshold = unhealthy_count.clamp(1, 10);
        CheckState {
            healthy: start == TargetState::Healthy,
            threshold,
            up_threshold: healthy_count.clamp(1, 10),
            initial: start == TargetState::Initial,
            elb: true,
            successes: 0,
            failures: 0,
        }
    }

    pub fn healthy(&self) -> bool {
        self.healthy
    }

    /// ELB's name for the state (a Route 53 check is never initial).
    pub fn target_state(&self) -> TargetState {
        match (self.initial, self.healthy) {
            (true, _) => TargetState::Initial,
            (false, true) => TargetState::Healthy,
            (false, false) => TargetState::Unhealthy,
        }
    }

    pub fn is_target(&self) -> bool {
        self.elb
    }

    pub fn failure_threshold(&self) -> u8 {
        self.threshold
    }

    pub fn healthy_threshold(&self) -> u8 {
        self.up_threshold
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
        if self.initial {
            if passed {
                self.initial = false;
                self.healthy = true;
                return Some(Transition {
                    from: false,
                    to: true,
                });
            }
            // Out of "initial" into "unhealthy": reported unhealthy either way, so no
            // transition; the label changes and more successes are needed to come up.
            if self.failures >= u32::from(self.threshold) {
                self.initial = false;
            }
            return None;
        }
        let (against, needed) = if self.healthy {
            (self.failures, self.threshold)
        } else {
            (self.successes, self.up_threshold)
        };
        if against >= u32::from(needed) {
            let from = self.healthy;
            self.healthy = !from;
            Some(Transition { from, to: !from })
        } else {
            None
        }
    }
}

/// An ELB target's health state, as `DescribeTargetHealth` names it (the states policydns
/// has: no registration, draining or unused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetState {
    Initial,
    Healthy,
    Unhealthy,
}

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Initial => "initial",
            TargetState::Healthy => "healthy",
            TargetState::Unhealthy => "unhealthy",
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

    /// A check starting from a reported status it already had (a reload keeps what probes
    /// learnt): the endpoint's own state is that status undone by `inverted`.
    pub fn resuming(failure_threshold: u8, inverted: bool, disabled: bool, reported: bool) -> Self {
        let mut c = HealthCheck::new(failure_threshold, inverted, disabled);
        if !disabled {
            c.state = CheckState::new(failure_threshold, reported != inverted);
        }
        c
    }

    /// An ELB target-group check (never inverted or disabled: ELB has neither).
    pub fn target(unhealthy_count: u8, healthy_count: u8, start: TargetState) -> Self {
        HealthCheck {
            state: CheckState::target(unhealthy_count, healthy_count, start),
            inverted: false,
            disabled: false,
        }
    }

    /// The reported status. Disabled checks are healthy, unless inverted: Route 53's way to
    /// force a check unhealthy is to invert a disabled one.
    pub fn healthy(&self) -> bool {
        reported(self.state.healthy(), self.inverted, self.disabled)
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
pub fn calculated(children: impl IntoIterator<Item = bool>, healthy_threshold: usize) -> bool {
    children.into_iter().filter(|&h| h).count() >= healthy_threshold
}

/// What a check reports given its endpoint's state and Route 53's `Inverted` and `Disabled`
/// flags: disabled checks are healthy, unless inverted (Route 53's way to force a check
/// unhealthy is to invert a disabled one); otherwise the state, flipped when inverted.
pub fn reported(endpoint_healthy: bool, inverted: bool, disabled: bool) -> bool {
    if disabled {
        !inverted
    } else {
        endpoint_healthy != inverted
    }
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

    /// Runs `results` through an ELB target state and returns the state after each one.
    fn run_target(down: u8, up: u8, start: TargetState, results: &[bool]) -> Vec<TargetState> {
        let mut s = CheckState::target(down, up, start);
        results
            .iter()
            .map(|&r| {
                let before = s.healthy();
                let t = s.observe(r);
                assert_eq!(t.is_some(), before != s.healthy());
                s.target_state()
            })
            .collect()
    }

    #[test]
    fn target_counts_differ_by_direction() {
        use TargetState::{Healthy as H, Unhealthy as U};
        const T: bool = true;
        const F: bool = false;
        #[allow(clippy::type_complexity)]
        let cases: &[(&str, TargetState, &[bool], &[TargetState])] = &[
            ("one failure keeps healthy", H, &[F, T], &[H, H]),
            ("two failures take it down", H, &[F, F], &[H, U]),
            ("two successes keep it down", U, &[T, T], &[U, U]),
            ("three successes bring it up", U, &[T, T, T], &[U, U, H]),
            ("a failure restarts the climb", U, &[T, T, F, T, T], &[U; 5]),
            ("down then up", H, &[F, F, T, T, T], &[H, U, U, U, H]),
        ];
        for (name, start, results, want) in cases {
            assert_eq!(&run_target(2, 3, *start, results), want, "{name}");
        }
    }

    #[test]
    fn a_new_target_is_initial_and_unrouted_until_one_check_passes() {
        let mut s = CheckState::target(2, 5, TargetState::Initial);
        assert_eq!(s.target_state(), TargetState::Initial);
        assert!(!s.healthy(), "initial targets are not routed to");
        assert_eq!(
            s.observe(true),
            Some(Transition {
                from: false,
                to: true
            })
        );
        assert_eq!(s.target_state(), TargetState::Healthy);
    }

    #[test]
    fn a_new_target_that_keeps_failing_becomes_unhealthy_after_the_unhealthy_count() {
        use TargetState::{Initial as I, Unhealthy as U};
        assert_eq!(
            run_target(2, 3, I, &[false, false, true, true]),
            vec![I, U, U, U],
            "out of initial, it needs the healthy count to come up"
        );
    }

    #[test]
    fn resuming_keeps_the_reported_status() {
        for inverted in [false, true] {
            for reported in [false, true] {
                let c = HealthCheck::resuming(3, inverted, false, reported);
                assert_eq!(c.healthy(), reported, "inverted {inverted}");
            }
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
            assert_eq!(
                calculated(children.iter().copied(), *n),
                *want,
                "{children:?} >= {n}"
            );
        }
    }
}
