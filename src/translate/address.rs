//! SIP URI ⇄ JID address mapping (RFC 7247 §6, XEP-0106 JID escaping).
//!
//! Pure string logic with its own small types, [`SipAddress`] and
//! [`XmppAddress`]; the gateway converts them from and to its wire types.
//! Two [`Mode`]s, chosen by configuration:
//!
//! - [`Mode::SameDomain`] ("transparent"): the XEP-0114 component carries the
//!   SIP domain's name, so `sip:romeo@sip.example` ⇄ `romeo@sip.example`.
//!   The localpart is the SIP user with XEP-0106 escaping on the JID side and
//!   RFC 3986 percent-encoding on the SIP side (RFC 7247 §6.2–§6.5); the
//!   GRUU `;gr=` parameter ⇄ the resourcepart (RFC 7247 §6.4, RFC 7572
//!   Table 2).
//! - [`Mode::GatewaySubdomain`]: SIP users live under the component domain,
//!   `sip:romeo@sip.example` ⇄ `romeo\40sip.example@cpim.xmpp.test`
//!   (standards.md §9.7). The legacy `romeo%sip.example@…` form is accepted
//!   on input when enabled and never produced.
//!
//! Escaping follows XEP-0106 `\hh`, not RFC 3922's `#hh;` (conflict C4).
//! `sips:` is never translated (RFC 7247 §8). Nodeprep/PRECIS is not applied:
//! the localpart keeps its case, so `sip:Romeo@…` stays `Romeo@…`.
//!
//! Round trip: for every address one direction accepts, the other direction
//! accepts the result and gives back the same address, up to canonical form
//! (domains lowercased; JID escapes as XEP-0106 §4.2 writes them; SIP user
//! and `gr` percent-encoded only where RFC 3261 §25.1 requires, uppercase).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::arithmetic_side_effects
)]

mod escape;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use escape::{
    canonical_host, check_forbidden, param_keeps, percent_decode, percent_encode, user_keeps,
};
pub use escape::{escape_localpart, unescape_localpart};

/// Longest localpart or resourcepart, in bytes (RFC 7622 §3.3.1, §3.4.1).
pub const MAX_PART_BYTES: usize = 1023;

/// Why an address cannot be mapped (or parsed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// No user part / localpart, or an empty one: it names no IM inbox.
    #[error("empty local part")]
    EmptyLocal,
    /// A JID with a `/` but nothing after it (RFC 7622 §3.4).
    #[error("empty resource part")]
    EmptyResource,
    /// A localpart would begin or end with a space, which XEP-0106 §3.2 forbids
    /// writing as `\20`; or a JID localpart does so.
    #[error("a localpart may not begin or end with an escaped space")]
    EscapedSpaceAtEdge,
    /// A JID localpart holds a raw character that may appear only escaped
    /// (RFC 7622 §3.3.1, XEP-0106 §3.2).
    #[error("character {ch:?} must be escaped in a jid localpart")]
    UnescapedChar {
        /// The offending character.
        ch: char,
    },
    /// A character no JID part can hold, even escaped: controls and the XML
    /// non-characters (RFC 7622 §3.3 via PRECIS, XML 1.0 §2.2).
    #[error("character {ch:?} cannot appear in a jid, even escaped")]
    ForbiddenChar {
        /// The offending character.
        ch: char,
    },
    /// The (escaped) localpart exceeds 1023 bytes (RFC 7622 §3.3.1).
    #[error("localpart is {len} bytes, more than 1023")]
    LocalTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The resourcepart exceeds 1023 bytes (RFC 7622 §3.4.1).
    #[error("resourcepart is {len} bytes, more than 1023")]
    ResourceTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// A `%` not followed by two hex digits (RFC 3986 §2.1).
    #[error("bad percent-encoding at byte {offset}")]
    BadPercentEncoding {
        /// Offset of the `%` in the encoded text.
        offset: usize,
    },
    /// Percent-decoded octets that are not UTF-8 (RFC 7247 §6.4 step 4).
    #[error("percent-decoded sip user is not utf-8")]
    InvalidUtf8,
    /// In gateway-subdomain mode, a JID whose domain is not the component's.
    #[error("domain {domain} is not served here (expected {expected})")]
    DomainNotServed {
        /// The JID's domain.
        domain: String,
        /// The component domain.
        expected: String,
    },
    /// A domain that is not a plain ASCII host name or IPv6 reference.
    #[error("invalid domain {domain:?}")]
    InvalidDomain {
        /// The domain as given.
        domain: String,
    },
    /// In gateway-subdomain mode, a localpart without the `\40` (or, when
    /// enabled, legacy `%`) separating the SIP user from the SIP domain.
    #[error("localpart names no sip domain (expected user\\40domain)")]
    MissingSipDomain,
    /// A `sips:` address: RFC 7247 §8 forbids translating it to XMPP.
    #[error("sips uri is not translated to xmpp")]
    SipsRefused,
    /// A scheme other than `sip:`/`sips:`.
    #[error("unsupported uri scheme {scheme:?}")]
    UnsupportedScheme {
        /// The scheme as written.
        scheme: String,
    },
    /// A SIP URI string this module's small parser does not accept.
    #[error("malformed sip uri: {reason}")]
    InvalidSipUri {
        /// What is wrong.
        reason: &'static str,
    },
}

impl AddressError {
    /// The variant's name (`"EmptyLocal"`, `"SipsRefused"`, …), as used in
    /// the `error` column of `mappings/address.toml`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::EmptyLocal => "EmptyLocal",
            Self::EmptyResource => "EmptyResource",
            Self::EscapedSpaceAtEdge => "EscapedSpaceAtEdge",
            Self::UnescapedChar { .. } => "UnescapedChar",
            Self::ForbiddenChar { .. } => "ForbiddenChar",
            Self::LocalTooLong { .. } => "LocalTooLong",
            Self::ResourceTooLong { .. } => "ResourceTooLong",
            Self::BadPercentEncoding { .. } => "BadPercentEncoding",
            Self::InvalidUtf8 => "InvalidUtf8",
            Self::DomainNotServed { .. } => "DomainNotServed",
            Self::InvalidDomain { .. } => "InvalidDomain",
            Self::MissingSipDomain => "MissingSipDomain",
            Self::SipsRefused => "SipsRefused",
            Self::UnsupportedScheme { .. } => "UnsupportedScheme",
            Self::InvalidSipUri { .. } => "InvalidSipUri",
        }
    }
}

/// How SIP addresses appear on the XMPP side (configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// The component is named after the SIP domain: domains map unchanged
    /// (RFC 7247 §6.4/§6.5).
    SameDomain,
    /// SIP users are `<escaped user@host>@component` (standards.md §9.7).
    GatewaySubdomain {
        /// The XEP-0114 component domain, e.g. `cpim.xmpp.test`.
        component: String,
        /// Accept `user%host@component` as input (never produced).
        accept_legacy_percent: bool,
    },
}

/// An XMPP address split into its three parts (RFC 7622 §3.1). The localpart
/// is kept as written, XEP-0106 escapes included.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct XmppAddress {
    /// The localpart as written (escaped), if any.
    pub local: Option<String>,
    /// The domainpart.
    pub domain: String,
    /// The resourcepart, if any.
    pub resource: Option<String>,
}

impl XmppAddress {
    /// Splits a JID string (RFC 7622 §3.1): the resourcepart is everything
    /// after the first `/`; in what remains, the localpart is everything
    /// before the first `@`. Only the split is checked here; characters are
    /// checked by the mapping.
    ///
    /// # Errors
    ///
    /// [`AddressError::EmptyResource`], [`AddressError::EmptyLocal`] for
    /// `@domain`, [`AddressError::InvalidDomain`] for an empty domainpart.
    pub fn parse(jid: &str) -> Result<Self, AddressError> {
        let (bare, resource) = match jid.split_once('/') {
            Some((_, "")) => return Err(AddressError::EmptyResource),
            Some((bare, res)) => (bare, Some(res.to_owned())),
            None => (jid, None),
        };
        let (local, domain) = match bare.split_once('@') {
            Some(("", _)) => return Err(AddressError::EmptyLocal),
            Some((local, domain)) => (Some(local.to_owned()), domain),
            None => (None, bare),
        };
        if domain.is_empty() {
            return Err(AddressError::InvalidDomain {
                domain: String::new(),
            });
        }
        Ok(Self {
            local,
            domain: domain.to_owned(),
            resource,
        })
    }
}

impl FromStr for XmppAddress {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for XmppAddress {
    /// `local@domain/resource`, omitting absent parts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(local) = &self.local {
            write!(f, "{local}@")?;
        }
        f.write_str(&self.domain)?;
        if let Some(resource) = &self.resource {
            write!(f, "/{resource}")?;
        }
        Ok(())
    }
}

/// A SIP address of record with its optional GRUU instance, decoded: `user`
/// and `gr` hold text, not percent-escapes (RFC 3261 §19.1, RFC 5627 §3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SipAddress {
    /// `sips:` rather than `sip:`.
    pub secure: bool,
    /// The user part, percent-decoded.
    pub user: Option<String>,
    /// The host as written (no port).
    pub host: String,
    /// The `;gr=` value, percent-decoded (RFC 5627 §3.2).
    pub gr: Option<String>,
}

impl SipAddress {
    /// Builds an address from URI parts as they appear on the wire
    /// (percent-escapes kept), e.g. from the crate's SIP URI accessors. An
    /// empty `gr` (or the flag form `;gr`) counts as absent.
    ///
    /// # Errors
    ///
    /// [`AddressError::UnsupportedScheme`] unless `scheme` is `sip`/`sips`
    /// (any case), [`AddressError::BadPercentEncoding`] and
    /// [`AddressError::InvalidUtf8`] from decoding `user` and `gr`.
    pub fn from_wire(
        scheme: &str,
        user: Option<&str>,
        host: &str,
        gr: Option<&str>,
    ) -> Result<Self, AddressError> {
        let secure = if scheme.eq_ignore_ascii_case("sip") {
            false
        } else if scheme.eq_ignore_ascii_case("sips") {
            true
        } else {
            return Err(AddressError::UnsupportedScheme {
                scheme: scheme.to_owned(),
            });
        };
        let user = user.map(percent_decode).transpose()?;
        let gr = gr
            .filter(|g| !g.is_empty())
            .map(percent_decode)
            .transpose()?;
        Ok(Self {
            secure,
            user,
            host: host.to_owned(),
            gr,
        })
    }

    /// Parses the subset `sip[s]:[user@]host[;params]` used by the mapping
    /// table and fuzz target; parameters other than `gr` are ignored. Use the
    /// crate's SIP URI parser for wire input.
    ///
    /// # Errors
    ///
    /// [`AddressError::InvalidSipUri`] for a missing scheme, a password, a
    /// port or `?headers`; otherwise as [`SipAddress::from_wire`].
    pub fn parse(uri: &str) -> Result<Self, AddressError> {
        let bad = |reason| AddressError::InvalidSipUri { reason };
        let (scheme, rest) = uri.split_once(':').ok_or(bad("no scheme"))?;
        // `?` is user-unreserved (RFC 3261 §25.1), so look for headers only
        // after the user part.
        let (user, rest) = match rest.split_once('@') {
            Some((user, rest)) => (Some(user), rest),
            None => (None, rest),
        };
        if rest.contains('?') {
            return Err(bad("headers are not supported"));
        }
        if user.is_some_and(|u| u.contains(':')) {
            return Err(bad("password in user part"));
        }
        let (host, params) = rest.split_once(';').unwrap_or((rest, ""));
        if (host.contains(':') && !host.starts_with('[')) || host.contains("]:") {
            return Err(bad("port in address"));
        }
        let gr = params
            .split(';')
            .filter_map(|p| {
                let (name, value) = p.split_once('=').unwrap_or((p, ""));
                name.eq_ignore_ascii_case("gr").then_some(value)
            })
            .next();
        Self::from_wire(scheme, user, host, gr)
    }

    /// The user part percent-encoded for the wire: only RFC 3261 §25.1
    /// `unreserved` and `user-unreserved` stay literal (RFC 7247 §6.5 step 5:
    /// `#` → `%23`, `ü` → `%C3%BC`).
    pub fn user_wire(&self) -> Option<String> {
        self.user.as_deref().map(|u| percent_encode(u, user_keeps))
    }

    /// The `gr` value percent-encoded as an RFC 3261 §25.1 `pvalue`.
    pub fn gr_wire(&self) -> Option<String> {
        self.gr.as_deref().map(|g| percent_encode(g, param_keeps))
    }
}

impl FromStr for SipAddress {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for SipAddress {
    /// `sip:user@host;gr=value` with wire encoding.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.secure { "sips:" } else { "sip:" })?;
        if let Some(user) = self.user_wire() {
            write!(f, "{user}@")?;
        }
        f.write_str(&self.host)?;
        if let Some(gr) = self.gr_wire() {
            write!(f, ";gr={gr}")?;
        }
        Ok(())
    }
}

/// Checks a resourcepart: non-empty, at most 1023 bytes, no controls
/// (RFC 7622 §3.4).
fn check_resource(resource: &str) -> Result<(), AddressError> {
    if resource.is_empty() {
        return Err(AddressError::EmptyResource);
    }
    if resource.len() > MAX_PART_BYTES {
        return Err(AddressError::ResourceTooLong {
            len: resource.len(),
        });
    }
    check_forbidden(resource)
}

/// Maps a SIP address to the JID XMPP users see (RFC 7247 §6.4).
///
/// The user is escaped with XEP-0106 (`o'malley` → `o\27malley`); the host
/// is lowercased and becomes the domain ([`Mode::SameDomain`]) or is folded
/// into the localpart after `\40` ([`Mode::GatewaySubdomain`]); `gr` becomes
/// the resource.
///
/// # Errors
///
/// [`AddressError::SipsRefused`] for `sips:` (RFC 7247 §8);
/// [`AddressError::EmptyLocal`] without a user; [`AddressError::InvalidDomain`]
/// for a host (or component) that is not an ASCII host name; and the escaping
/// errors of [`escape_localpart`] and of the resource check
/// ([`AddressError::ForbiddenChar`], [`AddressError::ResourceTooLong`]).
pub fn sip_to_xmpp(mode: &Mode, sip: &SipAddress) -> Result<XmppAddress, AddressError> {
    if sip.secure {
        return Err(AddressError::SipsRefused);
    }
    let user = sip
        .user
        .as_deref()
        .filter(|u| !u.is_empty())
        .ok_or(AddressError::EmptyLocal)?;
    let host = canonical_host(&sip.host)?;
    let (local, domain) = match mode {
        Mode::SameDomain => (escape_localpart(user)?, host),
        Mode::GatewaySubdomain { component, .. } => (
            escape_localpart(&format!("{user}@{host}"))?,
            canonical_host(component)?,
        ),
    };
    if let Some(gr) = &sip.gr {
        check_resource(gr)?;
    }
    Ok(XmppAddress {
        local: Some(local),
        domain,
        resource: sip.gr.clone(),
    })
}

/// Maps a JID to the SIP address SIP users see (RFC 7247 §6.5). Always
/// produces `sip:` (never `sips:`).
///
/// The localpart is unescaped (`m\26m` → `m&m`); in
/// [`Mode::SameDomain`] the domain becomes the host, in
/// [`Mode::GatewaySubdomain`] the domain must be the component and the
/// unescaped localpart splits at its last `@` into user and host (or, when
/// enabled, at its last `%`). The resource becomes `gr`.
///
/// # Errors
///
/// [`AddressError::EmptyLocal`], [`AddressError::DomainNotServed`],
/// [`AddressError::MissingSipDomain`], [`AddressError::InvalidDomain`], the
/// unescaping errors of [`unescape_localpart`] and the resource checks.
pub fn xmpp_to_sip(mode: &Mode, jid: &XmppAddress) -> Result<SipAddress, AddressError> {
    let local = jid.local.as_deref().ok_or(AddressError::EmptyLocal)?;
    let decoded = unescape_localpart(local)?;
    let (user, host) = match mode {
        Mode::SameDomain => (decoded, canonical_host(&jid.domain)?),
        Mode::GatewaySubdomain {
            component,
            accept_legacy_percent,
        } => {
            if !jid.domain.eq_ignore_ascii_case(component) {
                return Err(AddressError::DomainNotServed {
                    domain: jid.domain.clone(),
                    expected: component.to_ascii_lowercase(),
                });
            }
            let (user, host) = match decoded.rsplit_once('@') {
                Some((user, host)) => (user, canonical_host(host)?),
                None if *accept_legacy_percent => {
                    let (user, host) = decoded
                        .rsplit_once('%')
                        .ok_or(AddressError::MissingSipDomain)?;
                    let host = canonical_host(host)?;
                    // `%` becomes the longer `\40` on the way back: make sure
                    // the canonical form still fits (RFC 7622 §3.3.1).
                    escape_localpart(&format!("{user}@{host}"))?;
                    (user, host)
                }
                None => return Err(AddressError::MissingSipDomain),
            };
            (user.to_owned(), host)
        }
    };
    if user.is_empty() {
        return Err(AddressError::EmptyLocal);
    }
    if let Some(resource) = &jid.resource {
        check_resource(resource)?;
    }
    Ok(SipAddress {
        secure: false,
        user: Some(user),
        host,
        gr: jid.resource.clone(),
    })
}
