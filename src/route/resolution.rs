//! The sans-IO resolution of one destination into an ordered failover
//! [`Plan`]: RFC 3861 for `im:`/`pres:` domains and RFC 3263 §4 for SIP
//! next hops, with RFC 2782 ordering ([`order_srv`]).
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

mod describe;
mod lookup;
mod plan;
mod target;
#[cfg(test)]
mod tests;

use std::mem;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use rand::rngs::StdRng;

pub use self::describe::{AnswerSource, Selection, Trace, TraceStep, describe};
use self::lookup::{Lookup, LookupState, Outcome};
pub use self::plan::{Candidate, FailureClass, Plan, RouteError};
pub use self::target::{AddressFamilies, Binding, ResolutionConfig, Service, Target};
use self::target::{Host, TargetKind};
use crate::route::cache::DnsCache;
use crate::route::records::{
    Answer, Naptr, Query, QueryId, Record, RecordData, Rtype, SipTransport, Srv, same_name,
};
use crate::route::srv::{SrvOrder, order_srv};

/// A host whose addresses are wanted, in plan order.
#[derive(Clone, Debug, PartialEq, Eq)]
struct HostTarget {
    host: String,
    port: u16,
    transport: Option<SipTransport>,
}

/// How the SRV names of a [`Phase::SipSrv`] were found (RFC 3263 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SrvSource {
    Param,
    Naptr,
    Probe,
}

/// Whose addresses a [`Phase::Addresses`] looks up; decides the error when
/// none is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AddrKind {
    /// The destination domain itself (no SRV, or an explicit port).
    Domain,
    /// The targets of an SRV set.
    SrvTargets,
}

/// The states of a resolution (house style D.18).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// RFC 3861 §4: SRV per preferred binding label, in preference order.
    Labels {
        domain: String,
        lookups: Vec<(Binding, Lookup)>,
    },
    /// RFC 3263 §4.1: NAPTR of the domain.
    Naptr {
        domain: String,
        secure: bool,
        lookup: Lookup,
    },
    /// RFC 3263 §4.1/§4.2: SRV per transport, in preference order;
    /// `fallback` is the transport used at the default port if none exists.
    SipSrv {
        domain: String,
        source: SrvSource,
        fallback: SipTransport,
        lookups: Vec<(SipTransport, Lookup)>,
    },
    /// RFC 3263 §4.2, RFC 3861 §4: address records of each host.
    Addresses {
        domain: String,
        binding: Binding,
        kind: AddrKind,
        hosts: Vec<HostTarget>,
        lookups: Vec<Lookup>,
    },
    /// The result is decided.
    Finished,
}

impl Phase {
    fn lookups_mut(&mut self) -> Vec<&mut Lookup> {
        match self {
            Phase::Labels { lookups, .. } => lookups.iter_mut().map(|(_, l)| l).collect(),
            Phase::Naptr { lookup, .. } => vec![lookup],
            Phase::SipSrv { lookups, .. } => lookups.iter_mut().map(|(_, l)| l).collect(),
            Phase::Addresses { lookups, .. } => lookups.iter_mut().collect(),
            Phase::Finished => Vec::new(),
        }
    }
}

/// What one evaluation of the current phase decided.
enum Step {
    Wait(Phase),
    Go(Phase),
    Finish(Result<Plan, RouteError>),
}

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
    /// answered here without a query. Each call counts towards
    /// [`ResolutionConfig::max_queries`].
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

    fn step(&mut self, phase: Phase) -> Step {
        match phase {
            Phase::Labels { domain, lookups } => self.step_labels(domain, lookups),
            Phase::Naptr {
                domain,
                secure,
                lookup,
            } => self.step_naptr(domain, secure, lookup),
            Phase::SipSrv {
                domain,
                source,
                fallback,
                lookups,
            } => self.step_sip_srv(domain, source, fallback, lookups),
            Phase::Addresses {
                domain,
                binding,
                kind,
                hosts,
                lookups,
            } => self.step_addresses(domain, binding, kind, hosts, lookups),
            Phase::Finished => Step::Wait(Phase::Finished),
        }
    }

    /// RFC 3861 §4/§5: choose the binding.
    fn step_labels(&mut self, domain: String, lookups: Vec<(Binding, Lookup)>) -> Step {
        let (chosen, misses) = match self.pick_srv(&lookups) {
            Pick::Wait => return Step::Wait(Phase::Labels { domain, lookups }),
            Pick::Use(i, order, extra) => (
                lookups
                    .get(i)
                    .map(|(b, l)| (*b, l.asked.clone(), order, extra)),
                None,
            ),
            Pick::Exhausted(m) => (None, Some(m)),
        };
        if let Some((binding, name, order, extra)) = chosen {
            let transport = match binding {
                Binding::Sip => Some(self.config.im_sip_transport),
                Binding::Xmpp => None,
            };
            self.selected(binding, transport, Selection::ServiceLabel(name));
            return Step::Go(self.srv_addresses(&domain, binding, transport, order, &extra));
        }
        let misses = misses.unwrap_or_default();
        if let Some(e) = misses.error(&self.config, &domain) {
            return Step::Finish(Err(e));
        }
        if self.config.sip_fallback && self.config.preference.contains(&Binding::Sip) {
            self.trace
                .steps
                .push(TraceStep::SipFallback(domain.clone()));
            let lookup = Lookup::new(&domain, Rtype::Naptr);
            return Step::Go(Phase::Naptr {
                domain,
                secure: false,
                lookup,
            });
        }
        Step::Finish(Err(RouteError::NoRecords { domain }))
    }

    /// RFC 3263 §4.1: NAPTR processing.
    fn step_naptr(&mut self, domain: String, secure: bool, lookup: Lookup) -> Step {
        let Some(outcome) = lookup.outcome() else {
            return Step::Wait(Phase::Naptr {
                domain,
                secure,
                lookup,
            });
        };
        let data = match outcome {
            Outcome::Found { data, .. } => data.as_slice(),
            Outcome::NoData => &[],
            Outcome::NxDomain => return Step::Finish(Err(RouteError::NotFound { domain })),
            Outcome::Timeout => {
                return Step::Finish(Err(RouteError::Timeout {
                    name: lookup.current,
                }));
            }
            Outcome::Failure => {
                return Step::Finish(Err(RouteError::DnsFailure {
                    name: lookup.current,
                }));
            }
            Outcome::CnameTooLong => return Step::Finish(Err(self.cname_error(lookup.asked))),
        };
        let mut usable: Vec<(SipTransport, Naptr)> = data
            .iter()
            .filter_map(|d| match d {
                RecordData::Naptr(n) => Some(n),
                _ => None,
            })
            .filter_map(|n| {
                let t = SipTransport::from_naptr_service(&n.services)?;
                let ok = n.flags.trim().eq_ignore_ascii_case("s")
                    && (!secure || t == SipTransport::Tls)
                    && self.config.sip_transports.contains(&t)
                    && !n.replacement.trim().trim_end_matches('.').is_empty();
                ok.then(|| (t, n.clone()))
            })
            .collect();
        usable.sort_by_key(|(_, n)| (n.order, n.preference));
        if usable.is_empty() {
            return self.probe(domain, secure);
        }
        self.trace.steps.push(TraceStep::NaptrOrder(usable.clone()));
        let mut lookups: Vec<(SipTransport, Lookup)> = Vec::new();
        for (t, n) in usable {
            if !lookups
                .iter()
                .any(|(_, l)| same_name(&l.asked, &n.replacement))
            {
                lookups.push((t, Lookup::new(&n.replacement, Rtype::Srv)));
            }
        }
        let fallback = if secure {
            SipTransport::Tls
        } else {
            self.udp_or_first()
        };
        Step::Go(Phase::SipSrv {
            domain,
            source: SrvSource::Naptr,
            fallback,
            lookups,
        })
    }

    /// RFC 3263 §4.1: no usable NAPTR, so SRV for each enabled transport.
    fn probe(&mut self, domain: String, secure: bool) -> Step {
        let transports: Vec<SipTransport> = if secure {
            vec![SipTransport::Tls]
        } else {
            self.config.sip_transports.clone()
        };
        let transports: Vec<SipTransport> = transports
            .into_iter()
            .filter(|t| self.config.sip_transports.contains(t))
            .collect();
        if transports.is_empty() {
            return Step::Finish(Err(RouteError::UnsupportedTransport(if secure {
                SipTransport::Tls
            } else {
                SipTransport::Udp
            })));
        }
        let lookups = transports
            .iter()
            .map(|t| {
                (
                    *t,
                    Lookup::new(&format!("{}.{domain}", t.srv_label()), Rtype::Srv),
                )
            })
            .collect();
        let fallback = if secure {
            SipTransport::Tls
        } else {
            self.udp_or_first()
        };
        Step::Go(Phase::SipSrv {
            domain,
            source: SrvSource::Probe,
            fallback,
            lookups,
        })
    }

    fn udp_or_first(&self) -> SipTransport {
        let enabled = &self.config.sip_transports;
        if enabled.contains(&SipTransport::Udp) {
            SipTransport::Udp
        } else {
            enabled.first().copied().unwrap_or(SipTransport::Udp)
        }
    }

    /// RFC 3263 §4.1/§4.2: pick the transport whose SRV set exists.
    fn step_sip_srv(
        &mut self,
        domain: String,
        source: SrvSource,
        fallback: SipTransport,
        lookups: Vec<(SipTransport, Lookup)>,
    ) -> Step {
        let misses = match self.pick_srv(&lookups) {
            Pick::Wait => {
                return Step::Wait(Phase::SipSrv {
                    domain,
                    source,
                    fallback,
                    lookups,
                });
            }
            Pick::Use(i, order, extra) => {
                let Some((t, l)) = lookups.get(i) else {
                    return Step::Finish(Err(RouteError::NoRecords { domain }));
                };
                let via = match source {
                    SrvSource::Param => Selection::TransportParam(l.asked.clone()),
                    SrvSource::Naptr => Selection::Naptr(l.asked.clone()),
                    SrvSource::Probe => Selection::SrvProbe(l.asked.clone()),
                };
                self.selected(Binding::Sip, Some(*t), via);
                return Step::Go(self.srv_addresses(
                    &domain,
                    Binding::Sip,
                    Some(*t),
                    order,
                    &extra,
                ));
            }
            Pick::Exhausted(m) => m,
        };
        if let Some(e) = misses.error(&self.config, &domain) {
            return Step::Finish(Err(e));
        }
        self.selected(Binding::Sip, Some(fallback), Selection::NoSrv);
        let hosts = vec![HostTarget {
            host: domain.clone(),
            port: fallback.default_port(),
            transport: Some(fallback),
        }];
        Step::Go(self.addresses(&domain, Binding::Sip, AddrKind::Domain, hosts, &[]))
    }

    /// RFC 3263 §4.2, RFC 3861 §6: build the plan from the addresses.
    fn step_addresses(
        &mut self,
        domain: String,
        binding: Binding,
        kind: AddrKind,
        hosts: Vec<HostTarget>,
        lookups: Vec<Lookup>,
    ) -> Step {
        if lookups.iter().any(|l| l.outcome().is_none()) {
            return Step::Wait(Phase::Addresses {
                domain,
                binding,
                kind,
                hosts,
                lookups,
            });
        }
        let mut candidates: Vec<Candidate> = Vec::new();
        for h in &hosts {
            for rtype in family_order(self.config.families) {
                let found = lookups
                    .iter()
                    .find(|l| l.rtype == rtype && same_name(&l.asked, &h.host));
                let Some(Outcome::Found { data, .. }) = found.and_then(Lookup::outcome) else {
                    continue;
                };
                for ip in data.iter().filter_map(ip_of) {
                    let c = Candidate {
                        binding,
                        host: h.host.clone(),
                        addr: SocketAddr::new(ip, h.port),
                        transport: h.transport,
                    };
                    if !candidates
                        .iter()
                        .any(|x| x.addr == c.addr && x.transport == c.transport)
                    {
                        candidates.push(c);
                    }
                }
            }
        }
        if !candidates.is_empty() {
            return Step::Finish(Ok(Plan::new(binding, domain, candidates)));
        }
        let outcomes = || lookups.iter().filter_map(|l| l.outcome().map(|o| (l, o)));
        let timed_out = outcomes()
            .find(|(_, o)| **o == Outcome::Timeout)
            .map(|(l, _)| l.current.clone());
        let failed = outcomes()
            .find(|(_, o)| **o == Outcome::Failure)
            .map(|(l, _)| l.current.clone());
        let looped = outcomes()
            .find(|(_, o)| **o == Outcome::CnameTooLong)
            .map(|(l, _)| l.asked.clone());
        let nx = outcomes().any(|(_, o)| *o == Outcome::NxDomain);
        let err = match (kind, timed_out, failed, looped) {
            (_, Some(name), _, _) => RouteError::Timeout { name },
            (AddrKind::SrvTargets, None, _, _) => RouteError::Unreachable { domain },
            (AddrKind::Domain, None, _, _) if nx => RouteError::NotFound { domain },
            (AddrKind::Domain, None, Some(name), _) => RouteError::DnsFailure { name },
            (AddrKind::Domain, None, None, Some(name)) => self.cname_error(name),
            (AddrKind::Domain, None, None, None) => RouteError::NoRecords { domain },
        };
        Step::Finish(Err(err))
    }

    /// The address phase for an ordered SRV set. The domain's own records
    /// are not involved (RFC 3861 §4).
    fn srv_addresses(
        &mut self,
        domain: &str,
        binding: Binding,
        transport: Option<SipTransport>,
        order: Vec<Srv>,
        extra: &[Record],
    ) -> Phase {
        let hosts = order
            .into_iter()
            .map(|s| HostTarget {
                host: s.target,
                port: s.port,
                transport,
            })
            .collect();
        self.addresses(domain, binding, AddrKind::SrvTargets, hosts, extra)
    }

    /// One A and/or AAAA lookup per distinct host; hosts with addresses in
    /// `extra` (an SRV answer's additional section) are settled at once.
    fn addresses(
        &mut self,
        domain: &str,
        binding: Binding,
        kind: AddrKind,
        hosts: Vec<HostTarget>,
        extra: &[Record],
    ) -> Phase {
        let mut lookups: Vec<Lookup> = Vec::new();
        for h in &hosts {
            if lookups.iter().any(|l| same_name(&l.asked, &h.host)) {
                continue;
            }
            let known: Vec<&Record> = extra
                .iter()
                .filter(|r| {
                    same_name(&r.name, &h.host) && matches!(r.data.rtype(), Rtype::A | Rtype::Aaaa)
                })
                .collect();
            for rtype in family_order(self.config.families) {
                if known.is_empty() {
                    lookups.push(Lookup::new(&h.host, rtype));
                    continue;
                }
                let recs: Vec<Record> = known
                    .iter()
                    .filter(|r| r.data.rtype() == rtype)
                    .map(|r| (*r).clone())
                    .collect();
                let outcome = if recs.is_empty() {
                    Outcome::NoData
                } else {
                    Outcome::Found {
                        data: recs.iter().map(|r| r.data.clone()).collect(),
                        extra: Vec::new(),
                    }
                };
                let answer = if recs.is_empty() {
                    Answer::NoData
                } else {
                    Answer::Records(recs)
                };
                self.trace.steps.push(TraceStep::Lookup {
                    name: h.host.clone(),
                    rtype,
                    source: AnswerSource::Additional,
                    answer,
                });
                lookups.push(Lookup::settled(&h.host, rtype, outcome));
            }
        }
        Phase::Addresses {
            domain: domain.to_owned(),
            binding,
            kind,
            hosts,
            lookups,
        }
    }

    /// Scans SRV lookups in preference order: waits while an earlier one is
    /// pending, uses the first with a usable target, or reports why none.
    fn pick_srv<K>(&mut self, lookups: &[(K, Lookup)]) -> Pick {
        let pos = lookups.iter().position(|(_, l)| match l.outcome() {
            None => true,
            Some(Outcome::Found { data, .. }) => srvs(data).iter().any(|s| !s.is_not_offered()),
            Some(_) => false,
        });
        let chosen = pos.and_then(|i| lookups.get(i).map(|(_, l)| (i, l)));
        if chosen.is_some_and(|(_, l)| l.outcome().is_none()) {
            return Pick::Wait;
        }
        let mut misses = Misses::default();
        for (_, l) in lookups.iter().take(pos.unwrap_or(lookups.len())) {
            misses.note(l);
            if matches!(l.outcome(), Some(Outcome::Found { .. })) {
                self.trace
                    .steps
                    .push(TraceStep::SrvNotOffered(l.asked.clone()));
            }
        }
        let Some((i, l)) = chosen else {
            return Pick::Exhausted(misses);
        };
        let Some(Outcome::Found { data, extra }) = l.outcome() else {
            return Pick::Wait;
        };
        match order_srv(srvs(data), &mut self.rng) {
            SrvOrder::Ordered(order) => {
                self.trace.steps.push(TraceStep::SrvOrder {
                    name: l.current.clone(),
                    order: order.clone(),
                });
                Pick::Use(i, order, extra.clone())
            }
            SrvOrder::NoRecords | SrvOrder::NotOffered => Pick::Exhausted(misses),
        }
    }

    fn selected(&mut self, binding: Binding, transport: Option<SipTransport>, via: Selection) {
        self.trace.steps.push(TraceStep::Selected {
            binding,
            transport,
            via,
        });
    }

    fn cname_error(&self, name: String) -> RouteError {
        RouteError::CnameChainTooLong {
            name,
            max: self.config.max_cname_chain,
        }
    }
}

/// The result of scanning SRV lookups.
enum Pick {
    Wait,
    Use(usize, Vec<Srv>, Vec<Record>),
    Exhausted(Misses),
}

/// Why the SRV lookups scanned so far gave nothing usable.
#[derive(Default)]
struct Misses {
    timed_out: Option<String>,
    failed: Option<String>,
    looped: Option<String>,
    not_offered: bool,
}

impl Misses {
    fn note(&mut self, l: &Lookup) {
        match l.outcome() {
            Some(Outcome::Timeout) => {
                self.timed_out = self.timed_out.take().or(Some(l.current.clone()))
            }
            Some(Outcome::Failure) => self.failed = self.failed.take().or(Some(l.current.clone())),
            Some(Outcome::CnameTooLong) => {
                self.looped = self.looped.take().or(Some(l.asked.clone()))
            }
            Some(Outcome::Found { .. }) => self.not_offered = true,
            Some(Outcome::NxDomain | Outcome::NoData) | None => {}
        }
    }

    /// The error to stop with, or `None` if every lookup was a plain miss
    /// and the caller may fall back. A timeout or failure stops, because an
    /// SRV set might exist and then the domain's A record must not be used.
    fn error(&self, config: &ResolutionConfig, domain: &str) -> Option<RouteError> {
        if let Some(name) = &self.timed_out {
            return Some(RouteError::Timeout { name: name.clone() });
        }
        if let Some(name) = &self.failed {
            return Some(RouteError::DnsFailure { name: name.clone() });
        }
        if let Some(name) = &self.looped {
            return Some(RouteError::CnameChainTooLong {
                name: name.clone(),
                max: config.max_cname_chain,
            });
        }
        self.not_offered.then(|| RouteError::NotOffered {
            domain: domain.to_owned(),
        })
    }
}

fn srvs(data: &[RecordData]) -> Vec<Srv> {
    data.iter()
        .filter_map(|d| match d {
            RecordData::Srv(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

fn ip_of(d: &RecordData) -> Option<IpAddr> {
    match d {
        RecordData::A(ip) => Some(IpAddr::V4(*ip)),
        RecordData::Aaaa(ip) => Some(IpAddr::V6(*ip)),
        RecordData::Srv(_) | RecordData::Naptr(_) | RecordData::Cname(_) => None,
    }
}

fn family_order(f: AddressFamilies) -> Vec<Rtype> {
    match f {
        AddressFamilies::V4Only => vec![Rtype::A],
        AddressFamilies::V6Only => vec![Rtype::Aaaa],
        AddressFamilies::V4ThenV6 => vec![Rtype::A, Rtype::Aaaa],
        AddressFamilies::V6ThenV4 => vec![Rtype::Aaaa, Rtype::A],
    }
}
