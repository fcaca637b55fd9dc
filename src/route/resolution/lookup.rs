//! One (name, type) lookup inside a resolution, following CNAMEs
//! (RFC 1034 §3.6.2, RFC 3861 §4: "if a CNAME comes back, restart with the
//! canonical name") up to a bound.

use crate::route::records::{Answer, QueryId, Record, RecordData, Rtype, fqdn, same_name};

/// Where a lookup stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LookupState {
    /// Waiting to be asked (for `current`).
    Queued,
    /// Asked; waiting for the driver's answer.
    InFlight(QueryId),
    /// Settled.
    Done(Outcome),
}

/// How a lookup settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Records of the wanted type at the end of the CNAME chain, plus the
    /// whole answer (for additional-section addresses, RFC 2782).
    Found {
        data: Vec<RecordData>,
        extra: Vec<Record>,
    },
    NxDomain,
    NoData,
    Timeout,
    Failure,
    CnameTooLong,
}

/// A lookup of `asked`, currently at `current` after `hops` CNAMEs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lookup {
    pub(crate) asked: String,
    pub(crate) rtype: Rtype,
    pub(crate) current: String,
    pub(crate) hops: usize,
    pub(crate) state: LookupState,
}

impl Lookup {
    pub(crate) fn new(name: &str, rtype: Rtype) -> Lookup {
        let name = fqdn(name);
        Lookup {
            asked: name.clone(),
            rtype,
            current: name,
            hops: 0,
            state: LookupState::Queued,
        }
    }

    /// A lookup already settled (from additional-section data).
    pub(crate) fn settled(name: &str, rtype: Rtype, outcome: Outcome) -> Lookup {
        Lookup {
            state: LookupState::Done(outcome),
            ..Lookup::new(name, rtype)
        }
    }

    pub(crate) fn outcome(&self) -> Option<&Outcome> {
        match &self.state {
            LookupState::Done(o) => Some(o),
            LookupState::Queued | LookupState::InFlight(_) => None,
        }
    }

    pub(crate) fn is_in_flight(&self, id: QueryId) -> bool {
        self.state == LookupState::InFlight(id)
    }

    /// Applies the answer to the query for `current`. CNAMEs inside the
    /// answer are followed; if the chain ends at a name the answer says
    /// nothing more about, the lookup is queued again for that name.
    pub(crate) fn apply(&mut self, answer: &Answer, max_hops: usize) {
        let outcome = match answer {
            Answer::Records(recs) => match self.follow(recs, max_hops) {
                Some(o) => o,
                None => {
                    self.state = LookupState::Queued;
                    return;
                }
            },
            Answer::NxDomain => Outcome::NxDomain,
            Answer::NoData => Outcome::NoData,
            Answer::Timeout => Outcome::Timeout,
            Answer::Failure => Outcome::Failure,
        };
        self.state = LookupState::Done(outcome);
    }

    /// `None` means "re-ask for the new `current`".
    fn follow(&mut self, recs: &[Record], max_hops: usize) -> Option<Outcome> {
        let started = self.current.clone();
        loop {
            let data: Vec<RecordData> = recs
                .iter()
                .filter(|r| same_name(&r.name, &self.current) && r.data.rtype() == self.rtype)
                .map(|r| r.data.clone())
                .collect();
            if !data.is_empty() {
                return Some(Outcome::Found {
                    data,
                    extra: recs.to_vec(),
                });
            }
            let alias = recs.iter().find_map(|r| match &r.data {
                RecordData::Cname(t) if same_name(&r.name, &self.current) => Some(fqdn(t)),
                _ => None,
            });
            let Some(next) = alias else { break };
            self.hops += 1;
            if self.hops > max_hops {
                return Some(Outcome::CnameTooLong);
            }
            self.current = next;
        }
        if self.current == started {
            Some(Outcome::NoData)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn cname_inside_answer_is_followed_to_records() {
        let mut l = Lookup::new("a.test", Rtype::A);
        let ans = Answer::Records(vec![
            Record::cname("a.test", 60, "b.test"),
            Record::a("b.test", 60, Ipv4Addr::LOCALHOST),
        ]);
        l.apply(&ans, 8);
        assert!(matches!(l.outcome(), Some(Outcome::Found { data, .. }) if data.len() == 1));
        assert_eq!(l.current, "b.test.");
    }

    #[test]
    fn dangling_cname_requeues_and_loops_are_bounded() {
        let mut l = Lookup::new("a.test", Rtype::Srv);
        l.apply(
            &Answer::Records(vec![Record::cname("a.test", 60, "b.test")]),
            2,
        );
        assert_eq!(
            (l.state.clone(), l.current.as_str()),
            (LookupState::Queued, "b.test.")
        );
        l.apply(
            &Answer::Records(vec![Record::cname("b.test", 60, "a.test")]),
            2,
        );
        l.apply(
            &Answer::Records(vec![Record::cname("a.test", 60, "b.test")]),
            2,
        );
        assert_eq!(l.outcome(), Some(&Outcome::CnameTooLong));
    }

    #[test]
    fn unrelated_records_mean_no_data() {
        let mut l = Lookup::new("a.test", Rtype::A);
        l.apply(
            &Answer::Records(vec![Record::a("z.test", 1, Ipv4Addr::LOCALHOST)]),
            8,
        );
        assert_eq!(l.outcome(), Some(&Outcome::NoData));
    }
}
