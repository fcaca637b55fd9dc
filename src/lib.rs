//! cpim-gateway: a federation gateway between SIMPLE and other IM systems,
//! pivoting every operation on the abstract CPIM semantics (RFC 3860 for IM,
//! RFC 3859 for presence, RFC 3862 for `message/cpim`).
//!
//! # Layout
//!
//! - [`sip`]: SIP message facade, framing, limits, RFC 3261 transactions (sans-IO).
//! - [`cpim`]: abstract CPIM operations, `im:`/`pres:` URIs, `message/cpim`.
//! - [`xmpp`]: JIDs, stanza tree/writer, RFC 6120 framing, typed stanzas,
//!   the XEP-0114 component link (sans-IO). Not wired into the gateway yet.
//! - [`translate`]: SIP ⇄ CPIM mapping and the status tables from `mappings/`.
//! - [`route`]: static routes, RFC 3861/3263 DNS resolution (sans-IO), RFC 2782 ordering.
//! - [`gateway`]: composes the cores: policy, loop protection, correlation.
//! - [`config`]: TOML schema → validated settings.
//! - [`redact`]: what log lines show of SIP URIs and JIDs.
//! - [`metrics`]: Prometheus families from the core's counters and events;
//!   the admin endpoint (`/metrics`, `/healthz`, `/readyz`).
//! - [`io`]: sockets, clock and the single event loop. The only place with IO.

#![warn(missing_docs, unreachable_pub)]

pub mod config;
pub mod cpim;
pub mod gateway;
pub mod io;
pub mod metrics;
pub mod pidf;
pub mod redact;
pub mod route;
pub mod sip;
pub mod store;
pub mod translate;
pub mod xmpp;
