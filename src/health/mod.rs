//! Health checks, Route 53 style (docs/route53.md §5): a per-check state machine that turns
//! probe results into healthy/unhealthy with a failure threshold ([`state`]), and the HTTP(S)
//! and TCP probes that produce those results ([`probe`]).
//!
//! [`HealthTable`] holds every check's state for the answer path; [`spawn`] runs the probed
//! checks and writes their transitions into it.

pub mod body;
pub mod probe;
pub mod report;
pub mod schedule;
pub mod spec;
pub mod state;

pub mod target_group;
pub mod view;

pub use probe::{HttpSpec, ProbeResult, Reason, Scheme, StatusMatcher};
pub use schedule::spawn;
pub use spec::{
    Calculated, CheckError, CheckKind, CheckSpec, ProbeConfig, ProbeTarget, TargetCounts,
};
pub use state::{calculated, CheckState, HealthCheck, TargetState, Transition};
pub use view::{CalculatedCheck, HealthTable, HealthView};
