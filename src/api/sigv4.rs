//! AWS Signature Version 4, verified as Route 53 verifies it: the `Authorization` header's
//! credential scope must be `DATE/us-east-1/route53/aws4_request`, the access key one of ours,
//! and the signature the HMAC-SHA256 chain over the canonical request (AWS's "Create a signed
//! AWS API request": canonical URI encoded a second time, query sorted and re-encoded, headers
//! lowercased and trimmed, the body's SHA-256).
//!
//! Nothing here logs: a secret or a signature never leaves this module.

use ring::{digest, hmac};

/// Who signed a request that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub access_key_id: String,
}

/// One configured key pair.
#[derive(Clone)]
pub struct Key {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret is never printed, not even in debug output.
        f.debug_struct("Key")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// The request as received, before any decoding.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path as sent (percent-encoded).
    pub path: &'a str,
    /// The query string as sent, without `?`.
    pub query: &'a str,
    pub headers: &'a [(String, Vec<u8>)],
    pub body: &'a [u8],
}

/// Why a request is refused (each is Route 53's 403 code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("Missing Authentication Token")]
    Missing,
    #[error("The security token included in the request is invalid.")]
    UnknownKey,
    #[error("{0}")]
    Mismatch(String),
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing => "MissingAuthenticationToken",
            AuthError::UnknownKey => "InvalidClientTokenId",
            AuthError::Mismatch(_) => "SignatureDoesNotMatch",
        }
    }
}

/// What the scope must say.
pub struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
    /// How far the request's X-Amz-Date may be from our clock (AWS allows 5 minutes;
    /// Route 53 15).
    pub max_skew_secs: i64,
}

pub const ROUTE53: Scope<'static> = Scope {
    region: "us-east-1",
    service: "route53",
    max_skew_secs: 15 * 60,
};

/// Verifies `req` against `keys` at time `now` (Unix seconds).
pub fn verify(
    req: &Request<'_>,
    keys: &[Key],
    scope: &Scope<'_>,
    now: i64,
) -> Result<Caller, AuthError> {
    let auth = header(req.headers, "authorization").ok_or(AuthError::Missing)?;
    let auth =
        std::str::from_utf8(auth).map_err(|_| mismatch("Authorization header is not text"))?;
    let rest = auth
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or_else(|| mismatch("only AWS4-HMAC-SHA256 signatures are accepted"))?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed_headers = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(mismatch(
            "Authorization header requires Credential, SignedHeaders and Signature",
        ));
    };
    let mut cred = credential.split('/');
    let (Some(akid), Some(date), Some(region), Some(service), Some("aws4_request"), None) = (
        cred.next(),
        cred.next(),
        cred.next(),
        cred.next(),
        cred.next(),
        cred.next(),
    ) else {
        return Err(mismatch(
            "Credential must be AKID/DATE/REGION/SERVICE/aws4_request",
        ));
    };
    let key = keys
        .iter()
        .find(|k| k.access_key_id == akid)
        .ok_or(AuthError::UnknownKey)?;
    if service != scope.service {
        return Err(mismatch(&format!(
            "Credential should be scoped to correct service: '{}'.",
            scope.service
        )));
    }
    if region != scope.region {
        return Err(mismatch(&format!(
            "Credential should be scoped to a valid region, not '{region}'."
        )));
    }
    let amz_date = header(req.headers, "x-amz-date")
        .and_then(|d| std::str::from_utf8(d).ok())
        .ok_or_else(|| mismatch("X-Amz-Date header is missing"))?;
    let when =
        parse_amz_date(amz_date).ok_or_else(|| mismatch("X-Amz-Date is not YYYYMMDDTHHMMSSZ"))?;
    if !amz_date.starts_with(date) {
        return Err(mismatch("Credential date does not match X-Amz-Date"));
    }
    if (when - now).abs() > scope.max_skew_secs {
        return Err(mismatch(&format!(
            "Signature expired: {amz_date} is more than {} minutes from the server's time",
            scope.max_skew_secs / 60
        )));
    }
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"host") {
        return Err(mismatch("the host header must be signed"));
    }
    let canonical = canonical_request(req, &names)?;
    let expected = sign_canonical(key, amz_date, date, region, service, &canonical);
    if constant_time_eq(expected.as_bytes(), signature.as_bytes()) {
        Ok(Caller {
            access_key_id: akid.to_string(),
        })
    } else {
        Err(mismatch(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.",
        ))
    }
}

/// Signs a request as the AWS SDKs do (for `policydns` as a client of a running server, and
/// for tests): the headers to add, `x-amz-date` and `authorization`. `headers` must hold
/// `host`; every header given is signed.
pub fn sign(
    req: &Request<'_>,
    key: &Key,
    scope: &Scope<'_>,
    amz_date: &str,
) -> Vec<(String, Vec<u8>)> {
    let date = &amz_date[..8.min(amz_date.len())];
    let mut headers: Vec<(String, Vec<u8>)> = req
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    headers.push(("x-amz-date".into(), amz_date.as_bytes().to_vec()));
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    let mut names_dedup = names.clone();
    names_dedup.dedup();
    let signing = Request {
        method: req.method,
        path: req.path,
        query: req.query,
        headers: &headers,
        body: req.body,
    };
    let canonical = canonical_request(&signing, &names_dedup).unwrap_or_default();
    let (region, service) = (scope.region, scope.service);
    let signature = sign_canonical(key, amz_date, date, region, service, &canonical);
    vec![
        ("x-amz-date".into(), amz_date.as_bytes().to_vec()),
        (
            "authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential={}/{date}/{region}/{service}/aws4_request, SignedHeaders={}, Signature={signature}",
                key.access_key_id,
                names_dedup.join(";")
            )
            .into_bytes(),
        ),
    ]
}

/// The signature of a canonical request: the string to sign (its SHA-256 with the date and
/// scope) under the key derived from the secret, the date, the region and the service.
fn sign_canonical(
    key: &Key,
    amz_date: &str,
    date: &str,
    region: &str,
    service: &str,
    canonical: &str,
) -> String {
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    );
    let mut k = hmac_sha256(
        format!("AWS4{}", key.secret_access_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [region, service, "aws4_request"] {
        k = hmac_sha256(&k, part.as_bytes());
    }
    hex(&hmac_sha256(&k, to_sign.as_bytes()))
}

/// `X-Amz-Date` for Unix time `unix`.
pub fn amz_date(unix: i64) -> String {
    let t = super::xml::timestamp(unix);
    // 2015-08-30T12:36:00.000Z → 20150830T123600Z
    format!(
        "{}{}{}T{}{}{}Z",
        &t[0..4],
        &t[5..7],
        &t[8..10],
        &t[11..13],
        &t[14..16],
        &t[17..19]
    )
}

fn mismatch(message: &str) -> AuthError {
    AuthError::Mismatch(message.to_string())
}

fn header<'h>(headers: &'h [(String, Vec<u8>)], name: &str) -> Option<&'h [u8]> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_slice())
}

fn canonical_request(req: &Request<'_>, signed: &[&str]) -> Result<String, AuthError> {
    let mut out = String::with_capacity(256);
    out.push_str(req.method);
    out.push('\n');
    // Non-S3 services encode the (already encoded) path once more.
    out.push_str(&encode(&normalize_path(req.path), true));
    out.push('\n');
    let mut params: Vec<(String, String)> = req
        .query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(&decode(k), false), encode(&decode(v), false))
        })
        .collect();
    params.sort();
    let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    out.push_str(&query.join("&"));
    out.push('\n');
    for name in signed {
        let values: Vec<String> = req
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| {
                String::from_utf8_lossy(v)
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        if values.is_empty() {
            return Err(mismatch(&format!("signed header {name} is missing")));
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed.join(";"));
    out.push('\n');
    let payload = match header(req.headers, "x-amz-content-sha256") {
        Some(h) if h == b"UNSIGNED-PAYLOAD" => "UNSIGNED-PAYLOAD".to_string(),
        _ => hex(digest::digest(&digest::SHA256, req.body).as_ref()),
    };
    out.push_str(&payload);
    Ok(out)
}

/// RFC 3986 dot-segment removal, as botocore does before signing.
fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/').skip(1) {
        match seg {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    let mut out = String::from("/");
    out.push_str(&parts.join("/"));
    if path.len() > 1 && path.ends_with('/') && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// AWS's URI encoding: unreserved characters kept, everything else `%XX` (uppercase).
pub fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-decoding of a query component (`+` is a space, as form encoding writes it).
pub fn decode(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hexval = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hexval {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_amz_date(d: &str) -> Option<i64> {
    let b = d.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| d.get(r)?.parse::<i64>().ok();
    let (y, mo, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(11..13)?, num(13..15)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, day) * 86400 + h * 3600 + mi * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
        .as_ref()
        .to_vec()
}

fn hex(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// AWS's SigV4 test suite (aws-sig-v4-test-suite): its example key and time.
    const SUITE: Scope<'static> = Scope {
        region: "us-east-1",
        service: "service",
        max_skew_secs: 15 * 60,
    };
    const SUITE_NOW: i64 = 1_440_938_160; // 2015-08-30T12:36:00Z

    fn suite_key() -> Vec<Key> {
        vec![Key {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        }]
    }

    fn suite_request(query: &str, signature: &str) -> Vec<(String, Vec<u8>)> {
        let _ = query;
        vec![
            ("Host".into(), b"example.amazonaws.com".to_vec()),
            ("X-Amz-Date".into(), b"20150830T123600Z".to_vec()),
            (
                "Authorization".into(),
                format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}").into_bytes(),
            ),
        ]
    }

    fn check(query: &str, signature: &str) -> Result<Caller, AuthError> {
        let headers = suite_request(query, signature);
        let req = Request {
            method: "GET",
            path: "/",
            query,
            headers: &headers,
            body: b"",
        };
        verify(&req, &suite_key(), &SUITE, SUITE_NOW)
    }

    #[test]
    fn the_suites_get_vanilla_verifies() {
        let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        assert_eq!(check("", sig).unwrap().access_key_id, "AKIDEXAMPLE");
    }

    #[test]
    fn the_suites_query_order_case_verifies() {
        let sig = "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500";
        assert!(check("Param2=value2&Param1=value1", sig).is_ok());
    }

    #[test]
    fn one_changed_signature_digit_is_refused() {
        let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf30";
        assert_eq!(check("", sig).unwrap_err().code(), "SignatureDoesNotMatch");
    }

    #[test]
    fn a_changed_query_is_refused() {
        let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        assert_eq!(
            check("x=1", sig).unwrap_err().code(),
            "SignatureDoesNotMatch"
        );
    }

    #[test]
    fn refusals_carry_route53s_codes() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("Host", "h")], "MissingAuthenticationToken"),
            (
                &[
                    ("Host", "h"),
                    ("X-Amz-Date", "20150830T123600Z"),
                    ("Authorization", "AWS4-HMAC-SHA256 Credential=NOBODY/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"),
                ],
                "InvalidClientTokenId",
            ),
            (
                &[
                    ("Host", "h"),
                    ("X-Amz-Date", "20150830T123600Z"),
                    ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/eu-west-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"),
                ],
                "SignatureDoesNotMatch",
            ),
            (
                &[
                    ("Host", "h"),
                    ("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"),
                ],
                "SignatureDoesNotMatch",
            ),
        ];
        for (headers, code) in cases {
            let headers: Vec<(String, Vec<u8>)> = headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
                .collect();
            let req = Request {
                method: "GET",
                path: "/",
                query: "",
                headers: &headers,
                body: b"",
            };
            let got = verify(&req, &suite_key(), &SUITE, SUITE_NOW).unwrap_err();
            assert_eq!(got.code(), *code, "{headers:?}");
        }
    }

    #[test]
    fn a_request_signed_long_ago_is_refused() {
        let sig = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
        let headers = suite_request("", sig);
        let req = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let err = verify(&req, &suite_key(), &SUITE, SUITE_NOW + 3600).unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn what_sign_writes_verifies() {
        let key = &suite_key()[0];
        let base = vec![("Host".to_string(), b"example.amazonaws.com".to_vec())];
        let req = Request {
            method: "POST",
            path: "/2013-04-01/hostedzone/Z1/rrset/",
            query: "a=b%20c",
            headers: &base,
            body: b"<x/>",
        };
        let mut headers = base.clone();
        headers.extend(sign(&req, key, &SUITE, &amz_date(SUITE_NOW)));
        let signed = Request {
            headers: &headers,
            ..req
        };
        assert!(verify(&signed, &suite_key(), &SUITE, SUITE_NOW).is_ok());
        let tampered = Request {
            body: b"<y/>",
            ..signed
        };
        assert!(verify(&tampered, &suite_key(), &SUITE, SUITE_NOW).is_err());
    }

    #[test]
    fn debug_output_never_shows_the_secret() {
        let text = format!("{:?}", suite_key());
        assert!(!text.contains("EXAMPLEKEY"), "{text}");
    }
}
