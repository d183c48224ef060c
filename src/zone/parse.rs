//! RFC 1035 §5 master files, as BIND, Knot and NSD write them.
//!
//! Why not hickory-proto's `txt::Parser` alone: it reports no line numbers, refuses relative
//! `$INCLUDE` paths, cannot read DNAME or RFC 3597 `\#` data, and its public per-record entry
//! point (`RData::try_from_str`) cannot complete relative names. So this module owns the lexing
//! (directives, parentheses, comments, quoting, `@`, relative owners, line numbers) and the
//! RDATA of the types whose wire form holds domain names; the remaining types are handed to
//! hickory-proto's RDATA parsers (see `rdata.rs`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::name;
use super::rdata;
use super::types;

/// A zone-file problem, printed as `file:line: message`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}{}: {message}", file.display(), if *line > 0 { format!(":{line}") } else { String::new() })]
pub struct ParseError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

/// One resource record as read from the file.
#[derive(Debug, Clone)]
pub struct Record {
    /// Owner in wire form, case as written.
    pub owner: Vec<u8>,
    pub ttl: u32,
    pub rtype: u16,
    /// Uncompressed wire-form RDATA.
    pub rdata: Vec<u8>,
    pub file: Arc<Path>,
    pub line: usize,
}

/// A token of the master-file grammar; `quoted` keeps `"1 2"` one token and stops it from being
/// taken for `(`, `;` or a TTL.
#[derive(Debug, Clone)]
pub struct Token {
    pub text: String,
    pub quoted: bool,
}

/// One logical entry: the tokens of a line, parentheses joined.
struct Entry {
    line: usize,
    /// The line started with white space: the owner is the previous record's.
    blank_owner: bool,
    tokens: Vec<Token>,
}

const MAX_INCLUDE_DEPTH: usize = 16;

/// Reads a master file (and what it `$INCLUDE`s) into records; `origin` is the zone's apex.
pub fn parse_file(path: &Path, origin: &[u8]) -> Result<Vec<Record>, ParseError> {
    let mut state = State {
        records: Vec::new(),
        default_ttl: None,
        last_ttl: None,
        soa_minimum: None,
    };
    read_into(&mut state, path, origin, 0, None)?;
    Ok(state.records)
}

/// Parses master-file text (tests, fuzzing): `$INCLUDE` is resolved against the current directory.
pub fn parse_str(text: &str, origin: &[u8], file: &Path) -> Result<Vec<Record>, ParseError> {
    let mut state = State {
        records: Vec::new(),
        default_ttl: None,
        last_ttl: None,
        soa_minimum: None,
    };
    parse_text(&mut state, text, Arc::from(file), origin, 0)?;
    Ok(state.records)
}

struct State {
    records: Vec<Record>,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    soa_minimum: Option<u32>,
}

fn read_into(
    state: &mut State,
    path: &Path,
    origin: &[u8],
    depth: usize,
    from: Option<(&Path, usize)>,
) -> Result<(), ParseError> {
    let bytes = std::fs::read(path).map_err(|e| {
        let (file, line) = match from {
            Some((f, l)) => (f.to_path_buf(), l),
            None => (path.to_path_buf(), 0),
        };
        ParseError {
            file,
            line,
            message: format!("cannot read {}: {e}", path.display()),
        }
    })?;
    parse_text(
        state,
        &escape_non_ascii(&bytes),
        Arc::from(path),
        origin,
        depth,
    )
}

/// Master files are octets, not UTF-8 (RFC 1035 §5.1): octets above 0x7F become `\DDD` escapes,
/// which names and character-strings decode back to the same octet. Lines are unchanged.
fn escape_non_ascii(bytes: &[u8]) -> String {
    if bytes.is_ascii() {
        return String::from_utf8(bytes.to_vec()).expect("ASCII");
    }
    let mut out = String::with_capacity(bytes.len() + 16);
    let mut escaped = false;
    for &b in bytes {
        if b < 0x80 {
            out.push(b as char);
            escaped = b == b'\\' && !escaped;
            continue;
        }
        // After a lone backslash the escape has begun already: add only the digits.
        if !escaped {
            out.push('\\');
        }
        out.push_str(&format!("{b:03}"));
        escaped = false;
    }
    out
}

fn parse_text(
    state: &mut State,
    text: &str,
    file: Arc<Path>,
    zone_origin: &[u8],
    depth: usize,
) -> Result<(), ParseError> {
    let err = |line: usize, message: String| ParseError {
        file: file.to_path_buf(),
        line,
        message,
    };
    let entries = lex(text).map_err(|(line, m)| err(line, m))?;
    let mut origin = zone_origin.to_vec();
    let mut last_owner: Option<Vec<u8>> = None;

    for entry in entries {
        let line = entry.line;
        let toks = &entry.tokens;
        let first = &toks[0];
        if !entry.blank_owner && !first.quoted && first.text.starts_with('$') {
            match first.text.to_ascii_uppercase().as_str() {
                "$ORIGIN" => {
                    let arg = toks
                        .get(1)
                        .ok_or_else(|| err(line, "$ORIGIN needs a name".into()))?;
                    origin = name::from_text(&arg.text, Some(&origin))
                        .map_err(|e| err(line, format!("$ORIGIN {}: {e}", arg.text)))?;
                }
                "$TTL" => {
                    let arg = toks
                        .get(1)
                        .ok_or_else(|| err(line, "$TTL needs a value".into()))?;
                    let ttl = parse_ttl(&arg.text).map_err(|m| err(line, m))?;
                    state.default_ttl = Some(ttl);
                }
                "$INCLUDE" => {
                    if depth >= MAX_INCLUDE_DEPTH {
                        return Err(err(line, "$INCLUDE nested too deeply".into()));
                    }
                    let arg = toks
                        .get(1)
                        .ok_or_else(|| err(line, "$INCLUDE needs a file".into()))?;
                    let mut target = PathBuf::from(&arg.text);
                    if target.is_relative() {
                        // BIND resolves against its working directory, Knot and NSD against the
                        // including file; the including file is what a zone author can predict.
                        if let Some(dir) = file.parent() {
                            target = dir.join(target);
                        }
                    }
                    let inc_origin = match toks.get(2) {
                        Some(o) => name::from_text(&o.text, Some(&origin))
                            .map_err(|e| err(line, format!("$INCLUDE origin {}: {e}", o.text)))?,
                        None => origin.clone(),
                    };
                    read_into(state, &target, &inc_origin, depth + 1, Some((&file, line)))?;
                }
                other => return Err(err(line, format!("unsupported directive {other}"))),
            }
            continue;
        }

        let mut i = 0;
        let owner = if entry.blank_owner {
            last_owner.clone().ok_or_else(|| {
                err(
                    line,
                    "record with no owner name and no previous owner".into(),
                )
            })?
        } else {
            i = 1;
            if first.quoted {
                return Err(err(line, "an owner name cannot be a quoted string".into()));
            }
            name::from_text(&first.text, Some(&origin))
                .map_err(|e| err(line, format!("owner {}: {e}", first.text)))?
        };
        last_owner = Some(owner.clone());

        let mut ttl = None;
        let mut class_seen = false;
        let rtype = loop {
            let tok = toks
                .get(i)
                .ok_or_else(|| err(line, "record has no type".into()))?;
            i += 1;
            let t = tok.text.as_str();
            if ttl.is_none() && !tok.quoted && t.as_bytes().first().is_some_and(u8::is_ascii_digit)
            {
                ttl = Some(parse_ttl(t).map_err(|m| err(line, m))?);
                continue;
            }
            if !class_seen {
                match t.to_ascii_uppercase().as_str() {
                    "IN" | "CLASS1" => {
                        class_seen = true;
                        continue;
                    }
                    "CH" | "HS" | "CS" | "NONE" | "ANY" => {
                        return Err(err(line, format!("class {t} is not served; only IN is")))
                    }
                    u if u.starts_with("CLASS") => {
                        return Err(err(line, format!("class {t} is not served; only IN is")))
                    }
                    _ => {}
                }
            }
            break types::from_mnemonic(t)
                .ok_or_else(|| err(line, format!("unknown record type {t}")))?;
        };

        let rdata_tokens = &toks[i..];
        let rdata = rdata::parse(rtype, rdata_tokens, &origin)
            .map_err(|m| err(line, format!("{} record: {m}", types::mnemonic(rtype))))?;

        let ttl = match ttl {
            Some(t) => {
                state.last_ttl = Some(t);
                t
            }
            None => state
                .default_ttl
                .or(state.last_ttl)
                .or(if rtype == types::SOA {
                    soa_minimum(&rdata)
                } else {
                    state.soa_minimum
                })
                .ok_or_else(|| err(line, "no TTL given and no $TTL before this record".into()))?,
        };
        if rtype == types::SOA {
            state.soa_minimum = soa_minimum(&rdata);
        }
        state.records.push(Record {
            owner,
            ttl,
            rtype,
            rdata,
            file: file.clone(),
            line,
        });
    }
    Ok(())
}

fn soa_minimum(rdata: &[u8]) -> Option<u32> {
    let tail = rdata.get(rdata.len().checked_sub(4)?..)?;
    Some(u32::from_be_bytes(tail.try_into().ok()?))
}

/// TTLs and SOA timers: plain seconds or BIND units (`1h30m`, `2d`, `1w`).
/// SOA timers and other 32-bit periods: units allowed, the full unsigned range (RFC 1035 §3.3.13).
pub fn parse_period(text: &str) -> Result<u32, String> {
    hickory_proto::serialize::txt::parse_ttl(text).map_err(|_| format!("bad time value {text:?}"))
}

pub fn parse_ttl(text: &str) -> Result<u32, String> {
    let ttl =
        hickory_proto::serialize::txt::parse_ttl(text).map_err(|_| format!("bad TTL {text:?}"))?;
    if ttl > i32::MAX as u32 {
        // RFC 2181 §8: values with the top bit set are treated as zero by resolvers; refuse
        // rather than serve something nobody meant.
        return Err(format!("TTL {text} is above 2147483647 (RFC 2181 §8)"));
    }
    Ok(ttl)
}

/// Splits master-file text into entries. Errors carry the line they were found on.
fn lex(text: &str) -> Result<Vec<Entry>, (usize, String)> {
    let mut entries = Vec::new();
    let bytes = text.as_bytes();
    let mut line = 1usize;
    let mut i = 0usize;
    let mut depth = 0u32;
    let mut paren_line = 0usize;
    let mut cur: Option<Entry> = None;
    let mut at_line_start = true;

    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\n' => {
                line += 1;
                i += 1;
                at_line_start = true;
                if depth == 0 {
                    if let Some(e) = cur.take() {
                        entries.push(e);
                    }
                }
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                i += 1;
                if at_line_start && depth == 0 && cur.is_none() {
                    // Leading blank: mark that the next token continues the previous owner.
                    cur = Some(Entry {
                        line,
                        blank_owner: true,
                        tokens: Vec::new(),
                    });
                }
                at_line_start = false;
                continue;
            }
            b';' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' => {
                if depth == 0 {
                    paren_line = line;
                }
                depth += 1;
                i += 1;
                at_line_start = false;
                continue;
            }
            b')' => {
                if depth == 0 {
                    return Err((line, "')' without matching '('".into()));
                }
                depth -= 1;
                i += 1;
                at_line_start = false;
                continue;
            }
            _ => {}
        }
        at_line_start = false;
        let entry = cur.get_or_insert_with(|| Entry {
            line,
            blank_owner: false,
            tokens: Vec::new(),
        });
        if c == b'"' {
            let start_line = line;
            i += 1;
            let mut s = Vec::new();
            loop {
                match bytes.get(i) {
                    None => return Err((start_line, "unterminated quoted string".into())),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        s.push(b'\\');
                        if let Some(&n) = bytes.get(i + 1) {
                            s.push(n);
                            if n == b'\n' {
                                line += 1;
                            }
                        }
                        i += 2;
                    }
                    Some(&b) => {
                        if b == b'\n' {
                            line += 1;
                        }
                        s.push(b);
                        i += 1;
                    }
                }
            }
            entry.tokens.push(Token {
                text: String::from_utf8(s)
                    .map_err(|_| (start_line, "invalid UTF-8 in quoted string".into()))?,
                quoted: true,
            });
        } else {
            let start = i;
            while i < bytes.len() {
                match bytes[i] {
                    b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"' => break,
                    b'\\' => i += 2,
                    _ => i += 1,
                }
            }
            let i_end = i.min(bytes.len());
            entry.tokens.push(Token {
                text: text[start..i_end].to_string(),
                quoted: false,
            });
            i = i_end;
        }
    }
    if depth != 0 {
        return Err((paren_line, "'(' not closed before end of file".into()));
    }
    if let Some(e) = cur.take() {
        entries.push(e);
    }
    entries.retain(|e| !e.tokens.is_empty());
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Vec<u8> {
        name::from_text("example.test.", None).unwrap()
    }

    fn parse(text: &str) -> Result<Vec<Record>, ParseError> {
        parse_str(text, &origin(), Path::new("t.zone"))
    }

    #[test]
    fn parentheses_join_lines_and_comments_are_skipped() {
        let recs =
            parse("$TTL 300\n@ IN SOA ns1 admin ( 1 ; serial\n 7200 900 ; timers\n 1209600 60 )\n")
                .unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].rtype, types::SOA);
        assert_eq!(recs[0].line, 2);
    }

    #[test]
    fn blank_owner_repeats_previous_owner() {
        let recs = parse("$TTL 60\nwww A 192.0.2.1\n  AAAA 2001:db8::1\n").unwrap();
        assert_eq!(recs[1].owner, recs[0].owner);
        assert_eq!(recs[1].rtype, types::AAAA);
    }

    #[test]
    fn ttl_and_class_may_come_in_either_order() {
        let recs = parse("a 1h IN A 192.0.2.1\nb IN 2m A 192.0.2.2\n").unwrap();
        assert_eq!(recs[0].ttl, 3600);
        assert_eq!(recs[1].ttl, 120);
    }

    #[test]
    fn errors_carry_file_and_line() {
        let e = parse("$TTL 60\nok A 192.0.2.1\nbad A 300.1.1.1\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().starts_with("t.zone:3: "), "{e}");
    }

    #[test]
    fn unclosed_parenthesis_is_reported_where_it_opened() {
        let e = parse("$TTL 60\n@ SOA ns admin ( 1 2 3 4\n5\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn origin_directive_changes_relative_names() {
        let recs = parse("$TTL 60\n$ORIGIN sub.example.test.\nwww A 192.0.2.1\n").unwrap();
        assert_eq!(name::to_text(&recs[0].owner), "www.sub.example.test.");
    }

    #[test]
    fn missing_ttl_is_an_error() {
        assert!(parse("www A 192.0.2.1\n").is_err());
    }

    #[test]
    fn other_classes_are_refused() {
        let e = parse("$TTL 60\nwww CH A 1\n").unwrap_err();
        assert!(e.message.contains("only IN"), "{e}");
    }
}
