//! What can be wrong with presentation-format RDATA.

/// RDATA text that cannot be turned into wire form. Messages name the offending token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdataError {
    #[error("query-only type cannot appear in a zone")]
    MetaType,
    #[error("{rtype} RDATA can only be given in RFC 3597 \\# form")]
    GenericOnly { rtype: String },
    #[error("missing {what}")]
    Missing { what: &'static str },
    #[error("bad {what} {token:?}")]
    Bad { what: &'static str, token: String },
    #[error("{what} {token} out of range")]
    Range { what: &'static str, token: String },
    #[error("name {token:?}: {reason}")]
    Name { token: String, reason: String },
    #[error("{what} longer than {max} octets ({len})")]
    TooLong {
        what: &'static str,
        max: usize,
        len: usize,
    },
    #[error("unexpected trailing data {token:?}")]
    Trailing { token: String },
    #[error("\\# length {declared} but {actual} octets of data")]
    GenericLength { declared: usize, actual: usize },
    #[error("\\# data is not a valid {rtype}")]
    GenericInvalid { rtype: String },
    #[error("{rtype} RDATA is not read in presentation form; write it as RFC 3597 `\\# LEN HEX`")]
    NoPresentation { rtype: String },
    #[error("bad SvcParam key {key:?}")]
    SvcKey { key: String },
    #[error("SvcParam {key} given twice")]
    SvcDuplicate { key: String },
    #[error("SvcParam {key}: {reason}")]
    SvcValue { key: String, reason: String },
}

impl RdataError {
    pub(super) fn bad(what: &'static str, token: &str) -> Self {
        RdataError::Bad {
            what,
            token: token.to_string(),
        }
    }
    pub(super) fn range(what: &'static str, token: &str) -> Self {
        RdataError::Range {
            what,
            token: token.to_string(),
        }
    }
}
