#!/usr/bin/env python3
"""Generate the deterministic benchmark zone `bench.test.` and a dnsperf
query file.

Usage: gen_zone.py OUTDIR [--queries N] [--seed S]

Writes into OUTDIR:
  bench.test.zone  the zone (RFC 1035 text, one record per line, every owner
                   fully qualified, explicit TTL and class, no $ directives
                   and no parentheses, so that every server's parser -- and a
                   young one -- reads it the same way)
  queries.txt      dnsperf input, "NAME TYPE" per line
  checks.txt       "NAME TYPE EXPECT" lines used by compare.sh to check that
                   a server answers (EXPECT is the first `dig +short` line,
                   or NXDOMAIN)
  summary.txt      counts of names / records / query mix

The same seed always produces byte-identical files.

Zone contents (about 10k owner names):
  apex      SOA, 2 NS (ns1/ns2 with A+AAAA), MX, TXT
  h0..h5999        A; every even one also AAAA       (6000 names)
  m0..m799         MX (2 exchangers, in-zone)+ A     (800 names)
  mx0..mx49        A (the mail exchangers)           (50 names)
  t0..t799         TXT                               (800 names)
  c0..c999         CNAME -> h<j>                     (1000 names)
  _sip._udp.s0..s399 SRV -> h<j>                     (400 names)
  d0..d199         NS delegation, 2 NS each, in-bailiwick glue A+AAAA
                                                     (200 cuts + 400 glue)
  *.wild           wildcard A + TXT (and `wild` itself has an A)
"""

import argparse
import ipaddress
import os
import random
import sys

ORIGIN = "bench.test."
TTL = 3600

N_HOSTS = 6000
N_MX_OWNERS = 800
N_MX_HOSTS = 50
N_TXT = 800
N_CNAME = 1000
N_SRV = 400
N_DELEG = 200


def fq(label: str) -> str:
    return f"{label}.{ORIGIN}" if label else ORIGIN


def v4(i: int) -> str:
    # 198.18.0.0/15 is reserved for benchmarking (RFC 2544).
    return f"198.{18 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"


def v6(i: int) -> str:
    # Canonical (compressed) text form, as `dig +short` prints it.
    return str(ipaddress.IPv6Address((0x20010DB8 << 96) | i))


def build_zone(rng: random.Random):
    """Return (lines, facts). facts holds the name pools for the queries."""
    out = []

    def rr(owner, rtype, rdata, ttl=TTL):
        out.append(f"{owner}\t{ttl}\tIN\t{rtype}\t{rdata}")

    # --- apex ---------------------------------------------------------
    rr(ORIGIN, "SOA", f"ns1.{ORIGIN} hostmaster.{ORIGIN} 2024010101 7200 3600 1209600 300")
    rr(ORIGIN, "NS", f"ns1.{ORIGIN}")
    rr(ORIGIN, "NS", f"ns2.{ORIGIN}")
    rr(ORIGIN, "MX", f"10 mx0.{ORIGIN}")
    rr(ORIGIN, "TXT", '"v=spf1 -all"')
    rr(fq("ns1"), "A", "192.0.2.53")
    rr(fq("ns1"), "AAAA", "2001:db8:53::1")
    rr(fq("ns2"), "A", "192.0.2.54")
    rr(fq("ns2"), "AAAA", "2001:db8:53::2")

    # --- plain hosts --------------------------------------------------
    hosts_a, hosts_aaaa = [], []
    for i in range(N_HOSTS):
        n = fq(f"h{i}")
        rr(n, "A", v4(i))
        hosts_a.append(n)
        if i % 2 == 0:
            rr(n, "AAAA", v6(i))
            hosts_aaaa.append(n)

    # --- mail ---------------------------------------------------------
    for k in range(N_MX_HOSTS):
        rr(fq(f"mx{k}"), "A", v4(0x10000 + k))
    mx_owners = []
    for i in range(N_MX_OWNERS):
        n = fq(f"m{i}")
        a, b = rng.randrange(N_MX_HOSTS), rng.randrange(N_MX_HOSTS)
        rr(n, "MX", f"10 mx{a}.{ORIGIN}")
        rr(n, "MX", f"20 mx{b}.{ORIGIN}")
        rr(n, "A", v4(0x10100 + i))
        mx_owners.append(n)

    # --- TXT ----------------------------------------------------------
    txt_owners = []
    for i in range(N_TXT):
        n = fq(f"t{i}")
        token = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(32))
        rr(n, "TXT", f'"site-verification={token}"')
        if i % 4 == 0:
            rr(n, "TXT", f'"policy=bench entry {i}"')
        txt_owners.append(n)

    # --- CNAME (in-zone targets, so the answer carries the chain) -----
    cname_owners = []
    for i in range(N_CNAME):
        n = fq(f"c{i}")
        rr(n, "CNAME", f"h{rng.randrange(N_HOSTS)}.{ORIGIN}")
        cname_owners.append(n)

    # --- SRV ----------------------------------------------------------
    srv_owners = []
    for i in range(N_SRV):
        n = fq(f"_sip._udp.s{i}")
        rr(n, "SRV", f"10 60 5060 h{rng.randrange(N_HOSTS)}.{ORIGIN}")
        rr(n, "SRV", f"20 40 5060 h{rng.randrange(N_HOSTS)}.{ORIGIN}")
        srv_owners.append(n)

    # --- delegations with glue ---------------------------------------
    deleg = []
    for i in range(N_DELEG):
        cut = fq(f"d{i}")
        for k in (1, 2):
            ns = f"ns{k}.d{i}.{ORIGIN}"
            rr(cut, "NS", ns)
        for k in (1, 2):
            ns = f"ns{k}.d{i}.{ORIGIN}"
            rr(ns, "A", v4(0x10400 + 2 * i + k))
            rr(ns, "AAAA", v6(0x10400 + 2 * i + k))
        deleg.append(cut)

    # --- wildcard -----------------------------------------------------
    rr(fq("wild"), "A", "192.0.2.100")
    rr(fq("*.wild"), "A", "192.0.2.101")
    rr(fq("*.wild"), "TXT", '"wildcard"')

    facts = dict(
        hosts_a=hosts_a,
        hosts_aaaa=hosts_aaaa,
        mx=mx_owners,
        txt=txt_owners,
        cname=cname_owners,
        srv=srv_owners,
        deleg=deleg,
    )
    return out, facts


# Query mix, percent of all queries. 80% hit existing data, 20% NXDOMAIN.
MIX = [
    ("A", 44),        # h<i> A
    ("AAAA", 20),     # h<even> AAAA
    ("MX", 4),        # m<i> MX
    ("TXT", 4),       # t<i> TXT
    ("CNAME", 3),     # c<i> A  (answer: CNAME + target A)
    ("SRV", 3),       # _sip._udp.s<i> SRV
    ("WILD", 1),      # <random>.wild A (wildcard synthesis)
    ("REFERRAL", 1),  # www.d<i> A (referral with glue)
    ("NX", 20),       # nonexistent names, A / AAAA
]


def build_queries(rng: random.Random, facts, n: int):
    kinds = [k for k, _ in MIX]
    weights = [w for _, w in MIX]
    assert sum(weights) == 100
    lines = []
    counts = {k: 0 for k in kinds}
    for _ in range(n):
        k = rng.choices(kinds, weights)[0]
        counts[k] += 1
        if k == "A":
            lines.append(f"{rng.choice(facts['hosts_a'])} A")
        elif k == "AAAA":
            lines.append(f"{rng.choice(facts['hosts_aaaa'])} AAAA")
        elif k == "MX":
            lines.append(f"{rng.choice(facts['mx'])} MX")
        elif k == "TXT":
            lines.append(f"{rng.choice(facts['txt'])} TXT")
        elif k == "CNAME":
            lines.append(f"{rng.choice(facts['cname'])} A")
        elif k == "SRV":
            lines.append(f"{rng.choice(facts['srv'])} SRV")
        elif k == "WILD":
            lines.append(f"w{rng.randrange(10**6)}.wild.{ORIGIN} A")
        elif k == "REFERRAL":
            lines.append(f"www.{rng.choice(facts['deleg'])} A")
        else:
            # "nx" labels never collide with any owner name above.
            t = "A" if rng.random() < 0.75 else "AAAA"
            lines.append(f"nx{rng.randrange(10**7)}.{ORIGIN} {t}")
    return lines, counts


CHECKS = [
    # name, type, expected first line of `dig +short` (or NXDOMAIN)
    (f"h1.{ORIGIN}", "A", v4(1)),
    (f"h2.{ORIGIN}", "AAAA", v6(2)),
    (f"nx-missing.{ORIGIN}", "A", "NXDOMAIN"),
]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("--queries", type=int, default=100_000,
                    help="lines in queries.txt (dnsperf loops over the file)")
    ap.add_argument("--seed", type=int, default=20240101)
    args = ap.parse_args(argv)

    os.makedirs(args.outdir, exist_ok=True)
    rng = random.Random(args.seed)
    zone, facts = build_zone(rng)
    queries, counts = build_queries(rng, facts, args.queries)

    owners = {line.split("\t", 1)[0] for line in zone}
    with open(os.path.join(args.outdir, "bench.test.zone"), "w") as f:
        f.write(f"; bench.test. -- generated by bench/gen_zone.py seed={args.seed}\n")
        f.write("\n".join(zone) + "\n")
    with open(os.path.join(args.outdir, "queries.txt"), "w") as f:
        f.write("\n".join(queries) + "\n")
    with open(os.path.join(args.outdir, "checks.txt"), "w") as f:
        for name, t, exp in CHECKS:
            f.write(f"{name} {t} {exp}\n")
    with open(os.path.join(args.outdir, "summary.txt"), "w") as f:
        f.write(f"owner names: {len(owners)}\nrecords: {len(zone)}\n")
        f.write(f"queries: {len(queries)}\n")
        for k, _ in MIX:
            f.write(f"  {k:9s} {counts[k]:7d} ({100.0 * counts[k] / len(queries):.1f}%)\n")
    print(f"gen_zone: {len(owners)} names, {len(zone)} records, "
          f"{len(queries)} queries -> {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
