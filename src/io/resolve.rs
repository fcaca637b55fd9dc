//! The operator CLI `cpim-gateway resolve <uri>`: shows what the gateway
//! would do with a destination, in the gateway's routing order — a static
//! `[[route]]` wins, then the local `[gateway] domains`, then DNS discovery
//! (RFC 3861 for `im:`/`pres:`, RFC 3263 for `sip:`/`sips:`), then the
//! optional `[gateway] default_route`.
//!
//! For DNS it drives the same sans-IO [`Resolution`] and [`DnsCache`] the
//! gateway uses, answering its queries with [`DnsClient`] (concurrently,
//! each bounded), and prints [`describe`]: every query and its records, the
//! SRV order drawn, the binding chosen and the numbered failover plan, or
//! the error with the SIP status the gateway would answer. It decides
//! nothing itself beyond picking which of those stages applies.

use std::fmt::Write as _;

use rand::SeedableRng as _;
use rand::rngs::StdRng;
use tokio::task::JoinSet;

use crate::config::Config;
use crate::cpim::{ImUri, PresUri};
use crate::io::clock;
use crate::io::dns::DnsClient;
use crate::route::resolution::describe;
use crate::route::{
    Binding, DnsCache, Plan, Resolution, RouteError, Router, Service, SipTransport, Target,
};
use crate::sip::{Limits, SipUri, StatusCode};

/// The URI given to `resolve` cannot be resolved at all (a usage error:
/// the CLI exits with 64).
#[derive(Debug, thiserror::Error)]
#[error("bad uri {uri:?}: {why}")]
pub struct BadUri {
    /// The URI as given.
    pub uri: String,
    /// What is wrong with it.
    pub why: String,
}

/// Resolves `uri` as the gateway would and returns the report to print.
/// Errors: [`BadUri`] for a URI that names no routable destination;
/// anything else is a runtime failure (resolver setup).
pub async fn resolve_command(config: &Config, uri: &str) -> anyhow::Result<String> {
    let (target, domain) = parse_target(uri)?;
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(out, "destination {uri} (domain {domain})");

    // 1. Static routes.
    if let Some(route) = Router::new(config.routes.clone()).lookup(&domain) {
        let _ = writeln!(
            out,
            "static route: [[route]] domain = \"{}\" via {} {}",
            route.domain, route.next_hop.transport, route.next_hop.addr
        );
        let _ = writeln!(out, "the static route wins: dns discovery is not consulted");
        return Ok(out);
    }
    let _ = writeln!(out, "static route: none matches");

    // 2. Local domains.
    if let Some(p) = config.gateway.domains.iter().find(|p| p.matches(&domain)) {
        let _ = writeln!(
            out,
            "local domain: matches [gateway] domains \"{p}\"; the gateway is authoritative, dns discovery is not consulted"
        );
        return Ok(out);
    }
    let _ = writeln!(out, "local domain: no");

    // 3. DNS discovery.
    let nothing = if config.dns.enabled {
        let (text, result) = discover(config, target).await?;
        out.push_str(&text);
        match &result {
            Ok(plan) => {
                let _ = writeln!(out, "{}", plan_summary(plan));
                return Ok(out);
            }
            Err(e @ (RouteError::NotFound { .. } | RouteError::NoRecords { .. })) => {
                format!("dns discovery found nothing: {e}")
            }
            Err(e) => {
                let _ = writeln!(
                    out,
                    "result: dns discovery failed ({e}); the gateway answers {}",
                    sip_status(StatusCode::from(e))
                );
                return Ok(out);
            }
        }
    } else {
        "dns discovery: disabled ([dns] enabled = false)".to_owned()
    };
    let _ = writeln!(out, "{nothing}");

    // 4. Default route.
    match config.gateway.default_route {
        Some(hop) => {
            let _ = writeln!(
                out,
                "result: the default route would be used: [gateway] default_route via {} {}",
                hop.transport, hop.addr
            );
        }
        None => {
            let _ = writeln!(
                out,
                "result: not found; no default route, the gateway answers {}",
                sip_status(StatusCode::NOT_FOUND)
            );
        }
    }
    Ok(out)
}

/// `SIP 404 Not Found`.
fn sip_status(s: StatusCode) -> String {
    format!("SIP {s} {}", s.reason())
}

/// One line saying what a found plan means for delivery.
fn plan_summary(plan: &Plan) -> String {
    let first = plan
        .candidates()
        .first()
        .map(|c| c.addr.to_string())
        .unwrap_or_default();
    match plan.binding() {
        Binding::Sip => {
            format!("result: binding sip; first candidate {first}, then failover in plan order")
        }
        Binding::Xmpp => format!(
            "result: binding xmpp; first candidate {first}; delivered by the xmpp binding when one is configured, otherwise the gateway refuses with SIP 502"
        ),
    }
}

/// Runs one resolution against DNS until it decides, then lets the queries
/// it no longer needs finish (each is bounded) so the trace shows them.
async fn discover(
    config: &Config,
    target: Target,
) -> anyhow::Result<(String, Result<Plan, RouteError>)> {
    let client = DnsClient::new(&config.dns)?;
    let mut cache = DnsCache::new(config.dns.cache.clone());
    let rng = StdRng::seed_from_u64(config.gateway.rng_seed.unwrap_or(0));
    let mut res = Resolution::new(1, target, &config.dns.resolution, rng);
    let mut pending = JoinSet::new();
    let mut result = None;
    loop {
        while let Some(q) = res.poll_query(clock::now(), &mut cache) {
            let c = client.clone();
            pending.spawn(async move {
                let answer = c.lookup(&q).await;
                (q.id, answer)
            });
        }
        if let Some(r) = res.poll_result() {
            result = Some(r);
        }
        let Some(joined) = pending.join_next().await else {
            break;
        };
        let (id, answer) = joined.map_err(|e| anyhow::anyhow!("dns lookup task failed: {e}"))?;
        res.handle_answer(clock::now(), id, answer, &mut cache);
    }
    let result =
        result.ok_or_else(|| anyhow::anyhow!("resolution stalled with no query outstanding"))?;
    let mut text = describe(res.trace(), &result);
    let mut lines = String::new();
    for l in text.lines() {
        let _ = writeln!(lines, "  {l}");
    }
    let servers = if config.dns.nameservers.is_empty() {
        "system resolver".to_owned()
    } else {
        let list: Vec<String> = config
            .dns
            .nameservers
            .iter()
            .map(|a| a.to_string())
            .collect();
        format!("nameservers {}", list.join(", "))
    };
    text = format!(
        "dns discovery ({servers}; each lookup bounded by {} ms):\n{lines}",
        client.bound().as_millis()
    );
    Ok((text, result))
}

/// The resolution target and destination domain of a URI.
fn parse_target(uri: &str) -> Result<(Target, String), BadUri> {
    let bad = |why: String| BadUri {
        uri: uri.to_owned(),
        why,
    };
    let uri = uri.trim();
    let scheme = uri
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .ok_or_else(|| bad("no scheme (expected im:, pres:, sip: or sips:)".into()))?;
    let route_err = |e: RouteError| bad(e.to_string());
    match scheme.as_str() {
        "im" => {
            let u = ImUri::parse(uri).map_err(|e| bad(e.to_string()))?;
            let t = Target::service(Service::Im, u.domain()).map_err(route_err)?;
            Ok((t, u.domain().to_ascii_lowercase()))
        }
        "pres" => {
            let u = PresUri::parse(uri).map_err(|e| bad(e.to_string()))?;
            let t = Target::service(Service::Pres, u.domain()).map_err(route_err)?;
            Ok((t, u.domain().to_ascii_lowercase()))
        }
        "sip" | "sips" => {
            let u = SipUri::parse(uri, &Limits::default()).map_err(|e| bad(e.to_string()))?;
            let transport = match u.param("transport").flatten() {
                None => None,
                Some(p) => Some(
                    SipTransport::from_param(p)
                        .ok_or_else(|| bad(format!("unsupported transport={p}")))?,
                ),
            };
            let t =
                Target::sip(u.host(), u.port(), transport, scheme == "sips").map_err(route_err)?;
            let host = u.host().trim_start_matches('[').trim_end_matches(']');
            Ok((t, host.to_ascii_lowercase()))
        }
        other => Err(bad(format!(
            "unsupported scheme {other:?} (expected im:, pres:, sip: or sips:)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        Config::parse(
            &format!("[sip]\nlisten = [\"udp://127.0.0.1:5060\"]\n{extra}"),
            "test.toml",
        )
        .unwrap()
    }

    fn run(config: &Config, uri: &str) -> anyhow::Result<String> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(resolve_command(config, uri))
    }

    #[test]
    fn uris_map_to_targets() {
        let (t, d) = parse_target("im:bob@Example.test").unwrap();
        assert_eq!(
            (t.to_string().as_str(), d.as_str()),
            ("im:example.test.", "example.test")
        );
        let (t, _) = parse_target("pres:bob@example.test").unwrap();
        assert_eq!(t.to_string(), "pres:example.test.");
        let (t, d) = parse_target("sips:bob@example.test:5071;transport=tcp").unwrap();
        assert_eq!(t.to_string(), "sips:example.test.:5071;transport=tcp");
        assert_eq!(d, "example.test");
        let (t, d) = parse_target("sip:[::1]:5070").unwrap();
        assert_eq!(
            (t.to_string().as_str(), d.as_str()),
            ("sip:[::1]:5070", "::1")
        );
    }

    #[test]
    fn bad_uris_name_the_problem() {
        for (uri, want) in [
            ("not-a-uri", "no scheme"),
            ("mailto:bob@example.test", "unsupported scheme"),
            ("sip:bob@example.test;transport=sctp", "transport=sctp"),
            ("im:bob", "bad uri"),
            ("sip:bob@exa mple.test", "bad uri"),
        ] {
            let e = parse_target(uri).unwrap_err();
            assert!(e.to_string().contains(want), "{uri}: {e}");
        }
        let e = run(&config(""), "tel:+123").unwrap_err();
        assert!(e.downcast_ref::<BadUri>().is_some());
    }

    #[test]
    fn static_routes_and_local_domains_come_before_dns() {
        let c = config(
            "[gateway]\ndomains = [\"gw.test\"]\n\
             [[route]]\ndomain = \"*.example.test\"\nvia = \"sip:127.0.0.1:5090;transport=tcp\"\n",
        );
        let out = run(&c, "im:bob@a.example.test").unwrap();
        assert!(
            out.contains("static route: [[route]] domain = \"*.example.test\""),
            "{out}"
        );
        assert!(out.contains("127.0.0.1:5090"), "{out}");
        assert!(out.contains("static route wins"), "{out}");
        let out = run(&c, "sip:alice@GW.test").unwrap();
        assert!(
            out.contains("local domain: matches [gateway] domains \"gw.test\""),
            "{out}"
        );
        assert!(!out.contains("dns discovery ("), "{out}");
    }

    #[test]
    fn disabled_dns_falls_to_the_default_route() {
        let c =
            config("[gateway]\ndefault_route = \"sip:127.0.0.1:5099\"\n[dns]\nenabled = false\n");
        let out = run(&c, "im:bob@elsewhere.test").unwrap();
        assert!(out.contains("dns discovery: disabled"), "{out}");
        assert!(out.contains("default route would be used"), "{out}");
        assert!(out.contains("127.0.0.1:5099"), "{out}");
        let c = config("[dns]\nenabled = false\n");
        let out = run(&c, "im:bob@elsewhere.test").unwrap();
        assert!(out.contains("not found; no default route"), "{out}");
    }

    #[test]
    fn ip_literals_need_no_dns() {
        let c = config("[dns]\nnameservers = [\"127.0.0.1:9\"]\n");
        let out = run(&c, "sip:bob@127.0.0.1:5070;transport=tcp").unwrap();
        assert!(out.contains("1. sip TCP 127.0.0.1 127.0.0.1:5070"), "{out}");
        assert!(
            out.contains("result: binding sip; first candidate 127.0.0.1:5070"),
            "{out}"
        );
    }
}
