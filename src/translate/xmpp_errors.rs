//! The SIP ⇄ XMPP error tables of RFC 7247 §7, applied in one place.
//!
//! Owns the XMPP stanza error vocabulary ([`ErrorType`], [`Condition`],
//! RFC 6120 §8.3), the reviewable table `mappings/errors.toml`
//! ([`ErrorTables`]), and every status decision of the XMPP binding:
//! - XMPP error → SIP status ([`ErrorTables::sip_answer`], RFC 7247 Table 2,
//!   with the bare/full JID and `<gone/>`-address notes; service-unavailable
//!   is never 503);
//! - SIP status → XMPP error ([`ErrorTables::stanza_error`], Table 3 plus
//!   class defaults), and Timer F → `<remote-server-timeout/>`;
//! - CPIM [`Response`] ⇄ both, through [`NativeDetail`];
//! - the SIP answer after the error window (standards.md C1,
//!   [`sip_answer_after_window`]);
//! - [`MapError`] → SIP status with Warning/Accept ([`status_for`]) and →
//!   XMPP error ([`stanza_error_for`]).
//!
//! It does not serialise stanzas, format the `Warning` header (the caller
//! adds `399 <host> "…"`), or translate a `<gone/>`/Contact address between
//! `xmpp:` and `sip:` (that is `translate::address`).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::cpim::{NativeDetail, Response, Status, TransId};
use crate::sip::StatusCode;
use crate::translate::xmpp::{ACCEPT, MapError};

/// The embedded table.
pub const ERRORS_TABLE: &str = include_str!("../../mappings/errors.toml");

/// RFC 6120 §8.3.2 error types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorType {
    /// Retry after providing credentials.
    Auth,
    /// Do not retry.
    Cancel,
    /// Proceed (warning only).
    Continue,
    /// Retry after changing the data sent.
    Modify,
    /// Retry after waiting.
    Wait,
}

impl ErrorType {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Auth => "auth",
            ErrorType::Cancel => "cancel",
            ErrorType::Continue => "continue",
            ErrorType::Modify => "modify",
            ErrorType::Wait => "wait",
        }
    }
}

macro_rules! conditions {
    ($($v:ident = $s:literal, $t:ident;)*) => {
        /// RFC 6120 §8.3.3 stanza error conditions.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Condition {
            $(#[doc = concat!("`<", $s, "/>`")] $v,)*
        }

        impl Condition {
            /// Every condition, in RFC order.
            pub const ALL: &'static [Condition] = &[$(Condition::$v,)*];

            /// The element name.
            pub fn as_str(self) -> &'static str {
                match self { $(Condition::$v => $s,)* }
            }

            /// The condition for an element name; `None` for names RFC 6120
            /// does not define.
            pub fn parse(name: &str) -> Option<Condition> {
                match name { $($s => Some(Condition::$v),)* _ => None }
            }

            /// The RFC 6120 §8.3.3 default error type.
            pub fn default_type(self) -> ErrorType {
                match self { $(Condition::$v => ErrorType::$t,)* }
            }
        }
    };
}

conditions! {
    BadRequest = "bad-request", Modify;
    Conflict = "conflict", Cancel;
    FeatureNotImplemented = "feature-not-implemented", Cancel;
    Forbidden = "forbidden", Auth;
    Gone = "gone", Cancel;
    InternalServerError = "internal-server-error", Cancel;
    ItemNotFound = "item-not-found", Cancel;
    JidMalformed = "jid-malformed", Modify;
    NotAcceptable = "not-acceptable", Modify;
    NotAllowed = "not-allowed", Cancel;
    NotAuthorized = "not-authorized", Auth;
    PolicyViolation = "policy-violation", Modify;
    RecipientUnavailable = "recipient-unavailable", Wait;
    Redirect = "redirect", Modify;
    RegistrationRequired = "registration-required", Auth;
    RemoteServerNotFound = "remote-server-not-found", Cancel;
    RemoteServerTimeout = "remote-server-timeout", Wait;
    ResourceConstraint = "resource-constraint", Wait;
    ServiceUnavailable = "service-unavailable", Cancel;
    SubscriptionRequired = "subscription-required", Auth;
    UndefinedCondition = "undefined-condition", Modify;
    UnexpectedRequest = "unexpected-request", Modify;
}

/// An XMPP stanza error to send (RFC 6120 §8.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StanzaError {
    /// The `type` attribute.
    pub error_type: ErrorType,
    /// The defined condition.
    pub condition: Condition,
    /// Character data of `<gone/>`/`<redirect/>`: the SIP Contact as
    /// received; the caller maps it to an XMPP URI.
    pub address: Option<String>,
}

/// An XMPP stanza error received for a stanza the gateway sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceivedXmppError<'a> {
    /// The defined-condition element name, as received.
    pub condition: &'a str,
    /// Whether the gateway had addressed the stanza to a bare JID
    /// (RFC 7247 Table 2 notes 1–2).
    pub to_bare: bool,
    /// Character data of `<gone/>` or `<redirect/>`, if any.
    pub address: Option<&'a str>,
}

/// Knobs of the error mapping. [`Default`] is the documented default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XmppErrorPolicy {
    /// Map `<service-unavailable/>` to 405 instead of 403 (RFC 7247 Table 2
    /// note 5). There is no way to get 503. Default `false`.
    pub service_unavailable_405: bool,
    /// Answer 200 instead of 202 after a quiet error window, for peers that
    /// mishandle 202 (standards.md C1). Default `false`.
    pub accept_with_200: bool,
}

/// A SIP final answer chosen for an XMPP outcome or a mapping error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipAnswer {
    /// The status.
    pub status: StatusCode,
    /// A `Contact` for 3xx (the `<gone/>`/`<redirect/>` address as
    /// received; the caller maps it to a SIP URI).
    pub contact: Option<String>,
    /// Text for `Warning: 399 <host> "<text>"` (contains no `"`).
    pub warning: Option<String>,
    /// Value for an `Accept` header (415, RFC 3428 Table 1).
    pub accept: Option<&'static str>,
}

impl SipAnswer {
    fn plain(status: StatusCode) -> SipAnswer {
        SipAnswer {
            status,
            contact: None,
            warning: None,
            accept: None,
        }
    }
}

/// Why `errors.toml` does not load.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorTableError {
    /// Not TOML or not the expected shape.
    #[error("errors table: {0}")]
    Toml(#[from] toml::de::Error),
    /// A condition RFC 6120 does not define.
    #[error("errors table: unknown condition {0:?}")]
    UnknownCondition(String),
    /// A code outside 300..=699 (only final error statuses map).
    #[error("errors table: invalid code {0}")]
    BadCode(u16),
    /// 503 as the answer to an XMPP error (RFC 7247 Table 2 note 5; the
    /// gateway would look overloaded).
    #[error("errors table: {0} must never map to 503")]
    Forbidden503(String),
    /// A row listed twice.
    #[error("errors table: duplicate row {0}")]
    Duplicate(String),
    /// A class default outside 3..=6, or one missing.
    #[error("errors table: class defaults must cover 3, 4, 5 and 6")]
    Classes,
}

/// One `[[xmpp_to_sip]]` row.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XmppToSipRow {
    /// Condition name.
    pub condition: String,
    /// Status (full JID, or always).
    pub sip: u16,
    /// Status for a bare JID.
    pub sip_bare: Option<u16>,
    /// Status when an address is carried.
    pub sip_with_address: Option<u16>,
    /// The RFC's alternative.
    pub sip_alt: Option<u16>,
    /// Documentation.
    pub why: String,
}

/// One `[[sip_to_xmpp]]` row (or `[[sip_class_default]]`, with `class`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SipToXmppRow {
    /// SIP status.
    #[serde(default)]
    pub code: u16,
    /// Status class (class-default rows only).
    #[serde(default)]
    pub class: u16,
    /// Condition name.
    pub condition: String,
    /// Error type.
    #[serde(rename = "type")]
    pub error_type: ErrorType,
    /// Documentation.
    pub why: String,
}

/// The raw file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorsFile {
    /// XMPP → SIP rows.
    pub xmpp_to_sip: Vec<XmppToSipRow>,
    /// SIP → XMPP rows.
    pub sip_to_xmpp: Vec<SipToXmppRow>,
    /// SIP class defaults.
    pub sip_class_default: Vec<SipToXmppRow>,
}

#[derive(Clone, Copy, Debug)]
struct XRow {
    sip: StatusCode,
    sip_bare: Option<StatusCode>,
    sip_with_address: Option<StatusCode>,
    sip_alt: Option<StatusCode>,
}

/// The loaded, checked tables.
#[derive(Clone, Debug)]
pub struct ErrorTables {
    xmpp_to_sip: HashMap<Condition, XRow>,
    sip_to_xmpp: HashMap<u16, (ErrorType, Condition)>,
    class: [(ErrorType, Condition); 4],
}

impl ErrorTables {
    /// Parses and checks a table.
    pub fn parse(src: &str) -> Result<ErrorTables, ErrorTableError> {
        let file: ErrorsFile = toml::from_str(src)?;
        let cond = |s: &str| {
            Condition::parse(s).ok_or_else(|| ErrorTableError::UnknownCondition(s.to_owned()))
        };
        let code = |c: u16| {
            StatusCode::new(c)
                .filter(|s| s.as_u16() >= 300)
                .ok_or(ErrorTableError::BadCode(c))
        };
        let mut xmpp_to_sip = HashMap::new();
        for r in &file.xmpp_to_sip {
            let c = cond(&r.condition)?;
            let opt = |v: Option<u16>| v.map(code).transpose();
            let row = XRow {
                sip: code(r.sip)?,
                sip_bare: opt(r.sip_bare)?,
                sip_with_address: opt(r.sip_with_address)?,
                sip_alt: opt(r.sip_alt)?,
            };
            let all = [
                Some(row.sip),
                row.sip_bare,
                row.sip_with_address,
                row.sip_alt,
            ];
            if all.iter().flatten().any(|s| s.as_u16() == 503) {
                return Err(ErrorTableError::Forbidden503(r.condition.clone()));
            }
            if xmpp_to_sip.insert(c, row).is_some() {
                return Err(ErrorTableError::Duplicate(r.condition.clone()));
            }
        }
        let mut sip_to_xmpp = HashMap::new();
        for r in &file.sip_to_xmpp {
            let c = cond(&r.condition)?;
            code(r.code)?;
            if sip_to_xmpp.insert(r.code, (r.error_type, c)).is_some() {
                return Err(ErrorTableError::Duplicate(r.code.to_string()));
            }
        }
        let mut class: [Option<(ErrorType, Condition)>; 4] = [None; 4];
        for r in &file.sip_class_default {
            let slot = usize::from(r.class)
                .checked_sub(3)
                .and_then(|i| class.get_mut(i))
                .ok_or(ErrorTableError::Classes)?;
            if slot.replace((r.error_type, cond(&r.condition)?)).is_some() {
                return Err(ErrorTableError::Duplicate(format!("class {}", r.class)));
            }
        }
        let [Some(c3), Some(c4), Some(c5), Some(c6)] = class else {
            return Err(ErrorTableError::Classes);
        };
        Ok(ErrorTables {
            xmpp_to_sip,
            sip_to_xmpp,
            class: [c3, c4, c5, c6],
        })
    }

    /// The embedded `mappings/errors.toml`, loaded once. A unit test loads
    /// it, so it cannot fail at run time; should it, the tables are empty
    /// and the built-in fallbacks below still answer (never 503).
    pub fn builtin() -> &'static ErrorTables {
        static TABLES: OnceLock<ErrorTables> = OnceLock::new();
        TABLES.get_or_init(|| {
            ErrorTables::parse(ERRORS_TABLE).unwrap_or_else(|_| ErrorTables {
                xmpp_to_sip: HashMap::new(),
                sip_to_xmpp: HashMap::new(),
                class: [
                    (ErrorType::Modify, Condition::Redirect),
                    (ErrorType::Modify, Condition::BadRequest),
                    (ErrorType::Cancel, Condition::InternalServerError),
                    (ErrorType::Wait, Condition::RecipientUnavailable),
                ],
            })
        })
    }

    /// RFC 7247 Table 2: the SIP answer for an XMPP error. A condition
    /// RFC 6120 does not define is read as `<undefined-condition/>`.
    pub fn sip_answer(&self, err: &ReceivedXmppError<'_>, policy: &XmppErrorPolicy) -> SipAnswer {
        let c = Condition::parse(err.condition).unwrap_or(Condition::UndefinedCondition);
        let Some(row) = self.xmpp_to_sip.get(&c) else {
            return SipAnswer::plain(StatusCode::SERVER_INTERNAL_ERROR);
        };
        let address = err.address.map(str::trim).filter(|a| !a.is_empty());
        let mut answer = SipAnswer::plain(row.sip);
        if let (Some(with), Some(a)) = (row.sip_with_address, address) {
            answer.status = with;
            answer.contact = Some(a.to_owned());
        } else if c == Condition::ServiceUnavailable && policy.service_unavailable_405 {
            answer.status = row.sip_alt.unwrap_or(StatusCode::METHOD_NOT_ALLOWED);
        } else if let (true, Some(bare)) = (err.to_bare, row.sip_bare) {
            answer.status = bare;
        } else if c == Condition::Redirect {
            answer.contact = address.map(str::to_owned);
        }
        if answer.status == StatusCode::SERVICE_UNAVAILABLE {
            // Unreachable with a checked table; kept as the last guard.
            answer.status = StatusCode::FORBIDDEN;
        }
        answer
    }

    /// RFC 7247 Table 3: the XMPP error for a SIP final status; `None` for
    /// 1xx/2xx. Unlisted codes use their class default. `contact` (a 3xx
    /// Contact) becomes the `<gone/>`/`<redirect/>` address.
    pub fn stanza_error(&self, status: StatusCode, contact: Option<&str>) -> Option<StanzaError> {
        if status.as_u16() < 300 {
            return None;
        }
        let (error_type, condition) =
            self.sip_to_xmpp
                .get(&status.as_u16())
                .copied()
                .or_else(|| {
                    usize::from(status.class())
                        .checked_sub(3)
                        .and_then(|i| self.class.get(i))
                        .copied()
                })?;
        let address = matches!(condition, Condition::Gone | Condition::Redirect)
            .then(|| {
                contact
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
            })
            .flatten();
        Some(StanzaError {
            error_type,
            condition,
            address,
        })
    }
}

/// RFC 7247 Table 2 with the embedded table.
pub fn xmpp_error_to_sip(err: &ReceivedXmppError<'_>, policy: &XmppErrorPolicy) -> SipAnswer {
    ErrorTables::builtin().sip_answer(err, policy)
}

/// RFC 7247 Table 3 with the embedded table.
pub fn sip_status_to_xmpp(status: StatusCode, contact: Option<&str>) -> Option<StanzaError> {
    ErrorTables::builtin().stanza_error(status, contact)
}

/// A SIP client transaction timeout (Timer F) → wait/`<remote-server-timeout/>`.
pub fn sip_timeout_to_xmpp() -> StanzaError {
    StanzaError {
        error_type: ErrorType::Wait,
        condition: Condition::RemoteServerTimeout,
        address: None,
    }
}

/// standards.md C1: the answer to a SIP MESSAGE relayed into XMPP once the
/// error window closes. No XMPP error → 202 (200 when configured); an error
/// for the stanza inside the window → its Table 2 status.
pub fn sip_answer_after_window(
    xmpp_error: Option<&ReceivedXmppError<'_>>,
    policy: &XmppErrorPolicy,
) -> SipAnswer {
    match xmpp_error {
        Some(e) => xmpp_error_to_sip(e, policy),
        None if policy.accept_with_200 => SipAnswer::plain(StatusCode::OK),
        None => SipAnswer::plain(StatusCode::ACCEPTED),
    }
}

/// The CPIM failure for an XMPP error received from the XMPP side
/// (RFC 3860 §3.4.1), keeping the condition as native detail.
pub fn cpim_failure_from_xmpp(trans_id: TransId, condition: &str) -> Response {
    Response {
        trans_id,
        status: Status::Failure,
        detail: Some(NativeDetail::Xmpp(condition.to_owned())),
    }
}

/// The SIP answer for a CPIM response whose detail is an XMPP condition
/// (XMPP error → CPIM failure → SIP status). `None` for other responses:
/// those go through `translate::status::StatusTable::sip_status`.
pub fn sip_answer_for_response(
    response: &Response,
    to_bare: bool,
    policy: &XmppErrorPolicy,
) -> Option<SipAnswer> {
    match (&response.status, &response.detail) {
        (Status::Failure, Some(NativeDetail::Xmpp(c))) => Some(xmpp_error_to_sip(
            &ReceivedXmppError {
                condition: c,
                to_bare,
                address: None,
            },
            policy,
        )),
        _ => None,
    }
}

/// The XMPP error for a CPIM response (SIP status → CPIM failure → XMPP
/// error): `None` unless it is a failure. A SIP code goes through Table 3,
/// an XMPP condition is passed on with its default type, a timeout is
/// `<remote-server-timeout/>`, and a failure without detail is
/// cancel/`<internal-server-error/>` (\[GW\]).
pub fn stanza_error_for_response(response: &Response) -> Option<StanzaError> {
    if response.status != Status::Failure {
        return None;
    }
    let internal = || StanzaError {
        error_type: ErrorType::Cancel,
        condition: Condition::InternalServerError,
        address: None,
    };
    Some(match &response.detail {
        Some(NativeDetail::Sip(code)) => StatusCode::new(*code)
            .and_then(|s| sip_status_to_xmpp(s, None))
            .unwrap_or_else(internal),
        Some(NativeDetail::Xmpp(c)) => {
            let condition = Condition::parse(c).unwrap_or(Condition::UndefinedCondition);
            StanzaError {
                error_type: condition.default_type(),
                condition,
                address: None,
            }
        }
        Some(NativeDetail::Timeout) => sip_timeout_to_xmpp(),
        _ => internal(),
    })
}

/// The SIP answer for a content mapping error (house style C.16: the one
/// place). 415s carry `Accept` (RFC 3428 Table 1); refusals that name a
/// cause carry Warning text.
pub fn status_for(e: &MapError) -> SipAnswer {
    let code = match e {
        MapError::UnsupportedType(_)
        | MapError::UnsupportedCharset(_)
        | MapError::UnsupportedTransferEncoding(_)
        | MapError::UnsatisfiableRequire(_)
        | MapError::NestingTooDeep
        | MapError::NotXmlRepresentable(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        MapError::TooLarge { .. } => StatusCode::REQUEST_ENTITY_TOO_LARGE,
        MapError::Build(_) => StatusCode::SERVER_INTERNAL_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let accept = (code == StatusCode::UNSUPPORTED_MEDIA_TYPE).then_some(ACCEPT);
    let warning = match e {
        MapError::UnsupportedType(_) | MapError::Build(_) => None,
        other => Some(other.to_string().replace('"', "'")),
    };
    SipAnswer {
        status: code,
        contact: None,
        warning,
        accept,
    }
}

/// The XMPP error for a content mapping error on the XMPP → SIP path: the
/// SIP status of [`status_for`] through Table 3 (413 → `<policy-violation/>`
/// as RFC 7572 §6 asks, 400 → `<bad-request/>`, 415 → `<not-acceptable/>`).
pub fn stanza_error_for(e: &MapError) -> StanzaError {
    sip_status_to_xmpp(status_for(e).status, None).unwrap_or(StanzaError {
        error_type: ErrorType::Cancel,
        condition: Condition::InternalServerError,
        address: None,
    })
}

impl From<&MapError> for StatusCode {
    fn from(e: &MapError) -> StatusCode {
        status_for(e).status
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    fn sc(c: u16) -> StatusCode {
        StatusCode::new(c).unwrap()
    }

    fn file() -> ErrorsFile {
        toml::from_str(ERRORS_TABLE).unwrap()
    }

    fn x(condition: &str, to_bare: bool, address: Option<&str>) -> SipAnswer {
        xmpp_error_to_sip(
            &ReceivedXmppError {
                condition,
                to_bare,
                address,
            },
            &XmppErrorPolicy::default(),
        )
    }

    #[test]
    fn embedded_table_loads() {
        ErrorTables::parse(ERRORS_TABLE).unwrap();
    }

    #[test]
    fn every_xmpp_to_sip_row_is_applied() {
        let f = file();
        assert_eq!(
            f.xmpp_to_sip.len(),
            Condition::ALL.len(),
            "one row per RFC 6120 condition"
        );
        for r in &f.xmpp_to_sip {
            assert_eq!(
                x(&r.condition, false, None).status.as_u16(),
                r.sip,
                "{} full",
                r.condition
            );
            let bare = r.sip_bare.unwrap_or(r.sip);
            assert_eq!(
                x(&r.condition, true, None).status.as_u16(),
                bare,
                "{} bare",
                r.condition
            );
            if let Some(w) = r.sip_with_address {
                let a = x(&r.condition, false, Some("xmpp:new@x.example"));
                assert_eq!(a.status.as_u16(), w, "{}", r.condition);
                assert_eq!(a.contact.as_deref(), Some("xmpp:new@x.example"));
            }
            // Through the CPIM pivot too.
            let resp = cpim_failure_from_xmpp(TransId::from_native("t"), &r.condition);
            let via = sip_answer_for_response(&resp, false, &XmppErrorPolicy::default()).unwrap();
            assert_eq!(via.status.as_u16(), r.sip, "{} via cpim", r.condition);
        }
    }

    #[test]
    fn every_sip_to_xmpp_row_is_applied() {
        let f = file();
        for r in &f.sip_to_xmpp {
            let e = sip_status_to_xmpp(sc(r.code), None).unwrap();
            assert_eq!(e.condition.as_str(), r.condition, "{}", r.code);
            assert_eq!(e.error_type, r.error_type, "{}", r.code);
            let resp = Response {
                trans_id: TransId::from_native("t"),
                status: Status::Failure,
                detail: Some(NativeDetail::Sip(r.code)),
            };
            assert_eq!(
                stanza_error_for_response(&resp),
                Some(e),
                "{} via cpim",
                r.code
            );
        }
        for r in &f.sip_class_default {
            // A code of the class that no row lists.
            let code = (r.class * 100 + 1..r.class * 100 + 100)
                .find(|c| !f.sip_to_xmpp.iter().any(|row| row.code == *c))
                .unwrap();
            let e = sip_status_to_xmpp(sc(code), None).unwrap();
            assert_eq!(
                (e.condition.as_str(), e.error_type),
                (r.condition.as_str(), r.error_type)
            );
        }
    }

    #[test]
    fn rfc7247_table3_codes_are_all_listed() {
        let listed: Vec<u16> = file().sip_to_xmpp.iter().map(|r| r.code).collect();
        for c in [
            300, 301, 302, 305, 380, 400, 401, 402, 403, 404, 405, 406, 407, 408, 410, 413, 414,
            415, 416, 420, 421, 423, 430, 439, 440, 480, 481, 482, 483, 484, 485, 486, 487, 488,
            489, 491, 493, 500, 501, 502, 503, 504, 505, 513, 600, 603, 604, 606,
        ] {
            assert!(listed.contains(&c), "{c} missing");
        }
    }

    #[test]
    fn service_unavailable_is_never_503() {
        // Conformance B.29, RFC 7247 Table 2 note 5.
        for to_bare in [false, true] {
            for p405 in [false, true] {
                for accept_with_200 in [false, true] {
                    let policy = XmppErrorPolicy {
                        service_unavailable_405: p405,
                        accept_with_200,
                    };
                    let err = ReceivedXmppError {
                        condition: "service-unavailable",
                        to_bare,
                        address: Some("x"),
                    };
                    let a = sip_answer_after_window(Some(&err), &policy);
                    assert_eq!(a.status, if p405 { sc(405) } else { sc(403) });
                }
            }
        }
        // No row of the embedded table is 503, for any condition.
        for c in Condition::ALL {
            for to_bare in [false, true] {
                for p in [false, true] {
                    let policy = XmppErrorPolicy {
                        service_unavailable_405: p,
                        accept_with_200: false,
                    };
                    let e = ReceivedXmppError {
                        condition: c.as_str(),
                        to_bare,
                        address: Some("xmpp:a@b"),
                    };
                    assert_ne!(xmpp_error_to_sip(&e, &policy).status.as_u16(), 503, "{c:?}");
                }
            }
        }
        // A table that tries is refused.
        let bad = ERRORS_TABLE.replace(
            "condition = \"service-unavailable\"\nsip = 403",
            "condition = \"service-unavailable\"\nsip = 503",
        );
        assert_ne!(bad, ERRORS_TABLE);
        assert!(matches!(
            ErrorTables::parse(&bad),
            Err(ErrorTableError::Forbidden503(_))
        ));
        let bad_alt = ERRORS_TABLE.replace("sip_alt = 405", "sip_alt = 503");
        assert!(matches!(
            ErrorTables::parse(&bad_alt),
            Err(ErrorTableError::Forbidden503(_))
        ));
    }

    #[test]
    fn conformance_b26_404_gives_item_not_found() {
        let e = sip_status_to_xmpp(sc(404), None).unwrap();
        assert_eq!(
            (e.error_type, e.condition),
            (ErrorType::Cancel, Condition::ItemNotFound)
        );
    }

    #[test]
    fn conformance_b27_480_gives_recipient_unavailable_wait() {
        let e = sip_status_to_xmpp(sc(480), None).unwrap();
        assert_eq!(
            (e.error_type, e.condition),
            (ErrorType::Wait, Condition::RecipientUnavailable)
        );
    }

    #[test]
    fn conformance_b28_503_gives_internal_server_error() {
        let e = sip_status_to_xmpp(sc(503), None).unwrap();
        assert_eq!(e.condition, Condition::InternalServerError);
        assert_ne!(e.condition, Condition::ServiceUnavailable);
    }

    #[test]
    fn conformance_b29_service_unavailable_in_window_is_403() {
        let a = sip_answer_after_window(
            Some(&ReceivedXmppError {
                condition: "service-unavailable",
                to_bare: true,
                address: None,
            }),
            &XmppErrorPolicy::default(),
        );
        assert_eq!(a.status, sc(403));
    }

    #[test]
    fn conformance_b30_forbidden_bare_603_full_403() {
        assert_eq!(x("forbidden", true, None).status, sc(603));
        assert_eq!(x("forbidden", false, None).status, sc(403));
    }

    #[test]
    fn conformance_b31_gone_with_uri_301_empty_410() {
        let a = x("gone", false, Some(" xmpp:new@x "));
        assert_eq!(a.status, sc(301));
        assert_eq!(a.contact.as_deref(), Some("xmpp:new@x"));
        assert_eq!(x("gone", false, Some("  ")).status, sc(410));
        assert_eq!(x("gone", true, None).status, sc(410));
        assert_eq!(x("gone", false, None).contact, None);
    }

    #[test]
    fn conformance_b18_quiet_window_is_202() {
        assert_eq!(
            sip_answer_after_window(None, &XmppErrorPolicy::default()).status,
            sc(202)
        );
        let p = XmppErrorPolicy {
            accept_with_200: true,
            ..XmppErrorPolicy::default()
        };
        assert_eq!(sip_answer_after_window(None, &p).status, sc(200));
    }

    #[test]
    fn unknown_condition_and_timeouts_and_success() {
        assert_eq!(x("made-up", false, None).status, sc(400));
        assert_eq!(
            sip_timeout_to_xmpp().condition,
            Condition::RemoteServerTimeout
        );
        assert_eq!(sip_timeout_to_xmpp().error_type, ErrorType::Wait);
        assert_eq!(sip_status_to_xmpp(sc(200), None), None);
        assert_eq!(sip_status_to_xmpp(sc(180), None), None);
        let gone = sip_status_to_xmpp(sc(301), Some("<sip:new@s>")).unwrap();
        assert_eq!(gone.address.as_deref(), Some("<sip:new@s>"));
        assert_eq!(
            sip_status_to_xmpp(sc(404), Some("<sip:x@s>"))
                .unwrap()
                .address,
            None
        );
        let t = |detail| Response {
            trans_id: TransId::from_native("t"),
            status: Status::Failure,
            detail,
        };
        assert_eq!(
            stanza_error_for_response(&t(Some(NativeDetail::Timeout))),
            Some(sip_timeout_to_xmpp())
        );
        assert_eq!(
            stanza_error_for_response(&t(Some(NativeDetail::Xmpp("forbidden".into()))))
                .unwrap()
                .error_type,
            ErrorType::Auth
        );
        assert_eq!(
            stanza_error_for_response(&t(None)).unwrap().condition,
            Condition::InternalServerError
        );
        let ok = Response {
            status: Status::Indeterminate,
            ..t(None)
        };
        assert_eq!(stanza_error_for_response(&ok), None);
        assert_eq!(
            sip_answer_for_response(&ok, false, &XmppErrorPolicy::default()),
            None
        );
    }

    #[test]
    fn map_errors_map_once() {
        use crate::translate::xmpp::NotRepresentable;
        let a = status_for(&MapError::UnsatisfiableRequire(vec![
            "Locale.MustRenderKanji".into(),
        ]));
        assert_eq!(a.status, sc(415));
        assert!(a.warning.unwrap().contains("Locale.MustRenderKanji"));
        assert_eq!(a.accept, Some(ACCEPT));
        let n = status_for(&MapError::NotXmlRepresentable(
            NotRepresentable::BinaryTransferEncoding,
        ));
        assert_eq!((n.status, n.accept), (sc(415), Some(ACCEPT)));
        let big = MapError::TooLarge {
            size: 2000,
            limit: 1300,
        };
        assert_eq!(StatusCode::from(&big), sc(413));
        assert_eq!(stanza_error_for(&big).condition, Condition::PolicyViolation);
        assert_eq!(
            stanza_error_for(&MapError::InvalidE2e("x")).condition,
            Condition::BadRequest
        );
        assert_eq!(
            stanza_error_for(&MapError::UnsupportedType("a/b".into())).condition,
            Condition::NotAcceptable
        );
    }

    #[test]
    fn bad_tables_are_refused() {
        let with = |extra: &str| format!("{ERRORS_TABLE}\n{extra}");
        assert!(matches!(
            ErrorTables::parse(&with(
                "[[xmpp_to_sip]]\ncondition = \"nope\"\nsip = 400\nwhy = \"x\""
            )),
            Err(ErrorTableError::UnknownCondition(_))
        ));
        assert!(matches!(
            ErrorTables::parse(&with(
                "[[sip_to_xmpp]]\ncode = 404\ncondition = \"gone\"\ntype = \"cancel\"\nwhy = \"x\""
            )),
            Err(ErrorTableError::Duplicate(_))
        ));
        assert!(matches!(
            ErrorTables::parse(&with(
                "[[sip_to_xmpp]]\ncode = 200\ncondition = \"gone\"\ntype = \"cancel\"\nwhy = \"x\""
            )),
            Err(ErrorTableError::BadCode(200))
        ));
        assert!(matches!(
            ErrorTables::parse(&with(
                "[[sip_class_default]]\nclass = 7\ncondition = \"gone\"\ntype = \"cancel\"\nwhy = \"x\""
            )),
            Err(ErrorTableError::Classes)
        ));
        assert!(
            ErrorTables::parse(&with(
                "[[sip_to_xmpp]]\ncode = 499\ncondition = \"gone\"\ntype = \"later\"\nwhy = \"x\""
            ))
            .is_err()
        );
    }
}
