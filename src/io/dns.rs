//! The hickory-resolver 0.26 adapter: runs one [`Query`] the routing core
//! asks for and converts the outcome into an [`Answer`] of the core's
//! record model. It makes no routing decision (house style A.8): CNAME
//! following for the core, SRV ordering, NAPTR processing and negative
//! caching all live in `src/route/`.
//!
//! Resolver setup: the `[dns] nameservers` (UDP and TCP to each IP:port)
//! or, when none are configured, the system configuration
//! (`/etc/resolv.conf`); the configured per-attempt timeout and total
//! attempts; hickory's own cache off (the core's
//! [`DnsCache`](crate::route::DnsCache) is the cache); no search-domain
//! expansion (queries are absolute names). Every lookup is bounded by
//! `timeout × attempts` plus a small margin, whatever the resolver does.
//!
//! Outcome mapping: records → [`Answer::Records`] (answer section,
//! CNAMEs included, then additional section); RCODE NXDOMAIN with no
//! answer → [`Answer::NxDomain`]; NOERROR with no record of the type →
//! [`Answer::NoData`]; no answer in time → [`Answer::Timeout`]; SERVFAIL,
//! REFUSED, connection errors and anything else → [`Answer::Failure`].

use std::time::Duration;

use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ServerOrderingStrategy,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};

use crate::config::DnsSettings;
use crate::route::records::{Naptr, Srv, fqdn};
use crate::route::{Answer, Query, Record, RecordData, Rtype};

/// Slack on top of `timeout × attempts` before a lookup is abandoned, so
/// that hickory's own timeout normally fires first.
const MARGIN: Duration = Duration::from_millis(250);

/// A DNS client for the routing core's queries. Cheap to clone (the
/// resolver is shared).
#[derive(Clone)]
pub(crate) struct DnsClient {
    resolver: TokioResolver,
    bound: Duration,
}

impl std::fmt::Debug for DnsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsClient")
            .field("bound", &self.bound)
            .finish_non_exhaustive()
    }
}

impl DnsClient {
    /// Builds a resolver from `[dns]`: the configured nameservers (UDP and
    /// TCP to each IP:port) or, when the list is empty, the system
    /// configuration; the configured timeout and attempts; hickory's cache
    /// off; no search-domain expansion.
    pub(crate) fn new(settings: &DnsSettings) -> anyhow::Result<DnsClient> {
        let mut builder = if settings.nameservers.is_empty() {
            let mut b = TokioResolver::builder_tokio().map_err(|e| {
                anyhow::anyhow!("cannot read the system resolver configuration: {e}")
            })?;
            // The system resolver keeps its hosts-file behaviour.
            b.options_mut().use_hosts_file = ResolveHosts::Auto;
            b
        } else {
            let servers = settings
                .nameservers
                .iter()
                .map(|addr| {
                    let mut udp = ConnectionConfig::udp();
                    udp.port = addr.port();
                    let mut tcp = ConnectionConfig::tcp();
                    tcp.port = addr.port();
                    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                    ns.connections = vec![udp, tcp];
                    ns
                })
                .collect();
            let mut b = Resolver::builder_with_config(
                ResolverConfig::from_name_servers(servers),
                TokioRuntimeProvider::default(),
            );
            let opts = b.options_mut();
            // Explicit nameservers: exactly what they answer, in the order
            // the operator listed them.
            opts.use_hosts_file = ResolveHosts::Never;
            opts.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
            b
        };
        let attempts = settings.attempts.max(1);
        let opts = builder.options_mut();
        opts.timeout = settings.timeout;
        // hickory counts *retries* after the first try, not tries.
        opts.attempts = attempts - 1;
        // The routing core caches (with its own negative TTL); hickory's
        // cache would hide TTL expiry from it.
        opts.cache_size = 0;
        opts.positive_min_ttl = None;
        opts.negative_min_ttl = None;
        // Names are absolute; never append search domains.
        opts.ndots = 0;
        // Keep CNAME records in the answer: the core follows them itself.
        opts.preserve_intermediates = true;
        let resolver = builder
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the dns resolver: {e}"))?;
        let tries = u32::try_from(attempts).unwrap_or(u32::MAX);
        let bound = settings
            .timeout
            .checked_mul(tries)
            .unwrap_or(Duration::from_secs(600))
            .saturating_add(MARGIN);
        Ok(DnsClient { resolver, bound })
    }

    /// The longest a [`DnsClient::lookup`] can take.
    pub(crate) fn bound(&self) -> Duration {
        self.bound
    }

    /// Runs one lookup and converts its outcome. Never takes longer than
    /// [`DnsClient::bound`].
    pub(crate) async fn lookup(&self, query: &Query) -> Answer {
        let name = match Name::from_ascii(fqdn(&query.name)) {
            Ok(mut n) => {
                n.set_fqdn(true);
                n
            }
            Err(e) => {
                tracing::debug!(name = %query.name, error = %e, "not a dns name");
                return Answer::Failure;
            }
        };
        let rtype = record_type(query.rtype);
        let outcome = tokio::time::timeout(self.bound, self.resolver.lookup(name, rtype)).await;
        let answer = match outcome {
            Err(_) => Answer::Timeout,
            Ok(Ok(lookup)) => convert_records(lookup.answers().iter().chain(lookup.additionals())),
            Ok(Err(e)) => classify_error(&e),
        };
        tracing::debug!(id = %query.id, name = %query.name, rtype = %query.rtype, %answer, "dns answer");
        answer
    }
}

/// The hickory record type for a core record type.
fn record_type(rtype: Rtype) -> RecordType {
    match rtype {
        Rtype::A => RecordType::A,
        Rtype::Aaaa => RecordType::AAAA,
        Rtype::Srv => RecordType::SRV,
        Rtype::Naptr => RecordType::NAPTR,
        Rtype::Cname => RecordType::CNAME,
    }
}

/// Converts the records of a successful lookup; records of types the core
/// does not model are skipped. A successful lookup that leaves nothing is
/// NODATA.
fn convert_records<'a>(
    records: impl Iterator<Item = &'a hickory_resolver::proto::rr::Record>,
) -> Answer {
    let out: Vec<Record> = records.filter_map(convert_record).collect();
    if out.is_empty() {
        Answer::NoData
    } else {
        Answer::Records(out)
    }
}

/// One hickory record as a core [`Record`], if it is of a modelled type.
fn convert_record(r: &hickory_resolver::proto::rr::Record) -> Option<Record> {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let data = match &r.data {
        RData::A(a) => RecordData::A(a.0),
        RData::AAAA(a) => RecordData::Aaaa(a.0),
        RData::SRV(s) => RecordData::Srv(Srv {
            priority: s.priority,
            weight: s.weight,
            port: s.port,
            target: if s.target.is_root() {
                ".".to_owned()
            } else {
                fqdn(&s.target.to_ascii())
            },
        }),
        RData::NAPTR(n) => RecordData::Naptr(Naptr {
            order: n.order,
            preference: n.preference,
            flags: text(&n.flags),
            services: text(&n.services),
            regexp: text(&n.regexp),
            replacement: if n.replacement.is_root() {
                ".".to_owned()
            } else {
                fqdn(&n.replacement.to_ascii())
            },
        }),
        RData::CNAME(c) => RecordData::Cname(fqdn(&c.0.to_ascii())),
        _ => return None,
    };
    Some(Record {
        name: fqdn(&r.name.to_ascii()),
        ttl: r.ttl,
        data,
    })
}

/// The [`Answer`] for a failed hickory lookup. In 0.26 both negative
/// answers arrive as `NetError::Dns(DnsError::NoRecordsFound(_))`; only
/// its `response_code` tells NXDOMAIN from NODATA.
fn classify_error(e: &NetError) -> Answer {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => match nr.response_code {
            ResponseCode::NXDomain => Answer::NxDomain,
            ResponseCode::NoError => Answer::NoData,
            _ => Answer::Failure,
        },
        NetError::Timeout => Answer::Timeout,
        NetError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => Answer::Timeout,
        other => {
            tracing::debug!(error = %other, "dns lookup failed");
            Answer::Failure
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};
    use std::str::FromStr;

    use hickory_resolver::net::NoRecords;
    use hickory_resolver::proto::op::Query as HQuery;
    use hickory_resolver::proto::rr::Record as HRecord;
    use hickory_resolver::proto::rr::rdata::{A, AAAA, CNAME, NAPTR, SRV, TXT};

    use super::*;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    fn no_records(code: ResponseCode) -> NetError {
        NoRecords::new(HQuery::query(name("x.test."), RecordType::SRV), code).into()
    }

    #[test]
    fn negative_answers_are_told_apart_by_response_code() {
        assert_eq!(
            classify_error(&no_records(ResponseCode::NXDomain)),
            Answer::NxDomain
        );
        assert_eq!(
            classify_error(&no_records(ResponseCode::NoError)),
            Answer::NoData
        );
        assert_eq!(classify_error(&NetError::Timeout), Answer::Timeout);
        assert_eq!(
            classify_error(&NetError::Dns(DnsError::ResponseCode(
                ResponseCode::ServFail
            ))),
            Answer::Failure
        );
        assert_eq!(
            classify_error(&NetError::Dns(DnsError::ResponseCode(
                ResponseCode::Refused
            ))),
            Answer::Failure
        );
        assert_eq!(classify_error(&NetError::NoConnections), Answer::Failure);
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(classify_error(&NetError::from(refused)), Answer::Failure);
    }

    #[test]
    fn records_convert_to_the_core_model() {
        let recs = [
            HRecord::from_rdata(
                name("_im._sip.Example.TEST."),
                30,
                RData::CNAME(CNAME(name("srv.example.test."))),
            ),
            HRecord::from_rdata(
                name("srv.example.test."),
                30,
                RData::SRV(SRV::new(10, 5, 5090, name("uas.example.test."))),
            ),
            HRecord::from_rdata(
                name("srv.example.test."),
                30,
                RData::SRV(SRV::new(20, 0, 1, Name::root())),
            ),
            HRecord::from_rdata(
                name("example.test."),
                7,
                RData::NAPTR(NAPTR::new(
                    10,
                    20,
                    b"s".to_vec().into_boxed_slice(),
                    b"SIP+D2U".to_vec().into_boxed_slice(),
                    Vec::new().into_boxed_slice(),
                    name("_sip._udp.example.test."),
                )),
            ),
            HRecord::from_rdata(
                name("uas.example.test."),
                0,
                RData::A(A(Ipv4Addr::LOCALHOST)),
            ),
            HRecord::from_rdata(
                name("uas.example.test."),
                0,
                RData::AAAA(AAAA(Ipv6Addr::LOCALHOST)),
            ),
            HRecord::from_rdata(name("t.test."), 1, RData::TXT(TXT::new(vec!["x".into()]))),
        ];
        let Answer::Records(out) = convert_records(recs.iter()) else {
            panic!("expected records");
        };
        assert_eq!(
            out,
            vec![
                Record::cname("_im._sip.example.test", 30, "srv.example.test"),
                Record::srv("srv.example.test", 30, 10, 5, 5090, "uas.example.test"),
                Record::srv("srv.example.test", 30, 20, 0, 1, "."),
                Record {
                    name: "example.test.".into(),
                    ttl: 7,
                    data: RecordData::Naptr(Naptr {
                        order: 10,
                        preference: 20,
                        flags: "s".into(),
                        services: "SIP+D2U".into(),
                        regexp: String::new(),
                        replacement: "_sip._udp.example.test.".into(),
                    }),
                },
                Record::a("uas.example.test", 0, Ipv4Addr::LOCALHOST),
                Record::aaaa("uas.example.test", 0, Ipv6Addr::LOCALHOST),
            ]
        );
        assert_eq!(convert_records([].iter()), Answer::NoData);
    }

    #[test]
    fn lookups_are_bounded_by_timeout_times_attempts() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let settings = DnsSettings {
            nameservers: vec!["127.0.0.1:9".parse().unwrap()],
            timeout: Duration::from_millis(100),
            attempts: 3,
            ..DnsSettings::default()
        };
        let client = rt.block_on(async { DnsClient::new(&settings) }).unwrap();
        assert_eq!(client.bound(), Duration::from_millis(300) + MARGIN);
    }
}
