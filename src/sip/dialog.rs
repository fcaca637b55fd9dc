//! SIP dialog state (RFC 3261 §12) as SUBSCRIBE/NOTIFY needs it (RFC 6665
//! §4.1.2.4, §4.2.1): the identifiers, the two CSeq spaces, the remote
//! target and the route set, and building in-dialog requests from them.
//!
//! Plain data, so that a subscription's dialog can be written to the state
//! store and restored with its CSeq where it was (architecture §6).
//!
//! Routing: the route set is treated as loose-routing (RFC 3261 §12.2.1.1,
//! first route with `;lr`); strict routers (RFC 2543) are not supported and
//! are routed as if loose.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use crate::sip::{Method, Request};

/// Why a dialog could not be formed from a request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DialogError {
    /// The request has no usable Contact (RFC 3261 §12.1.1: a dialog-
    /// creating request MUST carry exactly one Contact URI).
    #[error("no usable Contact header")]
    NoContact,
    /// The request has no From tag (RFC 3261 §8.1.1.3).
    #[error("From header has no tag")]
    NoRemoteTag,
}

/// One dialog, from our side.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialog {
    /// Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag (empty while a subscriber waits for the first NOTIFY).
    pub remote_tag: String,
    /// Our URI (the From of our requests, without tag), in `<...>` form or
    /// as written.
    pub local_uri: String,
    /// The peer's URI (the To of our requests, without tag).
    pub remote_uri: String,
    /// The CSeq number of our last request in this dialog.
    pub local_seq: u32,
    /// The CSeq number of the peer's last request, once one arrived.
    pub remote_seq: Option<u32>,
    /// Where in-dialog requests go: the peer's Contact URI.
    pub remote_target: String,
    /// Route values (without `<>` stripped: as written), in the order they
    /// go into `Route`.
    pub route_set: Vec<String>,
}

/// What an in-dialog request must carry, besides Via (added by the sender,
/// which owns the branch) and Contact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InDialogRequest {
    /// The Request-URI (the remote target; RFC 3261 §12.2.1.1).
    pub uri: String,
    /// The URI to send to when resolving the next hop: the first route's
    /// URI, or the remote target when there is no route set.
    pub next_hop_uri: String,
    /// From, To, Call-ID, CSeq, Max-Forwards and Route headers, in order.
    pub headers: Vec<(String, String)>,
    /// The CSeq number used.
    pub seq: u32,
}

impl Dialog {
    /// The dialog a UAS forms when it answers a dialog-creating request
    /// (a SUBSCRIBE) with a 2xx carrying `local_tag` (RFC 3261 §12.1.1):
    /// route set = Record-Route in order, remote target = Contact, remote
    /// CSeq = the request's.
    ///
    /// `local_seq` starts at a value the caller picks (RFC 3261 §8.1.1.5).
    ///
    /// # Errors
    /// [`DialogError`] when Contact or the From tag is missing.
    pub fn as_uas(req: &Request, local_tag: &str, local_seq: u32) -> Result<Dialog, DialogError> {
        let remote_tag = req.from().tag().ok_or(DialogError::NoRemoteTag)?;
        let contact = req
            .header("Contact")
            .and_then(first_uri)
            .ok_or(DialogError::NoContact)?;
        Ok(Dialog {
            call_id: req.call_id().to_string(),
            local_tag: local_tag.to_string(),
            remote_tag: remote_tag.to_string(),
            local_uri: strip_tag(req.to().raw()),
            remote_uri: strip_tag(req.from().raw()),
            local_seq,
            remote_seq: Some(req.cseq().seq()),
            remote_target: contact,
            route_set: route_values(req.header_all("Record-Route")),
        })
    }

    /// The dialog a subscriber forms when a NOTIFY arrives for its
    /// SUBSCRIBE (RFC 6665 §4.1.2.4): the NOTIFY is treated as the
    /// dialog-creating request received by a UAS, so the route set is its
    /// Record-Route in order, the remote target its Contact and the remote
    /// tag its From tag. `self` holds what the SUBSCRIBE set (Call-ID, local
    /// tag and URI, remote URI, local CSeq).
    ///
    /// # Errors
    /// [`DialogError`] when the NOTIFY has no Contact or From tag.
    pub fn confirm_with_notify(&mut self, notify: &Request) -> Result<(), DialogError> {
        let remote_tag = notify.from().tag().ok_or(DialogError::NoRemoteTag)?;
        let contact = notify
            .header("Contact")
            .and_then(first_uri)
            .ok_or(DialogError::NoContact)?;
        self.remote_tag = remote_tag.to_string();
        self.remote_target = contact;
        self.route_set = route_values(notify.header_all("Record-Route"));
        self.remote_seq = Some(notify.cseq().seq());
        Ok(())
    }

    /// Checks an in-dialog request's CSeq (RFC 3261 §12.2.2): lower than the
    /// last one seen means out of order (answer 500). Records it otherwise.
    /// A target-refresh request's Contact updates the remote target.
    pub fn accept_remote(&mut self, req: &Request) -> bool {
        let seq = req.cseq().seq();
        if self.remote_seq.is_some_and(|last| seq < last) {
            return false;
        }
        self.remote_seq = Some(seq);
        if let Some(c) = req.header("Contact").and_then(first_uri) {
            self.remote_target = c;
        }
        true
    }

    /// Whether `req` belongs to this dialog from the peer's side: same
    /// Call-ID, its From tag is the remote tag and its To tag is ours.
    pub fn matches_incoming(&self, req: &Request) -> bool {
        req.call_id() == self.call_id
            && req.from().tag() == Some(self.remote_tag.as_str())
            && req.to().tag() == Some(self.local_tag.as_str())
    }

    /// Builds the next in-dialog request of `method`, taking the next
    /// local CSeq number (RFC 3261 §12.2.1.1).
    pub fn next_request(&mut self, method: &Method) -> InDialogRequest {
        self.local_seq = self.local_seq.wrapping_add(1).max(1);
        let mut headers = Vec::with_capacity(6 + self.route_set.len());
        headers.push((
            "From".to_string(),
            format!("{};tag={}", self.local_uri, self.local_tag),
        ));
        let to = if self.remote_tag.is_empty() {
            self.remote_uri.clone()
        } else {
            format!("{};tag={}", self.remote_uri, self.remote_tag)
        };
        headers.push(("To".to_string(), to));
        headers.push(("Call-ID".to_string(), self.call_id.clone()));
        headers.push((
            "CSeq".to_string(),
            format!("{} {}", self.local_seq, method.as_str()),
        ));
        headers.push(("Max-Forwards".to_string(), "70".to_string()));
        for r in &self.route_set {
            headers.push(("Route".to_string(), r.clone()));
        }
        let next_hop_uri = self
            .route_set
            .first()
            .and_then(|r| first_uri(r))
            .unwrap_or_else(|| self.remote_target.clone());
        InDialogRequest {
            uri: self.remote_target.clone(),
            next_hop_uri,
            headers,
            seq: self.local_seq,
        }
    }
}

/// The URI of the first name-addr in a header value: inside `<…>` when
/// bracketed, else up to the first `;`, `,` or whitespace.
pub fn first_uri(value: &str) -> Option<String> {
    let v = value.trim();
    let uri = match (v.find('<'), v.find('>')) {
        (Some(lt), Some(gt)) if lt < gt => v.get(lt.saturating_add(1)..gt)?,
        _ => v
            .split([';', ',', ' ', '\t'])
            .next()
            .filter(|u| !u.is_empty())?,
    };
    let uri = uri.trim();
    (!uri.is_empty() && uri != "*").then(|| uri.to_string())
}

/// Splits Record-Route values (each may list several, comma-separated
/// outside `<>` and quotes) into single route values.
fn route_values<'a>(values: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    for v in values {
        let mut depth_angle = false;
        let mut quoted = false;
        let mut start = 0;
        for (i, c) in v.char_indices() {
            match c {
                '"' if !depth_angle => quoted = !quoted,
                '<' if !quoted => depth_angle = true,
                '>' if !quoted => depth_angle = false,
                ',' if !quoted && !depth_angle => {
                    push_trimmed(&mut out, v.get(start..i));
                    start = i.saturating_add(1);
                }
                _ => {}
            }
        }
        push_trimmed(&mut out, v.get(start..));
    }
    out
}

fn push_trimmed(out: &mut Vec<String>, s: Option<&str>) {
    if let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) {
        out.push(s.to_string());
    }
}

/// A From/To value without its `tag` parameter.
fn strip_tag(raw: &str) -> String {
    // The tag is a header parameter: after the closing '>' when bracketed.
    let params_from = raw.rfind('>').map_or(0, |i| i.saturating_add(1));
    let (head, params) = raw.split_at(params_from.min(raw.len()));
    let kept: Vec<&str> = params
        .split(';')
        .enumerate()
        .filter(|(i, p)| *i == 0 || !p.trim().to_ascii_lowercase().starts_with("tag="))
        .map(|(_, p)| p)
        .collect();
    format!("{head}{}", kept.join(";"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use crate::sip::{Limits, Message, Transport, parse};

    fn request(text: &str) -> Request {
        let bytes = bytes::Bytes::from(text.replace('\n', "\r\n"));
        match parse(bytes, Transport::Udp, &Limits::default()) {
            Ok(Message::Request(r)) => r,
            other => panic!("not a request: {other:?}"),
        }
    }

    const SUBSCRIBE: &str = "SUBSCRIBE sip:bob@gw.test SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5081;branch=z9hG4bK1
Record-Route: <sip:p1.test;lr>, <sip:p2.test;lr>
Record-Route: <sip:p3.test;lr>
From: \"Alice\" <sip:alice@sip.test>;tag=abc
To: <sip:bob@gw.test>
Call-ID: c1@host
CSeq: 7 SUBSCRIBE
Contact: <sip:alice@127.0.0.1:5081;transport=udp>
Event: presence
Max-Forwards: 70
Content-Length: 0

";

    #[test]
    fn uas_dialog_takes_route_set_in_order_and_contact() {
        let req = request(SUBSCRIBE);
        let mut d = Dialog::as_uas(&req, "xyz", 100).unwrap();
        assert_eq!(d.remote_tag, "abc");
        assert_eq!(d.remote_seq, Some(7));
        assert_eq!(d.remote_target, "sip:alice@127.0.0.1:5081;transport=udp");
        assert_eq!(
            d.route_set,
            ["<sip:p1.test;lr>", "<sip:p2.test;lr>", "<sip:p3.test;lr>"]
        );
        assert_eq!(d.local_uri, "<sip:bob@gw.test>");
        let r = d.next_request(&Method::Notify);
        assert_eq!(r.seq, 101);
        assert_eq!(r.uri, "sip:alice@127.0.0.1:5081;transport=udp");
        assert_eq!(r.next_hop_uri, "sip:p1.test;lr");
        assert!(r.headers.contains(&("CSeq".into(), "101 NOTIFY".into())));
        assert!(
            r.headers
                .contains(&("From".into(), "<sip:bob@gw.test>;tag=xyz".into()))
        );
        assert!(
            r.headers
                .contains(&("To".into(), "\"Alice\" <sip:alice@sip.test>;tag=abc".into()))
        );
        assert_eq!(d.next_request(&Method::Notify).seq, 102);
    }

    #[test]
    fn out_of_order_remote_cseq_is_refused() {
        let req = request(SUBSCRIBE);
        let mut d = Dialog::as_uas(&req, "xyz", 1).unwrap();
        let older = request(&SUBSCRIBE.replace("CSeq: 7", "CSeq: 6"));
        assert!(!d.accept_remote(&older));
        let newer = request(&SUBSCRIBE.replace("CSeq: 7", "CSeq: 8"));
        assert!(d.accept_remote(&newer));
        assert_eq!(d.remote_seq, Some(8));
    }

    #[test]
    fn missing_contact_or_tag_is_an_error() {
        let no_contact =
            request(&SUBSCRIBE.replace("Contact: <sip:alice@127.0.0.1:5081;transport=udp>\n", ""));
        assert_eq!(
            Dialog::as_uas(&no_contact, "t", 1),
            Err(DialogError::NoContact)
        );
        let no_tag = request(&SUBSCRIBE.replace(";tag=abc", ""));
        assert_eq!(
            Dialog::as_uas(&no_tag, "t", 1),
            Err(DialogError::NoRemoteTag)
        );
    }

    #[test]
    fn first_uri_forms() {
        assert_eq!(first_uri("<sip:a@b;lr>;x=1").as_deref(), Some("sip:a@b;lr"));
        assert_eq!(first_uri("sip:a@b;expires=3").as_deref(), Some("sip:a@b"));
        assert_eq!(first_uri("*"), None);
        assert_eq!(first_uri("  "), None);
    }
}
