#!/usr/bin/env python3
"""The dynamic update benchmark's driver (bench/update.sh starts the servers and runs this).

A benchmark, not a test: it measures one server at a time (--name, --dns, --server-pid), prints
one summary line per part, and merges its figures into a JSON file (--json). UPDATE messages
are built by hand (struct) and signed with TSIG hmac-sha256 (RFC 8945, hmac from the standard
library), so the client's cost per update is a few tens of microseconds; queries are raw UDP.
Parts (--parts, comma-separated, run in the order given):

  fsync       the floor: --fsync-count write(4 KiB)+fsync pairs in --fsync-dir, p50/p99
  fill        (policydns) create bench.test. through the Route 53 API (boto3) and CREATE
              --records A records h0..hN-1, 500 a batch
  zonefile    (Knot) write the same zone as a zone file to --zonefile
  wait        until the server answers the zone's SOA over UDP (start-up time)
  check       one signed update over UDP and one over TCP: NOERROR, the answer's TSIG verified,
              the record served; one update signed with a wrong secret (must be NOTAUTH); with
              dnspython importable, our request's signature is verified by dnspython too
  latency     --changes sequential updates `add probeN.bench.test. 60 A ...` over UDP: the
              update round trip (send -> NOERROR), then from the answer to the first UDP query
              (one every --poll-interval s) that returns the new record
  throughput  --clients processes, each its own UDP socket, send single-record updates back to
              back (--kind add: `add tK-I.bench.test. 60 A ...`, a new name each, the zone grows;
              --kind replace: `delete tK A` + `add tK 60 A ...` at the client's own name, the
              zone keeps its size) for --seconds; then the same with one process. Updates/s,
              errors, round trips, server CPU per update

`--table FILE.json` prints the final table of a run and exits.
"""

import argparse
import base64
import hashlib
import hmac
import json
import multiprocessing
import os
import random
import socket
import struct
import sys
import time

from benchlib import cpu_ticks, fmt, median, ms, pct

ZONE = "bench.test."
BATCH = 500
CLK_TCK = os.sysconf("SC_CLK_TCK")
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
          6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}
T_A, T_SOA, T_TSIG, C_IN, C_ANY = 1, 6, 250, 1, 255
OP_UPDATE = 5


# ------------------------------------------------------------------ small helpers
def log(msg):
    print(f"[update_bench] {msg}", file=sys.stderr, flush=True)


def address(i, base):
    """A distinct IPv4 address for number i."""
    return f"{base}.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def fill_address(i):
    return address(i, 10)


def hostport(addr):
    host, port = addr.rsplit(":", 1)
    return host, int(port)


# ------------------------------------------------------------------ DNS wire, by hand
def wire_name(name):
    """Uncompressed, lower-cased wire form (the canonical form TSIG digests use)."""
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.lower().encode()
    return out + b"\0"


def skip_name(msg, at):
    while True:
        n = msg[at]
        if n & 0xC0 == 0xC0:
            return at + 2
        if n == 0:
            return at + 1
        at += n + 1


def parse(msg):
    """(id, flags, [(section, start, type, rdata_start, rdlen)]) of a message; sections 1..3."""
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    at = 12
    for _ in range(qd):
        at = skip_name(msg, at) + 4
    rrs = []
    for section, count in ((1, an), (2, ns), (3, ar)):
        for _ in range(count):
            start = at
            at = skip_name(msg, at)
            rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", msg[at:at + 10])
            at += 10
            rrs.append((section, start, rtype, at, rdlen))
            at += rdlen
    return qid, flags, rrs


def query(qtype, name):
    qid = random.randrange(65536)
    return qid, struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + wire_name(name) + struct.pack(">HH", qtype, C_IN)


ZONE_SECTION = wire_name(ZONE) + struct.pack(">HH", T_SOA, C_IN)


def update_add(qid, name, addr, ttl=60, replace=False):
    """An UPDATE of bench.test. adding one A record (no TSIG yet); with replace, the name's A
    RRset is deleted first in the same update (RFC 2136 2.5.2: class ANY, TTL 0, no rdata)."""
    wname = wire_name(name)
    rr = wname + struct.pack(">HHIH", T_A, C_IN, ttl, 4) + socket.inet_aton(addr)
    if replace:
        rr = wname + struct.pack(">HHIH", T_A, C_ANY, 0, 0) + rr
    return struct.pack(">HHHHHH", qid, OP_UPDATE << 11, 1, 0, 2 if replace else 1, 0) + ZONE_SECTION + rr


class Signer:
    """TSIG hmac-sha256 (RFC 8945) for requests, and the check of a signed answer."""

    ALG = wire_name("hmac-sha256.")

    def __init__(self, key_name, secret_b64):
        self.key = base64.b64decode(secret_b64)
        self.kname = wire_name(key_name)

    def _variables(self, time_signed, fudge, error=0, other=b""):
        return (self.kname + struct.pack(">HI", C_ANY, 0) + self.ALG
                + struct.pack(">HIH", time_signed >> 32, time_signed & 0xFFFFFFFF, fudge)
                + struct.pack(">HH", error, len(other)) + other)

    def sign(self, msg, fudge=300):
        """msg with a TSIG record appended (ARCOUNT + 1), and the MAC."""
        now = int(time.time())
        mac = hmac.new(self.key, msg + self._variables(now, fudge), hashlib.sha256).digest()
        rdata = (self.ALG + struct.pack(">HIH", now >> 32, now & 0xFFFFFFFF, fudge)
                 + struct.pack(">H", len(mac)) + mac + msg[:2] + struct.pack(">HH", 0, 0))
        rr = self.kname + struct.pack(">HHIH", T_TSIG, C_ANY, 0, len(rdata)) + rdata
        arcount = struct.unpack(">H", msg[10:12])[0] + 1
        return msg[:10] + struct.pack(">H", arcount) + msg[12:] + rr, mac

    def verify(self, resp, request_mac):
        """'ok', 'unsigned', or why the answer's TSIG does not verify; and its TSIG error."""
        _, _, rrs = parse(resp)
        if not rrs or rrs[-1][0] != 3 or rrs[-1][2] != T_TSIG:
            return "unsigned", None
        _, start, _, rd, rdlen = rrs[-1]
        at = skip_name(resp, rd)
        hi, lo, fudge, maclen = struct.unpack(">HIHH", resp[at:at + 10])
        mac = resp[at + 10:at + 10 + maclen]
        at += 10 + maclen
        orig_id, error, olen = struct.unpack(">HHH", resp[at:at + 6])
        other = resp[at + 6:at + 6 + olen]
        body = bytearray(resp[:start])
        body[0:2] = struct.pack(">H", orig_id)
        body[10:12] = struct.pack(">H", struct.unpack(">H", resp[10:12])[0] - 1)
        want = hmac.new(self.key, struct.pack(">H", len(request_mac)) + request_mac + bytes(body)
                        + self._variables((hi << 32) | lo, fudge, error, other), hashlib.sha256).digest()
        return ("ok" if hmac.compare_digest(want, mac) else "bad MAC"), error


class Udp:
    """One connected UDP socket to a server; answers matched by ID."""

    def __init__(self, addr):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(hostport(addr))

    def exchange(self, qid, msg, timeout):
        """The answer with our ID, or None on timeout."""
        deadline = time.perf_counter() + timeout
        try:
            self.sock.send(msg)
        except ConnectionRefusedError:
            return None
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            self.sock.settimeout(left)
            try:
                r = self.sock.recv(65535)
            except socket.timeout:
                return None
            except ConnectionRefusedError:  # nobody listens (yet)
                time.sleep(min(0.01, max(0.0, deadline - time.perf_counter())))
                return None
            if len(r) >= 12 and r[:2] == msg[:2] and r[2] & 0x80:
                return r

    def a(self, name, timeout=1.0):
        """The A addresses answered for name (empty on NXDOMAIN, NODATA or timeout)."""
        qid, q = query(T_A, name)
        r = self.exchange(qid, q, timeout)
        if r is None:
            return []
        _, _, rrs = parse(r)
        return [socket.inet_ntoa(r[rd:rd + 4]) for sec, _, t, rd, n in rrs if sec == 1 and t == T_A and n == 4]

    def soa_serial(self, timeout=1.0):
        qid, q = query(T_SOA, ZONE)
        r = self.exchange(qid, q, timeout)
        if r is None or r[3] & 0xF:
            return None
        _, _, rrs = parse(r)
        for sec, _, t, rd, _ in rrs:
            if sec == 1 and t == T_SOA:
                at = skip_name(r, skip_name(r, rd))
                return struct.unpack(">I", r[at:at + 4])[0]
        return None


def tcp_exchange(addr, msg, timeout=5.0):
    with socket.create_connection(hostport(addr), timeout=timeout) as s:
        s.sendall(struct.pack(">H", len(msg)) + msg)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
            chunk = s.recv(65535)
            if not chunk:
                return None
            buf += chunk
        return buf[2:2 + struct.unpack(">H", buf[:2])[0]]


def rcode_name(resp):
    return RCODES.get(resp[3] & 0xF, f"RCODE{resp[3] & 0xF}")


# ------------------------------------------------------------------ parts
def part_fsync(a, res):
    path = os.path.join(a.fsync_dir, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    block = b"x" * 4096
    times = []
    try:
        for _ in range(a.fsync_count):
            t0 = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            times.append(time.perf_counter() - t0)
    finally:
        os.close(fd)
        os.unlink(path)
    r = {"count": a.fsync_count, "p50_ms": ms(median(times)), "p99_ms": ms(pct(times, 99))}
    res["fsync"] = r
    print(f"fsync: write(4 KiB)+fsync in {a.fsync_dir}: p50 {fmt(r['p50_ms'], 'ms', 3)} "
          f"p99 {fmt(r['p99_ms'], 'ms', 3)} ({a.fsync_count} times)", flush=True)


def part_fill(a, res):
    import boto3
    from botocore.config import Config

    akid, secret = a.key.split(":", 1)
    c = boto3.session.Session().client(
        "route53", endpoint_url=a.endpoint, region_name="us-east-1",
        aws_access_key_id=akid, aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=900))
    t0 = time.perf_counter()
    z = c.create_hosted_zone(Name=ZONE, CallerReference=f"update-bench-{time.time_ns()}")
    zone_id = z["HostedZone"]["Id"].split("/")[-1]
    for start in range(0, a.records, BATCH):
        changes = [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": f"h{i}.{ZONE}", "Type": "A", "TTL": 300,
            "ResourceRecords": [{"Value": fill_address(i)}]}}
            for i in range(start, min(a.records, start + BATCH))]
        c.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
    took = time.perf_counter() - t0
    sets = c.get_hosted_zone(Id=zone_id)["HostedZone"].get("ResourceRecordSetCount")
    res.setdefault("fill", {})["policydns"] = {
        "how": f"Route 53 API, create_hosted_zone + CREATE batches of {BATCH}",
        "records": a.records, "seconds": took, "record_sets": sets}
    print(f"fill: policydns: {ZONE} created and {a.records} A records CREATEd through the API "
          f"({BATCH} a batch) in {took:.2f} s; the zone has {sets} record sets", flush=True)


def part_zonefile(a, res):
    with open(a.zonefile, "w") as f:
        f.write(f"$ORIGIN {ZONE}\n$TTL 300\n")
        f.write("@ 900 IN SOA ns1.bench-peer.invalid. hostmaster.bench.test. 1 7200 900 1209600 86400\n")
        f.write("@ 172800 IN NS ns1.bench-peer.invalid.\n")
        for i in range(a.records):
            f.write(f"h{i} 300 IN A {fill_address(i)}\n")
    res.setdefault("fill", {})["knot"] = {"how": "zone file (SOA, NS and the same A records)",
                                          "records": a.records}
    print(f"zonefile: {a.zonefile}: SOA, NS and {a.records} A records", flush=True)


def part_wait(a, res):
    u = Udp(a.dns)
    t0 = time.perf_counter()
    while True:
        s = u.soa_serial(0.2)
        if s is not None:
            break
        if time.perf_counter() - t0 > a.wait:
            sys.exit(f"update_bench: {a.name} does not answer the SOA of {ZONE} after {a.wait} s")
        time.sleep(0.01)
    took = time.perf_counter() - t0
    srv = res.setdefault("servers", {}).setdefault(a.name, {})
    srv["start_serial"] = s
    print(f"wait: {a.name} answers {ZONE} SOA (serial {s}) {took:.2f} s after the driver began asking",
          flush=True)


def part_check(a, res):
    signer = Signer(a.key_name, a.secret)
    u = Udp(a.dns)
    out = {}
    try:
        import dns.message
        import dns.tsigkeyring
        keyring = dns.tsigkeyring.from_text({a.key_name: a.secret})
    except ImportError:
        keyring = None
    for transport in ("udp", "tcp"):
        name, addr = f"check-{transport}.{ZONE}", "192.0.2.1" if transport == "udp" else "192.0.2.2"
        qid = random.randrange(65536)
        req, mac = signer.sign(update_add(qid, name, addr))
        if keyring is not None:  # dnspython checks our signature (raises if it is wrong)
            dns.message.from_wire(req, keyring=keyring)
            out["dnspython_verified_request"] = True
        t0 = time.perf_counter()
        resp = u.exchange(qid, req, 5.0) if transport == "udp" else tcp_exchange(a.dns, req)
        took = time.perf_counter() - t0
        if resp is None:
            sys.exit(f"update_bench: {a.name}: no answer to a signed update over {transport}")
        rc = rcode_name(resp)
        sig, err = signer.verify(resp, mac)
        if keyring is not None and sig == "ok":
            dns.message.from_wire(resp, keyring=keyring, request_mac=mac)
        served = addr in u.a(name)
        out[transport] = {"rcode": rc, "answer_tsig": sig, "tsig_error": err, "served": served,
                          "ms": ms(took)}
        print(f"check: {a.name}: signed update over {transport.upper()}: {rc}, answer TSIG {sig}"
              f"{'' if not err else f' (error {err})'}, record served: {served} ({took * 1000:.2f} ms)",
              flush=True)
        if rc != "NOERROR" or sig != "ok" or not served:
            sys.exit(f"update_bench: {a.name}: the {transport} check failed ({rc}, TSIG {sig}, served {served})")
    bad = Signer(a.key_name, base64.b64encode(b"not the secret").decode())
    qid = random.randrange(65536)
    req, _ = bad.sign(update_add(qid, f"check-bad.{ZONE}", "192.0.2.3"))
    resp = u.exchange(qid, req, 5.0)
    rc = rcode_name(resp) if resp else "no answer"
    _, err = signer.verify(resp, b"") if resp else (None, None)
    out["wrong_secret"] = {"rcode": rc, "tsig_error": err, "served": "192.0.2.3" in u.a(f"check-bad.{ZONE}")}
    print(f"check: {a.name}: update signed with a wrong secret: {rc}"
          f"{f' (TSIG error {err})' if err else ''}, served: {out['wrong_secret']['served']}", flush=True)
    if rc != "NOTAUTH" or out["wrong_secret"]["served"]:
        sys.exit(f"update_bench: {a.name}: a wrongly signed update was not refused with NOTAUTH")
    res.setdefault("servers", {}).setdefault(a.name, {})["check"] = out


def part_latency(a, res):
    signer = Signer(a.key_name, a.secret)
    up = Udp(a.dns)
    q = Udp(a.dns)
    floor = []
    for _ in range(max(50, a.changes // 2)):
        t0 = time.perf_counter()
        if not q.a(f"h2.{ZONE}"):
            sys.exit(f"update_bench: {a.name} does not answer h2.{ZONE}")
        floor.append(time.perf_counter() - t0)
    rtt, served, polls, first_new, errors, lost = [], [], [], 0, {}, 0
    for i in range(a.changes):
        name, addr = f"probe{i}.{ZONE}", address(i, 198)
        qid = random.randrange(65536)
        req, _ = signer.sign(update_add(qid, name, addr))
        t0 = time.perf_counter()
        resp = up.exchange(qid, req, a.timeout)
        t1 = time.perf_counter()
        if resp is None:
            errors["timeout"] = errors.get("timeout", 0) + 1
            continue
        rc = rcode_name(resp)
        if rc != "NOERROR":
            errors[rc] = errors.get(rc, 0) + 1
            continue
        rtt.append(t1 - t0)
        n = 0
        while True:
            n += 1
            sent = time.perf_counter()
            if addr in q.a(name, 0.5):
                served.append(time.perf_counter() - t1)
                first_new += n == 1
                break
            if sent - t1 > a.wait_change:
                lost += 1
                log(f"{a.name}: change {i}: {name} not served with {addr} within {a.wait_change} s")
                break
            left = a.poll_interval - (time.perf_counter() - sent)
            if left > 0:
                time.sleep(left)
        polls.append(n)
    r = {
        "changes": a.changes,
        "ok": len(rtt),
        "errors": errors,
        "never_served": lost,
        "rtt_p50_ms": ms(median(rtt)), "rtt_p99_ms": ms(pct(rtt, 99)), "rtt_max_ms": ms(max(rtt) if rtt else None),
        "served_p50_ms": ms(median(served)), "served_p99_ms": ms(pct(served, 99)),
        "served_max_ms": ms(max(served) if served else None),
        "first_query_new": first_new,
        "polls_max": max(polls) if polls else None,
        "query_rtt_p50_ms": ms(median(floor)),
        "poll_interval_ms": a.poll_interval * 1000,
        "raw_rtt_ms": [round(ms(x), 4) for x in rtt],
        "raw_served_ms": [round(ms(x), 4) for x in served],
    }
    res.setdefault("servers", {}).setdefault(a.name, {})["latency"] = r
    print(f"latency: {a.name}: {a.changes} sequential updates over UDP: round trip p50 "
          f"{fmt(r['rtt_p50_ms'], 'ms', 3)} p99 {fmt(r['rtt_p99_ms'], 'ms', 3)}; answer -> served p50 "
          f"{fmt(r['served_p50_ms'], 'ms', 3)} p99 {fmt(r['served_p99_ms'], 'ms', 3)} (first query "
          f"already new {r['first_query_new']}/{len(served)}; one UDP query p50 "
          f"{fmt(r['query_rtt_p50_ms'], 'ms', 3)})"
          + (f"; ERRORS {errors}" if errors else "") + (f"; NEVER SERVED {lost}" if lost else ""),
          flush=True)


def load_worker(k, a, tag, start_at, stop_at, conn):
    """One client: its own socket, one update in flight, until stop_at (epoch seconds)."""
    signer = Signer(a.key_name, a.secret)
    u = Udp(a.dns)
    lat, errors = [], {}
    first_error = None
    while time.time() < start_at:
        time.sleep(0.001)
    c0 = time.process_time()
    i = 0
    while time.time() < stop_at:
        qid = random.randrange(65536)
        if a.kind == "replace":
            msg = update_add(qid, f"{tag}{k}.{ZONE}", address(i, 100 + k), replace=True)
        else:
            msg = update_add(qid, f"{tag}{k}-{i}.{ZONE}", address(i, 100 + k))
        req, _ = signer.sign(msg)
        i += 1
        t0 = time.perf_counter()
        resp = u.exchange(qid, req, a.timeout)
        t1 = time.perf_counter()
        if resp is None:
            kind = "timeout"
        else:
            kind = rcode_name(resp)
        if kind == "NOERROR":
            lat.append(t1 - t0)
        else:
            errors[kind] = errors.get(kind, 0) + 1
            first_error = first_error or f"update {i - 1}: {kind}"
    conn.send({"lat": lat, "errors": errors, "sent": i, "cpu_s": time.process_time() - c0,
               "end": time.time(), "first_error": first_error})
    conn.close()


def load(a, clients, tag):
    ctx = multiprocessing.get_context("fork")
    start_at = time.time() + 0.5 + 0.05 * clients
    stop_at = start_at + a.seconds
    procs, pipes = [], []
    for k in range(clients):
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=load_worker, args=(k, a, tag, start_at, stop_at, child))
        p.start()
        child.close()
        procs.append(p)
        pipes.append(parent)
    while time.time() < start_at:
        time.sleep(0.0005)
    t0 = cpu_ticks(a.server_pid)
    outs = [p.recv() for p in pipes]
    t1 = cpu_ticks(a.server_pid)
    for p in procs:
        p.join()
    wall = max(o["end"] for o in outs) - start_at
    lat = [x for o in outs for x in o["lat"]]
    errors = {}
    for o in outs:
        for kind, n in o["errors"].items():
            errors[kind] = errors.get(kind, 0) + n
        if o["first_error"]:
            log(f"{a.name}: a client's first error: {o['first_error']}")
    done = len(lat)
    server_s = None if t0 is None or t1 is None else (t1 - t0) / CLK_TCK
    return {
        "clients": clients,
        "seconds": wall,
        "updates": done,
        "sent": sum(o["sent"] for o in outs),
        "errors": errors,
        "error_count": sum(errors.values()),
        "updates_per_s": done / wall,
        "rtt_p50_ms": ms(median(lat)),
        "rtt_p99_ms": ms(pct(lat, 99)),
        "server_cpu_s": server_s,
        "server_cpu_pct": None if server_s is None else 100 * server_s / wall,
        "server_cpu_ms_per_update": None if server_s is None or not done else server_s * 1000 / done,
        "client_cpu_pct": 100 * sum(o["cpu_s"] for o in outs) / wall,
    }


def part_throughput(a, res):
    out = {}
    for clients, tag, key in ((a.clients, "t", "many"), (1, "o", "one")):
        r = load(a, clients, tag)
        out[key] = r
        print(f"throughput: {a.name}: {clients} client{'s' if clients > 1 else ''} x {r['seconds']:.1f} s: "
              f"{r['updates_per_s']:.0f} updates/s ({r['updates']} NOERROR, {r['error_count']} errors"
              f"{' ' + str(r['errors']) if r['errors'] else ''}); round trip p50 {fmt(r['rtt_p50_ms'], 'ms', 3)} "
              f"p99 {fmt(r['rtt_p99_ms'], 'ms', 3)}; server CPU {fmt(r['server_cpu_pct'], '%', 0)} of a core, "
              f"{fmt(r['server_cpu_ms_per_update'], 'ms', 3)}/update; clients' CPU {fmt(r['client_cpu_pct'], '%', 0)}",
              flush=True)
    serial = Udp(a.dns).soa_serial()
    srv = res.setdefault("servers", {}).setdefault(a.name, {})
    out["kind"] = a.kind
    srv["throughput"] = out
    srv["end_serial"] = serial


# ------------------------------------------------------------------ the final table
def table(path):
    res = json.load(open(path))
    meta = res.get("meta", {})
    servers = res.get("servers", {})
    names = [n for n in ("policydns", "knot") if n in servers]
    label = {"policydns": "policydns", "knot": "Knot"}
    rows = []

    def get(name, *keys):
        v = servers.get(name, {})
        for k in keys:
            if not isinstance(v, dict):
                return None
            v = v.get(k)
        return v

    def row(what, key_path, unit="ms", digits=3, ratio=True, text=None):
        vals = [get(n, *key_path) if key_path else None for n in names]
        cells = [text(n) if text else fmt(v, unit, digits) for n, v in zip(names, vals)]
        rt = "-"
        if ratio and len(vals) == 2 and all(isinstance(v, (int, float)) for v in vals) and vals[1]:
            rt = f"{vals[0] / vals[1]:.2f}"
        rows.append((what, cells, rt))

    row("update round trip p50 (one at a time, UDP)", ("latency", "rtt_p50_ms"))
    row("update round trip p99", ("latency", "rtt_p99_ms"))
    row("answer -> served p50 (UDP polls)", ("latency", "served_p50_ms"))
    row("answer -> served p99", ("latency", "served_p99_ms"))
    row("  first query after the answer already new", None, ratio=False,
        text=lambda n: f"{get(n, 'latency', 'first_query_new')}/{get(n, 'latency', 'ok')}")
    row("  one UDP query round trip p50 (the floor)", ("latency", "query_rtt_p50_ms"))
    row("  errors / never served (of the sequential updates)", None, ratio=False,
        text=lambda n: f"{sum((get(n, 'latency', 'errors') or {}).values())} / {get(n, 'latency', 'never_served')}")
    for key in ("many", "one"):
        c = get(names[0], "throughput", key, "clients") if names else "?"
        row(f"updates/s, {c} client{'s' if c != 1 else ''}", ("throughput", key, "updates_per_s"), "", 0)
        row("  errors (timeouts, rcodes other than NOERROR)", None, ratio=False,
            text=lambda n, key=key: (str(get(n, "throughput", key, "error_count"))
                                     + (f" {get(n, 'throughput', key, 'errors')}"
                                        if get(n, "throughput", key, "error_count") else "")))
        row("  update round trip p50", ("throughput", key, "rtt_p50_ms"))
        row("  update round trip p99", ("throughput", key, "rtt_p99_ms"))
        row("  server CPU per update", ("throughput", key, "server_cpu_ms_per_update"))
        row("  server CPU, % of its core", ("throughput", key, "server_cpu_pct"), "%", 0, ratio=False)
        row("  clients' CPU, % of core 1", ("throughput", key, "client_cpu_pct"), "%", 0, ratio=False)
    row("SOA serial at start / at the end", None, ratio=False,
        text=lambda n: f"{get(n, 'start_serial')} / {get(n, 'end_serial')}")

    out = []
    out.append(f"reproduce: {meta.get('command', '')}")
    out.append(f"policydns dynamic update (RFC 2136) benchmark -- {meta.get('date', '')}")
    for k in ("host", "binary", "knot", "zone", "fsync", "note"):
        if meta.get(k):
            out.append(f"{k}: {meta[k]}")
    f = res.get("fsync")
    if f:
        out.append(f"fsync floor (write 4 KiB + fsync in the work dir, the driver's core): "
                   f"p50 {fmt(f['p50_ms'], 'ms', 3)} p99 {fmt(f['p99_ms'], 'ms', 3)}")
    fl = res.get("fill", {}).get("policydns")
    if fl:
        out.append(f"fill: policydns {fl['records']} A records through the Route 53 API ({BATCH} CREATEs a batch) "
                   f"in {fl['seconds']:.2f} s; Knot loads the same records from a zone file")
    out.append("")
    w = max(len(r[0]) for r in rows)
    cw = max([len(c) for r in rows for c in r[1]] + [12])
    heads = [label[n] for n in names]
    out.append(f"{'figure'.ljust(w)}  " + "  ".join(h.rjust(cw) for h in heads)
               + ("  policydns / Knot" if len(names) == 2 else ""))
    out.append(f"{'-' * w}  " + "  ".join("-" * cw for _ in heads) + ("  " + "-" * 16 if len(names) == 2 else ""))
    for what, cells, rt in rows:
        out.append(f"{what.ljust(w)}  " + "  ".join(c.rjust(cw) for c in cells)
                   + (f"  {rt.rjust(16)}" if len(names) == 2 else ""))
    out.append("")
    kind = next((get(n, "throughput", "kind") for n in names if get(n, "throughput", "kind")), "add")
    if kind == "replace":
        out.append("The sequential updates add one A record at a new name (`add probeN 60 A ADDR`); the")
        out.append("throughput updates replace the A record of the client's own name (`delete tK A` + `add tK")
        out.append("60 A ADDR` in one update), so the zone keeps its size.")
    else:
        out.append("Every update adds one A record at a new name (`add NAME 60 A ADDR`), so the throughput runs")
        out.append("grow the zone by one name per update (the 1-client run follows the 8-client one).")
    out.append("One UPDATE message each, TSIG hmac-sha256, over UDP, built and signed by the Python driver")
    out.append("(pinned to core 1; the server is pinned to core 0 with one worker). Round trips run from")
    out.append("sending the UPDATE to its NOERROR answer; 'answer -> served' from that answer to the first")
    out.append("UDP answer holding the new record. Server CPU is utime+stime of the server process from")
    out.append("/proc (10 ms ticks). Ratios are policydns / Knot: below 1 is better for times and CPU,")
    out.append("above 1 is better for updates/s. Both servers answer an update only once it is on disk")
    out.append("(policydns: its journal, write + fdatasync, group commit; Knot: its LMDB journal in the")
    out.append("journal-db-mode given above). Clients' CPU near 100 % would mean the load generator, not")
    out.append("the server, set the rate. policydns steps the SOA serial once per update; Knot once per")
    out.append("batch of the updates it found queued together.")
    print("\n".join(out))


# ------------------------------------------------------------------ main
def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="policydns", help="the server's name in the results")
    p.add_argument("--dns", help="the server's DNS, 127.0.0.1:PORT")
    p.add_argument("--server-pid", type=int)
    p.add_argument("--endpoint", help="policydns API, http://127.0.0.1:PORT (fill)")
    p.add_argument("--key", default="AKIDBENCH:benchsecret", help="API AKID:SECRET (fill)")
    p.add_argument("--key-name", default="upd-key.", help="TSIG key name")
    p.add_argument("--secret", help="TSIG secret, base64 (or $UPDATE_BENCH_SECRET)")
    p.add_argument("--json", help="results file (read, merged, written)")
    p.add_argument("--parts", default="check,latency,throughput")
    p.add_argument("--records", type=int, default=10000)
    p.add_argument("--zonefile")
    p.add_argument("--changes", type=int, default=200)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--kind", choices=("add", "replace"), default="add",
                   help="throughput updates: add a new name each, or replace the client's own name's A")
    p.add_argument("--poll-interval", type=float, default=0.0002, help="s between served polls")
    p.add_argument("--timeout", type=float, default=2.0, help="s to wait for an update's answer")
    p.add_argument("--wait", type=float, default=120, help="start-up limit (s)")
    p.add_argument("--wait-change", type=float, default=10, help="limit for one change to be served (s)")
    p.add_argument("--fsync-dir", default=".")
    p.add_argument("--fsync-count", type=int, default=200)
    p.add_argument("--meta", action="append", default=[], help="KEY=VALUE for the table's header")
    p.add_argument("--table", help="print the table of a results JSON file and exit")
    a = p.parse_args()
    if a.table:
        table(a.table)
        return 0
    a.secret = a.secret or os.environ.get("UPDATE_BENCH_SECRET")
    res = {}
    if a.json and os.path.exists(a.json):
        res = json.load(open(a.json))
    meta = res.setdefault("meta", {})
    for kv in a.meta:
        k, v = kv.split("=", 1)
        meta[k] = v
    parts = {"fsync": part_fsync, "fill": part_fill, "zonefile": part_zonefile, "wait": part_wait,
             "check": part_check, "latency": part_latency, "throughput": part_throughput}
    try:
        for name in [x for x in a.parts.split(",") if x]:
            if name not in parts:
                sys.exit(f"update_bench: unknown part {name!r} (known: {', '.join(parts)})")
            if name in ("check", "latency", "throughput") and not a.secret:
                sys.exit("update_bench: --secret (or UPDATE_BENCH_SECRET) is needed")
            log(f"{a.name}: part {name}")
            parts[name](a, res)
    finally:
        if a.json:
            with open(a.json + ".tmp", "w") as f:
                json.dump(res, f, indent=1, sort_keys=True)
            os.replace(a.json + ".tmp", a.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
