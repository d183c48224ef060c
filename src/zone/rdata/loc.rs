//! LOC (RFC 1876 §3): `d1 [m1 [s1]] {N|S} d2 [m2 [s2]] {E|W} alt["m"] [siz["m"] [hp["m"] [vp["m"]]]]`.
//!
//! Size and precisions are encoded the way BIND does (`loc_getprecision`): a value of one
//! metre or more keeps only its whole metres; below a metre, its centimetres.

use super::error::RdataError;
use super::reader::{Reader, R};

pub(super) fn parse(r: &mut Reader<'_>, out: &mut Vec<u8>) -> R<()> {
    let lat = coordinate(r, "LOC latitude", 90, b'N', b'S')?;
    let lon = coordinate(r, "LOC longitude", 180, b'E', b'W')?;
    let w = r.word("LOC altitude")?;
    let alt = decimal(w.strip_suffix(['m', 'M']).unwrap_or(w), 2, true)
        .ok_or_else(|| RdataError::bad("LOC altitude", w))?;
    if !(-10_000_000..=4_284_967_295).contains(&alt) {
        return Err(RdataError::range("LOC altitude", w));
    }
    // Defaults: size 1m, horizontal precision 10000m, vertical precision 10m.
    let mut precisions = [0x12u8, 0x16, 0x13];
    for (i, what) in [
        "LOC size",
        "LOC horizontal precision",
        "LOC vertical precision",
    ]
    .into_iter()
    .enumerate()
    {
        if r.done() {
            break;
        }
        let w = r.word(what)?;
        precisions[i] = precision(w).ok_or_else(|| RdataError::bad(what, w))?;
    }
    out.push(0); // version
    out.extend_from_slice(&precisions);
    out.extend_from_slice(&lat.to_be_bytes());
    out.extend_from_slice(&lon.to_be_bytes());
    out.extend_from_slice(&((alt + 10_000_000) as u32).to_be_bytes());
    Ok(())
}

/// Degrees, optional minutes and seconds, then the hemisphere letter; in thousandths of an
/// arc second offset by 2^31.
fn coordinate(r: &mut Reader<'_>, what: &'static str, max: i64, pos: u8, neg: u8) -> R<u32> {
    let whats: [&'static str; 3] = if max == 90 {
        [
            "LOC latitude degrees",
            "LOC latitude minutes",
            "LOC latitude seconds",
        ]
    } else {
        [
            "LOC longitude degrees",
            "LOC longitude minutes",
            "LOC longitude seconds",
        ]
    };
    let mut parts = [0i64; 3];
    let mut n = 0;
    let sign = loop {
        let w = r.word(whats[n.min(2)])?;
        // Upper case only, as BIND and Knot read it.
        if w.len() == 1 {
            let c = w.as_bytes()[0];
            if c == pos {
                break 1;
            }
            if c == neg {
                break -1;
            }
        }
        if n == 3 {
            return Err(RdataError::bad("LOC hemisphere", w));
        }
        let limit = [max, 59, 59_999][n];
        let v = if n == 2 {
            decimal(w, 3, false)
        } else {
            w.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| w.parse().ok())
                .flatten()
        }
        .ok_or_else(|| RdataError::bad(whats[n], w))?;
        if v > limit {
            return Err(RdataError::Range {
                what,
                token: w.to_string(),
            });
        }
        parts[n] = v;
        n += 1;
    };
    let ms = (parts[0] * 60 + parts[1]) * 60_000 + parts[2];
    if ms > max * 3_600_000 {
        return Err(RdataError::Range {
            what,
            token: format!("{}°{}'{}", parts[0], parts[1], parts[2] as f64 / 1000.0),
        });
    }
    Ok(((1i64 << 31) + sign * ms) as u32)
}

/// `int[.frac]` with at most `digits` fraction digits, scaled by 10^digits.
fn decimal(w: &str, digits: u32, signed: bool) -> Option<i64> {
    // BIND also reads `+5`, and `.5` for `0.5`.
    let (neg, w) = match (w.strip_prefix('-'), w.strip_prefix('+')) {
        (Some(rest), _) if signed => (true, rest),
        (_, Some(rest)) if signed => (false, rest),
        _ => (false, w),
    };
    let (int, frac) = w.split_once('.').unwrap_or((w, ""));
    let int = if int.is_empty() && !frac.is_empty() {
        "0"
    } else {
        int
    };
    if int.is_empty()
        || frac.len() > digits as usize
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || int.len() > 12
    {
        return None;
    }
    let mut v: i64 = int.parse().ok()?;
    for i in 0..digits as usize {
        v = v * 10 + frac.as_bytes().get(i).map_or(0, |b| (b - b'0') as i64);
    }
    Some(if neg { -v } else { v })
}

/// RFC 1876 size/precision: metres (two fraction digits) to a mantissa/exponent octet.
fn precision(w: &str) -> Option<u8> {
    let cm = decimal(w.strip_suffix(['m', 'M']).unwrap_or(w), 2, false)?;
    if cm > 9_000_000_000 {
        return None;
    }
    let m = cm / 100;
    let (man, exp) = if m > 0 {
        let mut exp = 0;
        while exp < 7 && m >= 10i64.pow(exp + 1) {
            exp += 1;
        }
        (m / 10i64.pow(exp), exp + 2)
    } else if cm >= 10 {
        (cm / 10, 1)
    } else {
        (cm, 0)
    };
    Some(((man as u8) << 4) | exp as u8)
}
