#!/usr/bin/env python3
"""The large zone of bench/load.sh and bench/transfer.sh: `gen_big_zone.py FILE RECORDS`.

A quarter of the names carry A+AAAA, then TXT, MX and CNAME names; `last.big.test.` A
192.0.2.99 comes last, so a server answering it has loaded everything."""
import sys
path, total = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write("$TTL 3600\n$ORIGIN big.test.\n")
    f.write("@ IN SOA ns1.big.test. hostmaster.big.test. 1 7200 900 1209600 300\n")
    f.write("@ IN NS ns1.big.test.\n@ IN NS ns2.big.test.\n")
    f.write("ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n")
    n, i = 6, 0
    while n < total:
        k = i % 8
        if k < 4:
            f.write(f"h{i} IN A 10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}\n"); n += 1
            if n < total:
                f.write(f"h{i} IN AAAA 2001:db8::{i & 0xffff:x}:{(i >> 16) & 0xffff:x}\n"); n += 1
        elif k < 6:
            f.write(f"t{i} IN TXT \"record {i} of the load benchmark\"\n"); n += 1
        elif k == 6:
            f.write(f"m{i} IN MX 10 h{i - 6}\n"); n += 1
        else:
            f.write(f"c{i} IN CNAME h{i - 7}\n"); n += 1
        i += 1
    f.write("last IN A 192.0.2.99\n")
