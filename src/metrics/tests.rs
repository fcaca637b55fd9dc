//! The exposition: names, labels, event counting, the HTTP answers.

use std::time::Duration;

use tokio::sync::watch;

use super::*;
use crate::gateway::{
    Binding, Direction, GatewayEvent, LinkState, NativeCode, Operation, OperationKind, Outcome,
};

fn op(
    binding: Binding,
    direction: Direction,
    outcome: Outcome,
    code: NativeCode,
    ms: u64,
) -> GatewayEvent {
    GatewayEvent::Operation(Operation {
        binding,
        direction,
        kind: OperationKind::Message,
        outcome,
        code,
        elapsed: Duration::from_millis(ms),
    })
}

/// The value of the sample written exactly as `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn exposition_is_openmetrics_with_prefixed_names() {
    let (_tx, rx) = watch::channel(StatsSnapshot::default());
    let (m, _rec) = Metrics::new(rx);
    let text = m.render().unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    for l in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(l.starts_with("cpim_gateway_"), "{l}");
    }
    for series in [
        "cpim_gateway_messages_relayed_total",
        "cpim_gateway_xmpp_link_up",
        "cpim_gateway_xmpp_link_configured",
        "cpim_gateway_xmpp_link_state{state=\"online\"}",
        "cpim_gateway_xmpp_reconnects_total",
        "cpim_gateway_sip_retransmissions_total{direction=\"sent\"}",
        "cpim_gateway_drops_total{reason=\"sip_unparseable\"}",
        "cpim_gateway_policy_refusals_total{rule=\"rate_limited\"}",
        "cpim_gateway_policy_refusals_total{rule=\"peer_rate_limited\"}",
        "cpim_gateway_policy_refusals_total{rule=\"tls_required\"}",
        "cpim_gateway_shed_total{stage=\"headers\"}",
        "cpim_gateway_shed_total{stage=\"relay_table\"}",
        "cpim_gateway_shed_total{stage=\"xmpp\"}",
        "cpim_gateway_shed_total{stage=\"stateless\"}",
        "cpim_gateway_mapping_losses_total{direction=\"sip_to_xmpp\"}",
        "cpim_gateway_route_decisions_total{route=\"static\"}",
        "cpim_gateway_dns_lookups_total{result=\"nxdomain\"}",
        "cpim_gateway_subscriptions{direction=\"inbound\",state=\"active\"}",
        "cpim_gateway_subscriptions_created_total",
        "cpim_gateway_operation_duration_seconds_count{binding=\"sip\",direction=\"inbound\",kind=\"message\"}",
    ] {
        assert_eq!(sample(&text, series), Some(0.0), "{series} in\n{text}");
    }
    let not_configured = "cpim_gateway_xmpp_link_state{state=\"not_configured\"}";
    assert_eq!(sample(&text, not_configured), Some(1.0));
    assert_eq!(
        sample(&text, "cpim_gateway_build_info{version=\"0.1.0\"}"),
        Some(1.0)
    );
    assert!(text.contains("# UNIT cpim_gateway_operation_duration_seconds seconds"));
}

#[test]
fn operation_events_count_by_labels_and_observe_durations() {
    let (_tx, rx) = watch::channel(StatsSnapshot::default());
    let (m, rec) = Metrics::new(rx);
    for _ in 0..3 {
        rec.observe(&op(
            Binding::Sip,
            Direction::Inbound,
            Outcome::Success,
            NativeCode::Sip(200),
            2,
        ));
    }
    rec.observe(&op(
        Binding::Xmpp,
        Direction::Outbound,
        Outcome::Failure,
        NativeCode::Xmpp("item-not-found"),
        40,
    ));
    rec.observe(&op(
        Binding::Xmpp,
        Direction::Inbound,
        Outcome::Success,
        NativeCode::None,
        0,
    ));
    rec.observe(&GatewayEvent::Dropped {
        reason: "ignored".into(),
    });
    let text = m.render().unwrap();
    let ok = "cpim_gateway_operations_total{binding=\"sip\",direction=\"inbound\",kind=\"message\",outcome=\"success\",code=\"200\"}";
    assert_eq!(sample(&text, ok), Some(3.0), "{text}");
    let xmpp = "cpim_gateway_operations_total{binding=\"xmpp\",direction=\"outbound\",kind=\"message\",outcome=\"failure\",code=\"item-not-found\"}";
    assert_eq!(sample(&text, xmpp), Some(1.0));
    let none = "cpim_gateway_operations_total{binding=\"xmpp\",direction=\"inbound\",kind=\"message\",outcome=\"success\",code=\"none\"}";
    assert_eq!(sample(&text, none), Some(1.0));
    let leg = "{binding=\"sip\",direction=\"inbound\",kind=\"message\"}";
    assert_eq!(
        sample(
            &text,
            &format!("cpim_gateway_operation_duration_seconds_count{leg}")
        ),
        Some(3.0)
    );
    let sum = sample(
        &text,
        &format!("cpim_gateway_operation_duration_seconds_sum{leg}"),
    )
    .unwrap();
    assert!((sum - 0.006).abs() < 1e-9, "{sum}");
    // 2 ms falls in the 2.5 ms bucket, not the 1 ms one.
    let bucket = |le: &str| {
        sample(
            &text,
            &format!(
                "cpim_gateway_operation_duration_seconds_bucket{{le=\"{le}\",binding=\"sip\",direction=\"inbound\",kind=\"message\"}}"
            ),
        )
    };
    assert_eq!(bucket("0.001"), Some(0.0), "{text}");
    assert_eq!(bucket("0.0025"), Some(3.0));
}

#[test]
fn snapshot_counters_follow_the_watch_channel() {
    let (tx, rx) = watch::channel(StatsSnapshot::default());
    let (m, _rec) = Metrics::new(rx);
    let mut s = StatsSnapshot::default();
    s.gateway.messages_relayed = 7;
    s.gateway.xmpp_connects = 3;
    s.gateway.xmpp_mapping_refusals = 5;
    s.gateway.xmpp_to_sip_mapping_refusals = 2;
    s.gateway.routed_xmpp = 4;
    s.xmpp.state = LinkState::Online;
    s.sip.retransmissions_sent = 9;
    tx.send(s).unwrap();
    let text = m.render().unwrap();
    for (series, want) in [
        ("cpim_gateway_messages_relayed_total", 7.0),
        ("cpim_gateway_xmpp_reconnects_total", 2.0),
        (
            "cpim_gateway_mapping_losses_total{direction=\"sip_to_xmpp\"}",
            3.0,
        ),
        (
            "cpim_gateway_mapping_losses_total{direction=\"xmpp_to_sip\"}",
            2.0,
        ),
        ("cpim_gateway_route_decisions_total{route=\"xmpp\"}", 4.0),
        ("cpim_gateway_xmpp_link_state{state=\"online\"}", 1.0),
        ("cpim_gateway_xmpp_link_state{state=\"disconnected\"}", 0.0),
        ("cpim_gateway_xmpp_link_configured", 1.0),
        (
            "cpim_gateway_sip_retransmissions_total{direction=\"sent\"}",
            9.0,
        ),
    ] {
        assert_eq!(sample(&text, series), Some(want), "{series}");
    }
}

fn status_of(resp: &[u8]) -> String {
    String::from_utf8_lossy(resp)
        .lines()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn http_routes_answer_with_status_and_media_type() {
    let (tx, rx) = watch::channel(StatsSnapshot::default());
    let (m, _rec) = Metrics::new(rx);
    let get = |path: &str| {
        http::respond(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
            &m,
        )
    };

    let r = get("/metrics");
    assert_eq!(status_of(&r), "HTTP/1.1 200 OK");
    let text = String::from_utf8_lossy(&r);
    assert!(text.contains("Content-Type: application/openmetrics-text; version=1.0.0"));
    assert!(text.ends_with("# EOF\n"));
    assert_eq!(status_of(&get("/healthz")), "HTTP/1.1 200 OK");
    assert_eq!(status_of(&get("/nope")), "HTTP/1.1 404 Not Found");
    let post = http::respond(b"POST /metrics HTTP/1.1\r\n\r\n", &m);
    assert_eq!(status_of(&post), "HTTP/1.1 405 Method Not Allowed");
    assert!(String::from_utf8_lossy(&post).contains("Allow: GET, HEAD"));
    let head = http::respond(b"HEAD /healthz HTTP/1.1\r\n\r\n", &m);
    assert!(
        String::from_utf8_lossy(&head).ends_with("\r\n\r\n"),
        "no body"
    );

    // Not ready until the listeners are bound, then while the link is down.
    let r = get("/readyz");
    assert_eq!(status_of(&r), "HTTP/1.1 503 Service Unavailable");
    assert!(String::from_utf8_lossy(&r).contains("sip listeners are not bound yet"));
    m.startup.set_listeners_bound();
    assert_eq!(status_of(&get("/readyz?verbose")), "HTTP/1.1 200 OK");
    let mut s = StatsSnapshot::default();
    s.xmpp.state = LinkState::Disconnected;
    tx.send(s).unwrap();
    let r = get("/readyz");
    assert_eq!(status_of(&r), "HTTP/1.1 503 Service Unavailable");
    assert!(String::from_utf8_lossy(&r).ends_with("not ready: xmpp link is down\n"));
    assert_eq!(status_of(&get("/healthz")), "HTTP/1.1 200 OK");
}
