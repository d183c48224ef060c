//! Health checks, Route 53 style (route53-semantics §5): a per-check state machine that turns
//! probe results into healthy/unhealthy with a failure threshold ([`state`]), and the HTTP(S)
//! and TCP probes that produce those results ([`probe`]).
//!
//! This is groundwork: nothing here schedules probes or touches the answer path. The server
//! will own one [`state::HealthCheck`] per `[[health_check]]` (in `Snapshot.health` order),
//! run probes every interval and publish a new health vector when a check transitions.

pub mod probe;
pub mod state;

pub use probe::{HttpSpec, ProbeResult, Reason, Scheme, StatusMatcher};
pub use state::{calculated, CheckState, HealthCheck, Transition};
