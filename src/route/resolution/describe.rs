//! What a resolution did, step by step ([`Trace`]), and its rendering for
//! operators (`cpim-gateway resolve <uri>`): each query and its records,
//! the SRV order drawn, the binding and transport chosen and why, and the
//! final plan or error.

use std::fmt::Write as _;

use crate::route::records::{Answer, Naptr, Rtype, SipTransport, Srv};
use crate::route::resolution::{Binding, Plan, RouteError, Target};

/// Where an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnswerSource {
    /// The driver asked the DNS.
    Network,
    /// The [`DnsCache`](crate::route::cache::DnsCache) held it.
    Cache,
    /// The additional section of an SRV answer (RFC 2782 "Usage rules").
    Additional,
}

/// Why a binding and transport were chosen.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Selection {
    /// RFC 3263 §4.1/§4.2: the host is an IP literal, no DNS needed.
    IpLiteral,
    /// RFC 3263 §4.2: an explicit port, so only A/AAAA are looked up.
    ExplicitPort,
    /// RFC 3861 §4: SRV records under this `_im`/`_pres` label.
    ServiceLabel(String),
    /// RFC 3263 §4.1: the URI's `transport=` parameter; SRV at this name.
    TransportParam(String),
    /// RFC 3263 §4.1: a NAPTR record pointing at this SRV name.
    Naptr(String),
    /// RFC 3263 §4.1: no usable NAPTR; SRV records found at this name.
    SrvProbe(String),
    /// RFC 3263 §4.2 / RFC 3861 §4: no SRV at all, so the domain's own
    /// address records at the default port.
    NoSrv,
}

/// One step of a resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceStep {
    /// A lookup and what it returned.
    Lookup {
        /// Name asked.
        name: String,
        /// Type asked.
        rtype: Rtype,
        /// Where the answer came from.
        source: AnswerSource,
        /// The answer as received.
        answer: Answer,
    },
    /// RFC 3263 §4.1: the usable NAPTR records, in processing order.
    NaptrOrder(Vec<(SipTransport, Naptr)>),
    /// RFC 2782: the order drawn for the SRV set at `name`.
    SrvOrder {
        /// The SRV owner name.
        name: String,
        /// The targets in contact order.
        order: Vec<Srv>,
    },
    /// RFC 2782: the SRV set at this name is target `.` only.
    SrvNotOffered(String),
    /// No RFC 3861 label exists; the domain is resolved as `sip:<domain>`
    /// by RFC 3263 ([`ResolutionConfig::sip_fallback`](crate::route::resolution::ResolutionConfig::sip_fallback)).
    SipFallback(String),
    /// The binding and transport chosen, and why.
    Selected {
        /// The binding.
        binding: Binding,
        /// The SIP transport, `None` for XMPP.
        transport: Option<SipTransport>,
        /// The reason.
        via: Selection,
    },
}

/// Everything a resolution did, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub(crate) target: Target,
    pub(crate) steps: Vec<TraceStep>,
}

impl Trace {
    /// What was resolved.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The steps, in order.
    pub fn steps(&self) -> &[TraceStep] {
        &self.steps
    }
}

/// Renders a resolution for operators: one line per query with its
/// records indented below, the SRV orders drawn, the binding chosen, then
/// the numbered plan or the error and its class.
pub fn describe(trace: &Trace, outcome: &Result<Plan, RouteError>) -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(out, "resolve {}", trace.target);
    for step in &trace.steps {
        let _ = describe_step(&mut out, step);
    }
    match outcome {
        Ok(plan) => {
            let _ = writeln!(out, "plan (binding {}):", plan.binding());
            for (i, c) in plan.candidates().iter().enumerate() {
                let _ = writeln!(out, "  {}. {c}", i + 1);
            }
        }
        Err(e) => {
            let _ = writeln!(out, "error ({:?}): {e}", e.class());
        }
    }
    out
}

fn describe_step(out: &mut String, step: &TraceStep) -> std::fmt::Result {
    match step {
        TraceStep::Lookup {
            name,
            rtype,
            source,
            answer,
        } => {
            let src = match source {
                AnswerSource::Network => "dns",
                AnswerSource::Cache => "cache",
                AnswerSource::Additional => "additional",
            };
            match answer {
                Answer::Records(recs) => {
                    writeln!(out, "  {rtype} {name} [{src}]")?;
                    for r in recs {
                        writeln!(out, "    {r}")?;
                    }
                }
                other => writeln!(out, "  {rtype} {name} [{src}]: {other}")?,
            }
        }
        TraceStep::NaptrOrder(list) => {
            write!(out, "  naptr order:")?;
            for (t, n) in list {
                write!(out, " {} {} {t}->{};", n.order, n.preference, n.replacement)?;
            }
            writeln!(out)?;
        }
        TraceStep::SrvOrder { name, order } => {
            write!(out, "  srv order {name}:")?;
            for (i, s) in order.iter().enumerate() {
                write!(
                    out,
                    " {}) {} {} {}:{}",
                    i + 1,
                    s.priority,
                    s.weight,
                    s.target,
                    s.port
                )?;
            }
            writeln!(out)?;
        }
        TraceStep::SrvNotOffered(name) => {
            writeln!(out, "  srv {name}: target \".\", service not offered")?
        }
        TraceStep::SipFallback(d) => writeln!(
            out,
            "  no im/pres label for {d}: resolving sip:{d} (rfc 3263)"
        )?,
        TraceStep::Selected {
            binding,
            transport,
            via,
        } => {
            write!(out, "  selected binding {binding}")?;
            if let Some(t) = transport {
                write!(out, " transport {t}")?;
            }
            let why = match via {
                Selection::IpLiteral => "ip literal".to_owned(),
                Selection::ExplicitPort => "explicit port".to_owned(),
                Selection::ServiceLabel(n) => format!("srv {n}"),
                Selection::TransportParam(n) => format!("transport parameter, srv {n}"),
                Selection::Naptr(n) => format!("naptr, srv {n}"),
                Selection::SrvProbe(n) => format!("srv {n}"),
                Selection::NoSrv => "no srv, default port".to_owned(),
            };
            writeln!(out, " ({why})")?;
        }
    }
    Ok(())
}
