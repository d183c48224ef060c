//! RFC 1035 §5 master files, as BIND, Knot and NSD write them.
//!
//! This module owns the lexing (directives, parentheses, comments, quoting, `@`, relative
//! owners, line numbers); `rdata/` turns each record's RDATA text into wire form, for every
//! type, with every name in it completed against the current `$ORIGIN`. No zone text goes
//! through hickory-proto (its zone-text parsers report no lines, cannot complete relative
//! names, and mis-read `\DDD` escapes and SVCB).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::lex::{parse_ttl, Entry, Lexer, Token};
use super::rdata;
use super::LoadError;
use crate::wire::{name, types};

/// A zone-file problem, printed as `file:line: message` (`file: message` when it concerns the
/// whole file, and only the message when it has no file: a zone with no SOA built from JSON).
#[derive(Debug, Clone, thiserror::Error)]
pub struct ParseError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.file.as_os_str().is_empty(), self.line) {
            (true, _) => f.write_str(&self.message),
            (false, 0) => write!(f, "{}: {}", self.file.display(), self.message),
            (false, line) => write!(f, "{}:{line}: {}", self.file.display(), self.message),
        }
    }
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

const MAX_INCLUDE_DEPTH: usize = 16;

/// Past this many problems in one zone, reading stops: the operator has enough to fix.
const MAX_PROBLEMS: usize = 1000;

/// Reads a master file (and what it `$INCLUDE`s) into records; `origin` is the zone's apex.
/// Every problem is reported, each at its file and line; a bad entry is skipped and reading
/// goes on.
pub fn parse_file(path: &Path, origin: &[u8]) -> Result<Vec<Record>, LoadError> {
    let mut records = Vec::new();
    parse_file_with(path, origin, &mut |r| records.push(r))?;
    Ok(records)
}

/// Like [`parse_file`], handing each record to `sink` as it is read, so a large zone is never
/// held twice. Records of good entries reach `sink` even when others are bad.
pub fn parse_file_with(
    path: &Path,
    origin: &[u8],
    sink: &mut dyn FnMut(Record),
) -> Result<(), LoadError> {
    let mut state = State::new(sink);
    read_into(&mut state, path, origin, 0, None);
    state.finish()
}

/// Parses master-file text (tests, fuzzing): `$INCLUDE` is resolved against the current directory.
pub fn parse_str(text: &str, origin: &[u8], file: &Path) -> Result<Vec<Record>, LoadError> {
    let mut records = Vec::new();
    let mut sink = |r| records.push(r);
    let mut state = State::new(&mut sink);
    parse_text(
        &mut state,
        &escape_non_ascii(text.as_bytes()),
        Arc::from(file),
        origin,
        0,
    );
    state.finish()?;
    Ok(records)
}

struct State<'s> {
    sink: &'s mut dyn FnMut(Record),
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    soa_minimum: Option<u32>,
    problems: Vec<ParseError>,
}

impl<'s> State<'s> {
    fn new(sink: &'s mut dyn FnMut(Record)) -> Self {
        State {
            sink,
            default_ttl: None,
            last_ttl: None,
            soa_minimum: None,
            problems: Vec::new(),
        }
    }

    fn problem(&mut self, p: ParseError) {
        self.problems.push(p);
    }

    fn full(&self) -> bool {
        self.problems.len() >= MAX_PROBLEMS
    }

    fn finish(self) -> Result<(), LoadError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(LoadError {
                problems: self.problems,
            })
        }
    }
}

fn read_into(
    state: &mut State,
    path: &Path,
    origin: &[u8],
    depth: usize,
    from: Option<(&Path, usize)>,
) {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            let (file, line) = match from {
                Some((f, l)) => (f.to_path_buf(), l),
                None => (path.to_path_buf(), 0),
            };
            return state.problem(ParseError {
                file,
                line,
                message: format!("cannot read {}: {e}", path.display()),
            });
        }
    };
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

/// Where an entry is read: the file, the current `$ORIGIN`, the last owner, the include depth.
struct Place {
    file: Arc<Path>,
    origin: Vec<u8>,
    last_owner: Option<Vec<u8>>,
    depth: usize,
}

impl Place {
    fn err(&self, line: usize, message: String) -> ParseError {
        ParseError {
            file: self.file.to_path_buf(),
            line,
            message,
        }
    }
}

fn parse_text(state: &mut State, text: &str, file: Arc<Path>, zone_origin: &[u8], depth: usize) {
    let mut lexer = Lexer::new(text);
    let mut toks: Vec<Token<'_>> = Vec::with_capacity(16);
    let mut place = Place {
        file,
        origin: zone_origin.to_vec(),
        last_owner: None,
        depth,
    };
    while !state.full() {
        let entry = match lexer.next_entry(&mut toks) {
            Ok(Some(e)) => e,
            Ok(None) => break,
            Err(e) => {
                // The lexer has moved past the bad text: report it and read on.
                state.problem(place.err(e.line, e.what.to_string()));
                continue;
            }
        };
        if let Err(p) = read_entry(state, &toks, entry, &mut place) {
            state.problem(p);
        }
    }
}

/// One entry: a directive or a record.
fn read_entry(
    state: &mut State,
    toks: &[Token<'_>],
    Entry { line, blank_owner }: Entry,
    place: &mut Place,
) -> Result<(), ParseError> {
    let first = &toks[0];
    if !blank_owner && !first.quoted && first.text.starts_with('$') {
        return directive(state, toks, line, place);
    }
    let mut i = 0;
    let owner = if blank_owner {
        place.last_owner.clone().ok_or_else(|| {
            place.err(
                line,
                "record with no owner name and no previous owner".into(),
            )
        })?
    } else {
        i = 1;
        if first.quoted {
            return Err(place.err(line, "an owner name cannot be a quoted string".into()));
        }
        let owner = name::from_text(first.text, Some(&place.origin))
            .map_err(|e| place.err(line, format!("owner {}: {e}", first.text)))?;
        place.last_owner = Some(owner.clone());
        owner
    };

    let mut ttl = None;
    let mut class_seen = false;
    let rtype = loop {
        let tok = toks
            .get(i)
            .ok_or_else(|| place.err(line, "record has no type".into()))?;
        i += 1;
        let t = tok.text;
        if ttl.is_none() && !tok.quoted && t.as_bytes().first().is_some_and(u8::is_ascii_digit) {
            ttl = Some(parse_ttl(t).map_err(|m| place.err(line, m.to_string()))?);
            continue;
        }
        if !class_seen {
            match t.to_ascii_uppercase().as_str() {
                "IN" | "CLASS1" => {
                    class_seen = true;
                    continue;
                }
                u if matches!(u, "CH" | "HS" | "CS" | "NONE" | "ANY") || u.starts_with("CLASS") => {
                    return Err(place.err(line, format!("class {t} is not served; only IN is")))
                }
                _ => {}
            }
        }
        break types::from_mnemonic(t)
            .ok_or_else(|| place.err(line, format!("unknown record type {t}")))?;
    };

    let rdata = rdata::parse(rtype, &toks[i..], &place.origin)
        .map_err(|m| place.err(line, format!("{} record: {m}", types::mnemonic(rtype))))?;
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
            .ok_or_else(|| place.err(line, "no TTL given and no $TTL before this record".into()))?,
    };
    if rtype == types::SOA {
        state.soa_minimum = soa_minimum(&rdata);
    }
    (state.sink)(Record {
        owner,
        ttl,
        rtype,
        rdata,
        file: place.file.clone(),
        line,
    });
    Ok(())
}

/// `$ORIGIN`, `$TTL`, `$INCLUDE`.
fn directive(
    state: &mut State,
    toks: &[Token<'_>],
    line: usize,
    place: &mut Place,
) -> Result<(), ParseError> {
    match toks[0].text.to_ascii_uppercase().as_str() {
        "$ORIGIN" => {
            let arg = toks
                .get(1)
                .ok_or_else(|| place.err(line, "$ORIGIN needs a name".into()))?;
            place.origin = name::from_text(arg.text, Some(&place.origin))
                .map_err(|e| place.err(line, format!("$ORIGIN {}: {e}", arg.text)))?;
        }
        "$TTL" => {
            let arg = toks
                .get(1)
                .ok_or_else(|| place.err(line, "$TTL needs a value".into()))?;
            let ttl = parse_ttl(arg.text).map_err(|m| place.err(line, m.to_string()))?;
            state.default_ttl = Some(ttl);
        }
        "$INCLUDE" => {
            if place.depth >= MAX_INCLUDE_DEPTH {
                return Err(place.err(line, "$INCLUDE nested too deeply".into()));
            }
            let arg = toks
                .get(1)
                .ok_or_else(|| place.err(line, "$INCLUDE needs a file".into()))?;
            let mut target = PathBuf::from(&arg.text);
            if target.is_relative() {
                // BIND resolves against its working directory, Knot and NSD against the
                // including file; the including file is what a zone author can predict.
                if let Some(dir) = place.file.parent() {
                    target = dir.join(target);
                }
            }
            let inc_origin = match toks.get(2) {
                Some(o) => name::from_text(o.text, Some(&place.origin))
                    .map_err(|e| place.err(line, format!("$INCLUDE origin {}: {e}", o.text)))?,
                None => place.origin.clone(),
            };
            let from = place.file.clone();
            read_into(
                state,
                &target,
                &inc_origin,
                place.depth + 1,
                Some((&from, line)),
            );
        }
        other => return Err(place.err(line, format!("unsupported directive {other}"))),
    }
    Ok(())
}

fn soa_minimum(rdata: &[u8]) -> Option<u32> {
    let tail = rdata.get(rdata.len().checked_sub(4)?..)?;
    Some(u32::from_be_bytes(tail.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Vec<u8> {
        name::from_text("example.test.", None).unwrap()
    }

    /// The records, or the first problem.
    fn parse(text: &str) -> Result<Vec<Record>, ParseError> {
        parse_str(text, &origin(), Path::new("t.zone")).map_err(|e| e.problems[0].clone())
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
    fn every_bad_entry_is_reported_and_the_good_ones_still_read() {
        let text = "$TTL 60\nbad1 A 300.1.1.1\nok A 192.0.2.1\nbad2 MX ten mail\n) stray\nok2 A 192.0.2.2\nbad3 NOPE x\n";
        let mut good = Vec::new();
        let e = {
            let mut sink = |r: Record| good.push(r);
            let mut state = State::new(&mut sink);
            parse_text(
                &mut state,
                text,
                Arc::from(Path::new("t.zone")),
                &origin(),
                0,
            );
            state.finish().unwrap_err()
        };
        let lines: Vec<usize> = e.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![2, 4, 5, 7], "{e}");
        let names: Vec<String> = good.iter().map(|r| name::to_text(&r.owner)).collect();
        assert_eq!(names, vec!["ok.example.test.", "ok2.example.test."]);
    }

    #[test]
    fn other_classes_are_refused() {
        let e = parse("$TTL 60\nwww CH A 1\n").unwrap_err();
        assert!(e.message.contains("only IN"), "{e}");
    }
}
