//! policydns: an authoritative DNS server that answers from standard zone files, built so that
//! Route 53-style routing policies can decide record sets per query.
//!
//! Data flows one way:
//!
//! ```text
//! query:  socket ─ server::{udp,tcp} ─ server::packet ─ answer::respond ─ zone::Catalog
//!                                                          │ (lookup → select → write)
//!                                                          └─ response bytes ─ socket
//! load:   config + zone::parse ─ zone::Zone::compile ─ load::build ─ Snapshot ─ ArcSwap ─ server
//! xfr:    server (AXFR/IXFR, NOTIFY, TSIG) ─ transfer ─ Snapshot ─ response stream ─ socket
//!         transfer::secondary ─ primary ─ Zone::compile ─ Snapshot::with_catalog ─ ArcSwap
//! ```
//!
//! - [`zone`] owns zone data: master-file parsing (`parse`, `rdata`), wire names (`name`), and
//!   the compiled, immutable [`zone::Zone`] with precomputed lookup facts.
//! - [`answer`] turns a query into a response over one [`answer::Snapshot`]; it never allocates.
//! - [`policy`] holds Route 53's routing policies as pure functions (members, client, health,
//!   random → selection and ECS scope); the answer path's `select` stage is where they plug in.
//! - [`server`] owns sockets: UDP workers with batched I/O, TCP on tokio.
//! - [`demo`] runs `policydns demo failover` on the real server and probes.
//! - [`config`] validates the TOML file and the command line; [`load`] builds snapshots.
//! - [`route53`] reads Route 53's JSON (record-set exports, change batches, CIDR blocks) into
//!   zone-file records and routing-policy record sets, for `--route53` and `import route53`.
//! - [`geo`] maps a client address to continent, country, US state and coordinates from a
//!   MaxMind-format database, for the routing policies.
//! - [`health`] holds health checks: the Route 53 threshold state machine (and ELB's, for
//!   load-balancer targets), the HTTP(S)/TCP probes that feed it, their scheduling and the
//!   status listener.
//! - [`transfer`] takes what the answer path does not: AXFR/IXFR out (from the same snapshot,
//!   with a history per zone), NOTIFY in and out, TSIG, and secondary zones pulled from a
//!   primary and published into the snapshot.

pub mod answer;
pub mod config;
pub mod demo;
#[doc(hidden)]
pub mod fuzzing;
pub mod geo;
pub mod health;
pub mod load;
pub mod policy;
pub mod route53;
pub mod server;
pub mod transfer;
pub mod zone;
