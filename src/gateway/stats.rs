//! What the gateway core reports for operators, without knowing any metrics
//! library (house style G.27): plain `u64` counters ([`GatewayStats`]), a
//! cheap copyable [`StatsSnapshot`] of them plus the transaction layer's,
//! DNS cache's and XMPP link's counters, and one [`Operation`] event per
//! finished leg of a CPIM operation (binding, direction, kind, outcome,
//! native code, elapsed time). Only `src/metrics/` turns these into
//! Prometheus families.

use std::time::{Duration, Instant};

use super::policy::Refusal;
use super::relay::Outcome as RelayOutcome;
use super::{Gateway, GatewayEvent, Origin, Output, Pending, Relay};
use crate::cpim::Status;
use crate::route::Answer;
use crate::sip::StatusCode;
use crate::translate::status::cpim_response;
use crate::xmpp::{ComponentState, ErrorCondition};

/// Gateway counters. Every field counts since start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GatewayStats {
    /// SIP requests parsed (including retransmissions).
    pub sip_requests_received: u64,
    /// SIP responses parsed.
    pub sip_responses_received: u64,
    /// Inputs that did not parse.
    pub sip_parse_errors: u64,
    /// Unparseable requests answered with an error status (400, 413, …).
    pub sip_bad_requests_answered: u64,
    /// Unparseable inputs dropped because nothing could be answered.
    pub sip_dropped_unparseable: u64,
    /// Request retransmissions absorbed by server transactions.
    pub sip_retransmissions_absorbed: u64,
    /// Responses that matched no client transaction.
    pub sip_stray_responses: u64,
    /// Requests with a method we do not implement (501).
    pub sip_unknown_methods: u64,
    /// INVITEs rejected (no session mode yet).
    pub sip_invites_rejected: u64,
    /// MESSAGEs accepted for relay (a client transaction was started).
    pub messages_relayed: u64,
    /// Relayed MESSAGEs whose outcome was success.
    pub messages_success: u64,
    /// Relayed MESSAGEs whose outcome was indeterminate (202).
    pub messages_indeterminate: u64,
    /// Relayed MESSAGEs whose outcome was failure (including timeouts).
    pub messages_failure: u64,
    /// Relayed MESSAGEs whose outbound leg timed out (Timer F → 408).
    pub messages_timeout: u64,
    /// Relayed MESSAGEs whose next hop could not be reached.
    pub messages_transport_error: u64,
    /// MESSAGEs refused before relay: Max-Forwards exhausted (483).
    pub refused_too_many_hops: u64,
    /// MESSAGEs refused before relay: our loop marker was present (482).
    pub refused_loop: u64,
    /// MESSAGEs refused before relay: policy (403).
    pub refused_policy: u64,
    /// MESSAGEs refused before relay: a per-domain rate limit (503).
    pub refused_rate_limit: u64,
    /// MESSAGEs refused before relay: no route (404).
    pub refused_no_route: u64,
    /// MESSAGEs refused before relay: other translation faults.
    pub refused_translation: u64,
    /// MESSAGEs refused before relay: unsupported Require (420).
    pub refused_extension: u64,
    /// MESSAGEs refused before relay: pending relay table full (503).
    pub refused_overload: u64,
    /// Inbound TLS handshakes refused or timed out (RFC 3261 §26.2).
    pub tls_inbound_failures: u64,
    /// Outbound TLS handshakes refused: wrong name, untrusted, expired, or
    /// timed out; the legs waiting on them fail over or get 503.
    pub tls_outbound_failures: u64,
    /// Relays routed by a static `[[route]]`.
    pub routed_static: u64,
    /// Relays routed by a DNS plan.
    pub routed_dns: u64,
    /// Relays routed by the default route.
    pub routed_default: u64,
    /// DNS resolutions started.
    pub dns_resolutions: u64,
    /// DNS queries emitted (cache misses).
    pub dns_queries: u64,
    /// DNS resolutions that ended in an error.
    pub dns_failures: u64,
    /// Outbound legs retried on the next DNS candidate.
    pub failovers: u64,
    /// 1 while the XEP-0114 component link is online, else 0 (a gauge).
    pub xmpp_link_up: u64,
    /// Component connection attempts.
    pub xmpp_connects: u64,
    /// Handshakes refused with `<not-authorized/>`.
    pub xmpp_auth_failures: u64,
    /// Links lost after being established or attempted.
    pub xmpp_disconnects: u64,
    /// Stanzas received on the component link.
    pub xmpp_stanzas_in: u64,
    /// Error stanzas sent in reply to stanzas the gateway cannot deliver.
    pub xmpp_errors_sent: u64,
    /// SIP MESSAGEs sent to XMPP as stanzas.
    pub messages_to_xmpp: u64,
    /// XMPP messages accepted for relay to SIP.
    pub messages_from_xmpp: u64,
    /// SIP MESSAGEs towards XMPP refused because the link was down (503).
    pub xmpp_link_down_refusals: u64,
    /// SIP MESSAGEs towards XMPP whose content could not be carried (415…),
    /// and XMPP messages too large for SIP (both directions together).
    pub xmpp_mapping_refusals: u64,
    /// Of `xmpp_mapping_refusals`, the XMPP → SIP ones (RFC 3428 §8 size).
    pub xmpp_to_sip_mapping_refusals: u64,
    /// Relays sent to an XMPP domain through the component link.
    pub routed_xmpp: u64,
    /// Policy refusals by rule (their total is `refused_policy` plus
    /// `refused_rate_limit`).
    pub policy: PolicyRefusals,
    /// Load shed at a bound, by stage.
    pub shed: ShedCounts,
    /// DNS answers the driver fed back, by kind.
    pub dns_answers: DnsAnswers,
    /// Content that could not be carried and was left out of an otherwise
    /// delivered message (e.g. XHTML-IM markup that did not survive).
    pub content_dropped: u64,
    /// RFC 3994 §3.2 refreshes of an `active` isComposing the gateway sent
    /// on behalf of an XMPP user still composing.
    pub composing_refreshes: u64,
    /// RFC 3994 §3.3 receiver timeouts: a SIP composer's `active` ran out
    /// without a refresh, so the XMPP user was told the composer paused.
    pub composing_timeouts: u64,
    /// isComposing indications not sent: duplicates inside the refresh
    /// interval, or towards a SIP URI that answered 415 (RFC 3994 §4).
    pub composing_suppressed: u64,
    /// Operations refused because the gateway is draining (503 / wait).
    pub refused_draining: u64,
    /// Configuration reloads applied (SIGHUP).
    pub reloads: u64,
    /// Presence subscriptions created (both directions).
    pub subscriptions_created: u64,
    /// Presence subscriptions ended (both directions).
    pub subscriptions_terminated: u64,
    /// Subscriptions restored from the state store at start.
    pub subscriptions_restored: u64,
    /// Stored subscriptions dropped at start (expired or unreadable).
    pub subscriptions_dropped_on_restore: u64,
    /// SUBSCRIBEs and XMPP subscription requests refused by a limit.
    pub subscriptions_refused_limit: u64,
    /// NOTIFYs sent (both directions' SIP side).
    pub notifies_sent: u64,
    /// State changes merged into a later NOTIFY by the 5 s rate limit.
    pub notifies_coalesced: u64,
    /// NOTIFYs received that matched no subscription (481).
    pub notifies_unmatched: u64,
    /// Presence stanzas sent to XMPP watchers.
    pub presence_stanzas_sent: u64,
    /// Presence documents that could not be carried (unparseable PIDF…).
    pub presence_mapping_losses: u64,
}

/// Policy refusals by the rule that refused ([`Refusal`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolicyRefusals {
    /// The source address matches no `[[peer]]`.
    pub unknown_peer: u64,
    /// The peer may not assert the source domain.
    pub source_domain: u64,
    /// The destination is in `deny_destinations`.
    pub destination: u64,
    /// A `[[domain_policy]]` rule denies the domain.
    pub domain_denied: u64,
    /// A `[[domain_policy]]` rate limit is exhausted.
    pub rate_limited: u64,
    /// A `[[peer]]` rate limit is exhausted.
    pub peer_rate_limited: u64,
    /// A `require_tls` source domain came without a mutual-TLS identity.
    pub tls_required: u64,
}

/// Requests shed because a bound was reached (answered 503 + Retry-After
/// on SIP, `<resource-constraint/>` on XMPP), by where they were shed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShedCounts {
    /// Shed from a header-only scan, before the full parse (the relay
    /// table was at `sip.max_transactions`).
    pub headers: u64,
    /// Shed after the full parse, at the relay-table check (requests the
    /// header scan could not classify).
    pub relay_table: u64,
    /// XMPP messages refused because the relay table or the destination's
    /// queue was full.
    pub xmpp: u64,
    /// SIP requests answered 503 without a transaction because the server
    /// transaction table was at `sip.max_server_transactions`.
    pub stateless: u64,
}

impl ShedCounts {
    /// All sheds of the SIP binding.
    pub fn sip(&self) -> u64 {
        self.headers + self.relay_table + self.stateless
    }
}

/// DNS answers by kind (one per query the driver answered).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DnsAnswers {
    /// Records came back.
    pub records: u64,
    /// NXDOMAIN (RFC 1035 §4.1.1).
    pub nxdomain: u64,
    /// The name exists without records of the type (RFC 2308 §2.2).
    pub nodata: u64,
    /// No answer within the driver's bound.
    pub timeout: u64,
    /// SERVFAIL, REFUSED or another error.
    pub failure: u64,
}

impl GatewayStats {
    /// Counts one policy refusal under its rule.
    pub(super) fn count_policy_refusal(&mut self, refusal: &Refusal) {
        let p = &mut self.policy;
        match refusal {
            Refusal::UnknownPeer => p.unknown_peer += 1,
            Refusal::SourceDomain { .. } => p.source_domain += 1,
            Refusal::Destination(_) => p.destination += 1,
            Refusal::DomainDenied(_) => p.domain_denied += 1,
            Refusal::RateLimited { .. } => p.rate_limited += 1,
            Refusal::PeerRateLimited { .. } => p.peer_rate_limited += 1,
            Refusal::TlsRequired(_) => p.tls_required += 1,
        }
    }

    /// Counts one DNS answer under its kind.
    pub(super) fn count_dns_answer(&mut self, answer: &Answer) {
        let d = &mut self.dns_answers;
        match answer {
            Answer::Records(_) => d.records += 1,
            Answer::NxDomain => d.nxdomain += 1,
            Answer::NoData => d.nodata += 1,
            Answer::Timeout => d.timeout += 1,
            Answer::Failure => d.failure += 1,
        }
    }
}

// === Operation events ===

/// A protocol binding: the side of the gateway a leg runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Binding {
    /// SIP (RFC 3261, RFC 3428).
    Sip,
    /// XMPP through the XEP-0114 component link.
    Xmpp,
}

/// Which way a leg goes, seen from the gateway.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// A peer asked the gateway; the gateway answered.
    Inbound,
    /// The gateway asked a peer; the peer answered (or did not).
    Outbound,
}

/// The CPIM operation (RFC 3860 §3, RFC 3859 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperationKind {
    /// `message` (RFC 3860).
    Message,
    /// `subscribe` (RFC 3859): SUBSCRIBE on the SIP binding.
    Subscribe,
    /// `notify` (RFC 3859): NOTIFY on the SIP binding.
    Notify,
}

/// The CPIM outcome of one leg (RFC 3860 §3.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Delivered.
    Success,
    /// Not delivered.
    Failure,
    /// Handed on; no authoritative result follows (SIP 202, an XMPP
    /// stanza with no error inside the window).
    Indeterminate,
}

impl From<Status> for Outcome {
    fn from(s: Status) -> Outcome {
        match s {
            Status::Success => Outcome::Success,
            Status::Failure => Outcome::Failure,
            Status::Indeterminate => Outcome::Indeterminate,
        }
    }
}

/// The native detail of an outcome: a SIP status, an XMPP defined
/// condition (RFC 6120 §8.3.3, a closed set), or nothing (XMPP success
/// carries no code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NativeCode {
    /// A SIP status code. A timeout counts as 408 and a transport error
    /// as 503 (RFC 3261 §8.1.3.1).
    Sip(u16),
    /// An XMPP stanza error condition.
    Xmpp(&'static str),
    /// No native code.
    None,
}

/// One leg of one CPIM operation finished. The core reports it as
/// [`GatewayEvent::Operation`](super::GatewayEvent::Operation); the
/// metrics layer counts it and observes `elapsed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Operation {
    /// Where the leg ran.
    pub binding: Binding,
    /// Which way.
    pub direction: Direction,
    /// What operation.
    pub kind: OperationKind,
    /// The CPIM outcome.
    pub outcome: Outcome,
    /// The native code behind it.
    pub code: NativeCode,
    /// Inbound: from arrival to the answer. Outbound: from the first send
    /// to the final answer (or timeout).
    pub elapsed: Duration,
}

impl Gateway {
    /// The inbound SIP leg of an accepted MESSAGE was answered with
    /// `status` (no-op for XMPP-originated relays).
    pub(super) fn record_sip_inbound(&mut self, now: Instant, relay: &Relay, status: StatusCode) {
        if !matches!(relay.origin, Origin::Sip { .. }) {
            return;
        }
        let outcome = cpim_response(relay.msg.trans_id.clone(), status).status;
        let elapsed = now.saturating_duration_since(relay.started);
        self.emit_operation(
            Binding::Sip,
            Direction::Inbound,
            outcome.into(),
            NativeCode::Sip(status.as_u16()),
            elapsed,
        );
    }

    /// A MESSAGE refused on arrival, before a relay existed.
    pub(super) fn record_sip_refusal(&mut self, status: StatusCode) {
        self.emit_operation(
            Binding::Sip,
            Direction::Inbound,
            Outcome::Failure,
            NativeCode::Sip(status.as_u16()),
            Duration::ZERO,
        );
    }

    /// An outbound SIP leg ended (every leg, including ones failed over).
    pub(super) fn record_sip_outbound(&mut self, now: Instant, leg: &Pending, end: RelayOutcome) {
        let (outcome, code) = match end {
            RelayOutcome::Status(s) => (
                cpim_response(leg.relay.msg.trans_id.clone(), s)
                    .status
                    .into(),
                s.as_u16(),
            ),
            RelayOutcome::Timeout => (Outcome::Failure, 408),
            RelayOutcome::TransportError => (Outcome::Failure, 503),
        };
        let elapsed = now.saturating_duration_since(leg.started);
        self.emit_operation(
            Binding::Sip,
            Direction::Outbound,
            outcome,
            NativeCode::Sip(code),
            elapsed,
        );
    }

    /// An outbound XMPP leg ended: an error stanza with `condition` (peer
    /// input, folded into the defined set), or the window closed without one.
    pub(super) fn record_xmpp_outbound(
        &mut self,
        now: Instant,
        relay: &Relay,
        condition: Option<&str>,
    ) {
        let (outcome, code) = match condition {
            Some(c) => (
                Outcome::Failure,
                NativeCode::Xmpp(
                    ErrorCondition::from_name(c)
                        .unwrap_or(ErrorCondition::UndefinedCondition)
                        .as_str(),
                ),
            ),
            None => (Outcome::Indeterminate, NativeCode::None),
        };
        // The stanza leaves when the relay is accepted (no DNS for XMPP
        // domains), so the relay's start is the leg's start.
        let elapsed = now.saturating_duration_since(relay.started);
        self.emit_operation(Binding::Xmpp, Direction::Outbound, outcome, code, elapsed);
    }

    /// The inbound XMPP leg of a message was answered: with an error stanza
    /// (failure), or with nothing (XMPP has no positive report: success).
    pub(super) fn record_xmpp_inbound(
        &mut self,
        now: Instant,
        relay: &Relay,
        error: Option<ErrorCondition>,
    ) {
        let (outcome, code) = match error {
            Some(c) => (Outcome::Failure, NativeCode::Xmpp(c.as_str())),
            None => (Outcome::Success, NativeCode::None),
        };
        let elapsed = now.saturating_duration_since(relay.started);
        self.emit_operation(Binding::Xmpp, Direction::Inbound, outcome, code, elapsed);
    }

    /// An XMPP message refused on arrival with `condition`, before a relay
    /// existed.
    pub(super) fn record_xmpp_refusal(&mut self, condition: ErrorCondition) {
        self.emit_operation(
            Binding::Xmpp,
            Direction::Inbound,
            Outcome::Failure,
            NativeCode::Xmpp(condition.as_str()),
            Duration::ZERO,
        );
    }

    /// A SUBSCRIBE or NOTIFY leg on the SIP binding finished with `code`
    /// (`None`: timeout or transport error, counted as 408).
    pub(super) fn emit_presence_operation(
        &mut self,
        kind: OperationKind,
        direction: Direction,
        code: Option<u16>,
        elapsed: Duration,
    ) {
        let outcome = match code {
            Some(c) if (200..300).contains(&c) => Outcome::Success,
            Some(_) => Outcome::Failure,
            None => Outcome::Indeterminate,
        };
        self.out
            .push_back(Output::Event(GatewayEvent::Operation(Operation {
                binding: Binding::Sip,
                direction,
                kind,
                outcome,
                code: NativeCode::Sip(code.unwrap_or(408)),
                elapsed,
            })));
    }

    fn emit_operation(
        &mut self,
        binding: Binding,
        direction: Direction,
        outcome: Outcome,
        code: NativeCode,
        elapsed: Duration,
    ) {
        self.out
            .push_back(Output::Event(GatewayEvent::Operation(Operation {
                binding,
                direction,
                kind: OperationKind::Message,
                outcome,
                code,
                elapsed,
            })));
    }
}

// === Snapshot ===

/// Everything the metrics layer reads, copied out of the core in one go
/// (plain integers, so the copy and the change check are cheap). The
/// driver publishes it after each batch of inputs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// The gateway's own counters.
    pub gateway: GatewayStats,
    /// RFC 3261 transaction-layer counters.
    pub sip: SipTransactionCounts,
    /// DNS cache lookups answered from the cache.
    pub dns_cache_hits: u64,
    /// DNS cache lookups that missed.
    pub dns_cache_misses: u64,
    /// Relays in flight (waiting for DNS, an answer, a window or a queue).
    pub pending_relays: u64,
    /// The XMPP component link.
    pub xmpp: XmppLinkSnapshot,
    /// Subscriptions held, by direction and state.
    pub subscriptions: SubscriptionCounts,
}

/// Transaction-layer counters the metrics export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SipTransactionCounts {
    /// Requests (Timer E) and responses sent again.
    pub retransmissions_sent: u64,
    /// Retransmissions absorbed: repeated requests and ACKs at server
    /// transactions, repeated responses at client transactions.
    pub retransmissions_absorbed: u64,
    /// ACKs that matched no transaction (dropped).
    pub stray_acks: u64,
    /// Client transactions alive.
    pub client_active: u64,
    /// Server transactions alive.
    pub server_active: u64,
}

/// The state of the XMPP component link (XEP-0114).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LinkState {
    /// No `[xmpp]` section.
    #[default]
    NotConfigured,
    /// Waiting to connect (backoff).
    Disconnected,
    /// TCP connect, stream header or handshake in progress.
    Connecting,
    /// Stanzas flow.
    Online,
    /// Closed for good (shutdown).
    Closed,
}

impl LinkState {
    /// Every state, for exporters that show all of them.
    pub const ALL: [LinkState; 5] = [
        LinkState::NotConfigured,
        LinkState::Disconnected,
        LinkState::Connecting,
        LinkState::Online,
        LinkState::Closed,
    ];
}

/// XMPP link counters beyond those in [`GatewayStats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XmppLinkSnapshot {
    /// Where the link is.
    pub state: LinkState,
    /// Stanzas queued for sending.
    pub stanzas_out: u64,
    /// Stanzas or streams the framer refused (dropped).
    pub parse_errors: u64,
    /// Links declared dead by the XEP-0199 ping timeout.
    pub ping_timeouts: u64,
}

/// Subscriptions by direction and RFC 6665 §4.1.3 state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SubscriptionCounts {
    /// Watchers on the SIP side subscribed to XMPP presentities, pending.
    pub inbound_pending: u64,
    /// … active.
    pub inbound_active: u64,
    /// Subscriptions the gateway holds towards SIP presentities, pending.
    pub outbound_pending: u64,
    /// … active.
    pub outbound_active: u64,
    /// Subscriptions created since start.
    pub created: u64,
    /// Subscriptions terminated since start.
    pub terminated: u64,
}

impl Gateway {
    /// Copies the counters the metrics layer exports.
    pub fn snapshot(&self) -> StatsSnapshot {
        let t = self.txn.stats();
        let cache = self.dns_cache.stats();
        let xmpp = match &self.xmpp {
            None if self.config.xmpp.is_none() => XmppLinkSnapshot::default(),
            None => XmppLinkSnapshot {
                state: LinkState::Disconnected,
                ..XmppLinkSnapshot::default()
            },
            Some(link) => {
                let s = link.component.stats();
                XmppLinkSnapshot {
                    state: link_state(link.component.state()),
                    stanzas_out: s.stanzas_out,
                    parse_errors: s.parse_errors,
                    ping_timeouts: s.ping_timeouts,
                }
            }
        };
        StatsSnapshot {
            gateway: self.stats,
            sip: SipTransactionCounts {
                retransmissions_sent: t.retransmissions_sent,
                retransmissions_absorbed: t.retransmissions_absorbed,
                stray_acks: t.stray_acks,
                client_active: t.client_active,
                server_active: t.server_active,
            },
            dns_cache_hits: cache.hits,
            dns_cache_misses: cache.misses,
            pending_relays: u64::try_from(self.pending_relays()).unwrap_or(u64::MAX),
            xmpp,
            subscriptions: self.subscription_counts(),
        }
    }
}

fn link_state(s: ComponentState) -> LinkState {
    match s {
        ComponentState::Disconnected { .. } => LinkState::Disconnected,
        ComponentState::Connecting
        | ComponentState::AwaitingStreamHeader
        | ComponentState::Handshaking => LinkState::Connecting,
        ComponentState::Online => LinkState::Online,
        ComponentState::Closed => LinkState::Closed,
    }
}
