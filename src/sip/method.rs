//! SIP request methods (RFC 3261 §7.1, §27.4) as a closed set of the methods
//! the gateway knows plus `Other` for any syntactically valid token, so that an
//! unknown method can still be answered with 501 (RFC 3261 §8.2.1).

use std::fmt;

/// A SIP method. Built only by [`Method::parse`] (or the constants), so an
/// `Other` always holds a valid RFC 3261 `token`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// RFC 3261 §17.1.1.3.
    Ack,
    /// RFC 3261 §15.
    Bye,
    /// RFC 3261 §9.
    Cancel,
    /// RFC 6086.
    Info,
    /// RFC 3261 §13.
    Invite,
    /// RFC 3428.
    Message,
    /// RFC 6665 §4.2.2.
    Notify,
    /// RFC 3261 §11.
    Options,
    /// RFC 3262.
    Prack,
    /// RFC 3903.
    Publish,
    /// RFC 3515.
    Refer,
    /// RFC 3261 §10.
    Register,
    /// RFC 6665 §4.1.2.
    Subscribe,
    /// RFC 3311.
    Update,
    /// Any other `token` (RFC 3261 §25.1 `extension-method`).
    Other(Box<str>),
}

impl Method {
    /// Parses a method token. Case-sensitive as RFC 3261 §7.1 requires.
    /// Returns `None` when `s` is not a valid `token`.
    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "INFO" => Method::Info,
            "INVITE" => Method::Invite,
            "MESSAGE" => Method::Message,
            "NOTIFY" => Method::Notify,
            "OPTIONS" => Method::Options,
            "PRACK" => Method::Prack,
            "PUBLISH" => Method::Publish,
            "REFER" => Method::Refer,
            "REGISTER" => Method::Register,
            "SUBSCRIBE" => Method::Subscribe,
            "UPDATE" => Method::Update,
            other if !other.is_empty() && other.bytes().all(is_token_byte) => {
                Method::Other(other.into())
            }
            _ => return None,
        })
    }

    /// The method as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Info => "INFO",
            Method::Invite => "INVITE",
            Method::Message => "MESSAGE",
            Method::Notify => "NOTIFY",
            Method::Options => "OPTIONS",
            Method::Prack => "PRACK",
            Method::Publish => "PUBLISH",
            Method::Refer => "REFER",
            Method::Register => "REGISTER",
            Method::Subscribe => "SUBSCRIBE",
            Method::Update => "UPDATE",
            Method::Other(s) => s,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// RFC 3261 §25.1 `token` characters.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_extension_methods() {
        assert_eq!(Method::parse("MESSAGE"), Some(Method::Message));
        assert_eq!(
            Method::parse("message"),
            Some(Method::Other("message".into()))
        );
        assert_eq!(
            Method::parse("FOO").map(|m| m.to_string()),
            Some("FOO".into())
        );
        assert_eq!(Method::parse(""), None);
        assert_eq!(Method::parse("FO O"), None);
        assert_eq!(Method::parse("F\u{e9}"), None);
    }
}
