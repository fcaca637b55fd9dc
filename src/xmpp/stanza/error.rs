//! Stanza errors, RFC 6120 §8.3: `<error type='…'>` with a defined
//! condition (§8.3.3), optional `<text>`, and the URI carried by `<gone>`
//! and `<redirect>`.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt;

use super::{NS_STANZAS, StanzaParseError};
use crate::xmpp::element::Element;

/// The `type` of a stanza error (RFC 6120 §8.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorType {
    /// Authenticate and retry.
    Auth,
    /// Do not retry (unrecoverable).
    Cancel,
    /// Proceed (the condition was only a warning).
    Continue,
    /// Change the data and retry.
    Modify,
    /// Retry after waiting (temporary).
    Wait,
}

impl ErrorType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Cancel => "cancel",
            Self::Continue => "continue",
            Self::Modify => "modify",
            Self::Wait => "wait",
        }
    }

    /// Parses the attribute value.
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "auth" => Self::Auth,
            "cancel" => Self::Cancel,
            "continue" => Self::Continue,
            "modify" => Self::Modify,
            "wait" => Self::Wait,
            _ => return None,
        })
    }
}

macro_rules! conditions {
    ($($v:ident = $s:literal, $sec:literal;)*) => {
        /// Defined stanza error conditions, RFC 6120 §8.3.3 (namespace
        /// `urn:ietf:params:xml:ns:xmpp-stanzas`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCondition {
            $(#[doc = concat!("`<", $s, "/>`, RFC 6120 §", $sec, ".")] $v,)*
        }
        impl ErrorCondition {
            /// Every condition, in RFC order.
            pub const ALL: &'static [Self] = &[$(Self::$v,)*];
            /// The element name.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s,)* }
            }
            /// The condition named `name`, if defined.
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}

conditions! {
    BadRequest = "bad-request", "8.3.3.1";
    Conflict = "conflict", "8.3.3.2";
    FeatureNotImplemented = "feature-not-implemented", "8.3.3.3";
    Forbidden = "forbidden", "8.3.3.4";
    Gone = "gone", "8.3.3.5";
    InternalServerError = "internal-server-error", "8.3.3.6";
    ItemNotFound = "item-not-found", "8.3.3.7";
    JidMalformed = "jid-malformed", "8.3.3.8";
    NotAcceptable = "not-acceptable", "8.3.3.9";
    NotAllowed = "not-allowed", "8.3.3.10";
    NotAuthorized = "not-authorized", "8.3.3.11";
    PolicyViolation = "policy-violation", "8.3.3.12";
    RecipientUnavailable = "recipient-unavailable", "8.3.3.13";
    Redirect = "redirect", "8.3.3.14";
    RegistrationRequired = "registration-required", "8.3.3.15";
    RemoteServerNotFound = "remote-server-not-found", "8.3.3.16";
    RemoteServerTimeout = "remote-server-timeout", "8.3.3.17";
    ResourceConstraint = "resource-constraint", "8.3.3.18";
    ServiceUnavailable = "service-unavailable", "8.3.3.19";
    SubscriptionRequired = "subscription-required", "8.3.3.20";
    UndefinedCondition = "undefined-condition", "8.3.3.21";
    UnexpectedRequest = "unexpected-request", "8.3.3.22";
}

impl fmt::Display for ErrorCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stanza error (RFC 6120 §8.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StanzaError {
    /// `type` (§8.3.2).
    pub kind: ErrorType,
    /// The defined condition (§8.3.3); an unknown one parses as
    /// `UndefinedCondition`.
    pub condition: ErrorCondition,
    /// `<text>` (§8.3.2), human-readable.
    pub text: Option<String>,
    /// The XMPP URI inside `<gone>` (§8.3.3.5) or `<redirect>` (§8.3.3.14).
    pub gone_uri: Option<String>,
    /// `by` (§8.3.2): the entity that returned the error.
    pub by: Option<String>,
}

impl StanzaError {
    /// An error with `kind` and `condition`, no text.
    pub fn new(kind: ErrorType, condition: ErrorCondition) -> Self {
        Self {
            kind,
            condition,
            text: None,
            gone_uri: None,
            by: None,
        }
    }

    /// Builder: sets the `<text>`.
    #[must_use]
    pub fn with_text(mut self, text: impl Into<String>) -> Self {
        self.text = Some(text.into());
        self
    }

    /// Reads an `<error>` element (in the stanza's namespace).
    pub fn parse(el: &Element) -> Result<Self, StanzaParseError> {
        let ty = el.attr("type").unwrap_or("");
        let kind = ErrorType::from_name(ty).ok_or_else(|| StanzaParseError::BadAttribute {
            element: "error",
            attr: "type",
            value: ty.to_owned(),
        })?;
        let mut err = Self::new(kind, ErrorCondition::UndefinedCondition);
        err.by = el.attr("by").map(str::to_owned);
        for c in el.children().filter(|c| c.ns() == NS_STANZAS) {
            if c.name() == "text" {
                err.text = Some(c.text());
            } else if let Some(cond) = ErrorCondition::from_name(c.name()) {
                err.condition = cond;
                if matches!(cond, ErrorCondition::Gone | ErrorCondition::Redirect) {
                    let uri = c.text();
                    err.gone_uri = (!uri.is_empty()).then_some(uri);
                }
            }
        }
        Ok(err)
    }

    /// Builds the `<error>` element in namespace `stanza_ns`.
    pub fn to_element(&self, stanza_ns: &str) -> Element {
        let mut el = Element::new("error", stanza_ns).with_attr("type", self.kind.as_str());
        if let Some(by) = &self.by {
            el.set_attr("by", by.clone());
        }
        let mut cond = Element::new(self.condition.as_str(), NS_STANZAS);
        if let Some(uri) = &self.gone_uri
            && matches!(
                self.condition,
                ErrorCondition::Gone | ErrorCondition::Redirect
            )
        {
            cond.push_text(uri.clone());
        }
        el.push_child(cond);
        if let Some(t) = &self.text {
            el.push_child(Element::new("text", NS_STANZAS).with_text(t.clone()));
        }
        el
    }
}
