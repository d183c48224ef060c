//! The Prometheus text exposition format (version 0.0.4): a `# HELP` and `# TYPE` line per
//! family, then its samples, label values escaped.

use std::fmt::{Display, Write as _};

use super::{ServerCounters, ZoneCounters, DURATION_BOUNDS_NS, FAMILIES, PROTOS, RCODES, TYPES};

/// Builds one exposition.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

/// A metric's kind.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Exposition {
    /// Starts the family `name`.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let kind = match kind {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(self.out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample of the family started last (or, for a histogram, `_bucket`/`_sum`/`_count`).
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl Display) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }

    pub fn finish(self) -> String {
        self.out
    }

    /// The query counters of each zone (`zones`: origin text and counters), those that reached
    /// no zone under `zone=""`, and the server's request durations and rate limiting.
    /// `zones`: origin text, view name ("" for the shared copy) and counters.
    pub fn queries(&mut self, zones: &[(String, &str, &ZoneCounters)], none: &ZoneCounters) {
        let all: Vec<(&str, &str, &ZoneCounters)> = zones
            .iter()
            .map(|(z, v, c)| (z.as_str(), *v, *c))
            .chain(std::iter::once(("", "", none)))
            .collect();
        self.family(
            "policydns_dns_requests_total",
            Kind::Counter,
            "Queries answered, by zone, protocol, address family (1: IPv4, 2: IPv6) and type.",
        );
        for (zone, view, c) in &all {
            for (p, proto) in PROTOS.iter().enumerate() {
                for (f, family) in FAMILIES.iter().enumerate() {
                    let names = TYPES.iter().map(|(_, n)| *n).chain(["other"]);
                    for (t, qtype) in names.enumerate() {
                        let n = c.requests(p, f, t);
                        if n > 0 {
                            self.sample(
                                "policydns_dns_requests_total",
                                &[
                                    ("zone", zone),
                                    ("view", view),
                                    ("proto", proto),
                                    ("family", family),
                                    ("type", qtype),
                                ],
                                n,
                            );
                        }
                    }
                }
            }
        }
        self.family(
            "policydns_dns_responses_total",
            Kind::Counter,
            "Responses sent, by zone and response code.",
        );
        for (zone, view, c) in &all {
            let names = RCODES.iter().map(|(_, n)| *n).chain(["other"]);
            for (r, rcode) in names.enumerate() {
                let n = c.responses(r);
                if n > 0 {
                    self.sample(
                        "policydns_dns_responses_total",
                        &[("zone", zone), ("view", view), ("rcode", rcode)],
                        n,
                    );
                }
            }
        }
        self.family(
            "policydns_dns_truncated_responses_total",
            Kind::Counter,
            "Responses sent truncated (TC=1: the answer did not fit), by zone.",
        );
        for (zone, view, c) in &all {
            self.sample(
                "policydns_dns_truncated_responses_total",
                &[("zone", zone), ("view", view)],
                c.truncated(),
            );
        }
        self.family(
            "policydns_dns_ecs_requests_total",
            Kind::Counter,
            "Queries carrying EDNS Client Subnet, by zone.",
        );
        for (zone, view, c) in &all {
            self.sample(
                "policydns_dns_ecs_requests_total",
                &[("zone", zone), ("view", view)],
                c.ecs(),
            );
        }
    }

    /// Reloads and zone transfers.
    pub fn events(&mut self, ev: &super::Events) {
        use std::sync::atomic::Ordering::Relaxed;
        self.family(
            "policydns_reloads_total",
            Kind::Counter,
            "Reloads (SIGHUP or a secondary's policy), by result: failure when the configuration was refused or a zone failed to load.",
        );
        self.sample(
            "policydns_reloads_total",
            &[("result", "success")],
            ev.reloads_ok.load(Relaxed),
        );
        self.sample(
            "policydns_reloads_total",
            &[("result", "failure")],
            ev.reloads_failed.load(Relaxed),
        );
        self.family(
            "policydns_transfers_out_total",
            Kind::Counter,
            "Zone transfer requests from secondaries, by type and result.",
        );
        for (labels, v) in [
            ([("type", "AXFR"), ("result", "served")], &ev.axfr_out),
            ([("type", "IXFR"), ("result", "served")], &ev.ixfr_out),
            (
                [("type", "any"), ("result", "refused")],
                &ev.transfers_out_refused,
            ),
        ] {
            self.sample("policydns_transfers_out_total", &labels, v.load(Relaxed));
        }
        self.family(
            "policydns_secondary_refreshes_total",
            Kind::Counter,
            "Refreshes of secondary zones from their primaries (SOA check and transfer), by result.",
        );
        self.sample(
            "policydns_secondary_refreshes_total",
            &[("result", "success")],
            ev.refreshes_ok.load(Relaxed),
        );
        self.sample(
            "policydns_secondary_refreshes_total",
            &[("result", "failure")],
            ev.refreshes_failed.load(Relaxed),
        );
    }

    /// dnstap's output, when it is on.
    pub fn dnstap(&mut self, sink: &crate::dnstap::Sink) {
        use std::sync::atomic::Ordering::Relaxed;
        self.family(
            "policydns_dnstap_exchanges_total",
            Kind::Counter,
            "Queries with their responses logged to dnstap (written), or dropped because the writer was behind or its output failed.",
        );
        self.sample(
            "policydns_dnstap_exchanges_total",
            &[("result", "written")],
            sink.written.load(Relaxed),
        );
        self.sample(
            "policydns_dnstap_exchanges_total",
            &[("result", "dropped")],
            sink.dropped.load(Relaxed),
        );
    }

    /// The request-duration histogram and response-rate limiting.
    pub fn server(&mut self, s: &ServerCounters) {
        let name = "policydns_dns_request_duration_seconds";
        self.family(
            name,
            Kind::Histogram,
            "Time from reading a query to its response being ready, by protocol.",
        );
        for (p, proto) in PROTOS.iter().enumerate() {
            let (buckets, sum_ns) = s.durations(p);
            let mut cumulative = 0;
            for (b, n) in buckets.iter().enumerate() {
                cumulative += n;
                let le = DURATION_BOUNDS_NS
                    .get(b)
                    .map_or("+Inf".to_string(), |ns| format!("{}", *ns as f64 / 1e9));
                self.sample(
                    &format!("{name}_bucket"),
                    &[("proto", proto), ("le", &le)],
                    cumulative,
                );
            }
            self.sample(
                &format!("{name}_sum"),
                &[("proto", proto)],
                sum_ns as f64 / 1e9,
            );
            self.sample(&format!("{name}_count"), &[("proto", proto)], cumulative);
        }
        let (dropped, slipped) = s.rrl();
        self.family(
            "policydns_rrl_responses_total",
            Kind::Counter,
            "Answers response-rate limiting held back: dropped, or slipped (sent truncated).",
        );
        self.sample(
            "policydns_rrl_responses_total",
            &[("action", "dropped")],
            dropped,
        );
        self.sample(
            "policydns_rrl_responses_total",
            &[("action", "slipped")],
            slipped,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut e = Exposition::default();
        e.family("x_total", Kind::Counter, "x.");
        e.sample("x_total", &[("name", "a\"b\\c\nd")], 1);
        assert_eq!(
            e.finish(),
            "# HELP x_total x.\n# TYPE x_total counter\nx_total{name=\"a\\\"b\\\\c\\nd\"} 1\n"
        );
    }
}
