//! Plain counters the gateway core keeps. Only `src/metrics/` (later) and the
//! admin endpoint turn them into an exposition format; protocol code never
//! touches a metrics library.

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
    /// SIP MESSAGEs towards XMPP whose content could not be carried (415…).
    pub xmpp_mapping_refusals: u64,
    /// Content that could not be carried and was left out of an otherwise
    /// delivered message (e.g. XHTML-IM markup that did not survive).
    pub xmpp_mapping_losses: u64,
    /// RFC 3994 §3.2 refreshes of an `active` isComposing the gateway sent
    /// on behalf of an XMPP user still composing.
    pub composing_refreshes: u64,
    /// RFC 3994 §3.3 receiver timeouts: a SIP composer's `active` ran out
    /// without a refresh, so the XMPP user was told the composer paused.
    pub composing_timeouts: u64,
    /// isComposing indications not sent: duplicates inside the refresh
    /// interval, or towards a SIP URI that answered 415 (RFC 3994 §4).
    pub composing_suppressed: u64,
}
