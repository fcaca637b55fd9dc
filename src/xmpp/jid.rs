//! XMPP addresses (JIDs), RFC 7622.
//!
//! A [`Jid`] is `[localpart@]domainpart[/resourcepart]` (RFC 7622 §3.1).
//! It exists only in its checked form: built by [`Jid::parse`] or by the
//! checked constructors, never validated afterwards.
//!
//! Deliberate simplification: no stringprep / PRECIS profiles (RFC 7622
//! §3.2.2, §3.3.2, §3.4.2) are applied. The checks are structural only:
//!
//! - every part is 1..=1023 bytes (RFC 7622 §3.2, §3.3, §3.4);
//! - the domainpart is lowercased (Unicode `to_lowercase`) and a single
//!   trailing `.` is stripped (RFC 7622 §3.2);
//! - no part may contain control characters (C0, DEL, C1) or U+FFFE/U+FFFF;
//! - the localpart and domainpart may not contain whitespace, and the
//!   localpart may not contain any of `"&'/:<>@` (RFC 7622 §3.3.1 lists
//!   these as disallowed by the IdentifierClass);
//! - the domainpart may not contain `"&'<>@/\` or whitespace;
//! - the resourcepart may contain U+0020 SPACE (the FreeformClass allows it
//!   and real clients use it, e.g. `Gajim on laptop`) but no other
//!   whitespace.
//!
//! Two JIDs that differ only in case of the localpart or by PRECIS mapping
//! therefore compare unequal; translating addresses (XEP-0106, RFC 7247)
//! happens in `translate`, not here.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::fmt;
use std::str::FromStr;

/// Maximum length in bytes of each JID part (RFC 7622 §3.2–§3.4).
pub const MAX_JID_PART_BYTES: usize = 1023;

/// A checked XMPP address (RFC 7622): bare (`local@domain`, `domain`) or
/// full (with a resource).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Jid {
    local: Option<String>,
    domain: String,
    resource: Option<String>,
}

/// Which part of a JID was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum JidPart {
    /// `localpart` (before `@`).
    Local,
    /// `domainpart`.
    Domain,
    /// `resourcepart` (after `/`).
    Resource,
}

impl fmt::Display for JidPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Local => "localpart",
            Self::Domain => "domainpart",
            Self::Resource => "resourcepart",
        })
    }
}

/// Why a JID was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JidError {
    /// A part present in the input (or required) is empty.
    #[error("empty {0}")]
    Empty(JidPart),
    /// A part is longer than [`MAX_JID_PART_BYTES`].
    #[error("{part} is {len} bytes, more than 1023")]
    TooLong {
        /// The offending part.
        part: JidPart,
        /// Its length in bytes.
        len: usize,
    },
    /// A part contains a character it may not.
    #[error("{part} contains forbidden character {ch:?}")]
    ForbiddenChar {
        /// The offending part.
        part: JidPart,
        /// The first forbidden character.
        ch: char,
    },
    /// The domainpart has an empty label (`a..b`, `.a`, `a..`).
    #[error("domainpart has an empty label")]
    EmptyLabel,
}

impl Jid {
    /// Parses `[local@]domain[/resource]` (RFC 7622 §3.1): the resource is
    /// everything after the first `/`; the localpart is everything before
    /// the first `@` that precedes it.
    pub fn parse(s: &str) -> Result<Self, JidError> {
        let (bare, resource) = match s.split_once('/') {
            Some((b, r)) => (b, Some(r)),
            None => (s, None),
        };
        let (local, domain) = match bare.split_once('@') {
            Some((l, d)) => (Some(l), d),
            None => (None, bare),
        };
        Self::from_parts(local, domain, resource)
    }

    /// Builds a JID from its parts, applying the checks of [`Jid::parse`].
    pub fn from_parts(
        local: Option<&str>,
        domain: &str,
        resource: Option<&str>,
    ) -> Result<Self, JidError> {
        if let Some(l) = local {
            check_part(l, JidPart::Local)?;
        }
        let domain = normalize_domain(domain)?;
        if let Some(r) = resource {
            check_part(r, JidPart::Resource)?;
        }
        Ok(Self {
            local: local.map(str::to_owned),
            domain,
            resource: resource.map(str::to_owned),
        })
    }

    /// The localpart, if any.
    pub fn local(&self) -> Option<&str> {
        self.local.as_deref()
    }

    /// The domainpart (lowercased, no trailing dot).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The resourcepart, if any.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// Whether this JID has no resource.
    pub fn is_bare(&self) -> bool {
        self.resource.is_none()
    }

    /// This JID without its resource.
    pub fn to_bare(&self) -> Self {
        Self {
            local: self.local.clone(),
            domain: self.domain.clone(),
            resource: None,
        }
    }

    /// This JID with `resource` as its resourcepart (checked).
    pub fn with_resource(&self, resource: &str) -> Result<Self, JidError> {
        check_part(resource, JidPart::Resource)?;
        Ok(Self {
            local: self.local.clone(),
            domain: self.domain.clone(),
            resource: Some(resource.to_owned()),
        })
    }

    /// Whether this JID's domainpart is `domain` or a subdomain of it
    /// (`x.domain`). Used to check that a component only speaks for its
    /// own domain (XEP-0114 §2).
    pub fn is_under_domain(&self, domain: &str) -> bool {
        let d = self.domain.as_str();
        d == domain
            || d.strip_suffix(domain)
                .is_some_and(|head| head.ends_with('.') && !domain.is_empty())
    }
}

impl fmt::Display for Jid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(l) = &self.local {
            f.write_str(l)?;
            f.write_str("@")?;
        }
        f.write_str(&self.domain)?;
        if let Some(r) = &self.resource {
            f.write_str("/")?;
            f.write_str(r)?;
        }
        Ok(())
    }
}

impl FromStr for Jid {
    type Err = JidError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn normalize_domain(domain: &str) -> Result<String, JidError> {
    // RFC 7622 §3.2: a trailing dot is stripped before any other check.
    let d = domain.strip_suffix('.').unwrap_or(domain);
    check_part(d, JidPart::Domain)?;
    // After that one dot, an empty label is invalid (RFC 7622 §3.2, RFC 1034
    // §3.1); refusing it also keeps parse ∘ display idempotent (found by the
    // xmpp_stream fuzz target: "p.." used to become "p." and then "p").
    if d.split('.').any(str::is_empty) {
        return Err(JidError::EmptyLabel);
    }
    if d.bytes().any(|b| b.is_ascii_uppercase()) || !d.is_ascii() {
        let lower = d.to_lowercase();
        // Lowercasing may grow a string (e.g. U+0130); re-check the length.
        if lower.len() > MAX_JID_PART_BYTES {
            return Err(JidError::TooLong {
                part: JidPart::Domain,
                len: lower.len(),
            });
        }
        Ok(lower)
    } else {
        Ok(d.to_owned())
    }
}

fn check_part(s: &str, part: JidPart) -> Result<(), JidError> {
    if s.is_empty() {
        return Err(JidError::Empty(part));
    }
    if s.len() > MAX_JID_PART_BYTES {
        return Err(JidError::TooLong { part, len: s.len() });
    }
    let bad = |ch: char| -> bool {
        if ch.is_control() || ch == '\u{FFFE}' || ch == '\u{FFFF}' {
            return true;
        }
        match part {
            JidPart::Local => ch.is_whitespace() || "\"&'/:<>@".contains(ch),
            JidPart::Domain => ch.is_whitespace() || "\"&'<>@/\\".contains(ch),
            JidPart::Resource => ch != ' ' && ch.is_whitespace(),
        }
    };
    match s.chars().find(|&c| bad(c)) {
        Some(ch) => Err(JidError::ForbiddenChar { part, ch }),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_bare_full_and_domain_only() {
        let j = Jid::parse("romeo@Montague.LIT./orchard").unwrap();
        assert_eq!(j.local(), Some("romeo"));
        assert_eq!(j.domain(), "montague.lit");
        assert_eq!(j.resource(), Some("orchard"));
        assert_eq!(j.to_string(), "romeo@montague.lit/orchard");
        assert_eq!(j.to_bare().to_string(), "romeo@montague.lit");
        let d = Jid::parse("cpim.xmpp.test").unwrap();
        assert_eq!((d.local(), d.resource()), (None, None));
        // The resource is everything after the first slash, '@' included.
        let r = Jid::parse("a@b/c@d/e").unwrap();
        assert_eq!(r.resource(), Some("c@d/e"));
        assert_eq!(
            j.to_bare()
                .with_resource("Gajim on laptop")
                .unwrap()
                .to_string(),
            "romeo@montague.lit/Gajim on laptop"
        );
    }

    #[test]
    fn refuses_bad_parts() {
        assert_eq!(Jid::parse(""), Err(JidError::Empty(JidPart::Domain)));
        assert_eq!(Jid::parse("@d"), Err(JidError::Empty(JidPart::Local)));
        assert_eq!(Jid::parse("d/"), Err(JidError::Empty(JidPart::Resource)));
        assert!(matches!(
            Jid::parse("a b@d"),
            Err(JidError::ForbiddenChar {
                part: JidPart::Local,
                ch: ' '
            })
        ));
        assert!(matches!(
            Jid::parse("a:b@d"),
            Err(JidError::ForbiddenChar {
                part: JidPart::Local,
                ..
            })
        ));
        assert!(matches!(
            Jid::parse("a@d\u{7}"),
            Err(JidError::ForbiddenChar {
                part: JidPart::Domain,
                ..
            })
        ));
        assert!(matches!(
            Jid::parse("a@d/x\ty"),
            Err(JidError::ForbiddenChar {
                part: JidPart::Resource,
                ..
            })
        ));
        let long = "x".repeat(1024);
        assert!(matches!(
            Jid::parse(&format!("{long}@d")),
            Err(JidError::TooLong {
                part: JidPart::Local,
                len: 1024
            })
        ));
        assert!(Jid::parse(&format!("{}@d", "x".repeat(1023))).is_ok());
    }

    #[test]
    fn empty_domain_labels_are_refused_and_parsing_is_idempotent() {
        // Regression: fuzz/artifacts crash-ac115c2b (input "Pz\u{FEFD}P..").
        assert_eq!(Jid::parse("Pz\u{FEFD}P.."), Err(JidError::EmptyLabel));
        assert_eq!(Jid::parse("a..b"), Err(JidError::EmptyLabel));
        assert_eq!(Jid::parse(".a"), Err(JidError::EmptyLabel));
        let j = Jid::parse("u@Example.TEST.").unwrap();
        assert_eq!(j.domain(), "example.test");
        assert_eq!(Jid::parse(&j.to_string()), Ok(j));
    }

    #[test]
    fn domain_membership() {
        let j = Jid::parse("u@gw.cpim.test").unwrap();
        assert!(j.is_under_domain("cpim.test"));
        assert!(j.is_under_domain("gw.cpim.test"));
        assert!(!j.is_under_domain("pim.test"));
        assert!(!j.is_under_domain("other.test"));
    }
}
