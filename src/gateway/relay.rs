//! SIP⇄SIP pager-mode relay through CPIM (B2BUA style, RFC 7332 §5): the
//! checks before a MESSAGE is accepted, the new outbound leg, and the answer
//! upstream when the leg ends.

use std::time::Instant;

use crate::gateway::{Gateway, ServerHandle};
use crate::gateway::{GatewayEvent, LOOP_HEADER, Output, Pending};
use crate::sip::transaction::ClientKey;
use crate::sip::{Method, Request, Response, StatusCode, Transport};
use crate::translate::sip::{LegIds, LocalContact, cpim_to_request, request_to_cpim};
use crate::translate::status::{cpim_response, cpim_timeout};

/// How an outbound leg ended.
#[derive(Clone, Copy, Debug)]
pub(super) enum Outcome {
    /// A final response arrived.
    Status(StatusCode),
    /// Timer F fired (RFC 3261 §17.1.2.2).
    Timeout,
    /// The next hop could not be reached (RFC 3261 §17.1.4).
    TransportError,
}

/// Retry-After (seconds) on the gateway's own 503s.
const RETRY_AFTER_SECS: u32 = 5;

/// Headers of a downstream final response that are copied to the upstream
/// answer: Warning and Retry-After explain a failure, Unsupported goes with
/// 420, Contact with 3xx, Accept/Accept-Encoding/Accept-Language with 415.
pub(super) fn headers_to_carry_back(resp: &Response) -> Vec<(String, String)> {
    let mut names: Vec<&str> = vec!["Warning", "Retry-After"];
    match resp.status().as_u16() {
        300..=399 => names.push("Contact"),
        415 => names.extend(["Accept", "Accept-Encoding", "Accept-Language"]),
        420 => names.push("Unsupported"),
        _ => {}
    }
    let mut out = Vec::new();
    for n in names {
        for v in resp.header_all(n) {
            out.push((n.to_string(), v.to_string()));
        }
    }
    out
}

impl Gateway {
    /// A new MESSAGE: check, translate, route, and start the outbound leg.
    pub(super) fn relay(
        &mut self,
        now: Instant,
        remote: std::net::SocketAddr,
        handle: ServerHandle,
        req: Request,
    ) {
        // RFC 3261 §8.2.2.3: as the UAS of the inbound leg we support no
        // extensions, so any Require is refused.
        let required: Vec<String> = req
            .header_all("Require")
            .chain(req.header_all("Proxy-Require"))
            .map(str::to_string)
            .collect();
        if !required.is_empty() {
            self.stats.refused_extension += 1;
            let hdrs = vec![("Unsupported".to_string(), required.join(", "))];
            return self.refuse(
                now,
                handle,
                &req,
                StatusCode::BAD_EXTENSION,
                "unsupported extension",
                hdrs,
            );
        }
        let node = self.config.node_id.clone();
        if req
            .header_all(LOOP_HEADER)
            .any(|v| v.split(',').any(|n| n.trim() == node))
        {
            self.stats.refused_loop += 1;
            return self.refuse(
                now,
                handle,
                &req,
                StatusCode::LOOP_DETECTED,
                "message looped back through this gateway",
                Vec::new(),
            );
        }
        let (msg, hints) = match request_to_cpim(&req) {
            Ok(v) => v,
            Err(e) => {
                let status = StatusCode::from(&e);
                if status == StatusCode::TOO_MANY_HOPS {
                    self.stats.refused_too_many_hops += 1;
                } else {
                    self.stats.refused_translation += 1;
                }
                return self.refuse(now, handle, &req, status, &e.to_string(), Vec::new());
            }
        };
        let checked = self
            .policy
            .check_source(remote.ip(), msg.source.domain())
            .map(|_| ())
            .and_then(|()| self.policy.check_destination(msg.destination.domain()));
        if let Err(refusal) = checked {
            self.stats.refused_policy += 1;
            tracing::info!(peer = %remote, reason = %refusal, "policy refusal");
            return self.refuse(
                now,
                handle,
                &req,
                StatusCode::from(&refusal),
                &refusal.to_string(),
                Vec::new(),
            );
        }
        let dest_domain = msg.destination.domain().to_string();
        let Some(route) = self.config.router.lookup(&dest_domain).cloned() else {
            self.stats.refused_no_route += 1;
            let why = if self
                .config
                .local_domains
                .iter()
                .any(|d| d.matches(&dest_domain))
            {
                format!("{dest_domain} is local but no route delivers to its users")
            } else {
                format!("no route to {dest_domain}")
            };
            return self.refuse(now, handle, &req, StatusCode::NOT_FOUND, &why, Vec::new());
        };
        if self.pending.len() >= self.config.max_pending_relays {
            self.stats.refused_overload += 1;
            let hdrs = vec![("Retry-After".to_string(), RETRY_AFTER_SECS.to_string())];
            return self.refuse(
                now,
                handle,
                &req,
                StatusCode::SERVICE_UNAVAILABLE,
                "relay table full",
                hdrs,
            );
        }
        let hop = route.next_hop;
        let ids = LegIds {
            branch: format!("z9hG4bK{}", self.random_hex(10)),
            from_tag: self.random_hex(8),
            call_id: format!("{}@{}", self.random_hex(12), self.config.advertise_host),
        };
        let local = LocalContact {
            host: self.config.advertise_host.clone(),
            port: self.port_for(hop.transport),
            transport: hop.transport,
        };
        let mut markers: Vec<(String, String)> = req
            .header_all(LOOP_HEADER)
            .map(|v| (LOOP_HEADER.to_string(), v.to_string()))
            .collect();
        markers.push((LOOP_HEADER.to_string(), node));
        let out = cpim_to_request(&msg, Some(&hints), &local, &ids, &markers);
        let mut buf = Vec::with_capacity(out.body.len() + 512);
        out.encode(&mut buf);
        let key = ClientKey::new(&ids.branch, &Method::Message);
        match self
            .txn
            .start_client(now, key, buf.into(), hop.addr, hop.transport)
        {
            Ok(client) => {
                self.stats.messages_relayed += 1;
                let to_tag = self.random_hex(10);
                self.pending.insert(
                    client,
                    Pending {
                        server: handle,
                        request: req,
                        to_tag,
                        trans_id: msg.trans_id,
                        next_hop: hop,
                        started: now,
                    },
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not start client transaction");
                self.refuse(
                    now,
                    handle,
                    &req,
                    StatusCode::SERVER_INTERNAL_ERROR,
                    "internal error",
                    Vec::new(),
                );
            }
        }
    }

    /// Answers the inbound leg of a finished relay.
    pub(super) fn finish_relay(
        &mut self,
        now: Instant,
        client: crate::sip::transaction::ClientHandle,
        outcome: Outcome,
    ) {
        let Some(p) = self.pending.remove(&client) else {
            return;
        };
        let carried = self.final_headers.remove(&client).unwrap_or_default();
        let (response, downstream, extra) = match outcome {
            Outcome::Status(s) => (
                cpim_response(p.trans_id.clone(), s),
                Some(s.as_u16()),
                carried,
            ),
            Outcome::Timeout => {
                self.stats.messages_timeout += 1;
                let w = self.warning("next hop did not answer (timer F)");
                (
                    cpim_timeout(p.trans_id.clone()),
                    None,
                    vec![("Warning".into(), w)],
                )
            }
            Outcome::TransportError => {
                self.stats.messages_transport_error += 1;
                let w = self.warning("next hop unreachable");
                let hdrs = vec![
                    ("Retry-After".into(), RETRY_AFTER_SECS.to_string()),
                    ("Warning".into(), w),
                ];
                let resp = crate::cpim::Response {
                    trans_id: p.trans_id.clone(),
                    status: crate::cpim::Status::Failure,
                    detail: Some(crate::cpim::NativeDetail::Sip(503)),
                };
                // Our own 503 (not a relayed one): bypass the relay table.
                self.answer(now, &p, StatusCode::SERVICE_UNAVAILABLE, hdrs, None);
                self.count_outcome(resp.status);
                return;
            }
        };
        let status = self.table.sip_status(&response);
        self.count_outcome(response.status);
        self.answer(now, &p, status, extra, downstream);
    }

    fn answer(
        &mut self,
        now: Instant,
        p: &Pending,
        status: StatusCode,
        extra: Vec<(String, String)>,
        downstream: Option<u16>,
    ) {
        self.respond_with_tag(now, p.server, &p.request, status, &p.to_tag, extra);
        let elapsed = now.saturating_duration_since(p.started);
        self.out
            .push_back(Output::Event(GatewayEvent::RelayFinished {
                downstream,
                upstream: status.as_u16(),
                elapsed,
            }));
    }

    fn count_outcome(&mut self, status: crate::cpim::Status) {
        match status {
            crate::cpim::Status::Success => self.stats.messages_success += 1,
            crate::cpim::Status::Indeterminate => self.stats.messages_indeterminate += 1,
            crate::cpim::Status::Failure => self.stats.messages_failure += 1,
        }
    }

    fn refuse(
        &mut self,
        now: Instant,
        handle: ServerHandle,
        req: &Request,
        status: StatusCode,
        reason: &str,
        mut extra: Vec<(String, String)>,
    ) {
        extra.push(("Warning".into(), self.warning(reason)));
        self.respond(now, handle, req, status, extra);
        self.out.push_back(Output::Event(GatewayEvent::Refused {
            status: status.as_u16(),
            reason: reason.to_string(),
        }));
    }

    fn port_for(&self, transport: Transport) -> u16 {
        self.config
            .ports
            .iter()
            .find(|(t, _)| *t == transport)
            .or_else(|| self.config.ports.first())
            .map(|(_, p)| *p)
            .unwrap_or(5060)
    }
}
