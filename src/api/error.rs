//! Route 53's errors: an HTTP status, a code botocore turns into the exception's name, and a
//! message, sent as `<ErrorResponse>` XML.

use super::xml::{esc, NS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    /// A dynamic update's own answer (its rcode), when the refusal is one of RFC 2136's.
    pub dns: Option<crate::update::rules::Refusal>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            dns: None,
        }
    }

    /// A dynamic update refused by RFC 2136's rules.
    pub fn update_refused(r: crate::update::rules::Refusal) -> Self {
        let text = r.ede.as_ref().map(|(_, t)| t.clone()).unwrap_or_default();
        ApiError {
            dns: Some(r),
            ..ApiError::new(400, "InvalidChangeBatch", text)
        }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        ApiError::new(400, "InvalidInput", message)
    }

    /// Route 53 lists every refused change of a batch, bracketed and comma-separated.
    pub fn invalid_change_batch(messages: &[String]) -> Self {
        ApiError::new(
            400,
            "InvalidChangeBatch",
            format!("[{}]", messages.join(", ")),
        )
    }

    pub fn no_such_zone(id: &str) -> Self {
        ApiError::new(
            404,
            "NoSuchHostedZone",
            format!("No hosted zone found with ID: {id}"),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(500, "InternalFailure", message)
    }

    /// Client errors are the sender's; the rest ours.
    pub fn xml(&self, request_id: &str) -> String {
        let kind = if self.status < 500 {
            "Sender"
        } else {
            "Receiver"
        };
        format!(
            "<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"{NS}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
            self.code,
            esc(&self.message),
            esc(request_id)
        )
    }
}
