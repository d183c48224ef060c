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
#[derive(Debug, Clone, Copy)]
pub struct Token<'a> {
    /// As written (escapes still in place), without the quotes of a quoted string.
    pub text: &'a str,
    pub quoted: bool,
}

const MAX_INCLUDE_DEPTH: usize = 16;

/// Reads a master file (and what it `$INCLUDE`s) into records; `origin` is the zone's apex.
pub fn parse_file(path: &Path, origin: &[u8]) -> Result<Vec<Record>, ParseError> {
    let mut records = Vec::new();
    parse_file_with(path, origin, &mut |r| records.push(r))?;
    Ok(records)
}

/// Like [`parse_file`], handing each record to `sink` as it is read, so a large zone is never
/// held twice.
pub fn parse_file_with(
    path: &Path,
    origin: &[u8],
    sink: &mut dyn FnMut(Record),
) -> Result<(), ParseError> {
    let mut state = State::new(sink);
    read_into(&mut state, path, origin, 0, None)
}

/// Parses master-file text (tests, fuzzing): `$INCLUDE` is resolved against the current directory.
pub fn parse_str(text: &str, origin: &[u8], file: &Path) -> Result<Vec<Record>, ParseError> {
    let mut records = Vec::new();
    let mut sink = |r| records.push(r);
    let mut state = State::new(&mut sink);
    parse_text(
        &mut state,
        &escape_non_ascii(text.as_bytes()),
        Arc::from(file),
        origin,
        0,
    )?;
    Ok(records)
}

struct State<'s> {
    sink: &'s mut dyn FnMut(Record),
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    soa_minimum: Option<u32>,
}

impl<'s> State<'s> {
    fn new(sink: &'s mut dyn FnMut(Record)) -> Self {
        State {
            sink,
            default_ttl: None,
            last_ttl: None,
            soa_minimum: None,
        }
    }
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
fn escape_non_ascii(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    if bytes.is_ascii() {
        return std::borrow::Cow::Borrowed(std::str::from_utf8(bytes).expect("ASCII"));
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
    std::borrow::Cow::Owned(out)
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
    let mut lexer = Lexer::new(text);
    let mut toks: Vec<Token<'_>> = Vec::with_capacity(16);
    let mut origin = zone_origin.to_vec();
    let mut last_owner: Option<Vec<u8>> = None;

    while let Some((line, blank_owner)) = lexer
        .next_entry(&mut toks)
        .map_err(|(line, m)| err(line, m))?
    {
        let toks = &toks[..];
        let first = &toks[0];
        if !blank_owner && !first.quoted && first.text.starts_with('$') {
            match first.text.to_ascii_uppercase().as_str() {
                "$ORIGIN" => {
                    let arg = toks
                        .get(1)
                        .ok_or_else(|| err(line, "$ORIGIN needs a name".into()))?;
                    origin = name::from_text(arg.text, Some(&origin))
                        .map_err(|e| err(line, format!("$ORIGIN {}: {e}", arg.text)))?;
                }
                "$TTL" => {
                    let arg = toks
                        .get(1)
                        .ok_or_else(|| err(line, "$TTL needs a value".into()))?;
                    let ttl = parse_ttl(arg.text).map_err(|m| err(line, m))?;
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
                        Some(o) => name::from_text(o.text, Some(&origin))
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
        let owner = if blank_owner {
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
            name::from_text(first.text, Some(&origin))
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
            let t = tok.text;
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
        (state.sink)(Record {
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

/// Splits ASCII master-file text into entries (a line, parentheses joined), one at a time, as
/// slices of the text. Errors carry the line they were found on.
struct Lexer<'a> {
    text: &'a str,
    i: usize,
    line: usize,
}

impl<'a> Lexer<'a> {
    fn new(text: &'a str) -> Self {
        Lexer {
            text,
            i: 0,
            line: 1,
        }
    }

    /// Fills `toks` with the next entry's tokens; returns its line and whether it began with
    /// white space (the owner is the previous record's), or `None` at the end.
    fn next_entry(
        &mut self,
        toks: &mut Vec<Token<'a>>,
    ) -> Result<Option<(usize, bool)>, (usize, String)> {
        let bytes = self.text.as_bytes();
        loop {
            toks.clear();
            if self.i >= bytes.len() {
                return Ok(None);
            }
            let start_line = self.line;
            let blank_owner = matches!(bytes[self.i], b' ' | b'\t');
            let mut first_line = None;
            let mut depth = 0u32;
            let mut paren_line = 0usize;
            while self.i < bytes.len() {
                let c = bytes[self.i];
                match c {
                    b'\n' => {
                        self.line += 1;
                        self.i += 1;
                        if depth == 0 {
                            break;
                        }
                        continue;
                    }
                    b' ' | b'\t' | b'\r' => {
                        self.i += 1;
                        continue;
                    }
                    b';' => {
                        while self.i < bytes.len() && bytes[self.i] != b'\n' {
                            self.i += 1;
                        }
                        continue;
                    }
                    b'(' => {
                        if depth == 0 {
                            paren_line = self.line;
                        }
                        depth += 1;
                        self.i += 1;
                        continue;
                    }
                    b')' => {
                        if depth == 0 {
                            return Err((self.line, "')' without matching '('".into()));
                        }
                        depth -= 1;
                        self.i += 1;
                        continue;
                    }
                    _ => {}
                }
                first_line.get_or_insert(self.line);
                if c == b'"' {
                    let quote_line = self.line;
                    let start = self.i + 1;
                    let mut j = start;
                    loop {
                        match bytes.get(j) {
                            None => return Err((quote_line, "unterminated quoted string".into())),
                            Some(b'"') => break,
                            Some(b'\\') => {
                                if bytes.get(j + 1) == Some(&b'\n') {
                                    self.line += 1;
                                }
                                j += 2;
                            }
                            Some(b'\n') => {
                                self.line += 1;
                                j += 1;
                            }
                            Some(_) => j += 1,
                        }
                    }
                    toks.push(Token {
                        text: &self.text[start..j],
                        quoted: true,
                    });
                    self.i = j + 1;
                } else {
                    let start = self.i;
                    let mut j = start;
                    while j < bytes.len() {
                        match bytes[j] {
                            b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"' => break,
                            b'\\' => j += 2,
                            _ => j += 1,
                        }
                    }
                    let end = j.min(bytes.len());
                    toks.push(Token {
                        text: &self.text[start..end],
                        quoted: false,
                    });
                    self.i = end;
                }
            }
            if depth != 0 {
                return Err((paren_line, "'(' not closed before end of file".into()));
            }
            if !toks.is_empty() {
                return Ok(Some((first_line.unwrap_or(start_line), blank_owner)));
            }
        }
    }
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
