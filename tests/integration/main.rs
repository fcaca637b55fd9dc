//! One integration-test binary (one link step). Each module starts the real
//! gateway binary and real peers on 127.0.0.1 via the harness in `common`.

#![allow(clippy::disallowed_methods)]

mod common;

mod cli;
mod deploy;
mod dns_routing;
mod fuzz_regressions;
mod kamailio_presence;
mod lifecycle;
mod logging;
mod metrics;
mod overload;
mod presence;
mod refusals;
mod relay_sipp;
mod resolve_cli;
mod rfc_examples;
mod smime;
mod tls;
mod torture;
mod transactions;
mod xmpp_content;
mod xmpp_e2e;
mod xmpp_link;
mod xmpp_peers;
