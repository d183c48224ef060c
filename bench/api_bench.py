#!/usr/bin/env python3
"""The Route 53 API benchmark's driver (bench/api.sh starts the servers and runs this).

A benchmark, not a test: it measures, prints one summary line per part, and merges its
figures into a JSON file (--json). Parts (--parts, comma-separated, run in the order given):

  moto       create-zone, fill 1,000 records, 20 single UPSERTs and full listings of a small
             zone on moto_server and on policydns, timing each call (API only: moto answers
             no DNS)
  fill       create bench.test. and fill it with --records record sets, 500 CREATEs a batch
  served     --changes UPSERTs of probe.bench.test. A; from each 200, poll the DNS side over
             UDP until the new address is answered
  sustained  --clients processes (each its own boto3 client, so the GIL does not set the rate)
             UPSERT their own name for --seconds; then the same with one client process
  replay     (after bench/api.sh restarted the server on the same state directory) time from
             --started-at to the API and the DNS answering with the last serial
  knot       (after bench/api.sh started a Knot secondary at --knot) wait for its first
             transfer, then --knot-changes UPSERTs, each timed from the 200 to Knot answering it
  bind       the same with a BIND secondary at --bind (--bind-changes, --bind-pause)

`--table FILE.json` prints the final table of a run and exits.
"""

import argparse
import json
import os
import random
import socket
import struct
import sys
import time

from benchlib import cpu_ticks, fmt, median, ms, pct

ZONE = "bench.test."
SMALL = "small.test."
BATCH = 500
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ small helpers
def log(msg):
    print(f"[api_bench] {msg}", file=sys.stderr, flush=True)


class CpuMeter:
    """The CPU a server process (and this process) spends between start() and stop()."""

    def __init__(self, pid):
        self.pid = pid

    def start(self):
        self.t0 = cpu_ticks(self.pid)
        self.c0 = time.process_time()
        self.w0 = time.perf_counter()
        return self

    def stop(self):
        t1 = cpu_ticks(self.pid)
        self.wall = time.perf_counter() - self.w0
        self.client_s = time.process_time() - self.c0
        self.server_s = None if t1 is None or self.t0 is None else (t1 - self.t0) / CLK_TCK
        return self


def cpu_list(text):
    """The CPUs of a taskset-style list: "1", "1-3", "0,2-3"."""
    cpus = set()
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def address(i, base=198):
    """A distinct IPv4 address for change number i."""
    return f"{base}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


# ------------------------------------------------------------------ DNS over UDP, by hand
def dns_query(name, qtype):
    qid = random.randrange(65536)
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return qid, q + b"\0" + struct.pack(">HH", qtype, 1)


def skip_name(msg, at):
    while True:
        n = msg[at]
        if n & 0xC0 == 0xC0:
            return at + 2
        if n == 0:
            return at + 1
        at += n + 1


def dns_answers(msg, qid):
    """(rcode, [(type, rdata-bytes, offset)]) of a response, or None if it is not ours."""
    if len(msg) < 12:
        return None
    rid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
    if rid != qid or not flags & 0x8000:
        return None
    at = 12
    for _ in range(qd):
        at = skip_name(msg, at) + 4
    out = []
    for _ in range(an):
        at = skip_name(msg, at)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", msg[at:at + 10])
        at += 10
        out.append((rtype, msg[at:at + rdlen], at))
        at += rdlen
    return flags & 0xF, out


class Resolver:
    """Asks one server over UDP, one query at a time."""

    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect((host, int(port)))

    def ask(self, name, qtype, timeout=1.0):
        """The parsed answer, or None on timeout."""
        qid, q = dns_query(name, qtype)
        self.sock.settimeout(timeout)
        deadline = time.perf_counter() + timeout
        try:
            self.sock.send(q)
        except ConnectionRefusedError:  # an ICMP error from an earlier query: nobody listens
            return None
        while True:
            try:
                msg = self.sock.recv(65535)
            except socket.timeout:
                return None
            except ConnectionRefusedError:  # nobody listens (yet)
                time.sleep(min(0.01, max(0.0, deadline - time.perf_counter())))
                return None
            r = dns_answers(msg, qid)
            if r is not None:
                return msg, r
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            self.sock.settimeout(left)

    def a(self, name, timeout=1.0):
        """The A addresses answered for name (empty on NXDOMAIN, NODATA or timeout)."""
        r = self.ask(name, 1, timeout)
        if r is None:
            return []
        _, (_, answers) = r
        return [socket.inet_ntoa(d) for t, d, _ in answers if t == 1 and len(d) == 4]

    def serial(self, zone, timeout=1.0):
        """The SOA serial answered for zone, or None."""
        r = self.ask(zone, 6, timeout)
        if r is None:
            return None
        msg, (rcode, answers) = r
        for t, _, at in answers:
            if t == 6 and rcode == 0:
                at = skip_name(msg, skip_name(msg, at))
                return struct.unpack(">I", msg[at:at + 4])[0]
        return None


def poll_until(fn, limit, pause=0.0):
    """Calls fn until it returns true; (seconds taken, polls) or (None, polls) after limit s."""
    t0 = time.perf_counter()
    n = 0
    while True:
        n += 1
        if fn():
            return time.perf_counter() - t0, n
        if time.perf_counter() - t0 > limit:
            return None, n
        if pause:
            time.sleep(pause)


# ------------------------------------------------------------------ the API through boto3
def make_client(endpoint, akid, secret):
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "route53",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=akid,
        aws_secret_access_key=secret,
        # No retries: an error is counted, not hidden; generous timeouts for debug builds.
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=900),
    )


def record_set(i, zone):
    """Fill record set number i: 80 % A, 10 % AAAA, 10 % TXT, one name each."""
    name = f"h{i}.{zone}"
    kind = i % 10
    if kind == 0:
        return {"Name": name, "Type": "TXT", "TTL": 300,
                "ResourceRecords": [{"Value": f'"v=bench {i}"'}]}
    if kind == 1:
        return {"Name": name, "Type": "AAAA", "TTL": 300,
                "ResourceRecords": [{"Value": f"2001:db8::{i >> 16:x}:{i & 0xFFFF:x}"}]}
    return {"Name": name, "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": address(i, 10)}]}


def upsert_a(name, addr, ttl=60):
    return {"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
        "Name": name, "Type": "A", "TTL": ttl, "ResourceRecords": [{"Value": addr}]}}]}


def create_zone(c, name):
    t0 = time.perf_counter()
    r = c.create_hosted_zone(Name=name, CallerReference=f"{name}{time.time_ns()}")
    took = time.perf_counter() - t0
    return r["HostedZone"]["Id"].split("/")[-1], took


def fill(c, zone_id, zone, count, batch=BATCH):
    """CREATEs count record sets in batches; the time of each batch."""
    times = []
    for start in range(0, count, batch):
        changes = [{"Action": "CREATE", "ResourceRecordSet": record_set(i, zone)}
                   for i in range(start, min(count, start + batch))]
        t0 = time.perf_counter()
        c.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
        times.append(time.perf_counter() - t0)
    return times


def list_all(c, zone_id):
    """A full listing, page by page: (seconds per page, record sets)."""
    pages, n, kw = [], 0, {}
    while True:
        t0 = time.perf_counter()
        r = c.list_resource_record_sets(HostedZoneId=zone_id, **kw)
        pages.append(time.perf_counter() - t0)
        n += len(r["ResourceRecordSets"])
        if not r.get("IsTruncated"):
            return pages, n
        kw = {"StartRecordName": r["NextRecordName"], "StartRecordType": r["NextRecordType"]}
        if r.get("NextRecordIdentifier"):
            kw["StartRecordIdentifier"] = r["NextRecordIdentifier"]


def empty_and_delete(c, zone_id, zone):
    """Deletes every record set but the apex SOA and NS, then the zone (not timed)."""
    sets = []
    for page in c.get_paginator("list_resource_record_sets").paginate(HostedZoneId=zone_id):
        sets += [r for r in page["ResourceRecordSets"]
                 if not (r["Name"] == zone and r["Type"] in ("SOA", "NS"))]
    for start in range(0, len(sets), BATCH):
        c.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [
            {"Action": "DELETE", "ResourceRecordSet": r} for r in sets[start:start + BATCH]]})
    c.delete_hosted_zone(Id=zone_id)


# ------------------------------------------------------------------ the parts
def part_moto(a, res):
    servers = [("moto", a.moto_endpoint, a.moto_pid), ("policydns", a.endpoint, a.server_pid)]
    out = {}
    for name, endpoint, pid in servers:
        if not endpoint:
            log(f"moto part: no endpoint for {name} -- skipped")
            continue
        c = make_client(endpoint, a.akid, a.secret)
        c.list_hosted_zones()  # connection and client warm-up, unmeasured
        meter = CpuMeter(pid).start()
        zone_id, create = create_zone(c, SMALL)
        fills = fill(c, zone_id, SMALL, a.small_records)
        ups = []
        for i in range(20):
            t0 = time.perf_counter()
            c.change_resource_record_sets(HostedZoneId=zone_id,
                                          ChangeBatch=upsert_a(f"probe.{SMALL}", address(i, 203)))
            ups.append(time.perf_counter() - t0)
        lists, page_times, nsets, npages = [], [], 0, 0
        for _ in range(5):
            t0 = time.perf_counter()
            pages, nsets = list_all(c, zone_id)
            lists.append(time.perf_counter() - t0)
            page_times += pages
            npages = len(pages)
        meter.stop()
        try:
            empty_and_delete(c, zone_id, SMALL)
        except Exception as e:  # the figures stand; only the clean-up failed
            log(f"{name}: deleting {SMALL} failed: {e}")
        out[name] = {
            "create_ms": ms(create),
            "fill_batch_p50_ms": ms(median(fills)),
            "upsert_p50_ms": ms(median(ups)),
            "upsert_p99_ms": ms(pct(ups, 99)),
            "list_page_p50_ms": ms(median(page_times)),
            "list_full_p50_ms": ms(median(lists)),
            "list_pages": npages,
            "record_sets_listed": nsets,
            "server_cpu_s": meter.server_s,
            "wall_s": meter.wall,
        }
        r = out[name]
        print(f"moto-vs: {name:9s} create_hosted_zone {fmt(r['create_ms'])}; fill batch ({BATCH}) "
              f"p50 {fmt(r['fill_batch_p50_ms'])}; single UPSERT p50 {fmt(r['upsert_p50_ms'])} "
              f"p99 {fmt(r['upsert_p99_ms'])}; list page p50 {fmt(r['list_page_p50_ms'])}; "
              f"full listing ({nsets} sets, {npages} pages) p50 {fmt(r['list_full_p50_ms'])}; "
              f"server CPU {fmt(meter.server_s, 's')} for the part", flush=True)
    if "moto" in out and "policydns" in out:
        ratios = {k: out["policydns"][k] / out["moto"][k]
                  for k in ("create_ms", "fill_batch_p50_ms", "upsert_p50_ms",
                            "list_page_p50_ms", "list_full_p50_ms")
                  if out["moto"][k]}
        out["ratio_policydns_over_moto"] = ratios
        print("moto-vs: policydns / moto: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()),
              flush=True)
    res["moto"] = {"records": a.small_records, **out}


def part_fill(a, res):
    c = make_client(a.endpoint, a.akid, a.secret)
    c.list_hosted_zones()
    meter = CpuMeter(a.server_pid).start()
    zone_id, _ = create_zone(c, ZONE)
    times = fill(c, zone_id, ZONE, a.records)
    meter.stop()
    res.setdefault("state", {})["zone_id"] = zone_id
    # A page of the listing, from the top and from the middle, on the filled zone.
    firsts, middles = [], []
    for _ in range(5):
        t0 = time.perf_counter()
        c.list_resource_record_sets(HostedZoneId=zone_id)
        firsts.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        c.list_resource_record_sets(HostedZoneId=zone_id, StartRecordName=f"h{a.records // 2}.{ZONE}")
        middles.append(time.perf_counter() - t0)
    n = len(times)
    k = max(1, min(10, n // 3))
    r = {
        "records": a.records,
        "batches": n,
        "batch_size": BATCH,
        "total_s": meter.wall,
        "records_per_s": a.records / meter.wall if meter.wall else None,
        "raw_batch_ms": [round(ms(x), 2) for x in times],
        "batch_p50_ms": ms(median(times)),
        "batch_p99_ms": ms(pct(times, 99)),
        "first_last_k": k,
        "first_batches_p50_ms": ms(median(times[:k])),
        "last_batches_p50_ms": ms(median(times[-k:])),
        "server_cpu_s": meter.server_s,
        "server_cpu_ms_per_batch": None if meter.server_s is None or not n else meter.server_s * 1000 / n,
        "list_first_page_p50_ms": ms(median(firsts)),
        "list_middle_page_p50_ms": ms(median(middles)),
    }
    res["fill"] = r
    print(f"fill: {a.records} record sets in {n} batches of {BATCH}: {meter.wall:.2f} s "
          f"({r['records_per_s']:.0f} record sets/s); batch p50 {fmt(r['batch_p50_ms'])} "
          f"p99 {fmt(r['batch_p99_ms'])}; first {k} batches p50 {fmt(r['first_batches_p50_ms'])}, "
          f"last {k} p50 {fmt(r['last_batches_p50_ms'])}; server CPU "
          f"{fmt(r['server_cpu_ms_per_batch'])}/batch; list page (300) on the filled zone p50 "
          f"{fmt(r['list_first_page_p50_ms'])} from the top, {fmt(r['list_middle_page_p50_ms'])} "
          f"from the middle", flush=True)


def part_sign(a, res):
    """Route 53's DNSSEC on the filled zone: a key-signing key, then signing enabled (the
    whole zone signed before the 200). The parts after it measure changes to a signed zone."""
    c = make_client(a.endpoint, a.akid, a.secret)
    zone_id = zone_id_of(a, res, c)
    meter = CpuMeter(a.server_pid).start()
    t0 = time.perf_counter()
    c.create_key_signing_key(CallerReference=f"bench-{time.time()}", HostedZoneId=zone_id,
                             KeyManagementServiceArn="arn:aws:kms:us-east-1:111122223333:key/bench",
                             Name="bench_ksk", Status="ACTIVE")
    t1 = time.perf_counter()
    c.enable_hosted_zone_dnssec(HostedZoneId=zone_id)
    t2 = time.perf_counter()
    meter.stop()
    status = c.get_dnssec(HostedZoneId=zone_id)["Status"]["ServeSignature"]
    if status != "SIGNING":
        sys.exit(f"api_bench: get_dnssec says {status} after enable_hosted_zone_dnssec")
    r = {"records": a.records, "create_ksk_ms": ms(t1 - t0), "enable_s": t2 - t1,
         "server_cpu_s": meter.server_s}
    res["sign"] = r
    print(f"sign: create_key_signing_key {fmt(r['create_ksk_ms'])}; enable_hosted_zone_dnssec on "
          f"{a.records} record sets {r['enable_s']:.2f} s (server CPU {fmt(meter.server_s, 's')})",
          flush=True)


def zone_id_of(a, res, c):
    zid = res.get("state", {}).get("zone_id")
    if zid:
        return zid
    r = c.list_hosted_zones_by_name(DNSName=ZONE, MaxItems="1")
    for z in r["HostedZones"]:
        if z["Name"] == ZONE:
            return z["Id"].split("/")[-1]
    sys.exit(f"api_bench: no hosted zone {ZONE}: run the fill part first")


def part_served(a, res):
    c = make_client(a.endpoint, a.akid, a.secret)
    zone_id = zone_id_of(a, res, c)
    dns = Resolver(a.dns)
    name = f"probe.{ZONE}"
    # The floor: one UDP question and answer for a name that does not change.
    floor = []
    for _ in range(max(20, a.changes)):
        t0 = time.perf_counter()
        if dns.ask(f"h2.{ZONE}", 1) is None:
            sys.exit("api_bench: the DNS side does not answer")
        floor.append(time.perf_counter() - t0)
    base = res.get("state", {}).get("probe_next", 0)
    api_t, served, polls, first_ok, lost = [], [], [], 0, 0
    for i in range(a.changes):
        addr = address(base + i)
        t0 = time.perf_counter()
        c.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=upsert_a(name, addr))
        api_t.append(time.perf_counter() - t0)
        took, n = poll_until(lambda: addr in dns.a(name), a.wait_change)
        if took is None:
            lost += 1
            log(f"change {i}: {name} not answered with {addr} within {a.wait_change} s")
            continue
        served.append(took)
        polls.append(n)
        first_ok += n == 1
    res.setdefault("state", {})["probe_next"] = base + a.changes
    r = {
        "changes": a.changes,
        "served_p50_ms": ms(median(served)),
        "served_p99_ms": ms(pct(served, 99)),
        "served_max_ms": ms(max(served) if served else None),
        "first_query_new": first_ok,
        "never_served": lost,
        "polls_max": max(polls) if polls else None,
        "api_p50_ms": ms(median(api_t)),
        "api_p99_ms": ms(pct(api_t, 99)),
        "dns_rtt_p50_ms": ms(median(floor)),
        "raw_served_ms": [round(ms(x), 4) for x in served],
        "raw_api_ms": [round(ms(x), 3) for x in api_t],
    }
    res["served"] = r
    print(f"change->served: {a.changes} UPSERTs of {name}: served after the 200 p50 "
          f"{fmt(r['served_p50_ms'], 'ms', 3)} p99 {fmt(r['served_p99_ms'], 'ms', 3)} max "
          f"{fmt(r['served_max_ms'], 'ms', 3)} (first query already new: {first_ok}/{a.changes}; "
          f"one UDP query's round trip p50 {fmt(r['dns_rtt_p50_ms'], 'ms', 3)}); API call "
          f"(request -> 200) p50 {fmt(r['api_p50_ms'])} p99 {fmt(r['api_p99_ms'])}"
          + (f"; NEVER SERVED: {lost}" if lost else ""), flush=True)


def sustained_client(k, endpoint, akid, secret, zone_id, tag, cpus, go, stop_at, out):
    """One client process of the sustained part: its own boto3 client, warmed up; waits for
    `go`, UPSERTs its own name until the shared monotonic time `stop_at`, then puts
    ("done", k, latencies, errors, CPU seconds) on `out` (or ("failed", k, why))."""
    try:
        if cpus:
            os.sched_setaffinity(0, cpus)
        c = make_client(endpoint, akid, secret)
        c.get_hosted_zone(Id=zone_id)  # connection and client warm-up, unmeasured
    except Exception as e:
        out.put(("failed", k, f"{type(e).__name__}: {e}"))
        return
    out.put(("ready", k))
    go.wait()
    cpu0 = time.process_time()
    end = stop_at.value
    name = f"{tag}{k}.{ZONE}"
    lat, errors, i = [], 0, 0
    while time.monotonic() < end:
        t0 = time.perf_counter()
        try:
            c.change_resource_record_sets(HostedZoneId=zone_id,
                                          ChangeBatch=upsert_a(name, address(i, 100 + k)))
            lat.append(time.perf_counter() - t0)
        except Exception as e:  # counted; the first few are shown
            errors += 1
            if errors <= 3:
                log(f"client {k}: {e}")
        i += 1
    out.put(("done", k, lat, errors, time.process_time() - cpu0))


def sustained(a, zone_id, clients, tag):
    """clients processes (one boto3 client each, so no GIL between them) UPSERTing their own
    names for a.seconds."""
    import multiprocessing
    import queue

    ctx = multiprocessing.get_context("fork")
    go = ctx.Event()
    stop_at = ctx.Value("d", 0.0)
    out = ctx.Queue()
    procs = [ctx.Process(target=sustained_client, daemon=True,
                         args=(k, a.endpoint, a.akid, a.secret, zone_id, tag, a.client_cpus,
                               go, stop_at, out))
             for k in range(clients)]
    for pr in procs:
        pr.start()

    def collect(kind, limit):
        got = {}
        deadline = time.monotonic() + limit
        while len(got) < clients:
            try:
                msg = out.get(timeout=1.0)
            except queue.Empty:
                dead = [k for k, pr in enumerate(procs) if k not in got and not pr.is_alive()]
                late = time.monotonic() > deadline
                if (dead and out.empty()) or late:
                    for pr in procs:
                        pr.kill()
                    why = f"not in after {limit:g} s" if late else f"{dead} exited without a word"
                    sys.exit(f"api_bench: sustained client processes {why} (waiting for "
                             f"'{kind}', {len(got)}/{clients} in)")
                continue
            if msg[0] == "failed":
                for pr in procs:
                    pr.kill()
                sys.exit(f"api_bench: sustained client {msg[1]} failed to start: {msg[2]}")
            got[msg[1]] = msg
        return got

    collect("ready", a.wait)
    meter = CpuMeter(a.server_pid)
    stop_at.value = time.monotonic() + a.seconds
    meter.start()
    go.set()
    done = collect("done", a.seconds + a.wait)
    meter.stop()
    for pr in procs:
        pr.join()
    all_lat = [x for m in done.values() for x in m[2]]
    n = len(all_lat)
    client_s = sum(m[4] for m in done.values())
    return {
        "clients": clients,
        "seconds": meter.wall,
        "batches": n,
        "errors": sum(m[3] for m in done.values()),
        "batches_per_s": n / meter.wall,
        "api_p50_ms": ms(median(all_lat)),
        "api_p99_ms": ms(pct(all_lat, 99)),
        "server_cpu_pct": None if meter.server_s is None else 100 * meter.server_s / meter.wall,
        "server_cpu_ms_per_batch": None if meter.server_s is None or not n else meter.server_s * 1000 / n,
        # The client processes' CPU summed, as % of one core: over 100 % with several cores.
        "client_cpu_pct": 100 * client_s / meter.wall,
    }


def part_sustained(a, res):
    c = make_client(a.endpoint, a.akid, a.secret)
    zone_id = zone_id_of(a, res, c)
    cores = len(a.client_cpus) if a.client_cpus else len(os.sched_getaffinity(0))
    out = {"client_cores": cores}
    for k, tag in ((a.clients, "c"), (1, "one")):
        r = sustained(a, zone_id, k, tag)
        out["many" if tag == "c" else "one"] = r
        print(f"sustained: {k} client process{'es' if k > 1 else ''} x {a.seconds:g} s: "
              f"{r['batches_per_s']:.1f} single-change batches/s ({r['batches']} batches, "
              f"{r['errors']} errors); API p50 {fmt(r['api_p50_ms'])} p99 {fmt(r['api_p99_ms'])}; "
              f"server CPU {fmt(r['server_cpu_pct'], '%', 0)} of a core, "
              f"{fmt(r['server_cpu_ms_per_batch'])}/batch; client CPU {fmt(r['client_cpu_pct'], '%', 0)} "
              f"of a core (summed; the clients have {cores} core{'s' if cores > 1 else ''})",
              flush=True)
    if out["one"]["batches_per_s"]:
        out["many_over_one"] = out["many"]["batches_per_s"] / out["one"]["batches_per_s"]
        print(f"sustained: {a.clients} clients / 1 client: {out['many_over_one']:.2f}x the batches/s",
              flush=True)
    res["sustained"] = out


def remember_serial(a, res):
    s = Resolver(a.dns).serial(ZONE)
    if s is not None:
        res.setdefault("state", {})["serial"] = s


def part_replay(a, res):
    serial = res.get("state", {}).get("serial")
    if serial is None:
        sys.exit("api_bench: replay needs the serial the first run ended with")
    dns = Resolver(a.dns)
    c = make_client(a.endpoint, a.akid, a.secret)

    def api_up():
        try:
            c.get_hosted_zone(Id=res["state"]["zone_id"])
            return True
        except Exception:
            return False

    t_dns, _ = poll_until(lambda: dns.serial(ZONE, 0.2) == serial, a.wait, 0.01)
    since = time.time() - a.started_at
    t_api, _ = poll_until(api_up, a.wait, 0.01)
    api_since = time.time() - a.started_at
    journal = a.journal_bytes
    r = {
        "serial": serial,
        "dns_serving_s": since if t_dns is not None else None,
        "api_answering_s": api_since if t_api is not None else None,
        "journal_bytes": journal,
    }
    res["replay"] = r
    print(f"replay: restart on the same state ({journal / 1e6:.1f} MB journal) -> serial {serial} "
          f"served by DNS after {fmt(r['dns_serving_s'], 's')}, API answering after "
          f"{fmt(r['api_answering_s'], 's')} (from process start)", flush=True)


def part_secondary(a, res, key, label, addr, started_at, changes, pause):
    """A secondary (Knot or BIND, at addr, started at epoch started_at) of the primary: its
    first transfer, then `changes` UPSERTs each timed from the 200 to the secondary answering
    the new address; the figures go to res[key]."""
    dns = Resolver(a.dns)
    sec = Resolver(addr)
    serial = dns.serial(ZONE)
    took, _ = poll_until(lambda: sec.serial(ZONE, 0.2) == serial, a.wait, 0.01)
    initial = time.time() - started_at if took is not None else None
    if initial is None:
        print(f"{key}: {label} never served serial {serial} of {ZONE} within {a.wait} s -- part "
              f"skipped", flush=True)
        res[key] = {"initial_s": None}
        return
    c = make_client(a.endpoint, a.akid, a.secret)
    zone_id = zone_id_of(a, res, c)
    name = f"probe.{ZONE}"
    base = res.get("state", {}).get("probe_next", 0)
    times, lost, api_t = [], 0, []
    # Secondaries put off a refresh that closely follows their first transfer too.
    time.sleep(pause)
    for i in range(changes):
        new = address(base + i)
        t0 = time.perf_counter()
        c.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch=upsert_a(name, new))
        api_t.append(time.perf_counter() - t0)
        t, _ = poll_until(lambda: new in sec.a(name, 0.2), a.wait_change, 0.0005)
        if t is None:
            lost += 1
            log(f"{key} change {i}: {label} did not answer {new} within {a.wait_change} s")
        else:
            times.append(t)
        if pause:
            time.sleep(pause)
    res.setdefault("state", {})["probe_next"] = base + changes
    r = {
        "records": res.get("fill", {}).get("records"),
        "initial_s": initial,
        "changes": changes,
        "pause_s": pause,
        "p50_ms": ms(median(times)),
        "p99_ms": ms(pct(times, 99)),
        "max_ms": ms(max(times) if times else None),
        "never_served": lost,
        "api_p50_ms": ms(median(api_t)),
        "api_p99_ms": ms(pct(api_t, 99)),
        "raw_ms": [round(ms(x), 3) for x in times],
    }
    res[key] = r
    print(f"{key}: first transfer of {ZONE} (serial {serial}) served by {label} {initial:.2f} s "
          f"after it started; {changes} UPSERTs ({pause:g} s apart): 200 -> {label} answers "
          f"p50 {fmt(r['p50_ms'])} p99 {fmt(r['p99_ms'])} max {fmt(r['max_ms'])}; API call (with "
          f"[api] transfer settings on) p50 {fmt(r['api_p50_ms'])} p99 {fmt(r['api_p99_ms'])}"
          + (f"; NEVER SERVED: {lost}" if lost else ""), flush=True)


def part_knot(a, res):
    if not a.knot or a.knot_started_at is None:
        sys.exit("api_bench: part knot needs --knot and --knot-started-at")
    part_secondary(a, res, "knot", "Knot", a.knot, a.knot_started_at, a.knot_changes, a.knot_pause)


def part_bind(a, res):
    if not a.bind or a.bind_started_at is None:
        sys.exit("api_bench: part bind needs --bind and --bind-started-at")
    part_secondary(a, res, "bind", "BIND", a.bind, a.bind_started_at, a.bind_changes, a.bind_pause)


# ------------------------------------------------------------------ the final table
def table(path):
    res = json.load(open(path))
    meta = res.get("meta", {})
    rows = []

    def row(part, what, value):
        rows.append((part, what, value))

    f = res.get("fill")
    if f:
        row("1 setup", f"fill {f['records']} record sets, {f['batch_size']} CREATEs a batch",
            f"{f['total_s']:.2f} s ({f['records_per_s']:.0f} sets/s)")
        row("", "batch p50 / p99", f"{fmt(f['batch_p50_ms'])} / {fmt(f['batch_p99_ms'])}")
        row("", f"batch p50, first {f.get('first_last_k', 10)} / last {f.get('first_last_k', 10)}", f"{fmt(f['first_batches_p50_ms'])} / {fmt(f['last_batches_p50_ms'])}")
        row("", "server CPU per batch", fmt(f["server_cpu_ms_per_batch"]))
        row("", "list page (300) on the filled zone, top / middle",
            f"{fmt(f['list_first_page_p50_ms'])} / {fmt(f['list_middle_page_p50_ms'])}")
    g = res.get("sign")
    if g:
        row("1b DNSSEC", f"enable_hosted_zone_dnssec on {g['records']} record sets (whole zone signed)",
            f"{g['enable_s']:.2f} s")
        row("", "create_key_signing_key", fmt(g["create_ksk_ms"]))
    s = res.get("served")
    if s:
        row("2 change->served", f"{s['changes']} UPSERTs: 200 -> DNS answers p50 / p99 / max",
            f"{fmt(s['served_p50_ms'], 'ms', 3)} / {fmt(s['served_p99_ms'], 'ms', 3)} / {fmt(s['served_max_ms'], 'ms', 3)}")
        row("", "first query after the 200 already new", f"{s['first_query_new']}/{s['changes']}")
        row("", "one UDP query round trip p50 (the floor)", fmt(s["dns_rtt_p50_ms"], "ms", 3))
        row("", "API call (request -> 200) p50 / p99", f"{fmt(s['api_p50_ms'])} / {fmt(s['api_p99_ms'])}")
    u = res.get("sustained")
    if u:
        cores = u.get("client_cores")
        for key in ("many", "one"):
            r = u[key]
            row("3 sustained" if key == "many" else "",
                f"{r['clients']} client process{'es' if r['clients'] > 1 else ''}, {r['seconds']:.1f} s: batches/s",
                f"{r['batches_per_s']:.1f} ({r['errors']} errors)")
            row("", "  API p50 / p99", f"{fmt(r['api_p50_ms'])} / {fmt(r['api_p99_ms'])}")
            row("", "  server CPU per batch (% of a core); client CPU"
                + (f" ({cores} core{'s' if cores > 1 else ''})" if cores else ""),
                f"{fmt(r['server_cpu_ms_per_batch'])} ({fmt(r['server_cpu_pct'], '%', 0)}); {fmt(r['client_cpu_pct'], '%', 0)}")
        if u.get("many_over_one"):
            row("", f"{u['many']['clients']} clients / 1 client", f"{u['many_over_one']:.2f}x")
    p = res.get("replay")
    if p:
        row("restart", f"journal replay ({p['journal_bytes'] / 1e6:.1f} MB) -> DNS / API up",
            f"{fmt(p['dns_serving_s'], 's')} / {fmt(p['api_answering_s'], 's')}")
    for key, part, label, daemon in (("knot", "4 Knot secondary", "Knot", "knotd"),
                                     ("bind", "4b BIND secondary", "BIND", "named")):
        k = res.get(key)
        if k is None:
            continue
        if k.get("skipped"):
            row(part, "skipped", k["skipped"])
        elif k.get("initial_s") is None:
            row(part, "first transfer", "never served (see the log)")
        else:
            row(part, f"first transfer ({k['records']} sets): {daemon} start -> serving", f"{k['initial_s']:.2f} s")
            row("", f"{k['changes']} UPSERTs: 200 -> {label} answers p50 / p99 / max",
                f"{fmt(k['p50_ms'])} / {fmt(k['p99_ms'])} / {fmt(k['max_ms'])}"
                + (f" ({k['never_served']} never served)" if k.get("never_served") else ""))
            row("", "  API call p50 / p99 (transfer settings on)",
                f"{fmt(k.get('api_p50_ms'))} / {fmt(k.get('api_p99_ms'))}")
    w = max([len(r[1]) for r in rows] + [10])
    pw = max([len(r[0]) for r in rows] + [4])
    print(f"policydns Route 53 API benchmark -- {meta.get('date', '')}")
    if meta.get("host"):
        print(f"host: {meta['host']}")
    if meta.get("binary"):
        print(f"policydns: {meta['binary']}")
    if meta.get("note"):
        print(meta["note"])
    print()
    print(f"{'part'.ljust(pw)}  {'figure'.ljust(w)}  value")
    print(f"{'-' * pw}  {'-' * w}  {'-' * 30}")
    for part, what, value in rows:
        print(f"{part.ljust(pw)}  {what.ljust(w)}  {value}")
    m = res.get("moto")
    if m and ("policydns" in m or "moto" in m):
        print()
        print(f"5 beside moto_server ({m['records']}-record zone; API timing only, p50 per call)")
        keys = [("create_ms", "create_hosted_zone"), ("fill_batch_p50_ms", f"CREATE batch of {BATCH}"),
                ("upsert_p50_ms", "single UPSERT"), ("list_page_p50_ms", "list_resource_record_sets page"),
                ("list_full_p50_ms", "full listing (all pages)")]
        ratio = m.get("ratio_policydns_over_moto", {})
        print(f"{'call'.ljust(32)}  {'policydns'.rjust(12)}  {'moto'.rjust(12)}  {'x moto'.rjust(7)}")
        for key, label in keys:
            pv = m.get("policydns", {}).get(key)
            mv = m.get("moto", {}).get(key)
            rv = ratio.get(key)
            print(f"{label.ljust(32)}  {fmt(pv).rjust(12)}  {fmt(mv).rjust(12)}  "
                  f"{(f'{rv:.2f}' if rv is not None else '-').rjust(7)}")
    print()
    print("Times are wall-clock as the client sees them (boto3 included: its signing and XML")
    print("parsing are in every API figure). Server CPU is the policydns process's utime+stime")
    print("from /proc (10 ms ticks); 'client CPU' is the sustained part's client processes' CPU")
    print("summed, as % of one core: near 100 % per core they have means the Python clients, not")
    print("the server, set the rate. x moto = policydns / moto, lower is better.")


# ------------------------------------------------------------------ main
def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", help="policydns API, http://127.0.0.1:PORT")
    p.add_argument("--dns", help="policydns DNS, 127.0.0.1:PORT")
    p.add_argument("--key", default="AKIDBENCH:benchsecret", help="AKID:SECRET")
    p.add_argument("--json", help="results file (read, merged, written)")
    p.add_argument("--parts", default="moto,fill,served,sustained")
    p.add_argument("--records", type=int, default=100000)
    p.add_argument("--small-records", type=int, default=1000)
    p.add_argument("--changes", type=int, default=200)
    p.add_argument("--knot-changes", type=int)
    p.add_argument("--knot-pause", type=float, default=0.0, help="seconds between Knot changes")
    p.add_argument("--bind-changes", type=int, help="UPSERTs timed on BIND (default --knot-changes)")
    p.add_argument("--bind-pause", type=float, help="seconds between BIND changes (default --knot-pause)")
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--clients", type=int, default=8, help="sustained part's client processes")
    p.add_argument("--client-cpus", help="CPUs for those processes, e.g. 1 or 1-3 or 0,1 "
                   "(default: this process's affinity)")
    p.add_argument("--server-pid", type=int)
    p.add_argument("--moto-endpoint")
    p.add_argument("--moto-pid", type=int)
    p.add_argument("--knot", help="Knot secondary's DNS, 127.0.0.1:PORT")
    p.add_argument("--knot-started-at", type=float)
    p.add_argument("--bind", help="BIND secondary's DNS, 127.0.0.1:PORT")
    p.add_argument("--bind-started-at", type=float)
    p.add_argument("--started-at", type=float, help="epoch seconds the restarted server was started")
    p.add_argument("--journal-bytes", type=int, default=0)
    p.add_argument("--wait", type=float, default=600, help="limit for start-up and transfer waits (s)")
    p.add_argument("--wait-change", type=float, default=30, help="limit for one change to show (s)")
    p.add_argument("--meta", action="append", default=[], help="KEY=VALUE for the table's header")
    p.add_argument("--skip-knot", help="record that the Knot part was skipped, and why")
    p.add_argument("--skip-bind", help="record that the BIND part was skipped, and why")
    p.add_argument("--table", help="print the table of a results JSON file and exit")
    a = p.parse_args()
    if a.table:
        table(a.table)
        return 0
    a.akid, a.secret = a.key.split(":", 1)
    if a.knot_changes is None:
        a.knot_changes = a.changes
    if a.bind_changes is None:
        a.bind_changes = a.knot_changes
    if a.bind_pause is None:
        a.bind_pause = a.knot_pause
    a.client_cpus = cpu_list(a.client_cpus) if a.client_cpus else None
    res = {}
    if a.json and os.path.exists(a.json):
        res = json.load(open(a.json))
    meta = res.setdefault("meta", {})
    for kv in a.meta:
        k, v = kv.split("=", 1)
        meta[k] = v
    if a.skip_knot:
        res["knot"] = {"skipped": a.skip_knot}
    if a.skip_bind:
        res["bind"] = {"skipped": a.skip_bind}
    parts = {"moto": part_moto, "fill": part_fill, "sign": part_sign, "served": part_served,
             "sustained": part_sustained, "replay": part_replay, "knot": part_knot,
             "bind": part_bind}
    try:
        for name in [x for x in a.parts.split(",") if x]:
            if name not in parts:
                sys.exit(f"api_bench: unknown part {name!r} (known: {', '.join(parts)})")
            log(f"part {name}")
            parts[name](a, res)
            if a.dns and name in ("fill", "served", "sustained"):
                remember_serial(a, res)
    finally:
        if a.json:
            with open(a.json + ".tmp", "w") as f:
                json.dump(res, f, indent=1, sort_keys=True)
            os.replace(a.json + ".tmp", a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
