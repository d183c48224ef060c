//! Domain names in uncompressed wire form (`3www7example4test0`).
//!
//! The snapshot keys every name by its lowercased wire form, so a lookup is a hash of a byte
//! slice the packet parser already produced: no `Name` objects on the query path.

use std::fmt;

/// Longest wire-form name (RFC 1035 §3.1).
pub const MAX_NAME_LEN: usize = 255;
/// Longest label.
pub const MAX_LABEL_LEN: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("empty label in name")]
    EmptyLabel,
    #[error("label longer than 63 octets")]
    LabelTooLong,
    #[error("name longer than 255 octets")]
    NameTooLong,
    #[error("bad escape sequence in name")]
    BadEscape,
    #[error("relative name with no origin to complete it")]
    NoOrigin,
}

/// Parses a presentation-format name (`www`, `www.example.test.`, `@`, `a\.b`, `\065`) into
/// lowercase-preserving wire form, completing relative names with `origin` (wire form).
pub fn from_text(text: &str, origin: Option<&[u8]>) -> Result<Vec<u8>, NameError> {
    if text.is_empty() {
        return Err(NameError::EmptyLabel);
    }
    if text == "@" {
        return origin.map(|o| o.to_vec()).ok_or(NameError::NoOrigin);
    }
    if text == "." {
        return Ok(vec![0]);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() + 2);
    let mut label = Vec::with_capacity(MAX_LABEL_LEN);
    let mut absolute = false;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'.' => {
                if label.is_empty() {
                    return Err(NameError::EmptyLabel);
                }
                push_label(&mut out, &label)?;
                label.clear();
                if i + 1 == bytes.len() {
                    absolute = true;
                }
                i += 1;
            }
            b'\\' => {
                let (value, used) = unescape(&bytes[i + 1..])?;
                label.push(value);
                i += 1 + used;
            }
            _ => {
                label.push(c);
                i += 1;
            }
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NameError::LabelTooLong);
        }
    }
    if !label.is_empty() {
        push_label(&mut out, &label)?;
    }
    if absolute {
        out.push(0);
    } else {
        let origin = origin.ok_or(NameError::NoOrigin)?;
        out.extend_from_slice(origin);
    }
    if out.len() > MAX_NAME_LEN {
        return Err(NameError::NameTooLong);
    }
    Ok(out)
}

/// Decodes one escape after a backslash: `\DDD` (decimal octet) or `\X` (the character itself).
/// Returns the octet and how many input bytes it used.
pub fn unescape(after: &[u8]) -> Result<(u8, usize), NameError> {
    match after {
        [a, b, c, ..] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            let v = (a - b'0') as u32 * 100 + (b - b'0') as u32 * 10 + (c - b'0') as u32;
            u8::try_from(v)
                .map(|v| (v, 3))
                .map_err(|_| NameError::BadEscape)
        }
        [d, ..] if d.is_ascii_digit() => Err(NameError::BadEscape),
        [x, ..] => Ok((*x, 1)),
        [] => Err(NameError::BadEscape),
    }
}

fn push_label(out: &mut Vec<u8>, label: &[u8]) -> Result<(), NameError> {
    if label.len() > MAX_LABEL_LEN {
        return Err(NameError::LabelTooLong);
    }
    out.push(label.len() as u8);
    out.extend_from_slice(label);
    if out.len() > MAX_NAME_LEN {
        return Err(NameError::NameTooLong);
    }
    Ok(())
}

/// ASCII-lowercases a wire name in place (label length octets are < 64, so never touched).
pub fn lowercase_in_place(name: &mut [u8]) {
    name.make_ascii_lowercase();
}

pub fn to_lowercase(name: &[u8]) -> Vec<u8> {
    name.to_ascii_lowercase()
}

/// Offsets of each label start in a well-formed wire name, root excluded.
pub fn label_offsets(name: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        let len = *name.get(pos)? as usize;
        if len == 0 {
            return None;
        }
        let here = pos;
        pos += 1 + len;
        Some(here)
    })
}

pub fn label_count(name: &[u8]) -> usize {
    label_offsets(name).count()
}

/// The name with its first label removed (`None` for the root).
/// RFC 4034 §6.1 canonical order: label by label from the root, each label as a lowercase
/// octet string (a label that is a prefix of a longer one sorts first; a name sorts before
/// the names below it). Without allocating: the answer path uses it to find the NSEC that
/// covers a name.
pub fn canonical_cmp(a: &[u8], b: &[u8]) -> std::cmp::Ordering {
    let (mut la, mut lb) = ([0u8; 128], [0u8; 128]);
    let (na, nb) = (label_starts(a, &mut la), label_starts(b, &mut lb));
    for i in 1..=na.min(nb) {
        let (x, y) = (la[na - i] as usize, lb[nb - i] as usize);
        let lx = &a[x + 1..x + 1 + a[x] as usize];
        let ly = &b[y + 1..y + 1 + b[y] as usize];
        let o = lx
            .iter()
            .map(u8::to_ascii_lowercase)
            .cmp(ly.iter().map(u8::to_ascii_lowercase));
        if o.is_ne() {
            return o;
        }
    }
    na.cmp(&nb)
}

/// Where each label of wire name `n` starts (the root not counted), into `out`; how many.
fn label_starts(n: &[u8], out: &mut [u8; 128]) -> usize {
    let (mut at, mut count) = (0usize, 0usize);
    while at < n.len() && n[at] != 0 && count < out.len() && at < MAX_NAME_LEN {
        out[count] = at as u8;
        count += 1;
        at += 1 + n[at] as usize;
    }
    count
}

pub fn parent(name: &[u8]) -> Option<&[u8]> {
    let len = *name.first()? as usize;
    if len == 0 {
        None
    } else {
        name.get(1 + len..)
    }
}

/// Whether `name` equals `zone` or lies below it (both lowercase wire form).
pub fn is_subdomain(name: &[u8], zone: &[u8]) -> bool {
    if name.len() < zone.len() {
        return false;
    }
    let start = name.len() - zone.len();
    name[start..] == *zone && (start == 0 || zone == [0] || label_offsets(name).any(|o| o == start))
}

/// Whether the first label is the single octet `*` (RFC 4592 wildcard owner).
pub fn is_wildcard(name: &[u8]) -> bool {
    name.len() >= 2 && name[0] == 1 && name[1] == b'*'
}

/// Presentation form, for logs and messages.
pub struct Display<'a>(pub &'a [u8]);

impl fmt::Display for Display<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.0;
        if name.first() == Some(&0) || name.is_empty() {
            return f.write_str(".");
        }
        for off in label_offsets(name) {
            let len = name[off] as usize;
            for &c in &name[off + 1..off + 1 + len] {
                match c {
                    b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                        write!(f, "\\{}", c as char)?
                    }
                    0x21..=0x7e => write!(f, "{}", c as char)?,
                    _ => write!(f, "\\{:03}", c)?,
                }
            }
            f.write_str(".")?;
        }
        Ok(())
    }
}

pub fn to_text(name: &[u8]) -> String {
    Display(name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<u8> {
        from_text(s, None).unwrap()
    }

    #[test]
    fn absolute_name_becomes_wire_form() {
        assert_eq!(w("www.Example.test."), b"\x03www\x07Example\x04test\x00");
    }

    #[test]
    fn relative_name_is_completed_with_origin() {
        let origin = w("example.test.");
        assert_eq!(
            from_text("www", Some(&origin)).unwrap(),
            w("www.example.test.")
        );
        assert_eq!(from_text("@", Some(&origin)).unwrap(), origin);
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(w("a\\.b.test."), b"\x03a.b\x04test\x00");
        assert_eq!(w("\\065b.test."), b"\x02Ab\x04test\x00");
        assert!(from_text("\\256.test.", None).is_err());
    }

    #[test]
    fn over_long_labels_and_names_are_rejected() {
        let long = "a".repeat(64);
        assert_eq!(
            from_text(&format!("{long}."), None),
            Err(NameError::LabelTooLong)
        );
        let many = "abcdefgh.".repeat(32);
        assert_eq!(from_text(&many, None), Err(NameError::NameTooLong));
        assert_eq!(from_text("a..b.", None), Err(NameError::EmptyLabel));
    }

    #[test]
    fn subdomain_checks_label_boundaries() {
        assert!(is_subdomain(&w("a.example.test."), &w("example.test.")));
        assert!(is_subdomain(&w("example.test."), &w("example.test.")));
        assert!(!is_subdomain(&w("badexample.test."), &w("example.test.")));
        assert!(is_subdomain(&w("x.test."), &w(".")));
    }

    #[test]
    fn display_round_trips_escapes() {
        assert_eq!(to_text(&w("a\\.b.test.")), "a\\.b.test.");
        assert_eq!(to_text(&[0]), ".");
    }
}
