#!/usr/bin/env bash
# Route 53 API flow through the AWS CLI (aws route53 ...), the CLI twin of
# route53_flow.py: create a zone, change record sets from a file:// batch,
# wait for INSYNC, page through the record sets with --max-items, UPSERT,
# DELETE, and delete the zone. Checks use --query and --output text.
#
#   tests/api/awscli_flow.sh ENDPOINT_URL        e.g. http://127.0.0.1:8053
#
# Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (no profile or
# config file is read); region us-east-1. The CLI used is $AWS, else the one
# in ${POLICYDNS_VENV:-$HOME/.cache/policydns-venv} (scripts/install-python-deps.sh),
# else aws on PATH.
#
# Note: `aws route53 wait resource-record-sets-changed` polls every 30 s, so a
# server that answers PENDING first makes a step take 30 s or more.
set -Eeuo pipefail

endpoint=${1:?usage: $0 ENDPOINT_URL}
: "${AWS_ACCESS_KEY_ID:?set AWS_ACCESS_KEY_ID}" "${AWS_SECRET_ACCESS_KEY:?set AWS_SECRET_ACCESS_KEY}"

if [ -z "${AWS:-}" ]; then
    venv="${POLICYDNS_VENV:-$HOME/.cache/policydns-venv}"
    if [ -x "$venv/bin/aws" ]; then AWS="$venv/bin/aws"; else AWS=aws; fi
fi
command -v "$AWS" >/dev/null 2>&1 || { echo "awscli_flow: no aws CLI ($AWS); run scripts/install-python-deps.sh" >&2; exit 2; }

unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_ROUTE_53 AWS_SESSION_TOKEN
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
export AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=""
export AWS_RETRY_MODE=standard AWS_MAX_ATTEMPTS=1

zone=api.test.
tmp=$(mktemp -d)
zone_id=""
zone_deleted=0
passed=0
current="setup"

r53() { "$AWS" --endpoint-url "$endpoint" route53 "$@"; }

ok() { passed=$((passed + 1)); printf 'ok   %-44s %s\n' "$current" "$*"; }
# fail MESSAGE: report the failing step once (also from inside $(...), hence
# stderr and the marker file) and stop.
fail() {
    if [ ! -e "$tmp/failed" ]; then
        : >"$tmp/failed"
        printf 'FAIL %-44s %s\n' "$current" "$*" >&2
        echo "awscli_flow: $passed passed, 1 failed" >&2
    fi
    exit 1
}
step() { current=$1; }

# expect_eq WHAT GOT WANT
expect_eq() {
    [ "$2" = "$3" ] || fail "$1: got [$(printf '%s' "$2" | tr '\t\n' ' |')], want [$(printf '%s' "$3" | tr '\t\n' ' |')]"
}

# expect_error CODE CMD...: CMD must fail with the Route 53 error CODE.
expect_error() {
    local code=$1 out
    shift
    if out=$("$@" 2>&1); then
        fail "expected error $code, but the call succeeded: $(echo "$out" | head -c 300)"
    fi
    case "$out" in
        *"($code)"*) ;;
        *) fail "expected error $code, got: $(echo "$out" | tr '\n' ' ' | head -c 300)" ;;
    esac
    last_error="$code: $(echo "$out" | grep -o "($code).*" | head -n1 | sed -E 's/^.* operation( \(reached max retries: [0-9]+\))?: //')"
}

# sorted WORDS...: one per line, sorted (for comparing sets of values)
sorted() { tr '\t' '\n' | sed '/^$/d' | LC_ALL=C sort; }

wait_insync() {
    local id=$1
    r53 wait resource-record-sets-changed --id "$id"
    expect_eq "get-change $id status" "$(r53 get-change --id "$id" --query ChangeInfo.Status --output text)" INSYNC
}

# change FILE: submit a change batch file; prints the change id
change() {
    local out id status
    out=$(r53 change-resource-record-sets --hosted-zone-id "$zone_id" --change-batch "file://$1" \
          --query '[ChangeInfo.Id, ChangeInfo.Status]' --output text)
    read -r id status <<<"$out"
    case "$id" in /change/?*) ;; *) fail "ChangeInfo.Id [$id] does not start with /change/" ;; esac
    case "$status" in PENDING|INSYNC) ;; *) fail "ChangeInfo.Status [$status]" ;; esac
    echo "$id"
}

names_types() {
    r53 list-resource-record-sets --hosted-zone-id "$zone_id" \
        --query 'ResourceRecordSets[].[Name,Type]' --output text
}

values_of() { # NAME TYPE
    r53 list-resource-record-sets --hosted-zone-id "$zone_id" \
        --query "ResourceRecordSets[?Name=='$1' && Type=='$2'].ResourceRecords[].Value" --output text | sorted
}

# empty_zone ZONE_ID FILE: DELETE every record set but the apex SOA and NS,
# exactly as listed (the batch is built by a JMESPath query into FILE).
empty_zone() {
    local zid=$1 file=$2 n
    r53 list-resource-record-sets --hosted-zone-id "$zid" --output json --query \
        "{Comment: 'empty the zone', Changes: ResourceRecordSets[?!(Name=='$zone' && (Type=='SOA' || Type=='NS'))].{Action: 'DELETE', ResourceRecordSet: @}}" \
        >"$file"
    n=$(r53 list-resource-record-sets --hosted-zone-id "$zid" --output text --query \
        "length(ResourceRecordSets[?!(Name=='$zone' && (Type=='SOA' || Type=='NS'))])")
    [ "$n" -gt 0 ] || return 0
    r53 change-resource-record-sets --hosted-zone-id "$zid" --change-batch "file://$file" \
        --query ChangeInfo.Id --output text
}

cleanup() {
    local rc=$?
    trap - ERR
    if [ $rc -ne 0 ] && [ -n "$zone_id" ] && [ $zone_deleted -eq 0 ]; then
        # Best effort: empty and delete the zone this run created.
        empty_zone "$zone_id" "$tmp/cleanup.json" >/dev/null 2>&1 || true
        if r53 delete-hosted-zone --id "$zone_id" >/dev/null 2>&1; then
            echo "cleanup: deleted $zone_id"
        else
            echo "cleanup: could not delete $zone_id (records left?)"
        fi
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
on_err() {
    local rc=$1 line=$2 cmd=$3 where=""
    [ ${#FUNCNAME[@]} -gt 2 ] && where=" in ${FUNCNAME[1]}(), called from line ${BASH_LINENO[1]}"
    fail "command failed (exit $rc, line $line$where): $cmd"
}
trap 'on_err $? $LINENO "$BASH_COMMAND"' ERR

echo "awscli_flow: endpoint $endpoint, $("$AWS" --version 2>&1)"

# ---------------------------------------------------------------------------
step "create-hosted-zone"
caller_ref="policydns-awscli-flow-$(date +%s)-$$-$RANDOM"
out=$(r53 create-hosted-zone --name "$zone" --caller-reference "$caller_ref" \
      --hosted-zone-config Comment="policydns awscli_flow" \
      --query '[HostedZone.Id, HostedZone.Name, ChangeInfo.Status, length(DelegationSet.NameServers), HostedZone.Config.Comment]' \
      --output text)
IFS=$'\t' read -r zone_id name status nns comment <<<"$out"
case "$zone_id" in /hostedzone/?*) ;; *) zone_id=""; fail "HostedZone.Id [$out] does not start with /hostedzone/" ;; esac
bare_id=${zone_id#/hostedzone/}
expect_eq "HostedZone.Name" "$name" "$zone"
case "$status" in PENDING|INSYNC) ;; *) fail "ChangeInfo.Status [$status]" ;; esac
[ "$nns" -ge 1 ] || fail "DelegationSet.NameServers is empty"
expect_eq "HostedZone.Config.Comment" "$comment" "policydns awscli_flow"
ok "$zone_id $status, $nns name servers"

step "get-hosted-zone"
expect_eq "get-hosted-zone" \
    "$(r53 get-hosted-zone --id "$zone_id" --query '[HostedZone.Name, HostedZone.CallerReference, HostedZone.ResourceRecordSetCount]' --output text)" \
    "$zone	$caller_ref	2"
ok "name, caller reference, 2 record sets"

step "list-hosted-zones-by-name"
got=$(r53 list-hosted-zones-by-name --dns-name "$zone" \
      --query "HostedZones[?Id=='$zone_id'].Name" --output text)
expect_eq "our zone in list-hosted-zones-by-name" "$got" "$zone"
ok "contains $zone_id"

step "list-resource-record-sets (new zone)"
expect_eq "record sets of a new zone" "$(names_types)" "$zone	NS
$zone	SOA"
ok "NS and SOA at the apex"

# ---------------------------------------------------------------------------
step "change-resource-record-sets CREATE"
cat >"$tmp/create.json" <<EOF
{
  "Comment": "awscli_flow create",
  "Changes": [
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "www.api.test.", "Type": "A", "TTL": 60,
      "ResourceRecords": [{"Value": "192.0.2.1"}, {"Value": "192.0.2.2"}]}},
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "w.api.test.", "Type": "A", "TTL": 60,
      "SetIdentifier": "a", "Weight": 1, "ResourceRecords": [{"Value": "192.0.2.11"}]}},
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "w.api.test.", "Type": "A", "TTL": 60,
      "SetIdentifier": "b", "Weight": 3, "ResourceRecords": [{"Value": "192.0.2.12"}]}},
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "f.api.test.", "Type": "A", "TTL": 60,
      "SetIdentifier": "primary", "Failover": "PRIMARY", "ResourceRecords": [{"Value": "192.0.2.21"}]}},
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "f.api.test.", "Type": "A", "TTL": 60,
      "SetIdentifier": "secondary", "Failover": "SECONDARY", "ResourceRecords": [{"Value": "192.0.2.22"}]}},
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "c.api.test.", "Type": "CNAME", "TTL": 300,
      "ResourceRecords": [{"Value": "www.api.test."}]}},
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "alias.api.test.", "Type": "A",
      "AliasTarget": {"HostedZoneId": "$bare_id", "DNSName": "www.api.test.", "EvaluateTargetHealth": false}}},
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "api.test.", "Type": "TXT", "TTL": 300,
      "ResourceRecords": [{"Value": "\"hello world\" \"say \\\\\"hi\\\\\"\""}]}},
    {"Action": "CREATE", "ResourceRecordSet": {"Name": "api.test.", "Type": "MX", "TTL": 300,
      "ResourceRecords": [{"Value": "10 mx1.api.test."}, {"Value": "20 mx2.api.test."}]}}
  ]
}
EOF
change_id=$(change "$tmp/create.json")
wait_insync "$change_id"
ok "9 record sets, $change_id INSYNC"

step "list-resource-record-sets (after CREATE)"
# Route 53 order: name with labels reversed, then type.
expect_eq "names and types in Route 53 order" "$(names_types)" "$zone	MX
$zone	NS
$zone	SOA
$zone	TXT
alias.api.test.	A
c.api.test.	CNAME
f.api.test.	A
f.api.test.	A
w.api.test.	A
w.api.test.	A
www.api.test.	A"
expect_eq "www values" "$(values_of www.api.test. A)" "192.0.2.1
192.0.2.2"
expect_eq "weighted members" "$(r53 list-resource-record-sets --hosted-zone-id "$zone_id" \
    --query "ResourceRecordSets[?Name=='w.api.test.'].[SetIdentifier, to_string(Weight), ResourceRecords[0].Value]" \
    --output text | LC_ALL=C sort)" "a	1	192.0.2.11
b	3	192.0.2.12"
expect_eq "failover members" "$(r53 list-resource-record-sets --hosted-zone-id "$zone_id" \
    --query "ResourceRecordSets[?Name=='f.api.test.'].[SetIdentifier, Failover]" --output text | LC_ALL=C sort)" "primary	PRIMARY
secondary	SECONDARY"
expect_eq "alias target" "$(r53 list-resource-record-sets --hosted-zone-id "$zone_id" \
    --query "ResourceRecordSets[?Name=='alias.api.test.'].AliasTarget.[HostedZoneId, DNSName, to_string(EvaluateTargetHealth)]" \
    --output text)" "$bare_id	www.api.test.	false"
expect_eq "TXT value" "$(values_of "$zone" TXT)" '"hello world" "say \"hi\""'
expect_eq "MX values" "$(values_of "$zone" MX)" "10 mx1.api.test.
20 mx2.api.test."
expect_eq "CNAME value" "$(values_of c.api.test. CNAME)" "www.api.test."
ok "11 record sets, in order, values as created"

step "invalid batch is atomic"
cat >"$tmp/invalid.json" <<'EOF'
{"Changes": [
  {"Action": "CREATE", "ResourceRecordSet": {"Name": "new.api.test.", "Type": "A", "TTL": 60,
    "ResourceRecords": [{"Value": "192.0.2.99"}]}},
  {"Action": "CREATE", "ResourceRecordSet": {"Name": "www.api.test.", "Type": "A", "TTL": 60,
    "ResourceRecords": [{"Value": "192.0.2.1"}, {"Value": "192.0.2.2"}]}}
]}
EOF
expect_error InvalidChangeBatch r53 change-resource-record-sets --hosted-zone-id "$zone_id" \
    --change-batch "file://$tmp/invalid.json"
expect_eq "new.api.test. after the rejected batch" "$(values_of new.api.test. A)" ""
ok "$last_error"

step "list-resource-record-sets --max-items"
# The CLI pages with --page-size 2 (the API's maxitems) and hands out at most
# 3 record sets per call, resuming from NextToken (name/type/identifier).
walked=""
token=""
calls=0
while :; do
    args=(--hosted-zone-id "$zone_id" --max-items 3 --page-size 2)
    [ -n "$token" ] && args+=(--starting-token "$token")
    page=$(r53 list-resource-record-sets "${args[@]}" \
           --query 'ResourceRecordSets[].[Name, Type, SetIdentifier]' --output text | awk -F'\t' 'NF == 3')
    token=$(r53 list-resource-record-sets "${args[@]}" --query NextToken --output text | tail -n1)
    calls=$((calls + 1))
    n=$(printf '%s\n' "$page" | sed '/^$/d' | wc -l)
    [ "$n" -ge 1 ] && [ "$n" -le 3 ] || fail "call $calls returned $n record sets with --max-items 3"
    walked+="$page"$'\n'
    [ "$token" = "None" ] && break
    [ $calls -lt 20 ] || fail "pagination does not end"
done
walked=$(printf '%s' "$walked" | sed '/^$/d')
full=$(r53 list-resource-record-sets --hosted-zone-id "$zone_id" \
       --query 'ResourceRecordSets[].[Name, Type, SetIdentifier]' --output text)
expect_eq "record sets walked with --max-items 3 --page-size 2" "$walked" "$full"
ok "$(printf '%s\n' "$walked" | wc -l) record sets in $calls calls, same as one full listing"

step "UPSERT"
cat >"$tmp/upsert.json" <<'EOF'
{"Changes": [
  {"Action": "UPSERT", "ResourceRecordSet": {"Name": "www.api.test.", "Type": "A", "TTL": 120,
    "ResourceRecords": [{"Value": "192.0.2.3"}]}}
]}
EOF
change_id=$(change "$tmp/upsert.json")
wait_insync "$change_id"
expect_eq "www after UPSERT" "$(r53 list-resource-record-sets --hosted-zone-id "$zone_id" \
    --query "ResourceRecordSets[?Name=='www.api.test.'].[to_string(TTL), ResourceRecords[0].Value]" --output text)" "120	192.0.2.3"
ok "www.api.test. A -> 192.0.2.3, TTL 120"

step "DELETE"
cat >"$tmp/delete.json" <<'EOF'
{"Changes": [
  {"Action": "DELETE", "ResourceRecordSet": {"Name": "c.api.test.", "Type": "CNAME", "TTL": 300,
    "ResourceRecords": [{"Value": "www.api.test."}]}}
]}
EOF
change_id=$(change "$tmp/delete.json")
wait_insync "$change_id"
expect_eq "c.api.test. after DELETE" "$(values_of c.api.test. CNAME)" ""
ok "c.api.test. CNAME removed"

step "delete-hosted-zone (not empty)"
expect_error HostedZoneNotEmpty r53 delete-hosted-zone --id "$zone_id"
ok "$last_error"

step "delete-hosted-zone"
cat >"$tmp/empty.json" <<EOF
{"Changes": [
  {"Action": "DELETE", "ResourceRecordSet": {"Name": "www.api.test.", "Type": "A", "TTL": 120,
    "ResourceRecords": [{"Value": "192.0.2.3"}]}},
  {"Action": "DELETE", "ResourceRecordSet": {"Name": "w.api.test.", "Type": "A", "TTL": 60,
    "SetIdentifier": "a", "Weight": 1, "ResourceRecords": [{"Value": "192.0.2.11"}]}},
  {"Action": "DELETE", "ResourceRecordSet": {"Name": "w.api.test.", "Type": "A", "TTL": 60,
    "SetIdentifier": "b", "Weight": 3, "ResourceRecords": [{"Value": "192.0.2.12"}]}},
  {"Action": "DELETE", "ResourceRecordSet": {"Name": "f.api.test.", "Type": "A", "TTL": 60,
    "SetIdentifier": "primary", "Failover": "PRIMARY", "ResourceRecords": [{"Value": "192.0.2.21"}]}},
  {"Action": "DELETE", "ResourceRecordSet": {"Name": "f.api.test.", "Type": "A", "TTL": 60,
    "SetIdentifier": "secondary", "Failover": "SECONDARY", "ResourceRecords": [{"Value": "192.0.2.22"}]}},
  {"Action": "DELETE", "ResourceRecordSet": {"Name": "alias.api.test.", "Type": "A",
    "AliasTarget": {"HostedZoneId": "$bare_id", "DNSName": "www.api.test.", "EvaluateTargetHealth": false}}},
  {"Action": "DELETE", "ResourceRecordSet": {"Name": "api.test.", "Type": "TXT", "TTL": 300,
    "ResourceRecords": [{"Value": "\"hello world\" \"say \\\\\"hi\\\\\"\""}]}},
  {"Action": "DELETE", "ResourceRecordSet": {"Name": "api.test.", "Type": "MX", "TTL": 300,
    "ResourceRecords": [{"Value": "10 mx1.api.test."}, {"Value": "20 mx2.api.test."}]}}
]}
EOF
change_id=$(change "$tmp/empty.json")
wait_insync "$change_id"
expect_eq "record sets left" "$(names_types)" "$zone	NS
$zone	SOA"
status=$(r53 delete-hosted-zone --id "$zone_id" --query ChangeInfo.Status --output text)
case "$status" in PENDING|INSYNC) ;; *) fail "delete-hosted-zone ChangeInfo.Status [$status]" ;; esac
zone_deleted=1
expect_error NoSuchHostedZone r53 get-hosted-zone --id "$zone_id"
ok "emptied with exact DELETEs, deleted ($status); get-hosted-zone -> NoSuchHostedZone"

echo "awscli_flow: $passed passed, 0 failed"
