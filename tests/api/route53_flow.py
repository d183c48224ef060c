#!/usr/bin/env python3
"""End-to-end client test of a Route 53 REST API (2013-04-01, rest-xml, SigV4).

Drives a server through boto3 the way Route 53 clients do and asserts the
responses as the Route 53 API reference documents them. Written for
policydns' Route 53 API; checked against moto_server as a reference.

    python route53_flow.py --endpoint http://127.0.0.1:PORT [--dns 127.0.0.1:DNSPORT]

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (no profile
or config file is read); the region is us-east-1.

Options:
  --dns HOST:PORT    also query the server's DNS side with dig after changes
  --no-auth-checks   skip the SignatureDoesNotMatch / InvalidClientTokenId
                     checks (for servers that do not verify SigV4, e.g. moto)
  --keep-going       do not stop at the first failing step (later steps may
                     then fail as a consequence); exit status is still 1
  --no-cleanup       on failure, leave the test's hosted zones in place

Prints one line per step and a closing "N passed, N failed, N skipped" line;
exits 1 on failure (at the first failing step unless --keep-going), 2 on a
usage or environment error.
"""

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import traceback
import uuid

try:
    import boto3
    import botocore
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, WaiterError
except ImportError:
    sys.exit(
        "route53_flow: boto3 is not installed; run scripts/install-python-deps.sh "
        "and use the venv's python"
    )

ZONE = "api.test."
REGION = "us-east-1"
UNKNOWN_ACCESS_KEY = "AKIAPOLICYDNSUNKNOWN"


class StepFailed(Exception):
    pass


class StepSkipped(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise StepFailed(msg)


def name_key(name):
    """Route 53 list order for names: labels reversed, compared in ASCII order
    as the dotted string with the trailing dot (ListResourceRecordSets and
    ListHostedZonesByName: "com.example.www.")."""
    labels = [l for l in name.rstrip(".").split(".") if l != ""]
    return ".".join(reversed(labels)) + "."


def rrset_key(rr):
    """Route 53 order of record sets: name (labels reversed), then type.
    The order among record sets of one name and type (SetIdentifier) is not
    documented, so it is not part of the key."""
    return (name_key(rr["Name"]), rr["Type"])


def rrset_id(rr):
    return (rr["Name"], rr["Type"], rr.get("SetIdentifier"))


def fmt_id(ident):
    name, rtype, sid = ident
    return f"{name} {rtype}" + (f" [{sid}]" if sid is not None else "")


def norm_rrset(rr):
    """Comparable form of a ResourceRecordSet: values as a sorted list (Route 53
    does not document that it keeps the order of values)."""
    d = {k: v for k, v in rr.items() if k != "ResourceRecords"}
    if "ResourceRecords" in rr:
        d["ResourceRecords"] = sorted(r["Value"] for r in rr["ResourceRecords"])
    return d


def values(rr):
    return sorted(r["Value"] for r in rr.get("ResourceRecords", []))


def err_info(e):
    err = e.response.get("Error", {})
    status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return err.get("Code"), status, err.get("Message")


def expect_error(call, code, status, **kwargs):
    """Call a client method that must fail with the given Route 53 error code
    and HTTP status; return the ClientError."""
    try:
        resp = call(**kwargs)
    except ClientError as e:
        got, got_status, msg = err_info(e)
        check(
            got == code,
            f"expected error {code} (HTTP {status}), got {got!r} (HTTP {got_status}): {msg!r}",
        )
        check(
            got_status == status,
            f"error {code} came with HTTP {got_status}, Route 53 sends HTTP {status}",
        )
        return e
    resp.pop("ResponseMetadata", None)
    raise StepFailed(
        f"expected error {code} (HTTP {status}) but the call succeeded: {short(resp)}"
    )


def short(obj, limit=300):
    s = repr(obj)
    return s if len(s) <= limit else s[: limit - 3] + "..."


def a(name, ttl, *ips, **extra):
    rr = {"Name": name, "Type": "A", "TTL": ttl,
          "ResourceRecords": [{"Value": ip} for ip in ips]}
    rr.update(extra)
    return rr


class Flow:
    def __init__(self, args):
        self.args = args
        key = os.environ.get("AWS_ACCESS_KEY_ID")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            raise SystemExit(
                "route53_flow: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                "(credentials the server accepts)"
            )
        self.key, self.secret = key, secret
        self.r53 = self.client(key, secret)
        self.dns = None
        if args.dns:
            host, sep, port = args.dns.rpartition(":")
            if not sep or not port.isdigit() or not host:
                raise SystemExit(f"route53_flow: --dns wants HOST:PORT, got {args.dns!r}")
            if host.startswith("[") and host.endswith("]"):
                host = host[1:-1]
            if not shutil.which("dig"):
                raise SystemExit("route53_flow: --dns given but dig is not installed")
            self.dns = (host, int(port))

        self.caller_ref = f"policydns-route53-flow-{uuid.uuid4()}"
        self.zone_id = None  # "/hostedzone/XXXX"
        self.bare_id = None  # "XXXX"
        self.name_servers = None
        self.created_zones = []  # every zone this run made, for cleanup
        self.deleted = False
        self.passed = self.failed = self.skipped = 0

        # The record sets the test creates (as sent, and so as Route 53 lists
        # them); filled in once the zone id is known (alias target).
        self.rrsets = []
        self.apex = None  # the NS and SOA record sets of the new zone
        self.all_rrsets = None  # the zone's record sets after the last change
        self.zone_total = None
        self.change_ids = set()

    def client(self, key, secret):
        return boto3.client(
            "route53",
            endpoint_url=self.args.endpoint,
            region_name=REGION,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(
                retries={"mode": "standard", "total_max_attempts": 1},
                connect_timeout=5,
                read_timeout=60,
            ),
        )

    # ---------------------------------------------------------------- helpers

    def list_all(self, **kw):
        """All record sets of the zone in one call (default MaxItems, 300)."""
        resp = self.r53.list_resource_record_sets(HostedZoneId=self.zone_id, **kw)
        check(resp.get("IsTruncated") is False,
              f"list_resource_record_sets truncated with {len(resp['ResourceRecordSets'])} record sets")
        return resp["ResourceRecordSets"]

    def find(self, rrsets, name, rtype, sid=None):
        for rr in rrsets:
            if rrset_id(rr) == (name, rtype, sid):
                return rr
        return None

    def check_change_info(self, ci, what, comment=None, bare_id_ok=False):
        check(isinstance(ci, dict), f"{what}: no ChangeInfo")
        cid = str(ci.get("Id", ""))
        # GetChange's documented example answers a bare id (<Id>C2682N5HXP0BZ4</Id>);
        # everywhere else Route 53 answers /change/ID.
        check((cid.startswith("/change/") and len(cid) > len("/change/"))
              or (bare_id_ok and re.fullmatch(r"[A-Za-z0-9]+", cid)),
              f"{what}: ChangeInfo.Id {ci.get('Id')!r} does not start with /change/")
        check(ci.get("Status") in ("PENDING", "INSYNC"),
              f"{what}: ChangeInfo.Status {ci.get('Status')!r} not PENDING or INSYNC")
        check(isinstance(ci.get("SubmittedAt"), datetime.datetime),
              f"{what}: ChangeInfo.SubmittedAt missing or not a timestamp: {ci.get('SubmittedAt')!r}")
        if comment is not None and "Comment" in ci:
            check(ci["Comment"] == comment,
                  f"{what}: ChangeInfo.Comment {ci['Comment']!r} != {comment!r}")

    def change(self, changes, comment):
        resp = self.r53.change_resource_record_sets(
            HostedZoneId=self.zone_id,
            ChangeBatch={"Comment": comment, "Changes": changes},
        )
        check(resp["ResponseMetadata"]["HTTPStatusCode"] == 200,
              f"HTTP {resp['ResponseMetadata']['HTTPStatusCode']}, expected 200")
        ci = resp.get("ChangeInfo")
        self.check_change_info(ci, "change_resource_record_sets", comment)
        check(ci["Id"] not in self.change_ids,
              f"change_resource_record_sets returned ChangeInfo.Id {ci['Id']!r} again; each change "
              "batch gets its own id")
        self.change_ids.add(ci["Id"])
        return ci

    def wait_insync(self, change_id):
        waiter = self.r53.get_waiter("resource_record_sets_changed")
        waiter.wait(Id=change_id, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        resp = self.r53.get_change(Id=change_id)
        ci = resp.get("ChangeInfo")
        self.check_change_info(ci, "get_change", bare_id_ok=True)
        check(ci["Id"].split("/")[-1] == change_id.split("/")[-1],
              f"get_change returned Id {ci['Id']!r}, asked for {change_id!r}")
        check(ci["Status"] == "INSYNC", f"get_change status {ci['Status']!r} after the waiter returned")

    def dig(self, name, rtype):
        host, port = self.dns
        cmd = ["dig", f"@{host}", "-p", str(port), name, rtype,
               "+short", "+time=2", "+tries=1"]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        except subprocess.TimeoutExpired:
            raise StepFailed(f"{' '.join(cmd)} timed out")
        lines = [l.strip() for l in p.stdout.splitlines() if l.strip()]
        if p.returncode != 0 or any(l.startswith(";;") for l in lines):
            said = " | ".join(l.strip() for l in (p.stdout + p.stderr).splitlines()
                              if l.strip() and not l.startswith("; "))
            raise StepFailed(f"{' '.join(cmd)} failed (exit {p.returncode}): {said[:300]}")
        return lines

    def need(self, *attrs):
        for attr in attrs:
            if getattr(self, attr) is None:
                raise StepFailed(f"needs {attr}, which an earlier step did not provide")

    def need_dns(self):
        if not self.dns:
            raise StepSkipped("no --dns given")

    def dig_set(self, name, rtype, want):
        got = self.dig(name, rtype)
        check(sorted(got) == sorted(want),
              f"dig {name} {rtype}: got {got}, want {sorted(want)}")

    # ------------------------------------------------------------------ steps

    def step_auth_bad_secret(self):
        if self.args.no_auth_checks:
            raise StepSkipped("--no-auth-checks")
        bad = self.client(self.key, self.secret + "x")
        expect_error(bad.list_hosted_zones, "SignatureDoesNotMatch", 403)
        return "wrong secret key -> SignatureDoesNotMatch (403)"

    def step_auth_unknown_key(self):
        if self.args.no_auth_checks:
            raise StepSkipped("--no-auth-checks")
        key = UNKNOWN_ACCESS_KEY if self.key != UNKNOWN_ACCESS_KEY else "AKIAPOLICYDNSUNKNOWX"
        bad = self.client(key, self.secret)
        expect_error(bad.get_hosted_zone_count, "InvalidClientTokenId", 403)
        return "unknown access key id -> InvalidClientTokenId (403)"

    def step_create_hosted_zone(self):
        resp = self.r53.create_hosted_zone(
            Name=ZONE,
            CallerReference=self.caller_ref,
            HostedZoneConfig={"Comment": "policydns route53_flow", "PrivateZone": False},
        )
        status = resp["ResponseMetadata"]["HTTPStatusCode"]
        hz = resp.get("HostedZone", {})
        if hz.get("Id"):
            self.created_zones.append(hz["Id"])
        check(status == 201, f"HTTP {status}, CreateHostedZone answers 201 Created")
        check(str(hz.get("Id", "")).startswith("/hostedzone/"),
              f"HostedZone.Id {hz.get('Id')!r} does not start with /hostedzone/")
        self.zone_id = hz["Id"]
        self.bare_id = self.zone_id[len("/hostedzone/"):]
        check(re.fullmatch(r"[A-Z0-9]{1,32}", self.bare_id),
              f"zone id {self.bare_id!r} is not 1-32 upper-case letters/digits like Route 53's")
        check(hz.get("Name") == ZONE, f"HostedZone.Name {hz.get('Name')!r} != {ZONE!r}")
        check(hz.get("CallerReference") == self.caller_ref,
              f"HostedZone.CallerReference {hz.get('CallerReference')!r} != {self.caller_ref!r}")
        cfg = hz.get("Config", {})
        check(cfg.get("Comment") == "policydns route53_flow",
              f"HostedZone.Config.Comment {cfg.get('Comment')!r}")
        check(cfg.get("PrivateZone") is False, f"HostedZone.Config.PrivateZone {cfg.get('PrivateZone')!r}")
        check(hz.get("ResourceRecordSetCount") == 2,
              f"HostedZone.ResourceRecordSetCount {hz.get('ResourceRecordSetCount')!r}, want 2 (SOA and NS)")
        self.check_change_info(resp.get("ChangeInfo"), "create_hosted_zone")
        ns = resp.get("DelegationSet", {}).get("NameServers")
        check(isinstance(ns, list) and len(ns) > 0 and all(isinstance(n, str) and n for n in ns),
              f"DelegationSet.NameServers empty or malformed: {ns!r}")
        self.name_servers = ns
        loc = resp.get("Location")
        check(loc is not None, "no Location header")
        check(re.fullmatch(r"https?://[^/]+/2013-04-01/hostedzone/" + re.escape(self.bare_id), loc),
              f"Location header {loc!r} is not <endpoint>/2013-04-01/hostedzone/{self.bare_id}")
        return f"{self.zone_id} {resp['ChangeInfo']['Status']}, {len(ns)} name servers, Location {loc}"

    def step_create_same_caller_reference(self):
        self.need('zone_id')
        def again(**kw):
            resp = self.r53.create_hosted_zone(**kw)
            hz = resp.get("HostedZone", {})
            if hz.get("Id"):
                self.created_zones.append(hz["Id"])  # so cleanup removes it
            return resp
        expect_error(again, "HostedZoneAlreadyExists", 409,
                     Name=ZONE, CallerReference=self.caller_ref)
        return "HostedZoneAlreadyExists (409)"

    def step_get_hosted_zone(self):
        self.need('zone_id')
        resp = self.r53.get_hosted_zone(Id=self.zone_id)
        hz = resp["HostedZone"]
        check(hz.get("Id") == self.zone_id, f"HostedZone.Id {hz.get('Id')!r} != {self.zone_id!r}")
        check(hz.get("Name") == ZONE, f"HostedZone.Name {hz.get('Name')!r}")
        check(hz.get("CallerReference") == self.caller_ref,
              f"HostedZone.CallerReference {hz.get('CallerReference')!r}")
        check(hz.get("Config", {}).get("Comment") == "policydns route53_flow",
              f"HostedZone.Config {hz.get('Config')!r}")
        check(hz.get("ResourceRecordSetCount") == 2,
              f"HostedZone.ResourceRecordSetCount {hz.get('ResourceRecordSetCount')!r}, want 2")
        ns = resp.get("DelegationSet", {}).get("NameServers")
        check(ns == self.name_servers,
              f"DelegationSet.NameServers {ns!r} != create's {self.name_servers!r}")
        # The bare id works as well as /hostedzone/ID: botocore strips the
        # prefix before sending, so this is the same request on the wire.
        return f"{hz['Id']} {hz['Name']}"

    def step_list_hosted_zones(self):
        self.need('zone_id')
        zones, marker, pages = [], None, 0
        while True:
            kw = {"Marker": marker} if marker else {}
            resp = self.r53.list_hosted_zones(**kw)
            pages += 1
            check("MaxItems" in resp and "IsTruncated" in resp,
                  f"ListHostedZones response lacks MaxItems/IsTruncated: {short(resp)}")
            zones += resp["HostedZones"]
            if not resp["IsTruncated"]:
                check("NextMarker" not in resp, "NextMarker present although IsTruncated is false")
                break
            check(resp.get("NextMarker"), "IsTruncated without NextMarker")
            marker = resp["NextMarker"]
            check(pages < 1000, "ListHostedZones does not end")
        mine = [z for z in zones if z["Id"] == self.zone_id]
        check(len(mine) == 1, f"zone {self.zone_id} listed {len(mine)} times in {len(zones)} zones")
        check(mine[0]["Name"] == ZONE and mine[0]["CallerReference"] == self.caller_ref,
              f"listed zone differs: {mine[0]!r}")
        ids = [z["Id"] for z in zones]
        check(len(set(ids)) == len(ids), "a zone is listed twice")
        self.zone_total = len(zones)
        return f"{len(zones)} zone(s) in {pages} page(s), ours included"

    def step_list_hosted_zones_by_name(self):
        self.need('zone_id')
        resp = self.r53.list_hosted_zones_by_name(DNSName=ZONE)
        check(resp.get("DNSName") == ZONE, f"DNSName echoed as {resp.get('DNSName')!r}, want {ZONE!r}")
        check("MaxItems" in resp and "IsTruncated" in resp,
              f"response lacks MaxItems/IsTruncated: {short(resp)}")
        zones = resp["HostedZones"]
        check(zones and zones[0]["Name"] == ZONE,
              f"first zone is {zones[0]['Name'] if zones else None!r}; the list starts at dnsname {ZONE!r}")
        keys = [name_key(z["Name"]) for z in zones]
        check(keys == sorted(keys),
              f"zones not in Route 53 order (names with labels reversed): {[z['Name'] for z in zones]}")
        same = [z for z in zones if z["Name"] == ZONE]
        # Every zone named api.test. sorts first; unless there are more than
        # MaxItems of them, ours is on this page.
        if len(same) == len(zones) and resp["IsTruncated"]:
            raise StepFailed(f"more than {resp['MaxItems']} zones named {ZONE}; clean the server")
        check(any(z["Id"] == self.zone_id for z in same),
              f"zone {self.zone_id} not among {[z['Id'] for z in same]}")
        return f"{len(zones)} zone(s) from {ZONE}, ours included"

    def step_get_hosted_zone_count(self):
        resp = self.r53.get_hosted_zone_count()
        n = resp.get("HostedZoneCount")
        check(isinstance(n, int) and n >= 1, f"HostedZoneCount {n!r}")
        if self.zone_total is not None:
            check(n == self.zone_total,
                  f"HostedZoneCount {n} != {self.zone_total} zones listed by ListHostedZones")
        return f"HostedZoneCount {n}"

    def step_list_apex_records(self):
        self.need('zone_id', 'name_servers')
        rrsets = self.list_all()
        got = [(r["Name"], r["Type"]) for r in rrsets]
        check(got == [(ZONE, "NS"), (ZONE, "SOA")],
              f"a new zone lists exactly NS and SOA at {ZONE} (in that order); got {got}")
        self.apex = rrsets
        ns, soa = rrsets
        want_ns = sorted(n.rstrip(".") + "." for n in self.name_servers)
        check(sorted(v.rstrip(".") + "." for v in values(ns)) == want_ns,
              f"NS values {values(ns)} != DelegationSet.NameServers {self.name_servers}")
        check(isinstance(ns.get("TTL"), int) and isinstance(soa.get("TTL"), int),
              f"NS/SOA without TTL: {ns!r} {soa!r}")
        sv = values(soa)
        check(len(sv) == 1, f"SOA has {len(sv)} values")
        f = sv[0].split()
        check(len(f) == 7 and all(x.isdigit() for x in f[2:]),
              f"SOA value {sv[0]!r} is not 'mname rname serial refresh retry expire minimum'")
        return f"NS ({len(values(ns))} values, TTL {ns['TTL']}) and SOA (TTL {soa['TTL']}: {sv[0]})"

    def build_rrsets(self):
        return [
            a("www.api.test.", 60, "192.0.2.1", "192.0.2.2"),
            a("w.api.test.", 60, "192.0.2.11", SetIdentifier="a", Weight=1),
            a("w.api.test.", 60, "192.0.2.12", SetIdentifier="b", Weight=3),
            a("f.api.test.", 60, "192.0.2.21", SetIdentifier="primary", Failover="PRIMARY"),
            a("f.api.test.", 60, "192.0.2.22", SetIdentifier="secondary", Failover="SECONDARY"),
            a("g.api.test.", 60, "192.0.2.31", SetIdentifier="us", GeoLocation={"CountryCode": "US"}),
            a("g.api.test.", 60, "192.0.2.32", SetIdentifier="default", GeoLocation={"CountryCode": "*"}),
            a("l.api.test.", 60, "192.0.2.41", SetIdentifier="use1", Region="us-east-1"),
            a("l.api.test.", 60, "192.0.2.42", SetIdentifier="euw1", Region="eu-west-1"),
            a("m.api.test.", 60, "192.0.2.51", SetIdentifier="m1", MultiValueAnswer=True),
            a("m.api.test.", 60, "192.0.2.52", SetIdentifier="m2", MultiValueAnswer=True),
            {"Name": "c.api.test.", "Type": "CNAME", "TTL": 300,
             "ResourceRecords": [{"Value": "www.api.test."}]},
            {"Name": "alias.api.test.", "Type": "A",
             "AliasTarget": {"HostedZoneId": self.bare_id, "DNSName": "www.api.test.",
                             "EvaluateTargetHealth": False}},
            {"Name": ZONE, "Type": "TXT", "TTL": 300,
             "ResourceRecords": [{"Value": '"v=spf1 -all"'},
                                 {"Value": '"hello world" "say \\"hi\\""'}]},
            {"Name": ZONE, "Type": "MX", "TTL": 300,
             "ResourceRecords": [{"Value": "10 mx1.api.test."}, {"Value": "20 mx2.api.test."}]},
        ]

    def step_change_create(self):
        self.need('zone_id')
        self.rrsets = self.build_rrsets()
        ci = self.change([{"Action": "CREATE", "ResourceRecordSet": rr} for rr in self.rrsets],
                         "create all routing policies")
        self.wait_insync(ci["Id"])
        return f"{len(self.rrsets)} record sets, {ci['Id']} {ci['Status']} -> INSYNC"

    def step_list_after_create(self):
        self.need('zone_id', 'apex')
        rrsets = self.list_all()
        self.all_rrsets = rrsets
        want = {rrset_id(r): norm_rrset(r) for r in self.rrsets + self.apex}
        got = {}
        for r in rrsets:
            check(rrset_id(r) not in got, f"{fmt_id(rrset_id(r))} listed twice")
            got[rrset_id(r)] = norm_rrset(r)
        missing = sorted(set(want) - set(got), key=str)
        extra = sorted(set(got) - set(want), key=str)
        check(not missing and not extra,
              f"missing {[fmt_id(i) for i in missing]}, unexpected {[fmt_id(i) for i in extra]}")
        for ident, w in want.items():
            if ident[1] == "SOA":
                # The server manages the SOA serial (one more per accepted batch) and lists
                # the serial it serves; everything else in the SOA stays as created.
                g = got[ident]["ResourceRecords"][0].split()
                c = w["ResourceRecords"][0].split()
                check(g[:2] + g[3:] == c[:2] + c[3:] and int(g[2]) > int(c[2]),
                      f"SOA listed as {g}, created as {c}: want the same fields and a higher serial")
                continue
            check(got[ident] == w, f"{fmt_id(ident)} listed as {got[ident]!r}, created as {w!r}")
        keys = [rrset_key(r) for r in rrsets]
        check(keys == sorted(keys),
              "not in Route 53 order (name with labels reversed, then type): "
              + ", ".join(f"{r['Name']} {r['Type']}" for r in rrsets))
        zone = self.r53.get_hosted_zone(Id=self.zone_id)["HostedZone"]
        check(zone.get("ResourceRecordSetCount") == len(rrsets),
              f"ResourceRecordSetCount {zone.get('ResourceRecordSetCount')} != {len(rrsets)} listed")
        return f"{len(rrsets)} record sets, values and policies as created, in Route 53 order"

    def step_dns_after_create(self):
        self.need_dns()
        self.need("name_servers")
        self.dig_set("www.api.test.", "A", ["192.0.2.1", "192.0.2.2"])
        self.dig_set("alias.api.test.", "A", ["192.0.2.1", "192.0.2.2"])
        seen = set()
        for _ in range(40):
            got = self.dig("w.api.test.", "A")
            check(len(got) == 1 and got[0] in ("192.0.2.11", "192.0.2.12"),
                  f"weighted w.api.test. answered {got}")
            seen.add(got[0])
        check(seen == {"192.0.2.11", "192.0.2.12"},
              f"weighted w.api.test.: only {sorted(seen)} in 40 queries (weights 1 and 3)")
        for _ in range(5):
            self.dig_set("f.api.test.", "A", ["192.0.2.21"])
        # A loopback resolver matches no country, so the default (*) answers.
        self.dig_set("g.api.test.", "A", ["192.0.2.32"])
        got = self.dig("l.api.test.", "A")
        check(len(got) == 1 and got[0] in ("192.0.2.41", "192.0.2.42"), f"latency l.api.test. answered {got}")
        got = self.dig("m.api.test.", "A")
        check(got and set(got) <= {"192.0.2.51", "192.0.2.52"} and len(set(got)) == len(got),
              f"multivalue m.api.test. answered {got}")
        self.dig_set("c.api.test.", "CNAME", ["www.api.test."])
        got = self.dig("c.api.test.", "A")
        check(got and got[0] == "www.api.test." and sorted(got[1:]) in ([], ["192.0.2.1", "192.0.2.2"]),
              f"c.api.test. A answered {got}")
        self.dig_set(ZONE, "TXT", ['"v=spf1 -all"', '"hello world" "say \\"hi\\""'])
        self.dig_set(ZONE, "MX", ["10 mx1.api.test.", "20 mx2.api.test."])
        self.dig_set(ZONE, "NS", [n.rstrip(".") + "." for n in self.name_servers])
        return "simple, alias, weighted (both seen), failover (primary), geo (default), latency, multivalue, CNAME, TXT, MX, NS"

    def step_invalid_batch(self):
        self.need('zone_id', 'all_rrsets')
        changes = [
            {"Action": "CREATE", "ResourceRecordSet": a("new.api.test.", 60, "192.0.2.99")},
            {"Action": "CREATE", "ResourceRecordSet": a("www.api.test.", 60, "192.0.2.1", "192.0.2.2")},
        ]
        e = expect_error(self.r53.change_resource_record_sets, "InvalidChangeBatch", 400,
                         HostedZoneId=self.zone_id,
                         ChangeBatch={"Comment": "half invalid", "Changes": changes})
        rrsets = self.list_all()
        check(self.find(rrsets, "new.api.test.", "A") is None,
              "new.api.test. A was created although its batch was rejected (batches are atomic)")
        check(len(rrsets) == len(self.all_rrsets), f"{len(rrsets)} record sets after a rejected batch, "
              f"{len(self.all_rrsets)} before")
        if self.dns:
            self.dig_set("new.api.test.", "A", [])
        return f"InvalidChangeBatch (400) {err_info(e)[2]!r}; nothing applied"

    def step_pagination(self):
        self.need('zone_id', 'all_rrsets')
        walked, pages, start = [], 0, {}
        while True:
            resp = self.r53.list_resource_record_sets(HostedZoneId=self.zone_id, MaxItems="2", **start)
            pages += 1
            check(resp.get("MaxItems") == "2", f"page {pages}: MaxItems {resp.get('MaxItems')!r}, want '2'")
            page = resp["ResourceRecordSets"]
            check(1 <= len(page) <= 2, f"page {pages}: {len(page)} record sets with MaxItems 2")
            if walked and start:
                # The page starts where the previous response said it would.
                # NextRecordIdentifier is documented only for a page that ends
                # inside one name and type, so only then is the identifier
                # compared.
                first = page[0]
                check(first["Name"] == start["StartRecordName"] and first["Type"] == start["StartRecordType"]
                      and ("StartRecordIdentifier" not in start
                           or first.get("SetIdentifier") == start["StartRecordIdentifier"]),
                      f"page {pages} starts at {fmt_id(rrset_id(first))}, previous page announced "
                      f"{start}")
            walked += page
            if not resp["IsTruncated"]:
                for k in ("NextRecordName", "NextRecordType", "NextRecordIdentifier"):
                    check(k not in resp, f"page {pages}: {k} present although IsTruncated is false")
                break
            check(resp.get("NextRecordName") and resp.get("NextRecordType"),
                  f"page {pages}: IsTruncated without NextRecordName/NextRecordType")
            start = {"StartRecordName": resp["NextRecordName"], "StartRecordType": resp["NextRecordType"]}
            if "NextRecordIdentifier" in resp:
                start["StartRecordIdentifier"] = resp["NextRecordIdentifier"]
            check(pages <= 2 * len(self.all_rrsets) + 2, "pagination does not end")
        ids = [rrset_id(r) for r in walked]
        dup = sorted({fmt_id(i) for i in ids if ids.count(i) > 1})
        check(not dup, f"listed more than once while paging: {dup}")
        want = {rrset_id(r) for r in self.all_rrsets}
        check(set(ids) == want,
              f"paging missed {[fmt_id(i) for i in want - set(ids)]}, "
              f"added {[fmt_id(i) for i in set(ids) - want]}")
        keys = [rrset_key(r) for r in walked]
        check(keys == sorted(keys),
              "paged order is not Route 53 order: " + ", ".join(f"{r['Name']} {r['Type']}" for r in walked))
        return f"{len(walked)} record sets in {pages} pages of 2, each once, in order"

    def step_upsert(self):
        self.need('zone_id', 'all_rrsets')
        changes = [
            {"Action": "UPSERT", "ResourceRecordSet": a("www.api.test.", 120, "192.0.2.3")},
            {"Action": "UPSERT", "ResourceRecordSet": {
                "Name": "u.api.test.", "Type": "AAAA", "TTL": 60,
                "ResourceRecords": [{"Value": "2001:db8::1"}]}},
        ]
        ci = self.change(changes, "upsert")
        self.wait_insync(ci["Id"])
        rrsets = self.list_all()
        before, self.all_rrsets = self.all_rrsets, rrsets
        www = self.find(rrsets, "www.api.test.", "A")
        check(www is not None and values(www) == ["192.0.2.3"] and www.get("TTL") == 120,
              f"after UPSERT www.api.test. A is {www!r}")
        u = self.find(rrsets, "u.api.test.", "AAAA")
        check(u is not None and values(u) == ["2001:db8::1"], f"UPSERT did not create u.api.test. AAAA: {u!r}")
        check(len(rrsets) == len(before) + 1, f"{len(rrsets)} record sets after UPSERT, {len(before)} before")
        if self.dns:
            self.dig_set("www.api.test.", "A", ["192.0.2.3"])
            self.dig_set("alias.api.test.", "A", ["192.0.2.3"])
            self.dig_set("u.api.test.", "AAAA", ["2001:db8::1"])
        return "www.api.test. A changed (TTL 120, 192.0.2.3); u.api.test. AAAA created" + (
            "; dig agrees" if self.dns else "")

    def step_delete(self):
        self.need('zone_id', 'all_rrsets')
        cname = self.find(self.all_rrsets, "c.api.test.", "CNAME")
        wa = self.find(self.all_rrsets, "w.api.test.", "A", "a")
        check(cname is not None and wa is not None, "c.api.test. CNAME or w.api.test. A [a] missing")
        wrong = dict(cname, TTL=cname["TTL"] + 1)
        e = expect_error(self.r53.change_resource_record_sets, "InvalidChangeBatch", 400,
                         HostedZoneId=self.zone_id,
                         ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": wrong}]})
        check(self.find(self.list_all(), "c.api.test.", "CNAME") is not None,
              "a DELETE whose TTL did not match removed c.api.test. CNAME")
        ci = self.change([{"Action": "DELETE", "ResourceRecordSet": cname},
                          {"Action": "DELETE", "ResourceRecordSet": wa}], "delete")
        self.wait_insync(ci["Id"])
        rrsets = self.list_all()
        before, self.all_rrsets = self.all_rrsets, rrsets
        check(self.find(rrsets, "c.api.test.", "CNAME") is None, "c.api.test. CNAME still listed after DELETE")
        check(self.find(rrsets, "w.api.test.", "A", "a") is None, "w.api.test. A [a] still listed after DELETE")
        check(self.find(rrsets, "w.api.test.", "A", "b") is not None, "DELETE of w [a] also removed w [b]")
        check(len(rrsets) == len(before) - 2, f"{len(rrsets)} record sets after deleting 2 of {len(before)}")
        if self.dns:
            self.dig_set("c.api.test.", "CNAME", [])
            for _ in range(10):
                self.dig_set("w.api.test.", "A", ["192.0.2.12"])
        return (f"mismatched DELETE -> InvalidChangeBatch ({err_info(e)[2]!r}); exact DELETE removed "
                "c.api.test. CNAME and w.api.test. A [a]" + ("; dig agrees" if self.dns else ""))

    def step_delete_nonempty_zone(self):
        self.need('zone_id')
        expect_error(self.r53.delete_hosted_zone, "HostedZoneNotEmpty", 400, Id=self.zone_id)
        self.r53.get_hosted_zone(Id=self.zone_id)
        return "HostedZoneNotEmpty (400); zone still there"

    def step_delete_zone(self):
        self.need('zone_id')
        rest = [r for r in self.list_all() if not (r["Name"] == ZONE and r["Type"] in ("SOA", "NS"))]
        check(rest, "nothing but SOA and NS left before the cleanup batch")
        ci = self.change([{"Action": "DELETE", "ResourceRecordSet": r} for r in rest], "empty the zone")
        self.wait_insync(ci["Id"])
        left = [(r["Name"], r["Type"]) for r in self.list_all()]
        check(left == [(ZONE, "NS"), (ZONE, "SOA")], f"after deleting everything else: {left}")
        resp = self.r53.delete_hosted_zone(Id=self.zone_id)
        check(resp["ResponseMetadata"]["HTTPStatusCode"] == 200,
              f"DeleteHostedZone HTTP {resp['ResponseMetadata']['HTTPStatusCode']}")
        self.check_change_info(resp.get("ChangeInfo"), "delete_hosted_zone")
        self.deleted = True
        expect_error(self.r53.get_hosted_zone, "NoSuchHostedZone", 404, Id=self.zone_id)
        expect_error(self.r53.list_resource_record_sets, "NoSuchHostedZone", 404, HostedZoneId=self.zone_id)
        if self.dns:
            self.dig_set("www.api.test.", "A", [])
        return (f"deleted {len(rest)} record sets, then the zone ({resp['ChangeInfo']['Status']}); "
                "get_hosted_zone -> NoSuchHostedZone (404)")

    # ----------------------------------------------------------------- runner

    STEPS = [
        ("auth: wrong secret key", "step_auth_bad_secret"),
        ("auth: unknown access key id", "step_auth_unknown_key"),
        ("create_hosted_zone", "step_create_hosted_zone"),
        ("create_hosted_zone, same CallerReference", "step_create_same_caller_reference"),
        ("get_hosted_zone", "step_get_hosted_zone"),
        ("list_hosted_zones", "step_list_hosted_zones"),
        ("list_hosted_zones_by_name", "step_list_hosted_zones_by_name"),
        ("get_hosted_zone_count", "step_get_hosted_zone_count"),
        ("list_resource_record_sets, new zone", "step_list_apex_records"),
        ("change_resource_record_sets CREATE + wait INSYNC", "step_change_create"),
        ("list_resource_record_sets after CREATE", "step_list_after_create"),
        ("dig after CREATE", "step_dns_after_create"),
        ("invalid batch is atomic", "step_invalid_batch"),
        ("list_resource_record_sets pagination, MaxItems 2", "step_pagination"),
        ("UPSERT", "step_upsert"),
        ("DELETE (exact match)", "step_delete"),
        ("delete_hosted_zone, not empty", "step_delete_nonempty_zone"),
        ("delete_hosted_zone", "step_delete_zone"),
    ]

    def run(self):
        print(f"route53_flow: endpoint {self.args.endpoint}, dns {self.args.dns or '-'}, "
              f"boto3 {boto3.__version__}, botocore {botocore.__version__}")
        width = max(len(n) for n, _ in self.STEPS)
        try:
            for i, (name, meth) in enumerate(self.STEPS, 1):
                label = f"[{i:2}] {name:<{width}}"
                try:
                    msg = getattr(self, meth)()
                except StepSkipped as s:
                    self.skipped += 1
                    print(f"skip {label}  {s}", flush=True)
                    continue
                except (StepFailed, ClientError, WaiterError, BotoCoreError) as e:
                    self.failed += 1
                    if isinstance(e, ClientError):
                        code, status, emsg = err_info(e)
                        why = f"unexpected error {code} (HTTP {status}): {emsg}"
                    elif isinstance(e, WaiterError):
                        why = f"waiter failed: {e}"
                    else:
                        why = str(e)
                    print(f"FAIL {label}  {why}", flush=True)
                    if not self.args.keep_going:
                        break
                    continue
                except Exception as e:  # a bug here, or a response too odd to handle
                    self.failed += 1
                    print(f"FAIL {label}  internal error {type(e).__name__}: {e}", flush=True)
                    traceback.print_exc()
                    if not self.args.keep_going:
                        break
                    continue
                self.passed += 1
                print(f"ok   {label}  {msg}", flush=True)
        finally:
            if self.failed and not self.args.no_cleanup:
                self.cleanup()
        print(f"route53_flow: {self.passed} passed, {self.failed} failed, {self.skipped} skipped")
        return 1 if self.failed else 0

    def cleanup(self):
        for zid in dict.fromkeys(self.created_zones):
            if zid == self.zone_id and self.deleted:
                continue
            try:
                rrsets = self.r53.list_resource_record_sets(HostedZoneId=zid)["ResourceRecordSets"]
                zname = self.r53.get_hosted_zone(Id=zid)["HostedZone"]["Name"]
                rest = [r for r in rrsets if not (r["Name"] == zname and r["Type"] in ("SOA", "NS"))]
                if rest:
                    self.r53.change_resource_record_sets(
                        HostedZoneId=zid,
                        ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": r} for r in rest]})
                self.r53.delete_hosted_zone(Id=zid)
                print(f"cleanup: deleted {zid}")
            except (ClientError, BotoCoreError) as e:
                print(f"cleanup: could not delete {zid}: {e}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True, help="Route 53 API base URL, e.g. http://127.0.0.1:8053")
    p.add_argument("--dns", help="HOST:PORT of the server's DNS listener; enables dig checks")
    p.add_argument("--no-auth-checks", action="store_true",
                   help="skip the bad-signature / unknown-key checks (moto does not verify SigV4)")
    p.add_argument("--keep-going", action="store_true", help="run every step even after a failure")
    p.add_argument("--no-cleanup", action="store_true", help="leave the test's zones in place on failure")
    args = p.parse_args()
    # Never look for instance credentials or a shared config's endpoint.
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.pop("AWS_ENDPOINT_URL_ROUTE_53", None)
    try:
        flow = Flow(args)
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    return flow.run()


if __name__ == "__main__":
    sys.exit(main())
