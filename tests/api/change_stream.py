#!/usr/bin/env python3
"""A stream of ChangeResourceRecordSets batches through boto3, one acknowledged line each.

    python change_stream.py --endpoint URL --zone-id ID --count N [--start K]

Batch i creates two A record sets, s<i>a.<zone> and s<i>b.<zone>, with 10.<i/256>.<i%256>.1
and .2. After each batch's 200 response the script prints "ack <i>" and flushes, so a reader
knows exactly which batches were acknowledged. It stops at the first error (a killed server),
printing "error <i> <message>", and exits 0: the caller decides what the stream proves.
"""

import argparse
import sys

import boto3
from botocore.config import Config


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--zone-id", required=True)
    p.add_argument("--zone", default="stream.test.")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--start", type=int, default=0)
    a = p.parse_args()
    r53 = boto3.client(
        "route53",
        endpoint_url=a.endpoint,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )
    for i in range(a.start, a.start + a.count):
        changes = [
            {
                "Action": "CREATE",
                "ResourceRecordSet": {
                    "Name": f"s{i}{half}.{a.zone}",
                    "Type": "A",
                    "TTL": 60,
                    "ResourceRecords": [{"Value": f"10.{i // 256}.{i % 256}.{n}"}],
                },
            }
            for n, half in ((1, "a"), (2, "b"))
        ]
        try:
            r53.change_resource_record_sets(
                HostedZoneId=a.zone_id, ChangeBatch={"Changes": changes}
            )
        except Exception as e:  # the server was killed: the stream ends here
            print(f"error {i} {e}", flush=True)
            return 0
        print(f"ack {i}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
