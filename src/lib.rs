//! policydns: an authoritative DNS server that answers from standard zone files and Route 53
//! JSON, with Route 53's routing policies deciding record sets per query from health checks and
//! what is known of the client.
//!
//! Data flows one way; no module reaches back up:
//!
//! ```text
//! query:   socket ─ server::{udp,tcp} ─ wire::packet ─ answer ─ snapshot ─ zone
//!                                                       │ lookup → select (policy) → sections
//!                                                       └─ response bytes ─ socket
//! health:  health::schedule (probes) ─ health::state ─ health::view (table) ─ answer::select
//! load:    config ─ zone::{parse, compile} ─ load ─ Snapshot ─ ArcSwap ─ server
//! xfr:     server ─ transfer (AXFR/IXFR out, NOTIFY, TSIG) ─ snapshot
//!          transfer::secondary ─ primary ─ zone::compile ─ Snapshot::with_catalog ─ ArcSwap
//! ```
//!
//! Module dependencies, top to bottom:
//!
//! ```text
//! main ─ serve ─ {server, load, health, transfer}
//! load ─ config ─ {route53, policy::spec, health::spec}
//! server ─ transfer ─ answer ─ snapshot ─ {zone, policy, health::view, geo} ─ wire
//! ```
//!
//! - [`wire`]: the bottom floor. Names in wire form, record-type knowledge, and the bounded,
//!   allocation-free parser of incoming messages.
//! - [`snapshot`]: what every query reads — the zones, the answering options and the policies'
//!   inputs (health view, CIDR collections, GeoIP, load balancers, latency) — swapped whole.
//! - [`zone`]: zone data. Master-file lexing and parsing (`lex`, `parse`, `rdata`), and the
//!   compiled, immutable [`zone::Zone`] with its lookup facts decided at load (`compile`,
//!   `layout`, `render`), gathered in a [`zone::Catalog`].
//! - [`policy`]: Route 53's routing policies as pure functions, the load-balancer model, and
//!   `spec`, the one builder of record-set rules (TOML and Route 53 JSON alike).
//! - [`health`]: health checks. `view` is what queries read (with the calculated, inverted and
//!   disabled rules); `state` the threshold machines; `schedule` and `probe` run the probes;
//!   `spec` turns a configured check into what runs; `target_group` is ELB's; `report` what
//!   the probes found, for people.
//! - [`geo`]: client address → continent, country, US state and coordinates from a
//!   MaxMind-format database, with Route 53's country table.
//! - [`answer`]: a query's bytes → a response's bytes over one snapshot, never allocating:
//!   `lookup` (where the name is), `select` (the policy stage: what a record set answers
//!   with), `sections` and `writer` (the bytes); `explain` reuses the first two.
//! - [`transfer`]: what the answer path does not take — AXFR/IXFR out with a history per zone,
//!   NOTIFY in and out, TSIG, and secondary zones pulled from a primary.
//! - [`server`]: sockets. UDP workers with batched I/O on threads of their own, TCP on tokio.
//! - [`route53`]: Route 53's JSON (record-set exports, change batches, CIDR blocks, health
//!   checks) read and converted, and `import route53` written back out.
//! - [`config`]: the TOML file and the command line, validated into one typed
//!   [`config::Config`]; [`load`] builds a [`snapshot::Snapshot`] from it.
//! - [`dnstap`]: query and response logging as Frame Streams (off by default), written by a
//!   thread of its own.
//! - [`metrics`]: what was answered, counted per zone and per routing-policy member on
//!   striped counters, written in the Prometheus text format.
//! - [`status`]: the status listener (zones, health checks, metrics) for people.
//! - [`durable`]: files written whole or not at all (fsync, rename, directory fsync);
//!   [`clock`]: the wall clock and its RFC 3339 text.
//! - [`serve`]: the running server as library code (start, reload, shut down); [`demo`] runs
//!   `policydns demo failover` on it.
//!
//! A bare `§N.M` in a comment refers to `docs/route53.md`, our statement of Route 53's
//! behaviour with AWS's documentation cited; `RFC NNNN §N` to the RFC.

pub mod answer;
pub mod api;
pub mod clock;
pub mod config;
pub mod demo;
pub mod dnssec;
pub mod dnstap;
pub mod durable;
#[doc(hidden)]
pub mod fuzzing;
pub mod geo;
pub mod health;
pub mod load;
pub mod log_limit;
pub mod metrics;
pub mod policy;
pub mod route53;
pub mod serve;
pub mod server;
pub mod snapshot;
pub mod status;
pub mod store;
pub mod transfer;
pub mod update;
pub mod views;
pub mod wire;
pub mod zone;
