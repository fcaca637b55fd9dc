//! The last phase: address records of the chosen hosts (RFC 3263 §4.2,
//! RFC 3861 §4 and §6) and the failover plan built from them.

use std::net::{IpAddr, SocketAddr};

use super::lookup::{Lookup, Outcome};
use super::phase::{AddrKind, HostTarget, Phase, Step};
use super::{
    AddressFamilies, AnswerSource, Binding, Candidate, Plan, Resolution, RouteError, TraceStep,
};
use crate::route::records::{
    Answer, Record, RecordData, Rtype, SipTransport, Srv, fqdn, same_name,
};

impl Resolution {
    /// RFC 3263 §4.2, RFC 3861 §6: build the plan from the addresses.
    pub(super) fn step_addresses(
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
    pub(super) fn srv_addresses(
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
                host: fqdn(&s.target),
                port: s.port,
                transport,
            })
            .collect();
        self.addresses(domain, binding, AddrKind::SrvTargets, hosts, extra)
    }

    /// One A and/or AAAA lookup per distinct host; hosts with addresses in
    /// `extra` (an SRV answer's additional section) are settled at once.
    pub(super) fn addresses(
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
