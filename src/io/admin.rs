//! The admin HTTP endpoint on `[admin] listen` (loopback by default):
//! `/metrics` (gateway counters in the Prometheus text format) and
//! `/healthz`. A later issue replaces this minimal server with
//! prometheus-client families; the counters come from the core's
//! `GatewayStats` either way.

use std::fmt::Write as _;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::gateway::GatewayStats;

/// Serves requests forever.
pub(crate) async fn serve(listener: TcpListener, stats: watch::Receiver<GatewayStats>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let stats = stats.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let n = match tokio::time::timeout(
                std::time::Duration::from_secs(5),
                stream.read(&mut buf),
            )
            .await
            {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let head = String::from_utf8_lossy(buf.get(..n).unwrap_or_default());
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let (status, ctype, body) = match path {
                "/metrics" => (
                    "200 OK",
                    "text/plain; version=0.0.4",
                    render(&stats.borrow()),
                ),
                "/healthz" => ("200 OK", "text/plain", "ok\n".to_string()),
                _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(resp.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// Renders the counters. Names follow Prometheus conventions.
pub(crate) fn render(s: &GatewayStats) -> String {
    let rows: Vec<(&str, &str, u64)> = vec![
        (
            "sip_requests_received_total",
            "SIP requests parsed",
            s.sip_requests_received,
        ),
        (
            "sip_responses_received_total",
            "SIP responses parsed",
            s.sip_responses_received,
        ),
        (
            "sip_parse_errors_total",
            "SIP inputs that did not parse",
            s.sip_parse_errors,
        ),
        (
            "sip_bad_requests_answered_total",
            "unparseable requests answered with an error status",
            s.sip_bad_requests_answered,
        ),
        (
            "sip_dropped_unparseable_total",
            "unparseable inputs dropped unanswered",
            s.sip_dropped_unparseable,
        ),
        (
            "sip_retransmissions_absorbed_total",
            "request retransmissions absorbed",
            s.sip_retransmissions_absorbed,
        ),
        (
            "sip_stray_responses_total",
            "responses matching no transaction",
            s.sip_stray_responses,
        ),
        (
            "sip_unknown_methods_total",
            "requests answered 501",
            s.sip_unknown_methods,
        ),
        (
            "sip_invites_rejected_total",
            "INVITEs rejected",
            s.sip_invites_rejected,
        ),
        (
            "messages_relayed_total",
            "MESSAGEs accepted for relay",
            s.messages_relayed,
        ),
        (
            "messages_success_total",
            "relayed MESSAGEs with outcome success",
            s.messages_success,
        ),
        (
            "messages_indeterminate_total",
            "relayed MESSAGEs with outcome indeterminate",
            s.messages_indeterminate,
        ),
        (
            "messages_failure_total",
            "relayed MESSAGEs with outcome failure",
            s.messages_failure,
        ),
        (
            "messages_timeout_total",
            "relayed MESSAGEs whose leg timed out",
            s.messages_timeout,
        ),
        (
            "messages_transport_error_total",
            "relayed MESSAGEs whose next hop was unreachable",
            s.messages_transport_error,
        ),
        (
            "refused_too_many_hops_total",
            "MESSAGEs refused with 483",
            s.refused_too_many_hops,
        ),
        (
            "refused_loop_total",
            "MESSAGEs refused with 482",
            s.refused_loop,
        ),
        (
            "refused_policy_total",
            "MESSAGEs refused by policy",
            s.refused_policy,
        ),
        (
            "refused_no_route_total",
            "MESSAGEs refused for lack of a route",
            s.refused_no_route,
        ),
        (
            "refused_translation_total",
            "MESSAGEs refused by translation",
            s.refused_translation,
        ),
        (
            "refused_extension_total",
            "MESSAGEs refused with 420",
            s.refused_extension,
        ),
        (
            "messages_from_xmpp_total",
            "XMPP messages accepted for relay to SIP",
            s.messages_from_xmpp,
        ),
        (
            "messages_to_xmpp_total",
            "SIP MESSAGEs sent to XMPP as stanzas",
            s.messages_to_xmpp,
        ),
        (
            "xmpp_link_down_refusals_total",
            "SIP MESSAGEs towards XMPP refused with 503 while the link was down",
            s.xmpp_link_down_refusals,
        ),
        (
            "xmpp_mapping_refusals_total",
            "SIP MESSAGEs towards XMPP whose content could not be carried",
            s.xmpp_mapping_refusals,
        ),
        (
            "xmpp_mapping_losses_total",
            "content left out of an otherwise delivered message",
            s.xmpp_mapping_losses,
        ),
        (
            "composing_refreshes_total",
            "RFC 3994 active refreshes sent for XMPP composers",
            s.composing_refreshes,
        ),
        (
            "composing_timeouts_total",
            "SIP composers timed out (XMPP user told paused)",
            s.composing_timeouts,
        ),
        (
            "composing_suppressed_total",
            "isComposing indications not sent (duplicate, or URI answered 415)",
            s.composing_suppressed,
        ),
        (
            "xmpp_connects_total",
            "XMPP component connection attempts",
            s.xmpp_connects,
        ),
        (
            "xmpp_auth_failures_total",
            "XMPP component handshakes refused",
            s.xmpp_auth_failures,
        ),
        (
            "xmpp_disconnects_total",
            "XMPP component links lost",
            s.xmpp_disconnects,
        ),
        (
            "xmpp_stanzas_in_total",
            "stanzas received on the component link",
            s.xmpp_stanzas_in,
        ),
        (
            "xmpp_errors_sent_total",
            "error stanzas sent for stanzas that cannot be delivered",
            s.xmpp_errors_sent,
        ),
        (
            "refused_rate_limit_total",
            "MESSAGEs refused by a per-domain rate limit (503)",
            s.refused_rate_limit,
        ),
        (
            "routed_static_total",
            "relays routed by a static route",
            s.routed_static,
        ),
        (
            "routed_dns_total",
            "relays routed by DNS discovery",
            s.routed_dns,
        ),
        (
            "routed_default_total",
            "relays routed by the default route",
            s.routed_default,
        ),
        (
            "dns_resolutions_total",
            "DNS resolutions started",
            s.dns_resolutions,
        ),
        (
            "dns_queries_total",
            "DNS queries sent (cache misses)",
            s.dns_queries,
        ),
        (
            "dns_failures_total",
            "DNS resolutions that ended in an error",
            s.dns_failures,
        ),
        (
            "failovers_total",
            "outbound legs retried on the next DNS candidate",
            s.failovers,
        ),
        (
            "refused_overload_total",
            "MESSAGEs refused with 503 (relay table full)",
            s.refused_overload,
        ),
    ];
    let gauges: [(&str, &str, u64); 1] = [(
        "xmpp_link_up",
        "1 while the XEP-0114 component link is online",
        s.xmpp_link_up,
    )];
    let mut out = String::with_capacity(4096);
    for (name, help, v) in gauges {
        let _ = writeln!(
            out,
            "# HELP cpim_gateway_{name} {help}\n# TYPE cpim_gateway_{name} gauge\ncpim_gateway_{name} {v}"
        );
    }
    for (name, help, v) in rows {
        let _ = writeln!(
            out,
            "# HELP cpim_gateway_{name} {help}\n# TYPE cpim_gateway_{name} counter\ncpim_gateway_{name} {v}"
        );
    }
    out
}
