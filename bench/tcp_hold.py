#!/usr/bin/env python3
"""TCP held open by an attacker, as a bystander meets it: memory per idle connection and how
many fresh TCP queries from another network are answered.

Starts `policydns serve` (the binary given, default target/release/policydns) on loopback with
a one-name zone and `tcp_idle_timeout_secs = 60`, then for each scenario opens the attacker's
connections and leaves them silent, reads the server's resident memory, and sends 30 fresh TCP
queries (one connection each) from 127.0.0.1:

  one network    1,100 connections from 127.0.9.0/24 (the issue's attack: one client filled
                 the 1,024 slots)
  five networks  1,100 connections from 127.0.10-14.1 (each network within its share)

Usage: bench/tcp_hold.py [BINARY]   (loopback only; ends by itself)
"""

import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1] if len(sys.argv) > 1 else "target/release/policydns"
ZONE = "$TTL 300\n@ SOA ns1 admin 1 7200 900 1209600 60\n@ NS ns1\nns1 A 192.0.2.53\nwww A 192.0.2.1\n"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def query(qid):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    q += b"\x03www\x03tcp\x04test\x00" + struct.pack(">HH", 1, 1)
    return struct.pack(">H", len(q)) + q


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def connect(src, port):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    return s


def fresh_queries(port, n=30):
    ok = 0
    for i in range(n):
        try:
            s = connect("127.0.0.1", port)
            s.sendall(query(i))
            head = s.recv(2)
            ok += len(head) == 2
            s.close()
        except OSError:
            pass
    return ok


def scenario(name, port, pid, sources):
    before = rss_kib(pid)
    held = [connect(src, port) for src in sources]
    time.sleep(1.0)
    open_now = 0
    for s in held:
        s.setblocking(False)
        try:
            open_now += s.recv(1) != b""
        except BlockingIOError:
            open_now += 1
        except OSError:
            pass
    full = rss_kib(pid)
    answered = fresh_queries(port)
    print(f"{name:14} {len(held):>6} {open_now:>6} {before:>10} {full:>10} "
          f"{(full - before) * 1024 // max(open_now, 1):>12} {answered:>5}/30")
    for s in held:
        s.close()
    time.sleep(1.0)


def main():
    work = tempfile.mkdtemp(prefix="tcp-hold-")
    zone = os.path.join(work, "tcp.test.zone")
    conf = os.path.join(work, "c.toml")
    open(zone, "w").write(ZONE)
    open(conf, "w").write("[server]\ntcp_idle_timeout_secs = 60\n")
    port = free_port()
    srv = subprocess.Popen(
        [BIN, "serve", "--listen", f"127.0.0.1:{port}", "--udp-workers", "1",
         "--config", conf, "--zone", f"tcp.test.={zone}"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "server.log"), "w"))
    try:
        for _ in range(100):
            try:
                connect("127.0.0.1", port).close()
                break
            except OSError:
                time.sleep(0.05)
        print(f"binary: {BIN}")
        print(f"{'scenario':14} {'opened':>6} {'held':>6} {'RSS KiB':>10} {'RSS held':>10} "
              f"{'octets/conn':>12} {'bystander':>9}")
        scenario("one network", port, srv.pid, [f"127.0.9.{1 + i % 200}" for i in range(1100)])
        scenario("five networks", port, srv.pid, [f"127.0.{10 + i % 5}.1" for i in range(1100)])
    finally:
        srv.terminate()
        srv.wait(timeout=10)


if __name__ == "__main__":
    main()
