//! The phases of a resolution (house style D.18) and the decisions taken
//! when a phase's lookups settle: RFC 3861 §4–§5 label choice, RFC 3263
//! §4.1 NAPTR processing and SRV probing, and the RFC 2782 ordering of the
//! chosen SRV set.

use super::lookup::{Lookup, Outcome};
use super::{Binding, Plan, Resolution, ResolutionConfig, RouteError, Selection, TraceStep};
use crate::route::records::{Naptr, Record, RecordData, Rtype, SipTransport, Srv, same_name};
use crate::route::srv::{SrvOrder, order_srv};

/// A host whose addresses are wanted, in plan order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct HostTarget {
    pub(super) host: String,
    pub(super) port: u16,
    pub(super) transport: Option<SipTransport>,
}

/// How the SRV names of a [`Phase::SipSrv`] were found (RFC 3263 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SrvSource {
    Param,
    Naptr,
    Probe,
}

/// Whose addresses a [`Phase::Addresses`] looks up; decides the error when
/// none is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AddrKind {
    /// The destination domain itself (no SRV, or an explicit port).
    Domain,
    /// The targets of an SRV set.
    SrvTargets,
}

/// The states of a resolution (house style D.18).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Phase {
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
    pub(super) fn lookups_mut(&mut self) -> Vec<&mut Lookup> {
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
pub(super) enum Step {
    Wait(Phase),
    Go(Phase),
    Finish(Result<Plan, RouteError>),
}

impl Resolution {
    pub(super) fn step(&mut self, phase: Phase) -> Step {
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

    pub(super) fn selected(
        &mut self,
        binding: Binding,
        transport: Option<SipTransport>,
        via: Selection,
    ) {
        self.trace.steps.push(TraceStep::Selected {
            binding,
            transport,
            via,
        });
    }

    pub(super) fn cname_error(&self, name: String) -> RouteError {
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
