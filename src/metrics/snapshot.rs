//! Families read from the core's counters at scrape time. The driver
//! publishes a [`StatsSnapshot`] (plain integers) on a watch channel after
//! each batch of inputs; this collector turns the latest one into constant
//! counters and gauges when `/metrics` is scraped, so the hot path never
//! touches a metrics library.
//!
//! The flat `*_total` counters of the first admin endpoint keep their
//! names; the labelled families below them are the ones dashboards and
//! alerts use.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use tokio::sync::watch;

use crate::gateway::{GatewayStats, LinkState, StatsSnapshot};

type Fmt = Result<(), std::fmt::Error>;

/// Encodes the latest snapshot on each scrape.
#[derive(Debug)]
pub(super) struct SnapshotCollector {
    pub(super) snapshots: watch::Receiver<StatsSnapshot>,
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> Fmt {
        let s = *self.snapshots.borrow();
        let g = &s.gateway;
        gauge(
            &mut enc,
            "xmpp_link_up",
            "1 while the XEP-0114 component link is online",
            g.xmpp_link_up,
        )?;
        for (name, help, v) in flat_counters(g) {
            counter(&mut enc, name, help, v)?;
        }
        operations_context(&mut enc, &s)?;
        xmpp_link(&mut enc, &s)?;
        subscriptions(&mut enc, &s)
    }
}

/// Retransmissions, drops, policy refusals, mapping losses, routing and DNS.
fn operations_context(enc: &mut DescriptorEncoder<'_>, s: &StatsSnapshot) -> Fmt {
    let g = &s.gateway;
    labelled_counter(
        enc,
        "sip_retransmissions",
        "SIP retransmissions (RFC 3261 §17): sent by our transactions (Timers E/G, repeated answers) and received and absorbed",
        "direction",
        &[
            ("sent", s.sip.retransmissions_sent),
            ("received", s.sip.retransmissions_absorbed),
        ],
    )?;
    labelled_counter(
        enc,
        "drops",
        "Inputs discarded without an answer, by reason",
        "reason",
        &[
            ("sip_unparseable", g.sip_dropped_unparseable),
            ("sip_stray_response", g.sip_stray_responses),
            ("sip_stray_ack", s.sip.stray_acks),
            ("xmpp_unparseable", s.xmpp.parse_errors),
        ],
    )?;
    let p = &g.policy;
    labelled_counter(
        enc,
        "policy_refusals",
        "Operations refused by federation policy, by rule (403, or 503 for rate limits)",
        "rule",
        &[
            ("unknown_peer", p.unknown_peer),
            ("source_domain", p.source_domain),
            ("destination_denied", p.destination),
            ("domain_denied", p.domain_denied),
            ("rate_limited", p.rate_limited),
            ("peer_rate_limited", p.peer_rate_limited),
            ("tls_required", p.tls_required),
        ],
    )?;
    let shed = &g.shed;
    labelled_counter(
        enc,
        "shed",
        "Requests shed at a bound with 503 + Retry-After (SIP) or <resource-constraint/> (XMPP), by stage: headers (header-only scan, before the full parse), relay_table (after the full parse), stateless (server transaction table full), xmpp",
        "stage",
        &[
            ("headers", shed.headers),
            ("relay_table", shed.relay_table),
            ("xmpp", shed.xmpp),
            ("stateless", shed.stateless),
        ],
    )?;
    let to_sip = g.xmpp_to_sip_mapping_refusals;
    labelled_counter(
        enc,
        "mapping_losses",
        "Messages refused because their content could not be carried to the other binding",
        "direction",
        &[
            (
                "sip_to_xmpp",
                g.xmpp_mapping_refusals.saturating_sub(to_sip),
            ),
            ("xmpp_to_sip", to_sip),
        ],
    )?;
    labelled_counter(
        enc,
        "route_decisions",
        "Where relays were routed: static route, XMPP domain, DNS, default route, or nowhere (refused)",
        "route",
        &[
            ("static", g.routed_static),
            ("xmpp", g.routed_xmpp),
            ("dns", g.routed_dns),
            ("default", g.routed_default),
            ("none", g.refused_no_route),
        ],
    )?;
    let d = &g.dns_answers;
    labelled_counter(
        enc,
        "dns_lookups",
        "DNS queries answered by the resolver, by result",
        "result",
        &[
            ("records", d.records),
            ("nxdomain", d.nxdomain),
            ("nodata", d.nodata),
            ("timeout", d.timeout),
            ("failure", d.failure),
        ],
    )?;
    labelled_counter(
        enc,
        "tls_handshake_failures",
        "TLS handshakes that failed (refused certificate, wrong name, timeout), by direction",
        "direction",
        &[
            ("inbound", g.tls_inbound_failures),
            ("outbound", g.tls_outbound_failures),
        ],
    )?;
    labelled_counter(
        enc,
        "dns_cache_lookups",
        "DNS cache lookups, by result",
        "result",
        &[("hit", s.dns_cache_hits), ("miss", s.dns_cache_misses)],
    )?;
    gauge(
        enc,
        "pending_relays",
        "Relays in flight (waiting for DNS, an answer, an XMPP error window or a queue)",
        s.pending_relays,
    )?;
    labelled_gauge(
        enc,
        "sip_transactions",
        "SIP transactions alive, by role",
        &[
            (&[("role", "client")], s.sip.client_active),
            (&[("role", "server")], s.sip.server_active),
        ],
    )
}

/// The XMPP link: configured, state, reconnects and liveness.
fn xmpp_link(enc: &mut DescriptorEncoder<'_>, s: &StatsSnapshot) -> Fmt {
    let state = s.xmpp.state;
    gauge(
        enc,
        "xmpp_link_configured",
        "1 when an [xmpp] component link is configured",
        u64::from(state != LinkState::NotConfigured),
    )?;
    let rows: Vec<([(&str, &str); 1], u64)> = LinkState::ALL
        .iter()
        .map(|st| ([("state", link_state_label(*st))], u64::from(*st == state)))
        .collect();
    let rows: Vec<(&[(&str, &str)], u64)> = rows.iter().map(|(l, v)| (&l[..], *v)).collect();
    labelled_gauge(
        enc,
        "xmpp_link_state",
        "The component link's state (1 for the current one)",
        &rows,
    )?;
    counter(
        enc,
        "xmpp_reconnects",
        "Component connection attempts after the first",
        s.gateway.xmpp_connects.saturating_sub(1),
    )?;
    counter(
        enc,
        "xmpp_ping_timeouts",
        "Links declared dead by the XEP-0199 ping timeout",
        s.xmpp.ping_timeouts,
    )?;
    counter(
        enc,
        "xmpp_stanzas_out",
        "Stanzas sent on the component link",
        s.xmpp.stanzas_out,
    )
}

/// Presence subscriptions held, by direction (inbound: SIP watchers of
/// XMPP presentities; outbound: the gateway's subscriptions to SIP
/// presentities for XMPP watchers) and RFC 6665 state.
fn subscriptions(enc: &mut DescriptorEncoder<'_>, s: &StatsSnapshot) -> Fmt {
    let c = &s.subscriptions;
    labelled_gauge(
        enc,
        "subscriptions",
        "Presence subscriptions held, by direction and RFC 6665 state",
        &[
            (
                &[("direction", "inbound"), ("state", "pending")],
                c.inbound_pending,
            ),
            (
                &[("direction", "inbound"), ("state", "active")],
                c.inbound_active,
            ),
            (
                &[("direction", "outbound"), ("state", "pending")],
                c.outbound_pending,
            ),
            (
                &[("direction", "outbound"), ("state", "active")],
                c.outbound_active,
            ),
        ],
    )?;
    counter(
        enc,
        "subscriptions_created",
        "Presence subscriptions created",
        c.created,
    )?;
    counter(
        enc,
        "subscriptions_terminated",
        "Presence subscriptions terminated",
        c.terminated,
    )
}

fn link_state_label(s: LinkState) -> &'static str {
    match s {
        LinkState::Closed => "closed",
        LinkState::Connecting => "connecting",
        LinkState::Disconnected => "disconnected",
        LinkState::NotConfigured => "not_configured",
        LinkState::Online => "online",
    }
}

/// The counters of the first admin endpoint, names unchanged.
fn flat_counters(g: &GatewayStats) -> [(&'static str, &'static str, u64); 53] {
    [
        (
            "sip_requests_received",
            "SIP requests parsed",
            g.sip_requests_received,
        ),
        (
            "sip_responses_received",
            "SIP responses parsed",
            g.sip_responses_received,
        ),
        (
            "sip_parse_errors",
            "SIP inputs that did not parse",
            g.sip_parse_errors,
        ),
        (
            "sip_bad_requests_answered",
            "Unparseable requests answered with an error status",
            g.sip_bad_requests_answered,
        ),
        (
            "sip_dropped_unparseable",
            "Unparseable inputs dropped unanswered",
            g.sip_dropped_unparseable,
        ),
        (
            "sip_retransmissions_absorbed",
            "Request retransmissions absorbed",
            g.sip_retransmissions_absorbed,
        ),
        (
            "sip_stray_responses",
            "Responses matching no transaction",
            g.sip_stray_responses,
        ),
        (
            "sip_unknown_methods",
            "Requests answered 501",
            g.sip_unknown_methods,
        ),
        (
            "sip_invites_rejected",
            "INVITEs rejected",
            g.sip_invites_rejected,
        ),
        (
            "messages_relayed",
            "MESSAGEs accepted for relay",
            g.messages_relayed,
        ),
        (
            "messages_success",
            "Relayed MESSAGEs with outcome success",
            g.messages_success,
        ),
        (
            "messages_indeterminate",
            "Relayed MESSAGEs with outcome indeterminate",
            g.messages_indeterminate,
        ),
        (
            "messages_failure",
            "Relayed MESSAGEs with outcome failure",
            g.messages_failure,
        ),
        (
            "messages_timeout",
            "Relayed MESSAGEs whose leg timed out",
            g.messages_timeout,
        ),
        (
            "messages_transport_error",
            "Relayed MESSAGEs whose next hop was unreachable",
            g.messages_transport_error,
        ),
        (
            "refused_too_many_hops",
            "MESSAGEs refused with 483",
            g.refused_too_many_hops,
        ),
        ("refused_loop", "MESSAGEs refused with 482", g.refused_loop),
        (
            "refused_policy",
            "MESSAGEs refused by policy",
            g.refused_policy,
        ),
        (
            "refused_no_route",
            "MESSAGEs refused for lack of a route",
            g.refused_no_route,
        ),
        (
            "refused_translation",
            "MESSAGEs refused by translation",
            g.refused_translation,
        ),
        (
            "refused_extension",
            "MESSAGEs refused with 420",
            g.refused_extension,
        ),
        (
            "messages_from_xmpp",
            "XMPP messages accepted for relay to SIP",
            g.messages_from_xmpp,
        ),
        (
            "messages_to_xmpp",
            "SIP MESSAGEs sent to XMPP as stanzas",
            g.messages_to_xmpp,
        ),
        (
            "xmpp_link_down_refusals",
            "SIP MESSAGEs towards XMPP refused with 503 while the link was down",
            g.xmpp_link_down_refusals,
        ),
        (
            "xmpp_mapping_refusals",
            "Messages whose content could not be carried between SIP and XMPP",
            g.xmpp_mapping_refusals,
        ),
        (
            "content_dropped",
            "Content left out of a message that was still delivered (e.g. XHTML-IM to SIP)",
            g.content_dropped,
        ),
        (
            "refused_draining",
            "Operations refused while draining for shutdown (503 with Retry-After)",
            g.refused_draining,
        ),
        (
            "config_reloads",
            "Configuration reloads applied (SIGHUP)",
            g.reloads,
        ),
        (
            "subscriptions_restored",
            "Presence subscriptions restored from the state store at start",
            g.subscriptions_restored,
        ),
        (
            "subscriptions_dropped_on_restore",
            "Stored subscriptions dropped at start (expired or unreadable)",
            g.subscriptions_dropped_on_restore,
        ),
        (
            "subscriptions_refused_limit",
            "Subscriptions refused by a per-watcher, per-presentity or total limit",
            g.subscriptions_refused_limit,
        ),
        (
            "notifies_sent",
            "SIP NOTIFYs sent to SIP watchers",
            g.notifies_sent,
        ),
        (
            "notifies_coalesced",
            "Presence changes merged into a later NOTIFY by the per-watcher rate limit",
            g.notifies_coalesced,
        ),
        (
            "notifies_unmatched",
            "NOTIFYs that matched no subscription (answered 481)",
            g.notifies_unmatched,
        ),
        (
            "presence_stanzas_sent",
            "Presence stanzas sent on the component link",
            g.presence_stanzas_sent,
        ),
        (
            "presence_mapping_losses",
            "Presence documents that could not be carried (e.g. unparseable PIDF)",
            g.presence_mapping_losses,
        ),
        (
            "composing_refreshes",
            "RFC 3994 active refreshes sent for XMPP users still composing",
            g.composing_refreshes,
        ),
        (
            "composing_timeouts",
            "SIP composers whose refresh ran out (the XMPP user was told paused)",
            g.composing_timeouts,
        ),
        (
            "composing_suppressed",
            "isComposing indications not sent (duplicate, or the SIP URI answered 415)",
            g.composing_suppressed,
        ),
        (
            "xmpp_connects",
            "XMPP component connection attempts",
            g.xmpp_connects,
        ),
        (
            "xmpp_auth_failures",
            "XMPP component handshakes refused",
            g.xmpp_auth_failures,
        ),
        (
            "xmpp_disconnects",
            "XMPP component links lost",
            g.xmpp_disconnects,
        ),
        (
            "xmpp_stanzas_in",
            "Stanzas received on the component link",
            g.xmpp_stanzas_in,
        ),
        (
            "xmpp_errors_sent",
            "Error stanzas sent for stanzas that cannot be delivered",
            g.xmpp_errors_sent,
        ),
        (
            "refused_rate_limit",
            "MESSAGEs refused by a per-domain rate limit (503)",
            g.refused_rate_limit,
        ),
        (
            "routed_static",
            "Relays routed by a static route",
            g.routed_static,
        ),
        ("routed_dns", "Relays routed by DNS discovery", g.routed_dns),
        (
            "routed_default",
            "Relays routed by the default route",
            g.routed_default,
        ),
        (
            "dns_resolutions",
            "DNS resolutions started",
            g.dns_resolutions,
        ),
        (
            "dns_queries",
            "DNS queries sent (cache misses)",
            g.dns_queries,
        ),
        (
            "dns_failures",
            "DNS resolutions that ended in an error",
            g.dns_failures,
        ),
        (
            "failovers",
            "Outbound legs retried on the next DNS candidate",
            g.failovers,
        ),
        (
            "refused_overload",
            "MESSAGEs refused with 503 because the relay table was full (SIP sheds at both stages, and XMPP)",
            g.refused_overload,
        ),
    ]
}

fn counter(enc: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: u64) -> Fmt {
    let m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    ConstCounter::new(v).encode(m)
}

fn gauge(enc: &mut DescriptorEncoder<'_>, name: &str, help: &str, v: u64) -> Fmt {
    let m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(v).encode(m)
}

fn labelled_counter(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    label: &str,
    rows: &[(&str, u64)],
) -> Fmt {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (value, v) in rows {
        let labels = [(label, *value)];
        ConstCounter::new(*v).encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

fn labelled_gauge(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: &[(&[(&str, &str)], u64)],
) -> Fmt {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in rows {
        ConstGauge::new(*v).encode(m.encode_family(labels)?)?;
    }
    Ok(())
}
