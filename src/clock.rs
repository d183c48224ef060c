//! The wall clock as people and protocols read it: Unix seconds, and the same as RFC 3339 text
//! (`2026-12-03T14:02:11Z`), which the status listener's JSON and the Route 53 API write.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (0 if the clock is before it).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// RFC 3339 in UTC with whole seconds: `2026-12-03T14:02:11Z`.
pub fn rfc3339(unix: i64) -> String {
    let (date, time) = parts(unix);
    format!("{date}T{time}Z")
}

/// RFC 3339 in UTC with milliseconds, as Route 53 writes `SubmittedAt`: `…T14:02:11.000Z`.
pub fn rfc3339_millis(unix: i64) -> String {
    let (date, time) = parts(unix);
    format!("{date}T{time}.000Z")
}

/// For `#[serde(serialize_with)]`: Unix seconds written as RFC 3339.
pub fn serialize<S: serde::Serializer>(unix: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*unix as i64))
}

/// The same for an optional time (`null` when absent).
pub fn serialize_option<S: serde::Serializer>(unix: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match unix {
        Some(t) => s.serialize_str(&rfc3339(*t as i64)),
        None => s.serialize_none(),
    }
}

fn parts(unix: i64) -> (String, String) {
    let days = unix.div_euclid(86400);
    let secs = unix.rem_euclid(86400);
    let (y, m, d) = civil_from_days(days);
    (
        format!("{y:04}-{m:02}-{d:02}"),
        format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60),
    )
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_times_read_as_rfc_3339_utc() {
        for (unix, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_796_230_163, "2026-12-02T16:49:23Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
            (-1, "1969-12-31T23:59:59Z"),
        ] {
            assert_eq!(rfc3339(unix), text, "{unix}");
        }
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
    }
}
