//! The sans-IO resolution of one destination into an ordered failover
//! [`Plan`]: RFC 3861 for `im:`/`pres:` domains and RFC 3263 §4 for SIP
//! next hops, with RFC 2782 ordering ([`order_srv`](crate::route::srv::order_srv)).
//!
//! A [`Resolution`] makes DNS *requests* ([`Query`]) that the driver answers
//! ([`Answer`]); it never blocks, reads a clock or opens a socket (house
//! style A.1, A.8). It consults a shared [`DnsCache`] before asking.
//!
//! - **`im:`/`pres:`** (RFC 3861 §4–§6, RFC 5509): SRV at
//!   `_im._sip.<d>` / `_im._xmpp.<d>` (or `_pres.…`) for every binding in
//!   [`ResolutionConfig::preference`], asked in parallel. The first binding
//!   in preference order whose set has a usable target serves the domain. A
//!   set of target `.` only is "not offered" and that label is skipped.
//!   When no label exists at all and SIP is preferred, the domain is
//!   resolved as `sip:<d>` (RFC 3263 below), which ends in the domain's A/AAAA
//!   at 5060 — the RFC 3861 §4 "implicit SRV" rule. Conflict C5: a missing
//!   `_im._xmpp` is normal (RFC 6121 dropped the label); XMPP is never
//!   reached through the domain's bare A record, since XMPP peers are found
//!   by the XMPP server through `_xmpp-server._tcp`.
//! - **`sip:`/`sips:`** (RFC 3263 §4.1, §4.2): an IP literal is used as is;
//!   an explicit port means A/AAAA only; a `transport=` parameter means SRV
//!   for that transport; otherwise NAPTR (services `SIP+D2U`, `SIP+D2T`,
//!   `SIPS+D2T`, flag `S`, filtered by [`ResolutionConfig::sip_transports`]),
//!   else SRV probing of each enabled transport in preference order, else
//!   A/AAAA at 5060 (5061 for TLS) over UDP (TLS for `sips`). An unusable
//!   NAPTR set is treated as no NAPTR. NXDOMAIN for the domain's NAPTR ends
//!   the resolution with [`RouteError::NotFound`] (RFC 8020).
//! - When SRV records exist, the domain's own A/AAAA records are never
//!   used, even if no target resolves (RFC 3861 §4, RFC 3263 §4.2). CNAMEs
//!   are followed up to [`ResolutionConfig::max_cname_chain`]; addresses in
//!   an SRV answer's additional section are used without a query.
//!
//! # Driving contract
//!
//! After [`Resolution::new`] and after every [`Resolution::handle_answer`],
//! drain [`Resolution::poll_query`] and send every query (they may run in
//! parallel), then check [`Resolution::poll_result`]. The driver must answer
//! every query, with [`Answer::Timeout`] at the latest when its own bounded
//! timeout expires; the core keeps no DNS timer. Answers for unknown or
//! already-answered query ids are ignored (`handle_answer` returns
//! `false`); late answers to queries the resolution no longer needs (a less
//! preferred label, once a preferred one decided) still fill the cache and
//! the trace. The driver may drop a resolution at any time.
//!
//! This module does not connect anywhere: the driver walks the plan
//! ([`Plan::next_candidate`]) on connect failure, 503 or transaction
//! timeout. It does not decide SIP statuses either; [`RouteError::class`]
//! feeds the status tables.

mod addresses;
mod describe;
mod lookup;
mod phase;
mod plan;
mod target;
#[cfg(test)]
mod tests;

use std::mem;
use std::net::SocketAddr;
use std::time::Instant;

use rand::rngs::StdRng;

pub use self::describe::{AnswerSource, Selection, Trace, TraceStep, describe};
use self::lookup::{Lookup, LookupState};
use self::phase::{AddrKind, HostTarget, Phase, SrvSource, Step};
pub use self::plan::{Candidate, FailureClass, Plan, RouteError};
pub use self::target::{AddressFamilies, Binding, ResolutionConfig, Service, Target};
use self::target::{Host, TargetKind};
use crate::route::cache::DnsCache;
use crate::route::records::{Answer, Query, QueryId, Rtype, SipTransport};

/// The resolution of one [`Target`]. See the module docs for the driving
/// contract.
#[derive(Clone, Debug)]
pub struct Resolution {
    id: u64,
    config: ResolutionConfig,
    rng: StdRng,
    phase: Phase,
    next_seq: u32,
    asked: usize,
    outstanding: Vec<(QueryId, String, Rtype)>,
    result: Option<Result<Plan, RouteError>>,
    finished: bool,
    trace: Trace,
}

impl Resolution {
    /// Starts resolving `target`. `id` tags every [`QueryId`] so the owner
    /// can dispatch answers; `rng` (seeded from the core's RNG, house style
    /// A.7) draws the RFC 2782 weighted order.
    pub fn new(id: u64, target: Target, config: &ResolutionConfig, rng: StdRng) -> Resolution {
        let mut r = Resolution {
            id,
            config: config.clone(),
            rng,
            phase: Phase::Finished,
            next_seq: 0,
            asked: 0,
            outstanding: Vec::new(),
            result: None,
            finished: false,
            trace: Trace {
                target: target.clone(),
                steps: Vec::new(),
            },
        };
        match r.start(&target) {
            Ok(phase) => {
                r.phase = phase;
                r.advance();
            }
            Err(result) => r.finish(result),
        }
        r
    }

    /// The id given to [`Resolution::new`].
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The next query to send, if any. Lookups the cache can answer are
    /// answered here without a query. Every lookup started, sent or served
    /// from the cache, counts towards [`ResolutionConfig::max_queries`];
    /// going over finishes the resolution with
    /// [`RouteError::TooManyQueries`].
    pub fn poll_query(&mut self, now: Instant, cache: &mut DnsCache) -> Option<Query> {
        loop {
            if self.finished {
                return None;
            }
            let max_cname = self.config.max_cname_chain;
            let max = self.config.max_queries;
            let mut lookups = self.phase.lookups_mut();
            let lk = lookups
                .iter_mut()
                .find(|l| l.state == LookupState::Queued)?;
            if self.asked >= max {
                self.finish(Err(RouteError::TooManyQueries { max }));
                return None;
            }
            self.asked += 1;
            let (name, rtype) = (lk.current.clone(), lk.rtype);
            if let Some(answer) = cache.lookup(now, &name, rtype) {
                lk.apply(&answer, max_cname);
                self.trace.steps.push(TraceStep::Lookup {
                    name,
                    rtype,
                    source: AnswerSource::Cache,
                    answer,
                });
                self.advance();
                continue;
            }
            let id = QueryId::new(self.id, self.next_seq);
            self.next_seq = self.next_seq.wrapping_add(1);
            lk.state = LookupState::InFlight(id);
            self.outstanding.push((id, name.clone(), rtype));
            return Some(Query { id, name, rtype });
        }
    }

    /// Feeds the driver's answer to query `id`, received at `now`, and
    /// stores it in `cache`. Returns `false` if the id is not an
    /// outstanding query of this resolution (the answer is then ignored).
    /// Answers may arrive after the result is decided; they only fill the
    /// cache and the trace.
    pub fn handle_answer(
        &mut self,
        now: Instant,
        id: QueryId,
        answer: Answer,
        cache: &mut DnsCache,
    ) -> bool {
        let Some(pos) = self.outstanding.iter().position(|(q, _, _)| *q == id) else {
            return false;
        };
        let (_, name, rtype) = self.outstanding.swap_remove(pos);
        cache.insert(now, &name, rtype, &answer);
        let max_cname = self.config.max_cname_chain;
        // A late answer (the phase already moved on, e.g. a less preferred
        // label) is cached and traced but decides nothing.
        let mut lookups = self.phase.lookups_mut();
        let live = lookups
            .iter_mut()
            .find(|l| l.is_in_flight(id))
            .map(|lk| lk.apply(&answer, max_cname))
            .is_some();
        self.trace.steps.push(TraceStep::Lookup {
            name,
            rtype,
            source: AnswerSource::Network,
            answer,
        });
        if live {
            self.advance();
        }
        true
    }

    /// Queries handed out and not yet answered, including ones the
    /// resolution no longer needs (their answers still fill the cache).
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// The result, once decided; `Some` exactly once.
    pub fn poll_result(&mut self) -> Option<Result<Plan, RouteError>> {
        self.result.take()
    }

    /// Whether the result has been decided.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// What the resolution did so far, for [`describe`] and logs.
    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    fn finish(&mut self, result: Result<Plan, RouteError>) {
        self.phase = Phase::Finished;
        self.finished = true;
        self.result = Some(result);
    }

    fn advance(&mut self) {
        loop {
            let phase = mem::replace(&mut self.phase, Phase::Finished);
            match self.step(phase) {
                Step::Wait(p) => {
                    self.phase = p;
                    return;
                }
                Step::Go(p) => self.phase = p,
                Step::Finish(r) => {
                    self.finish(r);
                    return;
                }
            }
        }
    }

    /// The first phase for a target (RFC 3263 §4.1 shortcuts included).
    fn start(&mut self, target: &Target) -> Result<Phase, Result<Plan, RouteError>> {
        let (host, port, transport, secure) = match &target.0 {
            TargetKind::Service { service, domain } => {
                let mut lookups: Vec<(Binding, Lookup)> = Vec::new();
                for b in &self.config.preference {
                    if !lookups.iter().any(|(x, _)| x == b) {
                        let name = format!("{}.{}.{domain}", service.label(), b.proto_label());
                        lookups.push((*b, Lookup::new(&name, Rtype::Srv)));
                    }
                }
                if lookups.is_empty() {
                    return Err(Err(RouteError::NoBinding));
                }
                return Ok(Phase::Labels {
                    domain: domain.clone(),
                    lookups,
                });
            }
            TargetKind::Sip {
                host,
                port,
                transport,
                secure,
            } => (host, *port, *transport, *secure),
        };
        let param = match (secure, transport) {
            (true, Some(SipTransport::Udp)) => {
                return Err(Err(RouteError::UnsupportedTransport(SipTransport::Udp)));
            }
            (true, Some(_)) => Some(SipTransport::Tls),
            (_, t) => t,
        };
        let default = self.default_transport(param, secure).map_err(Err)?;
        match (host, port, param) {
            (Host::Ip(ip), port, _) => {
                let addr = SocketAddr::new(*ip, port.unwrap_or(default.default_port()));
                self.selected(Binding::Sip, Some(default), Selection::IpLiteral);
                let c = Candidate {
                    binding: Binding::Sip,
                    host: ip.to_string(),
                    addr,
                    transport: Some(default),
                };
                Err(Ok(Plan::new(Binding::Sip, ip.to_string(), vec![c])))
            }
            (Host::Name(domain), Some(port), _) => {
                self.selected(Binding::Sip, Some(default), Selection::ExplicitPort);
                let hosts = vec![HostTarget {
                    host: domain.clone(),
                    port,
                    transport: Some(default),
                }];
                Ok(self.addresses(domain, Binding::Sip, AddrKind::Domain, hosts, &[]))
            }
            (Host::Name(domain), None, Some(t)) => Ok(Phase::SipSrv {
                domain: domain.clone(),
                source: SrvSource::Param,
                fallback: t,
                lookups: vec![(
                    t,
                    Lookup::new(&format!("{}.{domain}", t.srv_label()), Rtype::Srv),
                )],
            }),
            (Host::Name(domain), None, None) => Ok(Phase::Naptr {
                domain: domain.clone(),
                secure,
                lookup: Lookup::new(domain, Rtype::Naptr),
            }),
        }
    }

    /// RFC 3263 §4.1: the `transport=` parameter, else UDP for `sip` and
    /// TLS for `sips` (TCP if UDP is disabled); it must be enabled.
    fn default_transport(
        &self,
        param: Option<SipTransport>,
        secure: bool,
    ) -> Result<SipTransport, RouteError> {
        let enabled = &self.config.sip_transports;
        let t = match (param, secure) {
            (Some(t), _) => t,
            (None, true) => SipTransport::Tls,
            (None, false) if enabled.contains(&SipTransport::Udp) => SipTransport::Udp,
            (None, false) => enabled
                .iter()
                .copied()
                .find(|t| *t != SipTransport::Tls)
                .unwrap_or(SipTransport::Udp),
        };
        if enabled.contains(&t) {
            Ok(t)
        } else {
            Err(RouteError::UnsupportedTransport(t))
        }
    }
}
