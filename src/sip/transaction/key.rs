//! Transaction matching keys (RFC 3261 §17.1.3 for responses to client
//! transactions, §17.2.3 for requests to server transactions).
//!
//! The caller parses the message and hands over the Via branch, the Via
//! sent-by and the method; the keys only normalise and compare them. The
//! RFC 2543 fallback for a branch without the `z9hG4bK` cookie is the
//! caller's job: it builds a synthetic branch from the legacy fields and
//! passes that in.

use crate::sip::method::Method;

/// Identifies a server transaction (RFC 3261 §17.2.3): the top Via branch,
/// the top Via sent-by and the request method.
///
/// An ACK is keyed as the INVITE it acknowledges, so it finds the INVITE
/// server transaction; a CANCEL keeps its own method and is a transaction of
/// its own (§9.2). The branch compares case-sensitively, as written; the
/// sent-by (host and port) compares case-insensitively.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerKey {
    branch: Box<str>,
    /// ASCII-lowercased, so that derived equality is case-insensitive.
    sent_by: Box<str>,
    /// Never `Ack`: mapped to `Invite` by [`ServerKey::new`].
    method: Method,
}

impl ServerKey {
    /// The key of a request with top Via `branch` and `sent_by`, and request
    /// method `method` (an ACK maps to INVITE, §17.2.3).
    pub fn new(branch: &str, sent_by: &str, method: &Method) -> ServerKey {
        let method = match method {
            Method::Ack => Method::Invite,
            other => other.clone(),
        };
        ServerKey {
            branch: branch.into(),
            sent_by: sent_by.to_ascii_lowercase().into(),
            method,
        }
    }

    /// The branch, as given.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The sent-by, ASCII-lowercased.
    pub fn sent_by(&self) -> &str {
        &self.sent_by
    }

    /// The transaction's method (INVITE for an ACK).
    pub fn method(&self) -> &Method {
        &self.method
    }
}

/// Identifies a client transaction (RFC 3261 §17.1.3): the branch of the
/// top Via we sent and the CSeq method. A response matches when both are
/// equal; the branch compares case-sensitively.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey {
    branch: Box<str>,
    method: Method,
}

impl ClientKey {
    /// The key of a request sent with top Via `branch` and method `method`,
    /// or of a response with that branch and CSeq method.
    pub fn new(branch: &str, method: &Method) -> ClientKey {
        ClientKey {
            branch: branch.into(),
            method: method.clone(),
        }
    }

    /// The branch.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }
}
