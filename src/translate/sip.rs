//! SIP MESSAGE ⇄ CPIM `message` (RFC 3428, RFC 3860 §3.3, RFC 7332 §5).
//!
//! Inbound: the Request-URI becomes the CPIM destination, From the source,
//! Max-Forwards the hop counter (decremented here), and the body with its
//! Content-Type and other content headers becomes [`Content`], byte for byte.
//! The SIP-specific identities (exact Request-URI, From and To header values)
//! travel beside the operation as [`SipHints`], so that a SIP⇄SIP relay can
//! preserve them; a binding that is not SIP ignores them.
//!
//! Outbound: a CPIM `message` becomes a new out-of-dialog MESSAGE on a new
//! leg (new Via branch, Call-ID and From tag, CSeq 1). The body and every
//! content header are copied unchanged; Content-Length is recomputed.

use bytes::Bytes;

use crate::cpim::{Content, ImUri, Message, TransId};
use crate::sip::{Method, OutgoingRequest, Request, SipUri, Transport};
use crate::translate::TranslateError;

/// Max-Forwards used when the inbound request had none (RFC 3261 §8.1.1.6,
/// §16.6 step 3; RFC 7332 §5).
pub const DEFAULT_MAX_FORWARDS: u32 = 70;

/// Content headers carried with the body, byte for byte (RFC 3261 §20;
/// RFC 1847 treats the whole entity as opaque).
pub const CONTENT_HEADERS: &[&str] = &[
    "Content-Disposition",
    "Content-Transfer-Encoding",
    "Content-Encoding",
    "Content-Language",
    "Content-ID",
    "Content-Description",
    "MIME-Version",
];

/// End-to-end request headers a relay copies to the new leg.
pub const CARRIED_HEADERS: &[&str] = &[
    "Date",
    "Subject",
    "Expires",
    "Priority",
    "In-Reply-To",
    "Reply-To",
];

/// The SIP-side identities of an inbound MESSAGE, kept beside the CPIM
/// operation so a SIP⇄SIP relay can preserve them exactly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SipHints {
    /// Request-URI as received.
    pub request_uri: String,
    /// From header value as received, without its tag.
    pub from: String,
    /// To header value as received, without any tag.
    pub to: String,
    /// End-to-end headers to carry ([`CARRIED_HEADERS`]), in order.
    pub carried: Vec<(String, String)>,
}

/// Identifiers of the new outbound leg (drawn from the gateway's RNG).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegIds {
    /// Via branch, with the RFC 3261 §8.1.1.7 magic cookie.
    pub branch: String,
    /// From tag.
    pub from_tag: String,
    /// Call-ID.
    pub call_id: String,
}

/// The gateway's own address on the outbound leg.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalContact {
    /// Host written into Via sent-by.
    pub host: String,
    /// Port written into Via sent-by.
    pub port: u16,
    /// Transport of the leg.
    pub transport: Transport,
}

/// Turns an inbound MESSAGE into a CPIM `message` plus the SIP hints.
///
/// The hop count is decremented here: `Max-Forwards: 0` is refused with
/// [`TranslateError::TooManyHops`]; an absent header counts as
/// [`DEFAULT_MAX_FORWARDS`] and is sent on as such (RFC 7332 §5 requires a
/// B2BUA to copy and decrement; RFC 3261 §16.6 sets 70 when absent).
pub fn request_to_cpim(req: &Request) -> Result<(Message, SipHints), TranslateError> {
    let max_forwards = match req.max_forwards() {
        Some(0) => return Err(TranslateError::TooManyHops),
        Some(n) => n - 1,
        None => DEFAULT_MAX_FORWARDS,
    };
    let destination = im_from_sip(req.uri(), "Request-URI")?;
    let source = im_from_sip(req.from().uri(), "From")?;
    let via = req.top_via();
    let trans_id = TransId::from_native(&format!(
        "{};{}",
        via.branch().unwrap_or(req.call_id()),
        via.sent_by()
    ));
    let body = req.body().clone();
    let content_type = match req.content_type() {
        Some(ct) => ct.to_string(),
        None if body.is_empty() => String::new(),
        None => return Err(TranslateError::MissingContentType),
    };
    let mut headers = Vec::new();
    for name in CONTENT_HEADERS {
        for value in req.header_all(name) {
            headers.push(((*name).to_string(), value.to_string()));
        }
    }
    let mut carried = Vec::new();
    for name in CARRIED_HEADERS {
        for value in req.header_all(name) {
            carried.push(((*name).to_string(), value.to_string()));
        }
    }
    let hints = SipHints {
        request_uri: req.uri().as_str().to_string(),
        from: strip_tag(req.from().raw()),
        to: strip_tag(req.to().raw()),
        carried,
    };
    let message = Message {
        source,
        destination,
        max_forwards,
        trans_id,
        content: Content {
            content_type,
            headers,
            body,
        },
    };
    Ok((message, hints))
}

/// Builds the outbound MESSAGE for a CPIM `message`.
///
/// With `hints` (SIP⇄SIP) the Request-URI, From and To are the inbound
/// values; without, they are derived from the `im:` source and destination
/// as `sip:` URIs (RFC 3860 §3.2 ⇄ RFC 3261 §19.1). `extra` headers (the
/// gateway's loop marker) are appended before the content headers.
pub fn cpim_to_request(
    msg: &Message,
    hints: Option<&SipHints>,
    local: &LocalContact,
    ids: &LegIds,
    extra: &[(String, String)],
) -> OutgoingRequest {
    let (uri, from, to) = match hints {
        Some(h) => (h.request_uri.clone(), h.from.clone(), h.to.clone()),
        None => {
            let dst = format!(
                "sip:{}@{}",
                msg.destination.user(),
                msg.destination.domain()
            );
            let src = format!("<sip:{}@{}>", msg.source.user(), msg.source.domain());
            (dst.clone(), src, format!("<{dst}>"))
        }
    };
    let mut headers: Vec<(String, String)> = Vec::with_capacity(12 + msg.content.headers.len());
    headers.push((
        "Via".into(),
        format!(
            "SIP/2.0/{} {}:{};branch={};rport",
            local.transport, local.host, local.port, ids.branch
        ),
    ));
    headers.push(("Max-Forwards".into(), msg.max_forwards.to_string()));
    headers.push(("From".into(), format!("{from};tag={}", ids.from_tag)));
    headers.push(("To".into(), to));
    headers.push(("Call-ID".into(), ids.call_id.clone()));
    headers.push(("CSeq".into(), "1 MESSAGE".into()));
    if let Some(h) = hints {
        headers.extend(h.carried.iter().cloned());
    }
    headers.extend(extra.iter().cloned());
    if !msg.content.content_type.is_empty() {
        headers.push(("Content-Type".into(), msg.content.content_type.clone()));
    }
    headers.extend(msg.content.headers.iter().cloned());
    OutgoingRequest {
        method: Method::Message,
        uri,
        headers,
        body: Bytes::clone(&msg.content.body),
    }
}

/// The `im:` form of a SIP address (RFC 3860 §3.2): user and host, without
/// port or parameters. `sips:` is refused until TLS exists; `im:` passes.
fn im_from_sip(uri: &SipUri, field: &'static str) -> Result<ImUri, TranslateError> {
    match uri.scheme() {
        "sip" | "im" => {}
        "sips" => return Err(TranslateError::SipsWithoutTls),
        other => return Err(TranslateError::UnsupportedScheme(other.to_string())),
    }
    let user = uri
        .user()
        .filter(|u| !u.is_empty())
        .ok_or(TranslateError::NoUser(field))?;
    ImUri::new(user, uri.host()).map_err(|e| TranslateError::BadAddress {
        field,
        reason: e.to_string(),
    })
}

/// Removes a `;tag=` header parameter from a From/To value, leaving every
/// other byte as it was. Parameters inside `<...>` belong to the URI and are
/// never touched (RFC 3261 §20.10).
pub fn strip_tag(raw: &str) -> String {
    let params_start = raw.rfind('>').map(|i| i + 1).unwrap_or(0);
    let (head, params) = raw.split_at(params_start);
    let mut out = String::with_capacity(raw.len());
    out.push_str(head);
    // When there are no angle brackets, every `;param` is a header parameter.
    let mut first = true;
    for part in params.split(';') {
        if first {
            out.push_str(part);
            first = false;
            continue;
        }
        let name = part.split('=').next().unwrap_or("").trim();
        if name.eq_ignore_ascii_case("tag") {
            continue;
        }
        out.push(';');
        out.push_str(part);
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_tag_keeps_everything_else() {
        assert_eq!(
            strip_tag("\"Al\" <sip:a@b;tag=uri>;tag=x;foo=1"),
            "\"Al\" <sip:a@b;tag=uri>;foo=1"
        );
        assert_eq!(strip_tag("<sip:a@b>;TAG=x"), "<sip:a@b>");
        assert_eq!(strip_tag("sip:a@b;tag=x"), "sip:a@b");
        assert_eq!(strip_tag("<sip:a@b>"), "<sip:a@b>");
    }
}
