//! Differential test: the same zones served by NSD and Knot (the references) and by policydns
//! (`policydns serve --listen .. --zone ORIGIN=FILE ..`), the same query corpus sent to all
//! three, every answer compared section by section.
//!
//! Zones: `tests/zones/diff/` (diff.test., its served child child.diff.test., other.test., and
//! nottl.test., a zone file without `$TTL`). NSD 4.6 and Knot 3.2 must be installed
//! (`scripts/install-test-deps.sh`: Debian's nsd and knot); the test fails, it does not skip,
//! when either is missing.
//!
//! Verdict, per query: policydns is compared with NSD and, separately, with Knot; Knot is also
//! compared with NSD. A difference is about an aspect (the response at all, id, opcode, rcode
//! with the EDNS options (an Extended DNS Error qualifies its RCODE, so the two are judged
//! together), flags, question, OPT, answer, authority, additional). policydns fails a query
//! when some aspect of its answer differs from NSD's *and* from Knot's, unless the query is
//! documented as a deliberate difference against both (`.documented(Against::Both, why)`;
//! `Against::Nsd` / `Against::Knot` only annotate: a query documented against one reference
//! must still match the other). Where NSD and Knot disagree with each other the test prints
//! what each does and which one policydns matches. Knot answers minimally (no NS RRset in the
//! authority section of positive answers, fewer additional records: docs/answers.md,
//! differences from Knot); queries where that is the only disagreement are listed once per
//! group. At the end of each group three tables: policydns differs from both (query;
//! policydns; NSD; Knot, per aspect), documented differences, NSD and Knot disagree.
//!
//! What is compared, per query and pair of servers (see `compare`):
//! * whether each server answered at all (a dropped query is an outcome too);
//! * id, opcode, rcode (including the EDNS extended rcode bits), and the
//!   header flags QR AA TC RD RA Z AD CD;
//! * the question section, exactly, qname case included;
//! * answer, authority and additional sections as multisets of records:
//!   owner compared case-insensitively; TTL, class, type and rdata exactly
//!   (rdata as hickory-proto decodes it, written again without compression;
//!   domain names inside rdata case-insensitively, because NSD keeps one
//!   spelling per name in its name table and its compression may copy the
//!   qname's case). Record order within a section is not significant
//!   (RFC 2181 s5);
//! * OPT: presence, count, version, DO bit and Z must match. The advertised UDP
//!   payload size is compared loosely: it must be >= 512, a different
//!   value is only printed as a note;
//! * EDNS options: codes and contents, as a multiset: an Extended DNS Error
//!   (RFC 8914) by INFO-CODE and EXTRA-TEXT, an ECS option (RFC 7871) by family,
//!   prefixes and address, any other by its octets; of a COOKIE (RFC 7873) the
//!   client cookie and the length of the server cookie.
//!
//! Documented, deliberate differences / loose comparisons:
//! * ANY (RFC 8482): the servers answer with a subset. When the reference's answer
//!   section is non-empty, we only require: rcode NOERROR, same AA, a non-empty
//!   answer with no more RRsets than the reference's (NSD and Knot give one, over
//!   UDP and TCP alike), and every RRset we return equal to what the reference
//!   answers (over TCP) to a query for that specific type. Which RRset each server
//!   picks is printed. Authority/additional of ANY answers are not compared. When
//!   the reference's answer is empty (NXDOMAIN, NODATA, referral) the comparison
//!   is exact.
//! * Truncated UDP responses (TC=1 from both): header, question and OPT
//!   are compared, the (partial) record sections are not: what a
//!   server puts into a truncated message is its own choice (RFC 2181 s9,
//!   RFC 1035 s4.2.1). Every such query is also sent over TCP, exact.
//! * `Mode::SectionsMayShrink` (answer fits, authority/additional do not):
//!   header (TC included) and answer are exact; authority/additional need
//!   only be a subset of the reference's full (TCP) response (RFC 2181 s9: no TC
//!   for data that is not required).
//! * Address records of NS names in additional: NSD and policydns give A/AAAA
//!   only for NS names inside the zone being answered from (NSD does not
//!   add ns.other.test.'s addresses to diff.test. answers); compared exactly.
//! * CH TXT version.bind / version.server (`Mode::VersionString`): all three
//!   answer it (NSD with `hide-version: no`, Knot by default); everything is
//!   compared except the text of the TXT record, in which each server names
//!   itself. id.server / hostname.bind: NSD has `hide-identity: yes`, Knot
//!   `identity: ""`; exact.
//! * Knot has `edns-client-subnet: on` (NSD knows no ECS), so ECS queries show
//!   where the references differ.
//! * Zone transfers are in the corpus only as refusals (none is allowed: EDE 18)
//!   and as AXFR/IXFR over UDP; transfers themselves are tests/transfer_interop.rs.
//! * A case marked `.documented(against, why)` is a deliberate difference.
//!
//! Layout: `harness.rs` starts NSD, Knot and policydns on loopback (the helpers of
//! `tests/common/`); `corpus.rs` holds the queries, a table per group;
//! `decode.rs` decodes responses with hickory-proto; `compare.rs` compares
//! them and runs a group. One test per group, below.
//!
//! Run: `cargo test --test differential_nsd` (add `-- --nocapture` to see
//! the per-group tables even when everything matches).
//! Harness self-test: `DIFF_SELFTEST_NSD_VS_NSD=1 cargo test --test
//! differential_nsd` puts a second NSD in place of policydns (must pass).
//! `DIFF_VERBOSE=1 ... -- --nocapture` prints the three responses of every query.

#[path = "../common/mod.rs"]
mod common;

mod compare;
mod corpus;
mod decode;
mod harness;

use compare::run_group;

#[test]
fn positive_answers() {
    run_group("positive", corpus::positive_answers());
}

#[test]
fn negative_answers() {
    run_group("negative", corpus::negative_answers());
}

#[test]
fn wildcards() {
    run_group("wildcards", corpus::wildcards());
}

#[test]
fn delegations() {
    run_group("delegations", corpus::delegations());
}

#[test]
fn cname_and_dname_chains() {
    run_group("cname", corpus::cname_and_dname_chains());
}

#[test]
fn truncation_and_tcp() {
    run_group("truncation", corpus::truncation_and_tcp());
}

#[test]
fn edns() {
    run_group("edns", corpus::edns());
}

#[test]
fn any_queries() {
    run_group("any", corpus::any_queries());
}

/// Header-only, malformed or unusual messages.
#[test]
fn unusual_messages() {
    run_group("unusual", corpus::unusual_messages());
}

/// Extended DNS Errors (RFC 8914) on refusals.
#[test]
fn extended_errors() {
    run_group("ede", corpus::extended_errors());
}

/// MAILA, MAILB, OPT, TSIG, TKEY as QTYPE; AXFR/IXFR over UDP; CH TXT.
#[test]
fn meta_qtypes() {
    run_group("meta", corpus::meta_qtypes());
}

/// CD, QCLASS ANY, ECS, TTLs without $TTL: where NSD and Knot differ from each other.
#[test]
fn reference_disagreements() {
    run_group("disagree", corpus::reference_disagreements());
}
