#!/usr/bin/env python3
"""CIDR collections and IP-based routing through boto3, checked with dig.

    python cidr_flow.py --endpoint URL --dns HOST:PORT

Creates a collection with a location `loopback` = 127.0.0.0/8, an IP-based record set for
that location and the default location `*`, then checks: dig from 127.0.0.1 gets the
loopback member; TestDNSAnswer for a resolver elsewhere gets the default; the collection
cannot be deleted while used; pagination of blocks; cleanup in Route 53's order.
Exits non-zero with a message on the first failure.
"""

import argparse
import subprocess
import sys
import uuid

import boto3
from botocore.exceptions import ClientError


def fail(msg):
    print(f"FAIL {msg}", flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def code_of(fn, **kw):
    try:
        fn(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"]
    return None


def dig(dns, name):
    host, port = dns.rsplit(":", 1)
    out = subprocess.run(["dig", f"@{host}", "-p", port, name, "A", "+short", "+time=2", "+tries=1"],
                         capture_output=True, text=True, timeout=10)
    return sorted(out.stdout.split())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--dns", required=True)
    a = p.parse_args()
    r53 = boto3.client("route53", endpoint_url=a.endpoint, region_name="us-east-1")

    ref = str(uuid.uuid4())
    coll = r53.create_cidr_collection(Name="offices", CallerReference=ref)["Collection"]
    cid = coll["Id"]
    check(coll["Version"] == 1 and coll["Arn"].endswith(cid), f"new collection {coll}")
    again = r53.create_cidr_collection(Name="offices", CallerReference=ref)["Collection"]
    check(again["Id"] == cid, "a retried create returns the same collection")
    check(code_of(r53.create_cidr_collection, Name="offices", CallerReference="other") ==
          "CidrCollectionAlreadyExistsException", "same name, other reference is refused")
    print("ok   create_cidr_collection", flush=True)

    r53.change_cidr_collection(Id=cid, CollectionVersion=1, Changes=[
        {"LocationName": "loopback", "Action": "PUT", "CidrList": ["127.0.0.0/8"]},
        {"LocationName": "docs", "Action": "PUT", "CidrList": ["198.51.100.0/24", "203.0.113.0/24"]},
    ])
    check(code_of(r53.change_cidr_collection, Id=cid, CollectionVersion=1, Changes=[
        {"LocationName": "x", "Action": "PUT", "CidrList": ["192.0.2.0/24"]}]) ==
          "CidrCollectionVersionMismatchException", "a stale CollectionVersion is refused")
    check(code_of(r53.change_cidr_collection, Id=cid, Changes=[
        {"LocationName": "x", "Action": "PUT", "CidrList": ["not-a-block"]}]) == "InvalidInput",
          "a bad block is refused")
    cols = r53.list_cidr_collections()["CidrCollections"]
    check([c["Id"] for c in cols] == [cid] and cols[0]["Version"] == 2, f"list_cidr_collections {cols}")
    locs = sorted(l["LocationName"] for l in r53.list_cidr_locations(CollectionId=cid)["CidrLocations"])
    check(locs == ["docs", "loopback"], f"locations {locs}")
    blocks = []
    kw = {"CollectionId": cid, "MaxResults": "1"}
    while True:
        page = r53.list_cidr_blocks(**kw)
        blocks += [(b["LocationName"], b["CidrBlock"]) for b in page["CidrBlocks"]]
        if not page.get("NextToken"):
            break
        kw["NextToken"] = page["NextToken"]
    check(sorted(blocks) == [("docs", "198.51.100.0/24"), ("docs", "203.0.113.0/24"), ("loopback", "127.0.0.0/8")],
          f"blocks paged one at a time: {blocks}")
    print("ok   change_cidr_collection, list collections, locations and blocks", flush=True)

    zid = r53.create_hosted_zone(Name="cidr.test.", CallerReference=str(uuid.uuid4()))["HostedZone"]["Id"]
    sets = [("loopback", "192.0.2.1"), ("docs", "192.0.2.2"), ("*", "192.0.2.9")]
    changes = [{"Action": "CREATE", "ResourceRecordSet": {
        "Name": "www.cidr.test.", "Type": "A", "SetIdentifier": loc, "TTL": 60,
        "CidrRoutingConfig": {"CollectionId": cid, "LocationName": loc},
        "ResourceRecords": [{"Value": v}]}} for loc, v in sets]
    r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": changes})
    got = dig(a.dns, "www.cidr.test.")
    check(got == ["192.0.2.1"], f"dig from 127.0.0.1 answers the loopback location: {got}")
    t = r53.test_dns_answer(HostedZoneId=zid, RecordName="www.cidr.test.", RecordType="A", ResolverIP="198.51.100.7")
    check(t["RecordData"] == ["192.0.2.2"], f"TestDNSAnswer from 198.51.100.7: {t['RecordData']}")
    t = r53.test_dns_answer(HostedZoneId=zid, RecordName="www.cidr.test.", RecordType="A", ResolverIP="192.0.2.200")
    check(t["RecordData"] == ["192.0.2.9"], f"TestDNSAnswer from elsewhere gets the default: {t['RecordData']}")
    print("ok   IP-based record sets answer by location", flush=True)

    check(code_of(r53.delete_cidr_collection, Id=cid) == "CidrCollectionInUseException",
          "a collection in use is not deleted")
    check(code_of(r53.change_cidr_collection, Id=cid, Changes=[
        {"LocationName": "docs", "Action": "DELETE_IF_EXISTS", "CidrList": ["198.51.100.0/24", "203.0.113.0/24"]}]) ==
          "CidrBlockInUseException", "emptying a location in use is refused")
    r53.change_resource_record_sets(HostedZoneId=zid, ChangeBatch={"Changes": [
        {"Action": "DELETE", "ResourceRecordSet": c["ResourceRecordSet"]} for c in changes]})
    r53.change_cidr_collection(Id=cid, Changes=[
        {"LocationName": "docs", "Action": "DELETE_IF_EXISTS", "CidrList": ["198.51.100.0/24", "203.0.113.0/24"]},
        {"LocationName": "loopback", "Action": "DELETE_IF_EXISTS", "CidrList": ["127.0.0.0/8"]}])
    r53.delete_cidr_collection(Id=cid)
    check(r53.list_cidr_collections()["CidrCollections"] == [], "the collection is gone")
    r53.delete_hosted_zone(Id=zid)
    print("ok   delete in Route 53's order", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
