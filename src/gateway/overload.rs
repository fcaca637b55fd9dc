//! Early load shedding (RFC 3261 §21.5.4; the "503 with Retry-After"
//! overload signal that RFC 7339 §1 builds on): when the relay table is at
//! its bound (`sip.max_transactions`), a new MESSAGE, or a SUBSCRIBE that
//! would create a dialog, is answered 503 with Retry-After from a
//! header-only scan ([`crate::sip::salvage`], which stops at the blank line
//! and never reads the body), before the full parse, the CPIM translation,
//! policy and routing.
//!
//! The 503 goes through a server transaction keyed like the full parse
//! would key it (RFC 3261 §17.2.3), so a retransmission of a request that
//! was accepted before the bound was reached is still absorbed by its own
//! transaction rather than answered twice, and a retransmission of a shed
//! request gets the same 503 again. Requests whose key cannot be read
//! reliably from the headers alone (no RFC 3261 branch, a Via with unusual
//! spacing) go the normal way and meet the relay-table check after the full
//! parse (counted as `shed.relay_table`).
//!
//! The server transaction table has its own bound
//! (`sip.max_server_transactions`): at it, every new request but ACK is
//! answered 503 statelessly (RFC 3261 §8.2.7), without a transaction, so the
//! table cannot grow however fast requests arrive (counted as
//! `shed.stateless`).
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::SocketAddr;
use std::time::Instant;

use crate::gateway::{Gateway, Output};
use crate::sip::transaction::{ServerKey, ServerVerdict};
use crate::sip::{Method, OutgoingResponse, Salvaged, StatusCode, Transmit, Transport};

/// Retry-After (seconds) on a shed request: how long a sender should wait
/// before offering it again (RFC 3261 §20.33).
pub const SHED_RETRY_AFTER_SECS: u32 = 5;

/// What the header scan decided about an input.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Shed {
    /// Not shed: parse and handle it normally.
    No,
    /// Answered 503 (or absorbed as a retransmission of a shed request).
    Done,
}

impl Gateway {
    /// Whether new relays are refused: the relay table is at its bound.
    pub(super) fn overloaded(&self) -> bool {
        self.pending_relays() >= self.config.max_pending_relays
    }

    /// When overloaded, sheds a request that would start new work, from
    /// its headers only. See the module docs.
    pub(super) fn shed_from_headers(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        transport: Transport,
        bytes: &[u8],
    ) -> Shed {
        if self.txn.server_count() >= self.config.max_server_transactions {
            return self.shed_stateless(remote, transport, bytes);
        }
        if !self.overloaded() {
            return Shed::No;
        }
        let Some(s) = crate::sip::salvage(bytes) else {
            return Shed::No;
        };
        let Some((key, method)) = sheddable(&s) else {
            return Shed::No;
        };
        match self
            .txn
            .handle_request(now, key, &method, transport, remote)
        {
            ServerVerdict::New(handle) => {
                let Some(resp) =
                    self.shed_response(&s, "overloaded: relay table full, retry later")
                else {
                    // Unreachable (salvage returned the mandatory headers);
                    // answer nothing rather than leave the transaction open.
                    return Shed::Done;
                };
                let mut buf = Vec::with_capacity(512);
                resp.encode(&mut buf);
                if let Err(e) =
                    self.txn
                        .respond(now, handle, StatusCode::SERVICE_UNAVAILABLE, buf.into())
                {
                    tracing::debug!(error = %e, "shed answer on a finished transaction");
                }
                self.stats.sip_requests_received += 1;
                self.stats.refused_overload += 1;
                self.stats.shed.headers += 1;
                self.record_sip_refusal(StatusCode::SERVICE_UNAVAILABLE);
                Shed::Done
            }
            ServerVerdict::Retransmission => {
                self.stats.sip_requests_received += 1;
                self.stats.sip_retransmissions_absorbed += 1;
                Shed::Done
            }
            ServerVerdict::AckAbsorbed | ServerVerdict::StrayAck => Shed::Done,
        }
    }

    /// The server transaction table is full: a request other than ACK is
    /// answered 503 without a transaction; anything else (responses, ACK,
    /// what the scan cannot read) takes the normal path.
    fn shed_stateless(&mut self, remote: SocketAddr, transport: Transport, bytes: &[u8]) -> Shed {
        let Some(s) = crate::sip::salvage(bytes) else {
            return Shed::No;
        };
        if s.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case("ACK"))
        {
            return Shed::No;
        }
        let Some(resp) = self.shed_response(&s, "overloaded: transaction table full, retry later")
        else {
            return Shed::No;
        };
        let mut buf = Vec::with_capacity(512);
        resp.encode(&mut buf);
        self.out.push_back(Output::SendSip(Transmit {
            dst: remote,
            transport,
            payload: buf.into(),
        }));
        self.stats.sip_requests_received += 1;
        self.stats.shed.stateless += 1;
        self.record_sip_refusal(StatusCode::SERVICE_UNAVAILABLE);
        Shed::Done
    }

    /// 503 with Retry-After and a Warning, built from the scanned headers.
    fn shed_response(&mut self, s: &Salvaged, why: &str) -> Option<OutgoingResponse> {
        let tag = self.random_hex(10);
        let mut resp = s.response(StatusCode::SERVICE_UNAVAILABLE, Some(&tag))?;
        resp.push_header("Retry-After", SHED_RETRY_AFTER_SECS.to_string());
        resp.push_header("Warning", self.warning(why));
        Some(resp)
    }
}

/// The server transaction key and method of a request worth shedding: a
/// MESSAGE, or a SUBSCRIBE without a To tag (a new dialog), whose top Via
/// carries an RFC 3261 branch and a plainly written sent-by.
fn sheddable(s: &Salvaged) -> Option<(ServerKey, Method)> {
    let method = Method::parse(s.method.as_deref()?)?;
    match method {
        Method::Message => {}
        Method::Subscribe if !to_has_tag(s.to.as_deref()?) => {}
        _ => return None,
    }
    let (branch, sent_by) = top_via(s.vias.first()?)?;
    Some((ServerKey::new(branch, sent_by, &method), method))
}

/// `(branch, sent-by)` of a Via value written the usual way:
/// `SIP/2.0/UDP host:port;branch=z9hG4bK...`. Anything else (LWS inside
/// the protocol or the sent-by, an RFC 2543 branch) gives `None`.
fn top_via(via: &str) -> Option<(&str, &str)> {
    let (protocol, rest) = via.trim().split_once([' ', '\t'])?;
    if protocol.split('/').count() != 3 {
        return None;
    }
    let mut parts = rest.trim_start().split(';');
    let sent_by = parts.next()?.trim_end();
    if sent_by.is_empty() || sent_by.contains([' ', '\t', ',']) {
        return None;
    }
    let branch = parts.find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("branch")
            .then(|| value.trim())
    })?;
    branch.starts_with("z9hG4bK").then_some((branch, sent_by))
}

/// Whether a To value carries a tag parameter after the URI.
fn to_has_tag(to: &str) -> bool {
    let params = to.rfind('>').and_then(|p| to.get(p..)).unwrap_or(to);
    params.split(';').skip(1).any(|p| {
        p.split('=')
            .next()
            .is_some_and(|n| n.trim().eq_ignore_ascii_case("tag"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_via_reads_the_usual_form_only() {
        assert_eq!(
            top_via("SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport"),
            Some(("z9hG4bK-1", "127.0.0.1:5061"))
        );
        assert_eq!(
            top_via("SIP/2.0/TCP [::1]:5060 ;received=x; BRANCH = z9hG4bKx"),
            Some(("z9hG4bKx", "[::1]:5060"))
        );
        assert_eq!(top_via("SIP/2.0/UDP host;branch=1234"), None, "RFC 2543");
        assert_eq!(top_via("SIP / 2.0 / UDP host;branch=z9hG4bK1"), None);
        assert_eq!(top_via("SIP/2.0/UDP host : 5060;branch=z9hG4bK1"), None);
        assert_eq!(top_via("SIP/2.0/UDP host"), None);
    }

    #[test]
    fn to_tag_is_seen_after_the_uri_only() {
        assert!(to_has_tag("<sip:bob@example.test>;tag=abc"));
        assert!(!to_has_tag("<sip:bob@example.test;tag=abc>"));
        assert!(!to_has_tag("sip:bob@example.test"));
    }
}
