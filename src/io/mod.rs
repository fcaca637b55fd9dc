//! Everything that touches the outside world: sockets, the clock and the
//! single event loop ([`driver`]); it starts the admin endpoint that
//! `crate::metrics` serves. The protocol cores never do IO; this module
//! makes no protocol decisions.

mod clock;
pub(crate) mod dns;
mod driver;
pub mod resolve;
mod signals;
pub mod store;
mod tcp;
pub(crate) mod tls;
mod xmpp;

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{Semaphore, mpsc, watch};

use crate::config::Config;
use crate::gateway::{Gateway, GatewayConfig};
use crate::metrics::Metrics;
use crate::sip::Transport;

/// Depth of the socket-task → event-loop queue.
const EVENT_QUEUE: usize = 8192;

/// Default of `xmpp.max_write_queue_bytes`.
pub const DEFAULT_XMPP_WRITE_QUEUE_BYTES: usize = 8 << 20;

/// The core settings for a validated config (node id and seed drawn from
/// entropy when the config does not fix them).
pub fn gateway_config(config: &Config) -> GatewayConfig {
    let seed = config.gateway.rng_seed.unwrap_or_else(rand::random);
    let node_id = config
        .gateway
        .node_id
        .clone()
        .unwrap_or_else(|| format!("gw-{:016x}", rand::random::<u64>()));
    GatewayConfig {
        presence: config.presence.clone(),
        local_domains: config.gateway.domains.clone(),
        router: config.router(),
        policy: config.policy.clone(),
        transactions: config.sip.transactions,
        limits: config.sip.limits,
        node_id,
        rng_seed: seed,
        reject_invite_with: config.sip.reject_invite_with,
        max_pending_relays: config.sip.max_transactions,
        max_server_transactions: config.sip.max_server_transactions,
        max_queued_per_destination: config.sip.max_queued_per_destination,
        advertise_host: config.sip.advertise.clone(),
        ports: config
            .sip
            .listen
            .iter()
            .map(|l| (l.transport, l.addr.port()))
            .collect(),
        dns_enabled: config.dns.enabled,
        resolution: config.dns.resolution.clone(),
        dns_cache: config.dns.cache.clone(),
        default_route: config.gateway.default_route,
        xmpp_available: false,
        xmpp: config.xmpp.clone().map(|x| crate::gateway::XmppLinkConfig {
            server: x.server,
            component: x.component,
            domains: x.domains,
            address_mode: x.address_mode,
            error_window: x.error_window,
            wrap_cpim: x.wrap_cpim,
            wrap_cpim_domains: x.wrap_cpim_domains,
            composing_refresh: x.composing_refresh,
            composing_max_active: x.composing_max_active,
        }),
    }
}

/// Binds every listener and runs the gateway until SIGTERM (or Ctrl-C)
/// has drained it. SIGHUP reloads routes and policy from `config_path`.
pub async fn run(config: Config, config_path: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let controls = signals::spawn(config_path);
    let gw = gateway_config(&config);
    let node_id = gw.node_id.clone();
    let mut gateway = Gateway::new(gw);
    // Durable state first: a store that cannot be opened stops the start.
    let store = store::open_store(Some(&config.gateway.state_dir))
        .with_context(|| format!("state store in {}", config.gateway.state_dir.display()))?;
    let records = store.load_all().with_context(|| {
        format!(
            "reading the state store in {}",
            config.gateway.state_dir.display()
        )
    })?;
    let start = clock::now();
    gateway.set_wall_clock(start, clock::unix_ms());
    let stored = records.len();
    gateway.restore(start, records);
    let s = gateway.stats();
    tracing::info!(
        stored,
        restored = s.subscriptions_restored,
        dropped = s.subscriptions_dropped_on_restore,
        "state store opened"
    );
    // The admin endpoint comes up first, so /readyz can say what is missing.
    let (stats_tx, stats_rx) = watch::channel(gateway.snapshot());
    let (metrics, recorder) = Metrics::new(stats_rx);
    let metrics = Arc::new(metrics);
    let admin = TcpListener::bind(config.admin.listen)
        .await
        .with_context(|| format!("bind admin {}", config.admin.listen))?;
    tracing::info!(addr = %config.admin.listen, "admin endpoint on /metrics, /healthz and /readyz");
    tokio::spawn(crate::metrics::http::serve(admin, metrics.clone()));

    let (events_tx, events_rx) = mpsc::channel(EVENT_QUEUE);
    let limits = config.sip.limits;
    let tcp_slots = Arc::new(Semaphore::new(config.sip.max_tcp_connections));
    let tls = Arc::new(tls::TlsContext::new(&config.tls).context("tls")?);
    let xmpp_tls = match config.xmpp.as_ref().and_then(|x| x.tls_name.as_deref()) {
        Some(name) => Some(
            tls.xmpp(name)
                .map_err(|why| anyhow::anyhow!("xmpp.tls: {why}"))?,
        ),
        None => None,
    };
    let mut udp = Vec::new();
    for l in &config.sip.listen {
        match l.transport {
            Transport::Udp => {
                let sock = Arc::new(
                    bind_udp(l.addr, config.sip.udp_recv_buffer_bytes)
                        .with_context(|| format!("bind udp {}", l.addr))?,
                );
                udp.push((l.addr.is_ipv4(), sock.clone()));
                let tx = events_tx.clone();
                tokio::spawn(async move { udp_recv_loop(sock, tx).await });
            }
            Transport::Tcp => {
                let listener = TcpListener::bind(l.addr)
                    .await
                    .with_context(|| format!("bind tcp {}", l.addr))?;
                tracing::info!(addr = %l.addr, "listening on tcp");
                tokio::spawn(tcp::accept_loop(
                    listener,
                    events_tx.clone(),
                    limits,
                    tcp_slots.clone(),
                ));
            }
            Transport::Tls => {
                let acceptor = tls
                    .acceptor()
                    .context("a tls:// listener needs [tls] certificate and private_key")?;
                let listener = TcpListener::bind(l.addr)
                    .await
                    .with_context(|| format!("bind tls {}", l.addr))?;
                tracing::info!(addr = %l.addr, client_auth = ?config.tls.client_auth, "listening on tls");
                tokio::spawn(tls::accept_loop(
                    listener,
                    tls.clone(),
                    acceptor,
                    events_tx.clone(),
                    limits,
                ));
            }
        }
    }
    metrics.startup.set_listeners_bound();

    let dns = if config.dns.enabled {
        let client = dns::DnsClient::new(&config.dns).context(
            "dns: cannot build the resolver (set [dns] nameservers, or enabled = false to use static routes only)",
        )?;
        Some(Arc::new(client))
    } else {
        None
    };
    tracing::info!(node_id = %node_id, routes = config.routes.len(), "gateway started");
    let driver = driver::Driver {
        gateway,
        udp,
        events_tx,
        events_rx,
        tcp: HashMap::new(),
        limits,
        tcp_slots,
        tls,
        tls_in: HashMap::new(),
        tls_out: HashMap::new(),
        stats_tx,
        recorder,
        dns,
        xmpp: None,
        xmpp_tls,
        started_with: driver::RestartOnly::of(&config),
        xmpp_write_queue_bytes: config
            .xmpp
            .as_ref()
            .map_or(DEFAULT_XMPP_WRITE_QUEUE_BYTES, |x| x.max_write_queue_bytes),
        startup: metrics.startup.clone(),
        drain_timeout: config.gateway.drain_timeout,
        store,
        writes: Vec::new(),
    };
    driver.run(controls).await;
    Ok(())
}

/// Binds a UDP listener with the requested receive buffer. The kernel may
/// grant less (`net.core.rmem_max`); the granted size is logged.
fn bind_udp(addr: std::net::SocketAddr, recv_buffer: usize) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if let Err(e) = sock.set_recv_buffer_size(recv_buffer) {
        tracing::warn!(error = %e, requested = recv_buffer, "cannot set udp receive buffer");
    }
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    let granted = sock.recv_buffer_size().unwrap_or(0);
    tracing::info!(%addr, recv_buffer = granted, "listening on udp");
    if granted < recv_buffer {
        tracing::info!(
            granted,
            requested = recv_buffer,
            "udp receive buffer capped by the kernel (net.core.rmem_max)"
        );
    }
    UdpSocket::from_std(sock.into())
}

async fn udp_recv_loop(sock: Arc<UdpSocket>, tx: mpsc::Sender<driver::IoEvent>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        match sock.recv_from(&mut buf).await {
            Ok((n, remote)) => {
                let bytes = bytes::Bytes::copy_from_slice(buf.get(..n).unwrap_or_default());
                if tx
                    .send(driver::IoEvent::Inbound {
                        remote,
                        transport: Transport::Udp,
                        bytes,
                        identity: None,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            // ICMP port unreachable from an earlier send shows up here on
            // Linux; it is not fatal for the socket.
            Err(e) => tracing::debug!(error = %e, "udp recv error"),
        }
    }
}
