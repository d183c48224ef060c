//! The master-file grammar's lowest layer (RFC 1035 §5.1): entries split into tokens, with
//! parentheses, comments and quoted strings handled, and the time values records carry.

/// A token of the master-file grammar; `quoted` keeps `"1 2"` one token and stops it from being
/// taken for `(`, `;` or a TTL.
#[derive(Debug, Clone, Copy)]
pub struct Token<'a> {
    /// As written (escapes still in place), without the quotes of a quoted string.
    pub text: &'a str,
    pub quoted: bool,
}

/// A time value that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("bad time value {0:?}")]
    Period(String),
    #[error("bad TTL {0:?}")]
    Ttl(String),
    /// RFC 2181 §8: values with the top bit set are treated as zero by resolvers; refused
    /// rather than served as something nobody meant.
    #[error("TTL {0} is above 2147483647 (RFC 2181 §8)")]
    TtlTooBig(String),
}

/// SOA timers and other 32-bit periods: plain seconds or BIND units (`1h30m`, `2d`, `1w`, any
/// case; a trailing number without unit is seconds), the full unsigned range (RFC 1035
/// §3.3.13).
pub fn parse_period(text: &str) -> Result<u32, TimeError> {
    period(text).ok_or_else(|| TimeError::Period(text.into()))
}

fn period(text: &str) -> Option<u32> {
    if text.is_empty() {
        return None;
    }
    let mut total: u32 = 0;
    let mut number: Option<u32> = None;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(number.unwrap_or(0).checked_mul(10)?.checked_add(d)?);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    match number {
        Some(n) => total.checked_add(n),
        None => Some(total),
    }
}

/// A TTL: as a period, at most 2^31 − 1.
pub fn parse_ttl(text: &str) -> Result<u32, TimeError> {
    let ttl = period(text).ok_or_else(|| TimeError::Ttl(text.into()))?;
    if ttl > i32::MAX as u32 {
        return Err(TimeError::TtlTooBig(text.into()));
    }
    Ok(ttl)
}

/// Where an entry starts: its line, and whether it began with white space (its owner is the
/// previous record's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) line: usize,
    pub(super) blank_owner: bool,
}

/// Text the lexer cannot split, at a line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}")]
pub(super) struct LexError {
    pub(super) line: usize,
    pub(super) what: &'static str,
}

/// Splits ASCII master-file text into entries (a line, parentheses joined), one at a time, as
/// slices of the text. Errors carry the line they were found on.
pub(super) struct Lexer<'a> {
    text: &'a str,
    i: usize,
    line: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Lexer {
            text,
            i: 0,
            line: 1,
        }
    }

    /// Moves past the rest of the current line: after an error, reading resumes at the next
    /// entry.
    fn skip_line(&mut self) {
        let bytes = self.text.as_bytes();
        while self.i < bytes.len() && bytes[self.i] != b'\n' {
            self.i += 1;
        }
    }

    /// Fills `toks` with the next entry's tokens; returns where it starts, or `None` at the
    /// end. After an error the lexer has moved past the bad text.
    pub(super) fn next_entry(
        &mut self,
        toks: &mut Vec<Token<'a>>,
    ) -> Result<Option<Entry>, LexError> {
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
                            let line = self.line;
                            self.skip_line();
                            return Err(LexError {
                                line,
                                what: "')' without matching '('",
                            });
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
                            None => {
                                self.i = bytes.len();
                                return Err(LexError {
                                    line: quote_line,
                                    what: "unterminated quoted string",
                                });
                            }
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
                return Err(LexError {
                    line: paren_line,
                    what: "'(' not closed before end of file",
                });
            }
            if !toks.is_empty() {
                return Ok(Some(Entry {
                    line: first_line.unwrap_or(start_line),
                    blank_owner,
                }));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_seconds_or_bind_units() {
        for (text, want) in [
            ("0", Some(0)),
            ("3600", Some(3600)),
            ("1h30m", Some(5400)),
            ("1H30M", Some(5400)),
            ("1w2d3h4m5s", Some(788_645)),
            ("1h30", Some(3630)),
            ("4294967295", Some(u32::MAX)),
            ("4294967296", None),
            ("", None),
            ("h", None),
            ("1x", None),
            ("-1", None),
        ] {
            assert_eq!(parse_period(text).ok(), want, "{text}");
        }
        assert!(matches!(
            parse_ttl("2147483648"),
            Err(TimeError::TtlTooBig(_))
        ));
        assert_eq!(parse_ttl("2147483647"), Ok(2_147_483_647));
    }
}
