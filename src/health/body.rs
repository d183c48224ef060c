//! The part of a response body a search string is looked for in: the first
//! [`SEARCH_WINDOW`] bytes of the body as the application wrote it. Route 53 decompresses gzip
//! and deflate bodies before searching (docs/route53.md §5.1); a body in any other encoding
//! is searched as sent, which is why such checks "almost always fail" there too.

use flate2::{Decompress, FlushDecompress, Status};

/// The search string must lie entirely within this many leading bytes of the body (Route
/// 53: 5,120).
pub const SEARCH_WINDOW: usize = 5120;

/// Most body bytes a probe reads off the wire looking for the window. Identity bodies need
/// only [`SEARCH_WINDOW`]; compressed ones need fewer in practice, and the cap keeps a body
/// that never decodes to anything (padding, empty blocks) from being read to its end.
pub const RAW_LIMIT: usize = 64 * 1024;

/// A body's `Content-Encoding`, as far as searching it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// No encoding, or one we search as sent (Route 53 does not decode it either).
    AsSent,
    Gzip,
    Deflate,
}

impl Coding {
    /// From the `Content-Encoding` header's value. Only a single gzip or deflate coding is
    /// undone; a chain of codings is searched as sent, since undoing only one would not give
    /// the text either.
    pub fn from_header(value: Option<&str>) -> Coding {
        let Some(v) = value else {
            return Coding::AsSent;
        };
        let mut codings = v
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("identity"));
        match (codings.next(), codings.next()) {
            (Some(c), None) if c.eq_ignore_ascii_case("gzip") => Coding::Gzip,
            // "x-gzip": RFC 9110 §8.4.1.3 asks recipients to treat it as gzip.
            (Some(c), None) if c.eq_ignore_ascii_case("x-gzip") => Coding::Gzip,
            (Some(c), None) if c.eq_ignore_ascii_case("deflate") => Coding::Deflate,
            _ => Coding::AsSent,
        }
    }
}

/// What [`window`] could make of the body bytes received so far.
#[derive(Debug, PartialEq, Eq)]
pub enum Fill {
    /// The window is complete (or the body ended): search it.
    Done,
    /// More body bytes would extend the window.
    NeedMore,
    /// The body does not decompress; the window holds what came out before the damage.
    Corrupt(String),
}

/// The searched window of a body whose first bytes (de-chunked, still encoded) are `body`.
/// Decoding restarts from the start on every call, which keeps no state between reads and
/// costs little: the output is at most [`SEARCH_WINDOW`] bytes and the input at most
/// [`RAW_LIMIT`].
pub fn window(coding: Coding, body: &[u8]) -> (Vec<u8>, Fill) {
    match coding {
        Coding::AsSent => {
            let n = body.len().min(SEARCH_WINDOW);
            let fill = if n == SEARCH_WINDOW {
                Fill::Done
            } else {
                Fill::NeedMore
            };
            (body[..n].to_vec(), fill)
        }
        Coding::Gzip => match gzip_header_len(body) {
            Ok(Some(n)) => inflate(Decompress::new(false), &body[n..]),
            Ok(None) => (Vec::new(), Fill::NeedMore),
            Err(e) => (Vec::new(), Fill::Corrupt(e.to_string())),
        },
        Coding::Deflate => {
            if body.len() < 2 {
                return (Vec::new(), Fill::NeedMore);
            }
            // HTTP's "deflate" is the zlib format (RFC 9110 §8.4.1.2), but servers have long
            // sent raw deflate under that name; clients accept both, telling them apart by
            // the zlib header's check bits.
            let zlib =
                body[0] & 0x0f == 8 && (u16::from(body[0]) << 8 | u16::from(body[1])) % 31 == 0;
            match inflate(Decompress::new(zlib), body) {
                // A raw stream can pass the check bits by chance.
                (out, Fill::Corrupt(_)) if zlib && out.is_empty() => {
                    inflate(Decompress::new(false), body)
                }
                r => r,
            }
        }
    }
}

/// Inflates `input` into at most [`SEARCH_WINDOW`] bytes.
fn inflate(mut d: Decompress, input: &[u8]) -> (Vec<u8>, Fill) {
    let mut out = Vec::with_capacity(SEARCH_WINDOW);
    loop {
        let consumed = d.total_in() as usize;
        let produced = out.len();
        // decompress_vec writes only into the spare capacity, so `out` never grows past the
        // window however well the body compresses.
        match d.decompress_vec(&input[consumed..], &mut out, FlushDecompress::None) {
            Ok(Status::StreamEnd) => return (out, Fill::Done),
            Ok(_) if out.len() == SEARCH_WINDOW => return (out, Fill::Done),
            Ok(_) if d.total_in() as usize == consumed && out.len() == produced => {
                return (out, Fill::NeedMore)
            }
            Ok(_) => {}
            Err(e) => return (out, Fill::Corrupt(e.to_string())),
        }
    }
}

/// A body that says it is gzip and is not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum GzipError {
    #[error("not gzip (bad magic)")]
    Magic,
    #[error("gzip compression method {0} is not deflate")]
    Method(u8),
}

/// The length of the gzip member header at the start of `b` (RFC 1952 §2.3), `None` while
/// it is incomplete. The trailer's CRC is never reached: the search needs only the window.
fn gzip_header_len(b: &[u8]) -> Result<Option<usize>, GzipError> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if b.len() < 10 {
        return match b {
            [a, ..] if *a != 0x1f => Err(GzipError::Magic),
            [_, c, ..] if *c != 0x8b => Err(GzipError::Magic),
            _ => Ok(None),
        };
    }
    if b[..2] != [0x1f, 0x8b] {
        return Err(GzipError::Magic);
    }
    if b[2] != 8 {
        return Err(GzipError::Method(b[2]));
    }
    let flags = b[3];
    let mut n = 10;
    if flags & FEXTRA != 0 {
        let Some(len) = b.get(n..n + 2) else {
            return Ok(None);
        };
        n += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            match b
                .get(n..)
                .and_then(|rest| rest.iter().position(|&c| c == 0))
            {
                Some(end) => n += end + 1,
                None => return Ok(None),
            }
        }
    }
    if flags & FHCRC != 0 {
        n += 2;
    }
    Ok((n <= b.len()).then_some(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn header_values_pick_the_coding() {
        assert_eq!(Coding::from_header(None), Coding::AsSent);
        assert_eq!(Coding::from_header(Some("GZIP")), Coding::Gzip);
        assert_eq!(Coding::from_header(Some("x-gzip")), Coding::Gzip);
        assert_eq!(Coding::from_header(Some(" deflate ")), Coding::Deflate);
        assert_eq!(Coding::from_header(Some("identity, gzip")), Coding::Gzip);
        assert_eq!(Coding::from_header(Some("br")), Coding::AsSent);
        assert_eq!(Coding::from_header(Some("gzip, br")), Coding::AsSent);
    }

    #[test]
    fn gzip_window_is_the_first_5120_decompressed_bytes() {
        let text: Vec<u8> = (0..20_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let (w, fill) = window(Coding::Gzip, &gzip(&text));
        assert_eq!(fill, Fill::Done);
        assert_eq!(w, &text[..SEARCH_WINDOW]);
    }

    #[test]
    fn truncated_gzip_asks_for_more() {
        let text: Vec<u8> = (0..20_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        let z = gzip(&text);
        assert_eq!(window(Coding::Gzip, &z[..5]).1, Fill::NeedMore);
        let (w, fill) = window(Coding::Gzip, &z[..200]);
        assert_eq!(fill, Fill::NeedMore);
        assert!(w.len() < SEARCH_WINDOW && text.starts_with(&w));
    }

    #[test]
    fn gzip_optional_header_fields_are_skipped() {
        let mut z = gzip(b"hello");
        // FEXTRA (2 bytes of data), FNAME "n", FCOMMENT "c", FHCRC.
        z[3] = 4 | 8 | 16 | 2;
        z.splice(10..10, [2, 0, 0xaa, 0xbb, b'n', 0, b'c', 0, 0x12, 0x34]);
        assert_eq!(window(Coding::Gzip, &z), (b"hello".to_vec(), Fill::Done));
    }

    #[test]
    fn deflate_accepts_zlib_and_raw_streams() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"zlib body").unwrap();
        assert_eq!(
            window(Coding::Deflate, &z.finish().unwrap()),
            (b"zlib body".to_vec(), Fill::Done)
        );
        let mut r = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        r.write_all(b"raw body").unwrap();
        assert_eq!(
            window(Coding::Deflate, &r.finish().unwrap()),
            (b"raw body".to_vec(), Fill::Done)
        );
    }

    #[test]
    fn a_body_that_is_not_gzip_is_corrupt() {
        assert!(matches!(
            window(Coding::Gzip, b"plain text, not gzip").1,
            Fill::Corrupt(_)
        ));
    }
}
