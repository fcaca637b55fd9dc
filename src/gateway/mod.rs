//! The gateway core: composes the sans-IO cores (SIP transactions, CPIM
//! translation, routing, policy) into the federation point's behaviour.
//!
//! # Driving contract
//!
//! [`Gateway`] has two kinds of methods: `handle_*` for inputs (bytes from a
//! peer, a transport failure, the passage of time) and [`Gateway::poll_output`]
//! for outputs. After every `handle_*` call the driver drains `poll_output`
//! until it yields [`Output::Timeout`] (the earliest deadline, at which it must
//! call [`Gateway::handle_timeout`]) or `None` (nothing is scheduled). Time is
//! always passed in; if it goes backwards the core treats it as no progress.
//!
//! # What happens to a MESSAGE (RFC 3428, RFC 3860, RFC 7332 §5)
//!
//! A server transaction absorbs retransmissions; the request is checked
//! (Require, loop marker, Max-Forwards), translated into a CPIM `message`,
//! checked against policy, routed, and re-originated as a new MESSAGE on a
//! new client transaction. The final response comes back through the CPIM
//! status and the table in `mappings/sip-status.toml`; a Timer F timeout
//! becomes 408. The sender always learns the outcome.
//!
//! # SIP over TLS (RFC 3261 §26.2, RFC 5630, RFC 5922)
//!
//! The core never touches certificates. A leg over TLS leaves as
//! [`Output::SendSipTls`], naming the server the certificate must match (the
//! route's `tls_name`, its IP literal, or for DNS results the SIP domain,
//! RFC 5922 §4). A refused handshake comes back as
//! [`Gateway::handle_tls_failure`] and fails the leg (failing over to the
//! next DNS candidate if any; otherwise 503 with a Warning naming the
//! reason). A request that arrives over mutual TLS carries the client
//! certificate's verified names ([`PeerIdentity`]) into policy, through
//! [`Gateway::handle_sip_identified`].
//!
//! # Policy and overload (RFC 3261 §21.5.4)
//!
//! Every MESSAGE passes one policy engine ([`policy`]: peer identity,
//! `require_tls`, denials, token buckets per peer and per domain rule); a
//! rate limit answers 503 with Retry-After. When the relay table is at
//! `max_pending_relays`, a new MESSAGE is shed with 503 + Retry-After from
//! a header-only scan before the full parse (`overload.rs`); at
//! `max_server_transactions` every new request is answered statelessly.
//!
//! Routing order: a static `[[route]]`, then the local domains, then DNS
//! discovery (RFC 3861 `_im`/`_pres` SRV for `im:`/`pres:`, RFC 3263 for
//! `sip:`; lookups are [`Output::Resolve`] requests the driver answers with
//! [`Gateway::handle_resolved`]), then the optional default route. Within one
//! relay, a connect failure, a 503 or a transaction timeout moves to the
//! next DNS candidate on a new client transaction.

mod composing;
mod from_xmpp;
pub mod lifecycle;
mod overload;
pub mod policy;
mod presence;
pub mod rate;
mod relay;
pub mod stats;
mod to_xmpp;
mod xmpp_link;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::route::{
    Answer, CacheConfig, DnsCache, DomainPattern, NextHop, Plan, Query, QueryId, Resolution,
    ResolutionConfig, Router,
};
use crate::sip::transaction::{
    ClientHandle, ServerHandle, ServerKey, ServerVerdict, TransactionConfig, TransactionEvent,
    TransactionLayer,
};
use crate::sip::{Limits, Message, Method, Request, StatusCode, Transmit, Transport};
use crate::translate::status::StatusTable;

pub use from_xmpp::DEFAULT_MAX_QUEUED_PER_DESTINATION;
pub use overload::SHED_RETRY_AFTER_SECS;
pub use policy::{PeerIdentity, Policy, PolicyConfig};
pub use presence::PresenceConfig;
pub use stats::{
    Binding, Direction, GatewayStats, LinkState, NativeCode, Operation, OperationKind, Outcome,
    ShedCounts, StatsSnapshot,
};
pub use xmpp_link::XmppLinkConfig;

/// Header the gateway adds to every request it re-originates, carrying its
/// node id. A request that arrives with our own node id in it has looped
/// through us (re-origination hides loops from Via), and gets 482.
pub const LOOP_HEADER: &str = "Cpim-Gw-Loop";

/// Methods the gateway implements, for `Allow` (RFC 3261 §20.5).
pub const ALLOW: &str = "INVITE, ACK, CANCEL, OPTIONS, MESSAGE, SUBSCRIBE, NOTIFY";

/// Settings of the gateway core. Built from the config file by
/// `config::Config`; every field has a documented default there.
#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// Domains the gateway is authoritative for.
    pub local_domains: Vec<DomainPattern>,
    /// Static routes.
    pub router: Router,
    /// Federation policy.
    pub policy: PolicyConfig,
    /// RFC 3261 timer values.
    pub transactions: TransactionConfig,
    /// Parser limits.
    pub limits: Limits,
    /// This instance's id, used in the loop marker.
    pub node_id: String,
    /// Seed for the identifier RNG (`None`: from entropy given by the driver).
    pub rng_seed: u64,
    /// Status used to reject INVITE until session mode exists (488 or 606).
    pub reject_invite_with: StatusCode,
    /// Bound on relays in flight; beyond it MESSAGE gets 503.
    pub max_pending_relays: usize,
    /// Bound on server transactions (RFC 3261 §17.2; they linger for
    /// Timer J/K after the answer). At it, every new request is answered
    /// 503 statelessly from its headers, so the table cannot grow further.
    pub max_server_transactions: usize,
    /// XMPP-originated MESSAGEs waiting behind an outstanding one to the
    /// same SIP destination (RFC 3428 §8); beyond it the sender gets
    /// `<resource-constraint/>`.
    pub max_queued_per_destination: usize,
    /// Host written into Via and Warning headers.
    pub advertise_host: String,
    /// Our port per transport, for Via sent-by.
    pub ports: Vec<(Transport, u16)>,
    /// Whether destinations without a static route are looked up in DNS.
    pub dns_enabled: bool,
    /// RFC 3861 / RFC 3263 resolution settings.
    pub resolution: ResolutionConfig,
    /// DNS cache settings.
    pub dns_cache: CacheConfig,
    /// Next hop used when no static route, local domain or DNS answer
    /// serves a destination.
    pub default_route: Option<NextHop>,
    /// Whether an XMPP binding exists to take `_im._xmpp`-served domains.
    pub xmpp_available: bool,
    /// The XEP-0114 component link, when `[xmpp]` is configured.
    pub xmpp: Option<XmppLinkConfig>,
    /// Presence settings (`[presence]`).
    pub presence: PresenceConfig,
}

/// An input that is not a method call argument list (kept for drivers that
/// queue inputs).
#[derive(Debug)]
pub enum Input {
    /// Bytes of one SIP message from `remote` (a datagram, or a frame cut
    /// from a stream by `sip::frame`).
    Sip {
        /// Arrival time.
        now: Instant,
        /// The peer.
        remote: SocketAddr,
        /// How it came.
        transport: Transport,
        /// The message.
        bytes: Bytes,
    },
    /// A transmit to `dst` could not be delivered (connection refused…).
    TransportError {
        /// When the driver learnt it.
        now: Instant,
        /// The destination that failed.
        dst: SocketAddr,
        /// Over what.
        transport: Transport,
    },
    /// Time passed.
    Timeout(Instant),
    /// The answer to an [`Output::Resolve`] query.
    Resolved {
        /// When it arrived.
        now: Instant,
        /// The query it answers.
        query: QueryId,
        /// The answer.
        answer: Answer,
    },
}

/// What the driver must do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Output {
    /// Send SIP bytes. A TLS transmit here (a response, or a request on an
    /// existing connection) goes on a connection to `dst` that already
    /// exists.
    SendSip(Transmit),
    /// Send a request over TLS to `transmit.dst`, on the connection already
    /// open to that address *for `server_name`*, or on a new one whose server
    /// certificate must be valid for `server_name` (a DNS name, or an IP
    /// address as text for an IP subjectAltName; RFC 5922 §7.1). A refused
    /// handshake is reported with [`Gateway::handle_tls_failure`]; the
    /// bytes must then never be sent.
    SendSipTls {
        /// What to send, and where.
        transmit: Transmit,
        /// The name the server certificate is verified against (and SNI).
        server_name: Arc<str>,
    },
    /// Look up a DNS name; answer with [`Gateway::handle_resolved`]. Every
    /// query must be answered (with [`Answer::Timeout`] at the latest).
    Resolve(Query),
    /// Open TCP connection `conn` to the XMPP server; report with
    /// [`Gateway::handle_xmpp_connected`] / [`Gateway::handle_xmpp_closed`].
    ConnectXmpp {
        /// Connection id.
        conn: u64,
        /// Server address.
        addr: SocketAddr,
    },
    /// Write bytes on connection `conn` (drop them if it is gone).
    SendXmpp {
        /// Connection id.
        conn: u64,
        /// Bytes.
        bytes: Bytes,
    },
    /// Close connection `conn`; report nothing more about it.
    CloseXmpp {
        /// Connection id.
        conn: u64,
    },
    /// Write this to the state store (subscription records). The driver
    /// may batch the writes of one turn into one commit, in order.
    Persist(crate::store::Write),
    /// Report something upward (logs, metrics).
    Event(GatewayEvent),
    /// Call `handle_timeout` at this instant.
    Timeout(Instant),
}

/// Things worth reporting, with the facts a log line or metric needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GatewayEvent {
    /// A relayed MESSAGE finished: the status returned upstream and how long
    /// the outbound leg took.
    RelayFinished {
        /// Status received downstream (None on timeout or transport error).
        downstream: Option<u16>,
        /// Status sent upstream.
        upstream: u16,
        /// Time from acceptance to the upstream answer.
        elapsed: Duration,
    },
    /// A request was refused before relay.
    Refused {
        /// The status sent.
        status: u16,
        /// Why, for operators.
        reason: String,
    },
    /// An input was dropped without an answer.
    Dropped {
        /// Why.
        reason: String,
    },
    /// One leg of a CPIM operation finished (for metrics).
    Operation(Operation),
}

/// A MESSAGE accepted for relay: the inbound leg and what the outbound leg
/// is built from.
#[derive(Debug)]
struct Relay {
    origin: Origin,
    /// Where the outbound leg goes (the Request-URI it will carry).
    request_uri: crate::sip::SipUri,
    /// Call-ID for the outbound leg (an XMPP `<thread/>`, RFC 7572).
    call_id_hint: Option<String>,
    msg: crate::cpim::Message,
    hints: crate::translate::sip::SipHints,
    started: Instant,
}

/// The inbound leg of a relay: who is answered when the outbound leg ends.
#[derive(Debug)]
enum Origin {
    /// A SIP server transaction.
    Sip {
        server: ServerHandle,
        request: Box<Request>,
        to_tag: String,
    },
    /// An XMPP `<message>` on the component link.
    Xmpp {
        /// The stanza id, echoed in an error reply.
        id: Option<String>,
        /// The XMPP sender.
        sender: crate::xmpp::Jid,
        /// The address it wrote to (ours).
        ours: crate::xmpp::Jid,
    },
}

/// A relay waiting for its outbound leg's final response.
#[derive(Debug)]
struct Pending {
    relay: Relay,
    next_hop: NextHop,
    /// The server name a TLS next hop is verified against.
    tls_name: Option<Arc<str>>,
    /// Remaining DNS candidates for failover (None for static routes).
    plan: Option<Plan>,
    /// When this leg's request was first sent.
    started: Instant,
}

/// A relay waiting for DNS.
#[derive(Debug)]
struct Resolving {
    relay: Relay,
    resolution: Resolution,
}

/// The gateway core. See the module docs for the driving contract.
#[derive(Debug)]
pub struct Gateway {
    config: GatewayConfig,
    policy: Policy,
    table: StatusTable,
    txn: TransactionLayer,
    rng: StdRng,
    pending: HashMap<ClientHandle, Pending>,
    /// Headers of a downstream final response, kept until its event is handled.
    final_headers: HashMap<ClientHandle, Vec<(String, String)>>,
    /// Why a leg's TLS handshake was refused, kept until its transport
    /// error is handled (it becomes the Warning of the answer).
    tls_failures: HashMap<ClientHandle, String>,
    resolving: HashMap<u64, Resolving>,
    next_resolution: u64,
    dns_cache: DnsCache,
    xmpp: Option<xmpp_link::XmppLink>,
    /// Destination URIs with an XMPP-originated MESSAGE outstanding.
    sip_busy: std::collections::HashSet<String>,
    /// XMPP-originated MESSAGEs waiting behind it (RFC 3428 §8).
    sip_queues: HashMap<String, std::collections::VecDeque<Relay>>,
    out: VecDeque<Output>,
    stats: GatewayStats,
    last_now: Option<Instant>,
    /// Set by [`Gateway::begin_drain`]: new operations are refused.
    draining: bool,
    /// Presence subscriptions in both directions.
    presence: presence::PresenceState,
}

impl Gateway {
    /// Builds the core.
    pub fn new(config: GatewayConfig) -> Gateway {
        Gateway {
            policy: Policy::new(config.policy.clone()),
            table: StatusTable::builtin(),
            txn: TransactionLayer::new(config.transactions),
            rng: StdRng::seed_from_u64(config.rng_seed),
            pending: HashMap::new(),
            final_headers: HashMap::new(),
            tls_failures: HashMap::new(),
            resolving: HashMap::new(),
            next_resolution: 1,
            dns_cache: DnsCache::new(config.dns_cache.clone()),
            xmpp: None,
            sip_busy: std::collections::HashSet::new(),
            sip_queues: HashMap::new(),
            out: VecDeque::new(),
            stats: GatewayStats::default(),
            last_now: None,
            draining: false,
            presence: presence::PresenceState::default(),
            config,
        }
    }

    /// Dispatches a queued [`Input`].
    pub fn handle(&mut self, input: Input) {
        match input {
            Input::Sip {
                now,
                remote,
                transport,
                bytes,
            } => self.handle_sip(now, remote, transport, bytes),
            Input::TransportError {
                now,
                dst,
                transport,
            } => self.handle_transport_error(now, dst, transport),
            Input::Timeout(now) => self.handle_timeout(now),
            Input::Resolved { now, query, answer } => self.handle_resolved(now, query, answer),
        }
    }

    /// One SIP message arrived.
    pub fn handle_sip(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        transport: Transport,
        bytes: Bytes,
    ) {
        self.handle_sip_identified(now, remote, transport, bytes, None);
    }

    /// One SIP message arrived on a connection whose peer proved an
    /// identity (a client certificate verified by mutual TLS, RFC 5922
    /// §7.2). Policy then knows the peer by that identity, not only by
    /// its address.
    pub fn handle_sip_identified(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        transport: Transport,
        bytes: Bytes,
        identity: Option<Arc<PeerIdentity>>,
    ) {
        let now = self.clamp(now);
        // TLS is framed like TCP (RFC 3261 §18.3: Content-Length required).
        let framing = if transport.is_reliable() {
            Transport::Tcp
        } else {
            Transport::Udp
        };
        // Overload: shed new work from the headers alone, before the full
        // parse (see `overload.rs`).
        if self.shed_from_headers(now, remote, transport, &bytes) == overload::Shed::Done {
            self.pump(now);
            return;
        }
        // One span per received message, named after its transaction
        // (Call-ID, CSeq, method), so every event of its handling carries
        // them; addresses go through `redact`.
        match crate::sip::parse(bytes.clone(), framing, &self.config.limits) {
            Ok(Message::Request(req)) => {
                let span = tracing::info_span!(
                    "sip_request",
                    method = %req.method(),
                    call_id = %req.call_id(),
                    cseq = req.cseq().seq(),
                    from = %crate::redact::addr(req.from().uri().as_str()),
                    to = %crate::redact::addr(req.to().uri().as_str()),
                    peer = %remote,
                    transport = transport.as_str(),
                );
                let _in = span.enter();
                self.stats.sip_requests_received += 1;
                self.on_request(now, remote, transport, req, identity);
                self.pump(now);
            }
            Ok(Message::Response(resp)) => {
                let span = tracing::info_span!(
                    "sip_response",
                    status = resp.status().as_u16(),
                    method = %resp.cseq().method(),
                    call_id = %resp.call_id(),
                    cseq = resp.cseq().seq(),
                    peer = %remote,
                );
                let _in = span.enter();
                self.stats.sip_responses_received += 1;
                self.on_response(now, resp);
                self.pump(now);
            }
            Err(e) => {
                self.on_parse_error(remote, transport, &bytes, &e);
                self.pump(now);
            }
        }
    }

    /// A transmit to `dst` failed (RFC 3261 §17.1.4). Every client
    /// transaction towards `dst` over `transport` is told.
    pub fn handle_transport_error(&mut self, now: Instant, dst: SocketAddr, transport: Transport) {
        let now = self.clamp(now);
        let affected: Vec<ClientHandle> = self
            .pending
            .keys()
            .copied()
            .filter(|h| {
                self.pending
                    .get(h)
                    .is_some_and(|p| p.next_hop.addr == dst && p.next_hop.transport == transport)
            })
            .collect();
        for h in affected {
            self.txn.handle_transport_error(now, h);
        }
        self.pump(now);
    }

    /// The TLS handshake towards `dst` for `server_name` was refused (the
    /// certificate did not verify: wrong name, unknown issuer, expired…).
    /// Every leg waiting on that connection fails as a transport error
    /// (RFC 3261 §17.1.4, failover per RFC 3263 §4.3) and, when no candidate
    /// is left, the sender gets 503 with a Warning carrying `reason`.
    /// An inbound TLS handshake failed in the IO layer (counted only: no
    /// SIP message arrived).
    pub fn note_tls_inbound_failure(&mut self) {
        self.stats.tls_inbound_failures += 1;
    }

    /// An outbound TLS handshake was refused: the legs waiting on it fail.
    pub fn handle_tls_failure(
        &mut self,
        now: Instant,
        dst: SocketAddr,
        server_name: &str,
        reason: &str,
    ) {
        let now = self.clamp(now);
        self.stats.tls_outbound_failures += 1;
        let affected: Vec<ClientHandle> = self
            .pending
            .iter()
            .filter(|(_, p)| {
                p.next_hop.addr == dst
                    && p.next_hop.transport == Transport::Tls
                    && p.tls_name.as_deref() == Some(server_name)
            })
            .map(|(h, _)| *h)
            .collect();
        for h in affected {
            self.tls_failures.insert(
                h,
                format!("TLS handshake with {server_name} ({dst}) refused: {reason}"),
            );
            self.txn.handle_transport_error(now, h);
        }
        self.pump(now);
    }

    /// Time passed: fire due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clamp(now);
        self.txn.handle_timeout(now);
        self.xmpp_timeout(now);
        self.presence_timeout(now);
        self.dns_cache.purge_expired(now);
        self.pump(now);
    }

    /// A DNS answer for an [`Output::Resolve`] query. Answers for unknown
    /// or finished resolutions are ignored.
    pub fn handle_resolved(&mut self, now: Instant, query: QueryId, answer: Answer) {
        let now = self.clamp(now);
        self.stats.count_dns_answer(&answer);
        let id = query.resolution();
        if let Some(r) = self.resolving.get_mut(&id) {
            r.resolution
                .handle_answer(now, query, answer, &mut self.dns_cache);
            self.advance_resolution(now, id);
        }
        self.pump(now);
    }

    /// The next output, or `None` when nothing is queued and no timer is
    /// armed. See the module docs.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(o) = self.out.pop_front() {
            return Some(o);
        }
        let xmpp = self
            .xmpp
            .as_ref()
            .and_then(xmpp_link::XmppLink::poll_timeout);
        [self.txn.poll_timeout(), xmpp, self.presence_deadline()]
            .into_iter()
            .flatten()
            .min()
            .map(Output::Timeout)
    }

    /// Counters since start.
    pub fn stats(&self) -> &GatewayStats {
        &self.stats
    }

    /// Relays in flight (waiting for DNS or for their outbound leg).
    pub fn pending_relays(&self) -> usize {
        let queued: usize = self
            .sip_queues
            .values()
            .map(std::collections::VecDeque::len)
            .sum();
        let windows = self.xmpp.as_ref().map_or(0, |l| l.pending.len());
        self.pending.len() + self.resolving.len() + queued + windows
    }

    /// DNS cache counters.
    pub fn dns_cache_stats(&self) -> crate::route::CacheStats {
        self.dns_cache.stats()
    }

    /// The transaction layer (for its own counters).
    pub fn transactions(&self) -> &TransactionLayer {
        &self.txn
    }

    fn clamp(&mut self, now: Instant) -> Instant {
        let now = match self.last_now {
            Some(last) if now < last => last,
            _ => now,
        };
        self.last_now = Some(now);
        // The component machine needs a start time: it is created on the
        // first input.
        if self.xmpp.is_none()
            && let Some(cfg) = self.config.xmpp.clone()
        {
            self.xmpp = Some(xmpp_link::XmppLink::new(cfg, now));
        }
        now
    }

    fn on_parse_error(
        &mut self,
        remote: SocketAddr,
        transport: Transport,
        bytes: &[u8],
        e: &crate::sip::ParseError,
    ) {
        self.stats.sip_parse_errors += 1;
        let status = StatusCode::from(e);
        let answer = crate::sip::salvage(bytes)
            .filter(|s| s.is_request && s.method.as_deref() != Some("ACK"))
            .and_then(|s| {
                let tag = self.random_hex(10);
                s.response(status, Some(&tag))
            });
        match answer {
            Some(mut resp) => {
                self.stats.sip_bad_requests_answered += 1;
                resp.push_header("Warning", self.warning(&e.warning_text()));
                let mut buf = Vec::new();
                resp.encode(&mut buf);
                self.out.push_back(Output::SendSip(Transmit {
                    dst: remote,
                    transport,
                    payload: buf.into(),
                }));
                self.out.push_back(Output::Event(GatewayEvent::Refused {
                    status: status.as_u16(),
                    reason: e.to_string(),
                }));
            }
            None => {
                self.stats.sip_dropped_unparseable += 1;
                self.out.push_back(Output::Event(GatewayEvent::Dropped {
                    reason: e.to_string(),
                }));
            }
        }
    }

    fn on_request(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        transport: Transport,
        req: Request,
        identity: Option<Arc<PeerIdentity>>,
    ) {
        let key = server_key(&req);
        match self
            .txn
            .handle_request(now, key, req.method(), transport, remote)
        {
            ServerVerdict::New(handle) => self.dispatch(now, remote, identity, handle, req),
            ServerVerdict::Retransmission => self.stats.sip_retransmissions_absorbed += 1,
            ServerVerdict::AckAbsorbed | ServerVerdict::StrayAck => {}
        }
    }

    fn dispatch(
        &mut self,
        now: Instant,
        remote: SocketAddr,
        identity: Option<Arc<PeerIdentity>>,
        handle: ServerHandle,
        req: Request,
    ) {
        // RFC 3261 §8.2.2.3: as a UAS we support no extensions, so a
        // request that requires one is refused with 420 before anything
        // else (MESSAGE: in `relay`, which also refuses Proxy-Require).
        if !matches!(req.method(), Method::Ack | Method::Cancel | Method::Message) {
            let required: Vec<String> = req.header_all("Require").map(str::to_string).collect();
            if !required.is_empty() {
                self.stats.refused_extension += 1;
                let hdrs = vec![
                    ("Unsupported".to_string(), required.join(", ")),
                    ("Warning".to_string(), self.warning("unsupported extension")),
                ];
                return self.respond(now, handle, &req, StatusCode::BAD_EXTENSION, hdrs);
            }
        }
        match req.method() {
            Method::Message if self.draining => {
                self.stats.refused_draining += 1;
                let hdrs = vec![
                    (
                        "Retry-After".into(),
                        lifecycle::DRAIN_RETRY_AFTER.to_string(),
                    ),
                    ("Warning".into(), self.warning("gateway is shutting down")),
                ];
                self.respond(now, handle, &req, StatusCode::SERVICE_UNAVAILABLE, hdrs);
            }
            Method::Message => self.relay(now, remote, identity.as_deref(), handle, req),
            Method::Subscribe => {
                // One engine for every binding: a new subscription meets
                // the peer's rate limit and `require_tls` here; its domain
                // rules are applied with the presence checks.
                if req.to().tag().is_none()
                    && let Err(refusal) = self.policy.admit_peer(
                        now,
                        remote.ip(),
                        identity.as_deref(),
                        req.from().uri().host(),
                    )
                {
                    self.stats.count_policy_refusal(&refusal);
                    let mut hdrs = vec![("Warning".into(), self.warning(&refusal.to_string()))];
                    if let Some(secs) = refusal.retry_after_secs() {
                        self.stats.refused_rate_limit += 1;
                        hdrs.push(("Retry-After".into(), secs.max(1).to_string()));
                    } else {
                        self.stats.refused_policy += 1;
                    }
                    return self.respond(now, handle, &req, refusal.sip_status(), hdrs);
                }
                self.on_sip_subscribe(now, handle, req)
            }
            Method::Notify => self.on_sip_notify(now, remote, handle, req),
            Method::Invite => {
                self.stats.sip_invites_rejected += 1;
                let status = self.config.reject_invite_with;
                let warn =
                    self.warning("session mode (MSRP) is not supported; use pager-mode MESSAGE");
                self.respond(now, handle, &req, status, vec![("Warning".into(), warn)]);
            }
            Method::Options => {
                let hdrs = vec![
                    ("Allow".into(), ALLOW.into()),
                    ("Accept".into(), "*/*".into()),
                ];
                self.respond(now, handle, &req, StatusCode::OK, hdrs);
            }
            // RFC 3261 §9.2: INVITEs are answered at once, so a CANCEL never
            // finds a pending one.
            Method::Cancel => self.respond(
                now,
                handle,
                &req,
                StatusCode::CALL_DOES_NOT_EXIST,
                Vec::new(),
            ),
            Method::Other(_) => {
                self.stats.sip_unknown_methods += 1;
                self.respond(
                    now,
                    handle,
                    &req,
                    StatusCode::NOT_IMPLEMENTED,
                    vec![("Allow".into(), ALLOW.into())],
                );
            }
            Method::Ack
            | Method::Bye
            | Method::Info
            | Method::Prack
            | Method::Publish
            | Method::Refer
            | Method::Register
            | Method::Update => {
                self.respond(
                    now,
                    handle,
                    &req,
                    StatusCode::METHOD_NOT_ALLOWED,
                    vec![("Allow".into(), ALLOW.into())],
                );
            }
        }
    }

    fn on_response(&mut self, now: Instant, resp: crate::sip::Response) {
        let Some(branch) = resp.top_via().branch() else {
            self.stats.sip_stray_responses += 1;
            return;
        };
        let key = crate::sip::transaction::ClientKey::new(branch, resp.cseq().method());
        match self.txn.handle_response(now, &key, resp.status()) {
            Some(handle) if self.keep_presence_response(handle, &resp) => {}
            Some(handle) if resp.status().is_final() => {
                let keep = relay::headers_to_carry_back(&resp);
                self.final_headers.insert(handle, keep);
            }
            Some(_) => {}
            None => self.stats.sip_stray_responses += 1,
        }
    }

    /// Moves transaction-layer output into the queue and reacts to its events.
    fn pump(&mut self, now: Instant) {
        // Transaction events can send stanzas and stanzas can answer
        // transactions: loop until both are quiet (bounded).
        for _ in 0..16 {
            let mut progressed = false;
            while let Some(ev) = self.txn.poll_event() {
                progressed = true;
                self.on_transaction_event(now, ev);
            }
            while let Some(t) = self.txn.poll_transmit() {
                progressed = true;
                self.out.push_back(Output::SendSip(t));
            }
            self.send_restore_probes();
            if self.pump_xmpp(now) {
                progressed = true;
            }
            if !progressed {
                break;
            }
        }
    }

    fn on_transaction_event(&mut self, now: Instant, ev: TransactionEvent) {
        match ev {
            TransactionEvent::ClientResponse { handle, status }
                if status.is_final() && self.presence_client_done(now, handle) => {}
            TransactionEvent::ClientTimeout { handle }
            | TransactionEvent::ClientTransportError { handle }
                if self.presence_client_done(now, handle) => {}
            TransactionEvent::ClientResponse { handle, status } => {
                if status.is_final() {
                    self.finish_relay(now, handle, relay::Outcome::Status(status));
                }
            }
            TransactionEvent::ClientTimeout { handle } => {
                self.finish_relay(now, handle, relay::Outcome::Timeout)
            }
            TransactionEvent::ClientTransportError { handle } => {
                self.finish_relay(now, handle, relay::Outcome::TransportError)
            }
            TransactionEvent::ClientTerminated { handle } => {
                if self.presence_client_done(now, handle) {
                    return;
                }
                // A leg that ended without an outcome must still be answered.
                if self.pending.contains_key(&handle) {
                    self.finish_relay(now, handle, relay::Outcome::TransportError);
                }
                self.final_headers.remove(&handle);
            }
            TransactionEvent::ServerTimeout { .. } | TransactionEvent::ServerTerminated { .. } => {}
        }
    }

    /// Sends a response on a server transaction.
    fn respond(
        &mut self,
        now: Instant,
        handle: ServerHandle,
        req: &Request,
        status: StatusCode,
        extra: Vec<(String, String)>,
    ) {
        let tag = self.random_hex(10);
        self.respond_with_tag(now, handle, req, status, &tag, extra);
    }

    fn respond_with_tag(
        &mut self,
        now: Instant,
        handle: ServerHandle,
        req: &Request,
        status: StatusCode,
        to_tag: &str,
        extra: Vec<(String, String)>,
    ) {
        let mut resp = req.response(status, Some(to_tag));
        for (n, v) in extra {
            resp.push_header(n, v);
        }
        let mut buf = Vec::with_capacity(512);
        resp.encode(&mut buf);
        if let Err(e) = self.txn.respond(now, handle, status, buf.into()) {
            tracing::debug!(error = %e, "response on a finished server transaction");
        }
        if !status.is_success() && status.is_final() {
            tracing::debug!(status = status.as_u16(), method = %req.method(), "request refused");
        }
        let kind = match req.method() {
            Method::Subscribe => Some(OperationKind::Subscribe),
            Method::Notify => Some(OperationKind::Notify),
            _ => None,
        };
        if let Some(kind) = kind {
            self.emit_presence_operation(
                kind,
                Direction::Inbound,
                Some(status.as_u16()),
                Duration::ZERO,
            );
        }
    }

    fn warning(&self, text: &str) -> String {
        let clean: String = text
            .chars()
            .filter(|c| *c != '"' && !c.is_control())
            .collect();
        format!("399 {} \"{}\"", self.config.advertise_host, clean)
    }

    fn random_hex(&mut self, bytes: usize) -> String {
        let mut s = String::with_capacity(bytes * 2);
        for _ in 0..bytes {
            let b: u8 = self.rng.random();
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 0xf)]));
        }
        s
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// The server transaction key of a request (RFC 3261 §17.2.3). A top Via
/// without the magic cookie gets a key from the RFC 2543 fields instead.
fn server_key(req: &Request) -> ServerKey {
    let via = req.top_via();
    match via.branch() {
        Some(b) if b.starts_with("z9hG4bK") => ServerKey::new(b, via.sent_by(), req.method()),
        _ => {
            let legacy = format!(
                "rfc2543;{};{};{};{}",
                req.call_id(),
                req.cseq().seq(),
                req.from().tag().unwrap_or(""),
                via.branch().unwrap_or("")
            );
            ServerKey::new(&legacy, via.sent_by(), req.method())
        }
    }
}

#[cfg(test)]
mod tests;
