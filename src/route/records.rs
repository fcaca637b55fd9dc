//! The DNS data model the routing core works on, independent of any resolver
//! library: record types, record data, the [`Query`] a core emits and the
//! [`Answer`] the driver feeds back (house style A.8).
//!
//! It covers exactly what RFC 3263 (SIP server location), RFC 3861
//! (`im:`/`pres:` address resolution) and RFC 2782 (SRV) need: A, AAAA, SRV,
//! NAPTR (RFC 3403 §4.1) and CNAME (RFC 1034 §3.6.2). It also owns
//! [`SipTransport`], the transports RFC 3263 §4.1 chooses between, and the
//! name helpers ([`fqdn`], [`same_name`]) every comparison goes through.
//!
//! It does not parse DNS wire format and does not talk to a resolver:
//! `src/io/dns.rs` converts hickory records into [`Record`] values.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A DNS record type the routing core asks for (RFC 1035 §3.2.2, RFC 3596,
/// RFC 2782, RFC 3403).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rtype {
    /// IPv4 host address (RFC 1035 §3.4.1).
    A,
    /// IPv6 host address (RFC 3596 §2).
    Aaaa,
    /// Service location (RFC 2782).
    Srv,
    /// Naming authority pointer (RFC 3403 §4.1), used by RFC 3263 §4.1.
    Naptr,
    /// Canonical name alias (RFC 1034 §3.6.2).
    Cname,
}

impl Rtype {
    /// The mnemonic used in zone files (`A`, `AAAA`, `SRV`, `NAPTR`, `CNAME`).
    pub fn as_str(self) -> &'static str {
        match self {
            Rtype::A => "A",
            Rtype::Aaaa => "AAAA",
            Rtype::Srv => "SRV",
            Rtype::Naptr => "NAPTR",
            Rtype::Cname => "CNAME",
        }
    }
}

impl fmt::Display for Rtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The RDATA of an SRV record (RFC 2782, "The format of the SRV RR").
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Srv {
    /// Lower is tried first.
    pub priority: u16,
    /// Relative weight among records of equal priority; 0 means "very small
    /// chance when others have weight".
    pub weight: u16,
    /// Port of the service on the target.
    pub port: u16,
    /// Target host name; `.` means the service is decidedly not available.
    pub target: String,
}

impl Srv {
    /// Whether the target is `.`, the RFC 2782 marker for "service not
    /// offered at this domain".
    pub fn is_not_offered(&self) -> bool {
        let t = self.target.trim();
        t == "." || t.is_empty()
    }
}

/// The RDATA of a NAPTR record (RFC 3403 §4.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Naptr {
    /// Records are processed in ascending order.
    pub order: u16,
    /// Tie-breaker among records of equal order, ascending.
    pub preference: u16,
    /// Flags; RFC 3263 §4.1 only uses `S` (the replacement names an SRV).
    pub flags: String,
    /// Service field, such as `SIP+D2U` (RFC 3263 §4.1).
    pub services: String,
    /// Substitution expression; unused by RFC 3263 (must be empty there).
    pub regexp: String,
    /// The next domain name to look up (the SRV owner for flag `S`).
    pub replacement: String,
}

/// The data of one record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RecordData {
    /// An IPv4 address.
    A(Ipv4Addr),
    /// An IPv6 address.
    Aaaa(Ipv6Addr),
    /// A service location.
    Srv(Srv),
    /// A naming authority pointer.
    Naptr(Naptr),
    /// An alias: the owner name is another name for this target.
    Cname(String),
}

impl RecordData {
    /// The type of this data.
    pub fn rtype(&self) -> Rtype {
        match self {
            RecordData::A(_) => Rtype::A,
            RecordData::Aaaa(_) => Rtype::Aaaa,
            RecordData::Srv(_) => Rtype::Srv,
            RecordData::Naptr(_) => Rtype::Naptr,
            RecordData::Cname(_) => Rtype::Cname,
        }
    }
}

impl fmt::Display for RecordData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordData::A(ip) => write!(f, "{ip}"),
            RecordData::Aaaa(ip) => write!(f, "{ip}"),
            RecordData::Srv(s) => write!(f, "{} {} {} {}", s.priority, s.weight, s.port, s.target),
            RecordData::Naptr(n) => write!(
                f,
                "{} {} {:?} {:?} {:?} {}",
                n.order, n.preference, n.flags, n.services, n.regexp, n.replacement
            ),
            RecordData::Cname(t) => f.write_str(t),
        }
    }
}

/// One resource record as the driver received it, from the answer or the
/// additional section (RFC 2782 "Usage rules": SRV responses may carry the
/// targets' addresses as additional data).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// Owner name; compared with [`same_name`].
    pub name: String,
    /// Time to live in seconds (RFC 1035 §3.2.1).
    pub ttl: u32,
    /// The data.
    pub data: RecordData,
}

impl Record {
    /// An A record.
    pub fn a(name: &str, ttl: u32, ip: Ipv4Addr) -> Record {
        Record {
            name: fqdn(name),
            ttl,
            data: RecordData::A(ip),
        }
    }

    /// An AAAA record.
    pub fn aaaa(name: &str, ttl: u32, ip: Ipv6Addr) -> Record {
        Record {
            name: fqdn(name),
            ttl,
            data: RecordData::Aaaa(ip),
        }
    }

    /// An SRV record.
    pub fn srv(
        name: &str,
        ttl: u32,
        priority: u16,
        weight: u16,
        port: u16,
        target: &str,
    ) -> Record {
        let target = if target.trim() == "." {
            ".".to_owned()
        } else {
            fqdn(target)
        };
        Record {
            name: fqdn(name),
            ttl,
            data: RecordData::Srv(Srv {
                priority,
                weight,
                port,
                target,
            }),
        }
    }

    /// A NAPTR record with flag `S` and an empty regexp, the only shape
    /// RFC 3263 §4.1 uses.
    pub fn naptr_s(
        name: &str,
        ttl: u32,
        order: u16,
        preference: u16,
        services: &str,
        replacement: &str,
    ) -> Record {
        Record {
            name: fqdn(name),
            ttl,
            data: RecordData::Naptr(Naptr {
                order,
                preference,
                flags: "S".to_owned(),
                services: services.to_owned(),
                regexp: String::new(),
                replacement: fqdn(replacement),
            }),
        }
    }

    /// A CNAME record.
    pub fn cname(name: &str, ttl: u32, target: &str) -> Record {
        Record {
            name: fqdn(name),
            ttl,
            data: RecordData::Cname(fqdn(target)),
        }
    }
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} IN {} {}",
            self.name,
            self.ttl,
            self.data.rtype(),
            self.data
        )
    }
}

/// Identifies one query: the resolution that asked (an id the owner of the
/// resolutions picks) and a sequence number inside it. The driver echoes it
/// back with the [`Answer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryId {
    resolution: u64,
    seq: u32,
}

impl QueryId {
    /// Builds an id.
    pub fn new(resolution: u64, seq: u32) -> QueryId {
        QueryId { resolution, seq }
    }

    /// The resolution this query belongs to, for dispatching answers.
    pub fn resolution(self) -> u64 {
        self.resolution
    }

    /// The sequence number within the resolution.
    pub fn seq(self) -> u32 {
        self.seq
    }
}

impl fmt::Display for QueryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.resolution, self.seq)
    }
}

/// A lookup the core asks the driver to perform (house style A.8).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Query {
    /// Echo this back with the answer.
    pub id: QueryId,
    /// Fully qualified name, lowercase, with a trailing dot.
    pub name: String,
    /// The record type wanted.
    pub rtype: Rtype,
}

/// What the driver learned for a [`Query`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// The answer section plus any additional-section records (the core
    /// filters by name and type, and follows CNAMEs in them).
    Records(Vec<Record>),
    /// The name does not exist (RCODE 3, RFC 1035 §4.1.1; RFC 8020).
    NxDomain,
    /// The name exists but has no record of this type (RFC 2308 §2.2).
    NoData,
    /// No answer within the driver's bounded timeout and attempts.
    Timeout,
    /// SERVFAIL, REFUSED or any other error the driver could not resolve.
    Failure,
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Records(r) => write!(f, "{} record(s)", r.len()),
            Answer::NxDomain => f.write_str("NXDOMAIN"),
            Answer::NoData => f.write_str("no data"),
            Answer::Timeout => f.write_str("timeout"),
            Answer::Failure => f.write_str("failure"),
        }
    }
}

/// A SIP transport as RFC 3263 §4.1 selects it. This is the routing view;
/// `crate::sip::Transport` is what the SIP stack can currently send over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SipTransport {
    /// UDP (`SIP+D2U`, `_sip._udp`).
    Udp,
    /// TCP (`SIP+D2T`, `_sip._tcp`).
    Tcp,
    /// TLS over TCP (`SIPS+D2T`, `_sips._tcp`).
    Tls,
}

impl SipTransport {
    /// The default port when DNS gives none: 5060, or 5061 for TLS
    /// (RFC 3263 §4.2, RFC 3261 §19.1.2).
    pub fn default_port(self) -> u16 {
        match self {
            SipTransport::Udp | SipTransport::Tcp => 5060,
            SipTransport::Tls => 5061,
        }
    }

    /// The SRV service/protocol labels for this transport (RFC 3263 §4.1).
    pub fn srv_label(self) -> &'static str {
        match self {
            SipTransport::Udp => "_sip._udp",
            SipTransport::Tcp => "_sip._tcp",
            SipTransport::Tls => "_sips._tcp",
        }
    }

    /// The NAPTR service field for this transport (RFC 3263 §4.1, §8).
    pub fn naptr_service(self) -> &'static str {
        match self {
            SipTransport::Udp => "SIP+D2U",
            SipTransport::Tcp => "SIP+D2T",
            SipTransport::Tls => "SIPS+D2T",
        }
    }

    /// The transport a NAPTR service field names, case-insensitively.
    /// `SIP+D2S` (SCTP) and unknown services give `None`.
    pub fn from_naptr_service(s: &str) -> Option<SipTransport> {
        [SipTransport::Udp, SipTransport::Tcp, SipTransport::Tls]
            .into_iter()
            .find(|t| t.naptr_service().eq_ignore_ascii_case(s.trim()))
    }

    /// Parses a `transport=` URI parameter value (RFC 3261 §19.1.1),
    /// case-insensitively.
    pub fn from_param(s: &str) -> Option<SipTransport> {
        [SipTransport::Udp, SipTransport::Tcp, SipTransport::Tls]
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// `UDP`, `TCP` or `TLS`, as in a Via header.
    pub fn as_str(self) -> &'static str {
        match self {
            SipTransport::Udp => "UDP",
            SipTransport::Tcp => "TCP",
            SipTransport::Tls => "TLS",
        }
    }
}

impl fmt::Display for SipTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Normalises a domain name: trimmed, ASCII-lowercase, exactly one trailing
/// dot. DNS names compare case-insensitively (RFC 4343).
pub fn fqdn(name: &str) -> String {
    let mut s = name.trim().trim_end_matches('.').to_ascii_lowercase();
    s.push('.');
    s
}

/// Whether two names are the same DNS name, ignoring ASCII case and a
/// trailing dot (RFC 4343).
pub fn same_name(a: &str, b: &str) -> bool {
    a.trim()
        .trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim().trim_end_matches('.'))
}

/// The records of `records` that answer `(name, rtype)`: the CNAME chain
/// starting at `name` (at most `max_hops` links, RFC 1034 §3.6.2) and the
/// records of type `rtype` at its end. Additional-section records for other
/// names are left out, so a cache never stores data it did not ask for.
pub fn answer_chain(name: &str, rtype: Rtype, records: &[Record], max_hops: usize) -> Vec<Record> {
    let mut out = Vec::new();
    let mut current = name.to_owned();
    for _ in 0..=max_hops {
        let direct: Vec<&Record> = records
            .iter()
            .filter(|r| same_name(&r.name, &current) && r.data.rtype() == rtype)
            .collect();
        if !direct.is_empty() {
            out.extend(direct.into_iter().cloned());
            return out;
        }
        let alias = records.iter().find_map(|r| match &r.data {
            RecordData::Cname(t) if same_name(&r.name, &current) => Some((r, t)),
            _ => None,
        });
        match alias {
            Some((r, target)) => {
                out.push(r.clone());
                current = target.clone();
            }
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_and_compare() {
        assert_eq!(fqdn(" Example.TEST "), "example.test.");
        assert_eq!(fqdn("example.test."), "example.test.");
        assert!(same_name("EXAMPLE.test", "example.test."));
        assert!(!same_name("example.test", "example.tes"));
    }

    #[test]
    fn transport_tables() {
        assert_eq!(
            SipTransport::from_naptr_service("sip+d2u"),
            Some(SipTransport::Udp)
        );
        assert_eq!(
            SipTransport::from_naptr_service("SIPS+D2T"),
            Some(SipTransport::Tls)
        );
        assert_eq!(SipTransport::from_naptr_service("SIP+D2S"), None);
        assert_eq!(SipTransport::from_param("tcp"), Some(SipTransport::Tcp));
        assert_eq!(SipTransport::Tls.default_port(), 5061);
        assert_eq!(SipTransport::Udp.srv_label(), "_sip._udp");
    }

    #[test]
    fn answer_chain_follows_cnames_and_drops_additionals() {
        let recs = vec![
            Record::cname("_im._sip.d.test", 60, "e.test"),
            Record::srv("e.test", 60, 10, 0, 5060, "h.e.test"),
            Record::a("h.e.test", 60, Ipv4Addr::LOCALHOST),
        ];
        let chain = answer_chain("_im._sip.d.test.", Rtype::Srv, &recs, 8);
        assert_eq!(chain.len(), 2);
        assert_eq!(answer_chain("x.test", Rtype::Srv, &recs, 8), vec![]);
        // A loop stops at the bound.
        let looped = vec![
            Record::cname("a.test", 1, "b.test"),
            Record::cname("b.test", 1, "a.test"),
        ];
        assert_eq!(answer_chain("a.test", Rtype::A, &looped, 3).len(), 4);
    }

    #[test]
    fn display_is_zone_file_like() {
        let r = Record::srv(
            "_sip._udp.example.test",
            300,
            10,
            20,
            5090,
            "uas.example.test",
        );
        assert_eq!(
            r.to_string(),
            "_sip._udp.example.test. 300 IN SRV 10 20 5090 uas.example.test."
        );
        assert!(Record::srv("x.test", 1, 0, 0, 0, ".").data.rtype() == Rtype::Srv);
    }
}
