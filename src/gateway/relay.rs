//! SIP⇄SIP pager-mode relay through CPIM (B2BUA style, RFC 7332 §5): the
//! checks before a MESSAGE is accepted, the choice of next hop (static
//! route, local domain, DNS plan, default route), the outbound leg with
//! failover across DNS candidates, and the answer upstream when it ends.
//! Legs over TLS name the server certificate they expect (RFC 5922 §4) and
//! leave as `Output::SendSipTls`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::gateway::policy::{PeerIdentity, Refusal};
use crate::gateway::{
    Gateway, GatewayEvent, LOOP_HEADER, Origin, Output, Pending, Relay, Resolving, ServerHandle,
};
use crate::route::{Binding, NextHop, Plan, Resolution, RouteError, Service, SipTransport, Target};
use crate::sip::transaction::{ClientHandle, ClientKey};
use crate::sip::{Method, Request, Response, StatusCode, Transmit, Transport};
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
    /// A new MESSAGE: check, translate, route, and start the outbound leg
    /// (or a DNS resolution that will start it).
    pub(super) fn relay(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        identity: Option<&PeerIdentity>,
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
            let why = "message looped back through this gateway";
            return self.refuse(
                now,
                handle,
                &req,
                StatusCode::LOOP_DETECTED,
                why,
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
        let checked = self.policy.admit(
            now,
            remote.ip(),
            identity,
            msg.source.domain(),
            Some(msg.destination.domain()),
        );
        if let Err(refusal) = checked {
            return self.refuse_by_policy(now, remote, handle, &req, &refusal);
        }
        // The backstop of the header-only shed in `handle_sip` (requests it
        // could not classify from their headers end up here).
        if self.pending_relays() >= self.config.max_pending_relays {
            self.stats.refused_overload += 1;
            self.stats.shed.relay_table += 1;
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
        let to_tag = self.random_hex(10);
        let request_uri = req.uri().clone();
        let relay = Relay {
            origin: Origin::Sip {
                server: handle,
                request: Box::new(req),
                to_tag,
            },
            request_uri,
            call_id_hint: None,
            msg,
            hints,
            started: now,
        };
        self.route_relay(now, relay);
    }

    /// Answers a policy refusal on the SIP binding and counts it under its
    /// rule: 403 with a Warning, or for a rate limit 503 with Retry-After
    /// (RFC 3261 §21.5.4; at least 1 s, when a token is back).
    pub(super) fn refuse_by_policy(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        handle: ServerHandle,
        req: &Request,
        refusal: &Refusal,
    ) {
        self.stats.count_policy_refusal(refusal);
        let mut hdrs = Vec::new();
        if let Some(secs) = refusal.retry_after_secs() {
            self.stats.refused_rate_limit += 1;
            hdrs.push(("Retry-After".to_string(), secs.max(1).to_string()));
            tracing::debug!(peer = %remote, reason = %refusal, "rate limited");
        } else {
            self.stats.refused_policy += 1;
            tracing::info!(peer = %remote, reason = %refusal, "policy refusal");
        }
        let status = refusal.sip_status();
        self.refuse(now, handle, req, status, &refusal.to_string(), hdrs);
    }

    /// Routing order: static route, XMPP domains, local domains, DNS,
    /// default route.
    pub(super) fn route_relay(&mut self, now: Instant, relay: Relay) {
        let dest_domain = relay.msg.destination.domain().to_string();

        // 1. Static routes.
        if let Some((route, tls_name)) = self.config.router.lookup_with_tls_name(&dest_domain) {
            let hop = route.next_hop;
            self.stats.routed_static += 1;
            return self.start_leg(now, relay, hop, tls_name, None);
        }
        // 1b. XMPP domains reached through the component link.
        if self.is_xmpp_domain(&dest_domain) {
            self.stats.routed_xmpp += 1;
            return self.deliver_xmpp(now, relay);
        }
        // 2. Local domains: nothing delivers to local users yet.
        if self
            .config
            .local_domains
            .iter()
            .any(|d| d.matches(&dest_domain))
        {
            self.stats.refused_no_route += 1;
            let why = format!("{dest_domain} is local but no route delivers to its users");
            return self.refuse_relay(now, relay, StatusCode::NOT_FOUND, &why, Vec::new());
        }
        // 3. DNS discovery.
        if self.config.dns_enabled {
            return self.start_resolution(now, relay);
        }
        // 4. Default route.
        self.use_default_route(now, relay, format!("no route to {dest_domain}"));
    }

    fn use_default_route(&mut self, now: Instant, relay: Relay, why_not: String) {
        match self.config.default_route {
            Some(hop) => {
                self.stats.routed_default += 1;
                let tls_name = self.config.router.default_tls_name();
                self.start_leg(now, relay, hop, tls_name, None);
            }
            None if matches!(relay.origin, Origin::Xmpp { .. }) => {
                self.stats.refused_no_route += 1;
                self.answer_xmpp_route_failure(
                    now,
                    &relay,
                    crate::route::FailureClass::NotFound,
                    &why_not,
                );
            }
            None => {
                self.stats.refused_no_route += 1;
                self.refuse_relay(now, relay, StatusCode::NOT_FOUND, &why_not, Vec::new());
            }
        }
    }

    /// The DNS target for a Request-URI: RFC 3861 for `im:`, RFC 3263 for
    /// `sip:`. The Request-URI stays the AoR on the new leg (C16).
    fn dns_target(uri: &crate::sip::SipUri) -> Result<Target, RouteError> {
        match uri.scheme() {
            "im" => Target::service(Service::Im, uri.host()),
            "pres" => Target::service(Service::Pres, uri.host()),
            scheme => {
                let transport = uri
                    .param("transport")
                    .flatten()
                    .and_then(SipTransport::from_param);
                Target::sip(uri.host(), uri.port(), transport, scheme == "sips")
            }
        }
    }

    fn start_resolution(&mut self, now: Instant, relay: Relay) {
        let target = match Gateway::dns_target(&relay.request_uri) {
            Ok(t) => t,
            Err(e) => return self.route_failed(now, relay, &e),
        };
        let id = self.next_resolution;
        self.next_resolution += 1;
        self.stats.dns_resolutions += 1;
        let rng = StdRng::from_rng(&mut self.rng);
        let resolution = Resolution::new(id, target, &self.config.resolution, rng);
        self.resolving.insert(id, Resolving { relay, resolution });
        self.advance_resolution(now, id);
    }

    /// Emits the resolution's queries and acts on its result when done.
    pub(super) fn advance_resolution(&mut self, now: Instant, id: u64) {
        let Some(r) = self.resolving.get_mut(&id) else {
            return;
        };
        while let Some(q) = r.resolution.poll_query(now, &mut self.dns_cache) {
            self.stats.dns_queries += 1;
            self.out.push_back(Output::Resolve(q));
        }
        let Some(result) = r.resolution.poll_result() else {
            return;
        };
        let Some(Resolving { relay, .. }) = self.resolving.remove(&id) else {
            return;
        };
        match result {
            Ok(plan) if plan.binding() == Binding::Xmpp && !self.config.xmpp_available => {
                self.stats.refused_no_route += 1;
                let why = format!(
                    "{} is served only by XMPP (_im._xmpp SRV) and this gateway has no XMPP binding configured",
                    plan.domain()
                );
                self.refuse_relay(now, relay, StatusCode::BAD_GATEWAY, &why, Vec::new());
            }
            Ok(plan) => {
                self.stats.routed_dns += 1;
                self.try_next_candidate(now, relay, plan);
            }
            Err(e)
                if matches!(
                    e,
                    RouteError::NotFound { .. } | RouteError::NoRecords { .. }
                ) =>
            {
                self.stats.dns_failures += 1;
                let why = e.to_string();
                self.use_default_route(now, relay, why);
            }
            Err(e) => {
                self.stats.dns_failures += 1;
                self.route_failed(now, relay, &e);
            }
        }
    }

    /// Starts a leg to the plan's next usable candidate, or answers with
    /// the plan's exhaustion error.
    fn try_next_candidate(&mut self, now: Instant, relay: Relay, mut plan: Plan) {
        let sip_domain: Arc<str> = Arc::from(plan.domain().trim_end_matches('.'));
        while let Some(c) = plan.next_candidate() {
            let (transport, tls_name) = match c.transport {
                Some(SipTransport::Udp) => (Transport::Udp, None),
                Some(SipTransport::Tcp) => (Transport::Tcp, None),
                // RFC 5922 §4: the certificate must match the SIP domain the
                // lookup started from, not the SRV target (DNS is not
                // trusted to say who the server is).
                Some(SipTransport::Tls) => (Transport::Tls, Some(sip_domain.clone())),
                // XMPP candidates never reach here.
                None => continue,
            };
            let hop = NextHop {
                addr: c.addr,
                transport,
            };
            return self.start_leg(now, relay, hop, tls_name, Some(plan));
        }
        let e = plan.exhausted();
        self.route_failed(now, relay, &e);
    }

    fn route_failed(&mut self, now: Instant, relay: Relay, e: &RouteError) {
        if matches!(relay.origin, Origin::Xmpp { .. }) {
            self.stats.refused_no_route += 1;
            return self.answer_xmpp_route_failure(now, &relay, e.class(), &e.to_string());
        }
        let status = StatusCode::from(e);
        let mut hdrs = Vec::new();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            hdrs.push(("Retry-After".to_string(), RETRY_AFTER_SECS.to_string()));
        }
        self.refuse_relay(now, relay, status, &e.to_string(), hdrs);
    }

    /// Starts the outbound leg of `relay` towards `hop` (over TLS, verified
    /// against `tls_name`, when `hop.transport` is TLS).
    fn start_leg(
        &mut self,
        now: Instant,
        relay: Relay,
        hop: NextHop,
        tls_name: Option<Arc<str>>,
        plan: Option<Plan>,
    ) {
        let ids = LegIds {
            branch: format!("z9hG4bK{}", self.random_hex(10)),
            from_tag: self.random_hex(8),
            call_id: match &relay.call_id_hint {
                Some(c) => c.clone(),
                None => format!("{}@{}", self.random_hex(12), self.config.advertise_host),
            },
        };
        let local = LocalContact {
            host: self.config.advertise_host.clone(),
            port: self.port_for(hop.transport),
            transport: hop.transport,
        };
        let mut markers: Vec<(String, String)> = match &relay.origin {
            Origin::Sip { request, .. } => request
                .header_all(LOOP_HEADER)
                .map(|v| (LOOP_HEADER.to_string(), v.to_string()))
                .collect(),
            Origin::Xmpp { .. } => Vec::new(),
        };
        markers.push((LOOP_HEADER.to_string(), self.config.node_id.clone()));
        let out = cpim_to_request(&relay.msg, Some(&relay.hints), &local, &ids, &markers);
        let mut buf = Vec::with_capacity(out.body.len() + 512);
        out.encode(&mut buf);
        let key = ClientKey::new(&ids.branch, &Method::Message);
        match self
            .txn
            .start_client(now, key, buf.into(), hop.addr, hop.transport)
        {
            Ok(client) => {
                self.stats.messages_relayed += 1;
                tracing::debug!(
                    next_hop = %hop.addr,
                    transport = hop.transport.as_str(),
                    "relaying"
                );
                if hop.transport == Transport::Tls {
                    self.name_tls_transmit(hop, tls_name.clone());
                }
                self.pending.insert(
                    client,
                    Pending {
                        relay,
                        next_hop: hop,
                        tls_name,
                        plan,
                        started: now,
                    },
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not start client transaction");
                self.refuse_relay(
                    now,
                    relay,
                    StatusCode::SERVER_INTERNAL_ERROR,
                    "internal error",
                    Vec::new(),
                );
            }
        }
    }

    /// Moves the transmits queued so far to the outputs, the last one (the
    /// request `start_client` just queued: TLS is reliable, so it is the
    /// only transmit of that transaction, RFC 3261 §17.1.2.2) as
    /// [`Output::SendSipTls`] with the server name to verify. Without a
    /// name the IP literal is verified (RFC 5922 §7.1 leaves IP identities
    /// to the subjectAltName iPAddress).
    fn name_tls_transmit(&mut self, hop: NextHop, tls_name: Option<Arc<str>>) {
        let mut queued: Vec<Transmit> = std::iter::from_fn(|| self.txn.poll_transmit()).collect();
        let last = queued.pop();
        for t in queued {
            self.out.push_back(Output::SendSip(t));
        }
        if let Some(t) = last {
            if t.dst == hop.addr && t.transport == Transport::Tls {
                let server_name = tls_name.unwrap_or_else(|| Arc::from(hop.addr.ip().to_string()));
                self.out.push_back(Output::SendSipTls {
                    transmit: t,
                    server_name,
                });
            } else {
                self.out.push_back(Output::SendSip(t));
            }
        }
    }

    /// Answers the inbound leg of a finished outbound leg, or fails over to
    /// the next DNS candidate (RFC 3263 §4.3: connect failure, 503 or
    /// transaction timeout).
    pub(super) fn finish_relay(&mut self, now: Instant, client: ClientHandle, outcome: Outcome) {
        let Some(p) = self.pending.remove(&client) else {
            return;
        };
        self.record_sip_outbound(now, &p, outcome);
        tracing::debug!(next_hop = %p.next_hop.addr, outcome = ?outcome, "relay leg finished");
        let carried = self.final_headers.remove(&client).unwrap_or_default();
        let tls_refused = self.tls_failures.remove(&client);
        let retryable = match outcome {
            Outcome::Status(s) => s == StatusCode::SERVICE_UNAVAILABLE,
            Outcome::Timeout | Outcome::TransportError => true,
        };
        if retryable && let Some(plan) = p.plan.filter(|plan| !plan.is_exhausted()) {
            self.stats.failovers += 1;
            tracing::debug!(failed = %p.next_hop.addr, "failing over to the next DNS candidate");
            return self.try_next_candidate(now, p.relay, plan);
        }
        let trans_id = p.relay.msg.trans_id.clone();
        let (response, downstream, extra) = match outcome {
            Outcome::Status(s) => (cpim_response(trans_id, s), Some(s.as_u16()), carried),
            Outcome::Timeout => {
                self.stats.messages_timeout += 1;
                let w = self.warning("next hop did not answer (timer F)");
                (cpim_timeout(trans_id), None, vec![("Warning".into(), w)])
            }
            Outcome::TransportError if tls_refused.is_some() => {
                self.stats.messages_transport_error += 1;
                self.stats.messages_failure += 1;
                let why = tls_refused.unwrap_or_default();
                tracing::info!(next_hop = %p.next_hop.addr, reason = %why, "relay failed: tls handshake refused");
                // No Retry-After: a certificate that did not verify will not
                // verify in five seconds either.
                let hdrs = vec![("Warning".into(), self.warning(&why))];
                self.answer(now, &p.relay, StatusCode::SERVICE_UNAVAILABLE, hdrs, None);
                return;
            }
            Outcome::TransportError => {
                self.stats.messages_transport_error += 1;
                self.stats.messages_failure += 1;
                let w = self.warning("next hop unreachable");
                let hdrs = vec![
                    ("Retry-After".into(), RETRY_AFTER_SECS.to_string()),
                    ("Warning".into(), w),
                ];
                // Our own 503 (not a relayed one): bypasses the relay table.
                self.answer(now, &p.relay, StatusCode::SERVICE_UNAVAILABLE, hdrs, None);
                return;
            }
        };
        let status = self.table.sip_status(&response);
        self.count_outcome(response.status);
        self.answer(now, &p.relay, status, extra, downstream);
    }

    pub(super) fn answer(
        &mut self,
        now: Instant,
        r: &Relay,
        status: StatusCode,
        extra: Vec<(String, String)>,
        downstream: Option<u16>,
    ) {
        match &r.origin {
            Origin::Sip {
                server,
                request,
                to_tag,
            } => {
                self.respond_with_tag(now, *server, request, status, to_tag, extra);
            }
            Origin::Xmpp { .. } => self.answer_xmpp_origin(now, r, status, None),
        }
        self.record_sip_inbound(now, r, status);
        let elapsed = now.saturating_duration_since(r.started);
        self.out
            .push_back(Output::Event(GatewayEvent::RelayFinished {
                downstream,
                upstream: status.as_u16(),
                elapsed,
            }));
    }

    pub(super) fn count_outcome(&mut self, status: crate::cpim::Status) {
        match status {
            crate::cpim::Status::Success => self.stats.messages_success += 1,
            crate::cpim::Status::Indeterminate => self.stats.messages_indeterminate += 1,
            crate::cpim::Status::Failure => self.stats.messages_failure += 1,
        }
    }

    /// Refuses an accepted relay before any leg answered.
    pub(super) fn refuse_relay(
        &mut self,
        now: Instant,
        relay: Relay,
        status: StatusCode,
        reason: &str,
        mut extra: Vec<(String, String)>,
    ) {
        match &relay.origin {
            Origin::Sip {
                server,
                request,
                to_tag,
            } => {
                extra.push(("Warning".into(), self.warning(reason)));
                self.respond_with_tag(now, *server, request, status, to_tag, extra);
            }
            Origin::Xmpp { .. } => self.answer_xmpp_origin(now, &relay, status, Some(reason)),
        }
        self.record_sip_inbound(now, &relay, status);
        self.out.push_back(Output::Event(GatewayEvent::Refused {
            status: status.as_u16(),
            reason: reason.to_string(),
        }));
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
        self.record_sip_refusal(status);
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

#[cfg(test)]
mod tls_tests {
    //! Sans-IO checks of the TLS legs: the name a leg asks the driver to
    //! verify, a refused handshake answered 503 with its reason, and the
    //! mutual-TLS identity deciding the source domain.
    #![allow(clippy::disallowed_methods, clippy::unwrap_used)]

    use std::net::SocketAddr;
    use std::sync::Arc;
    use std::time::Instant;

    use bytes::Bytes;

    use crate::gateway::policy::{IpNet, Peer, PeerIdentity, PolicyConfig, UnknownPeer};
    use crate::gateway::{Gateway, GatewayConfig, Output};
    use crate::route::{
        CacheConfig, DomainPattern, NextHop, ResolutionConfig, Router, StaticRoute,
    };
    use crate::sip::transaction::TransactionConfig;
    use crate::sip::{Limits, Message, StatusCode, Transmit, Transport};

    const PEER: &str = "127.0.0.1:5061";
    const UAC: &str = "127.0.0.1:5081";

    fn config() -> GatewayConfig {
        let pat = |s: &str| DomainPattern::parse(s).unwrap();
        GatewayConfig {
            presence: crate::gateway::PresenceConfig::default(),
            local_domains: Vec::new(),
            router: Router::with_tls_names(
                vec![StaticRoute {
                    domain: pat("peer.test"),
                    next_hop: NextHop {
                        addr: PEER.parse().unwrap(),
                        transport: Transport::Tls,
                    },
                }],
                vec![Some(Arc::from("peer.test"))],
                None,
            ),
            policy: PolicyConfig {
                peers: vec![
                    Peer {
                        name: "loopback".into(),
                        networks: vec![IpNet::parse("127.0.0.0/8").unwrap()],
                        domains: vec![pat("sip.test")],
                        tls_names: Vec::new(),
                        rate: None,
                    },
                    Peer {
                        name: "example".into(),
                        networks: Vec::new(),
                        domains: vec![pat("example.test")],
                        tls_names: vec![pat("example.test")],
                        rate: None,
                    },
                ],
                unknown_peer: UnknownPeer::Reject,
                deny_destinations: Vec::new(),
                domain_rules: Vec::new(),
            },
            transactions: TransactionConfig::default(),
            limits: Limits::default(),
            node_id: "node-tls".into(),
            rng_seed: 3,
            reject_invite_with: StatusCode::NOT_ACCEPTABLE_HERE,
            max_pending_relays: 10,
            max_server_transactions: 100_000,
            max_queued_per_destination: 32,
            advertise_host: "127.0.0.1".into(),
            ports: vec![(Transport::Udp, 5060), (Transport::Tls, 5061)],
            dns_enabled: false,
            resolution: ResolutionConfig::default(),
            dns_cache: CacheConfig::default(),
            default_route: None,
            xmpp_available: false,
            xmpp: None,
        }
    }

    fn message(from_domain: &str, branch: &str) -> Bytes {
        let body = "hi";
        Bytes::from(format!(
            "MESSAGE sip:bob@peer.test SIP/2.0\r\nVia: SIP/2.0/UDP {UAC};branch={branch}\r\n\
             From: <sip:alice@{from_domain}>;tag=1\r\nTo: <sip:bob@peer.test>\r\n\
             Call-ID: {branch}@t\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n\
             Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ))
    }

    /// Drains outputs: plain transmits and TLS transmits with their names.
    fn drain(gw: &mut Gateway) -> (Vec<Transmit>, Vec<(Transmit, Arc<str>)>) {
        let (mut plain, mut tls) = (Vec::new(), Vec::new());
        while let Some(o) = gw.poll_output() {
            match o {
                Output::SendSip(t) => plain.push(t),
                Output::SendSipTls {
                    transmit,
                    server_name,
                } => tls.push((transmit, server_name)),
                Output::Timeout(_) => break,
                _ => {}
            }
        }
        (plain, tls)
    }

    fn response(t: &Transmit) -> crate::sip::Response {
        match crate::sip::parse(t.payload.clone(), Transport::Udp, &Limits::default()).unwrap() {
            Message::Response(r) => r,
            Message::Request(_) => panic!("not a response"),
        }
    }

    #[test]
    fn tls_leg_names_its_server_and_refusal_answers_503_with_the_reason() {
        let mut gw = Gateway::new(config());
        let now = Instant::now();
        let uac: SocketAddr = UAC.parse().unwrap();
        gw.handle_sip(now, uac, Transport::Udp, message("sip.test", "z9hG4bKa"));
        let (plain, tls) = drain(&mut gw);
        assert!(plain.is_empty(), "{plain:?}");
        let [(t, name)] = tls.as_slice() else {
            panic!("{tls:?}")
        };
        assert_eq!(&**name, "peer.test");
        assert_eq!(t.dst, PEER.parse::<SocketAddr>().unwrap());
        assert_eq!(t.transport, Transport::Tls);
        assert!(String::from_utf8_lossy(&t.payload).contains("Via: SIP/2.0/TLS 127.0.0.1:5061;"));

        // A refusal for another name touches nothing.
        gw.handle_tls_failure(now, t.dst, "other.test", "x");
        assert!(drain(&mut gw).0.is_empty());

        gw.handle_tls_failure(
            now,
            t.dst,
            "peer.test",
            "invalid peer certificate: UnknownIssuer",
        );
        let (plain, _) = drain(&mut gw);
        let answer = plain
            .iter()
            .find(|t| t.dst == uac)
            .expect("answer upstream");
        let r = response(answer);
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        let w = r
            .header_all("Warning")
            .next()
            .unwrap_or_default()
            .to_string();
        assert!(
            w.contains("TLS handshake with peer.test") && w.contains("UnknownIssuer"),
            "{w}"
        );
        assert!(r.header_all("Retry-After").next().is_none());
    }

    #[test]
    fn mutual_tls_identity_may_assert_only_its_domains() {
        let mut gw = Gateway::new(config());
        let now = Instant::now();
        // From an address no peer owns; the certificate names the peer.
        let remote: SocketAddr = "192.0.2.7:40000".parse().unwrap();
        let id = Some(Arc::new(PeerIdentity::new(["example.test"])));
        gw.handle_sip_identified(
            now,
            remote,
            Transport::Tls,
            message("example.test", "z9hG4bKb"),
            id.clone(),
        );
        let (_, tls) = drain(&mut gw);
        assert_eq!(tls.len(), 1, "relayed");
        gw.handle_sip_identified(
            now,
            remote,
            Transport::Tls,
            message("other.test", "z9hG4bKc"),
            id,
        );
        let (plain, tls) = drain(&mut gw);
        assert!(tls.is_empty());
        let r = response(plain.first().expect("403"));
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            plain[0].transport,
            Transport::Tls,
            "answered on the TLS connection"
        );
        // Without the identity the same address is unknown.
        gw.handle_sip(
            now,
            remote,
            Transport::Tls,
            message("example.test", "z9hG4bKd"),
        );
        let r = response(drain(&mut gw).0.first().expect("403"));
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(gw.stats().refused_policy, 2);
    }
}
