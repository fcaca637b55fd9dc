//! SIP over TLS (RFC 3261 §26.2, `sips:` per RFC 5630): this file owns the
//! certificates, the rustls configurations, the `tls://` accept loop and
//! outbound TLS connections. Once a handshake is done the byte stream is
//! framed exactly like TCP by [`crate::io::tcp::run_stream`].
//!
//! Verification rules:
//! - Outbound, the server certificate must chain to the operating system's
//!   roots or `[tls] ca_file` and be valid for the name the core asked for
//!   (RFC 5922 §7.1: subjectAltName dNSName, or iPAddress for an IP literal);
//!   that name is also the SNI. Only `danger_accept_invalid_certs` turns this
//!   off. A refused handshake is reported as [`IoEvent::TlsFailed`] and not a
//!   byte of SIP is written.
//! - Inbound with `client_auth`, the client certificate must chain to
//!   `ca_file`; its subjectAltName DNS names become the connection's
//!   [`PeerIdentity`] (RFC 5922 §7.2), carried with every request read on it.
//!
//! The crypto provider is ring, passed to every config builder, so no
//! process-wide default provider is ever needed. Private keys are read into
//! rustls and never formatted: errors name the file, not its content.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::config::{ClientAuth, TlsSettings};
use crate::gateway::PeerIdentity;
use crate::io::driver::IoEvent;
use crate::io::tcp::{StreamMeta, run_stream};
use crate::sip::{Limits, Transport};

/// Why a certificate or key file cannot be used. The messages name the
/// file and never quote its content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum PemError {
    /// The file is unreadable or not PEM of the expected kind.
    #[error("cannot load {path}: {reason}")]
    Load {
        /// The file.
        path: PathBuf,
        /// What went wrong (from the PEM parser; no key material).
        reason: String,
    },
    /// The file holds no certificate.
    #[error("{0}: no CERTIFICATE block")]
    NoCertificate(PathBuf),
}

/// Reads every certificate of a PEM file (a chain, leaf first, or a CA
/// bundle).
pub(crate) fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let load = |reason: String| PemError::Load {
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| load(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| load(e.to_string()))?;
    if certs.is_empty() {
        return Err(PemError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

/// Reads the first private key (PKCS#8, PKCS#1 or SEC1) of a PEM file.
pub(crate) fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, PemError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| PemError::Load {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Everything a TLS connection needs: the configs, the connection budget
/// and the timers. Built once at start.
pub(crate) struct TlsContext {
    /// `None` when no certificate is configured (no `tls://` listener).
    acceptor: Option<TlsAcceptor>,
    /// `Err` (why) when no trust anchor exists at all: every outbound
    /// handshake is then refused with that reason.
    connector: Result<TlsConnector, String>,
    slots: Arc<Semaphore>,
    idle: Duration,
    handshake: Duration,
}

impl TlsContext {
    /// Builds the server and client configs from `[tls]`.
    pub(crate) fn new(s: &TlsSettings) -> anyhow::Result<TlsContext> {
        use anyhow::Context as _;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let identity = match (&s.certificate, &s.private_key) {
            (Some(c), Some(k)) => Some((load_certificates(c)?, load_private_key(k)?)),
            _ => None,
        };
        let ca = match &s.ca_file {
            Some(p) => load_certificates(p)?,
            None => Vec::new(),
        };

        let acceptor = match &identity {
            Some((chain, key)) => {
                let builder = ServerConfig::builder_with_provider(provider.clone())
                    .with_safe_default_protocol_versions()
                    .context("tls: protocol versions")?;
                let builder = match s.client_auth {
                    ClientAuth::None => builder.with_no_client_auth(),
                    mode => {
                        let mut roots = RootCertStore::empty();
                        let (added, _) = roots.add_parsable_certificates(ca.iter().cloned());
                        anyhow::ensure!(added > 0, "tls.ca_file: no usable CA certificate");
                        let v = WebPkiClientVerifier::builder_with_provider(
                            Arc::new(roots),
                            provider.clone(),
                        );
                        let v = if mode == ClientAuth::Optional {
                            v.allow_unauthenticated()
                        } else {
                            v
                        };
                        builder.with_client_cert_verifier(
                            v.build().context("tls: client certificate verifier")?,
                        )
                    }
                };
                let cfg = builder
                    .with_single_cert(chain.clone(), key.clone_key())
                    .context("tls: certificate and private key do not fit together")?;
                Some(TlsAcceptor::from(Arc::new(cfg)))
            }
            None => None,
        };

        let connector = client_config(s, provider, &ca, identity.as_ref())
            .map(|cfg| TlsConnector::from(Arc::new(cfg)));
        if let Err(why) = &connector {
            tracing::warn!(reason = %why, "outbound tls unavailable");
        }
        if s.danger_accept_invalid_certs {
            tracing::warn!(
                "tls.danger_accept_invalid_certs = true: server certificates are NOT verified; never use this in production"
            );
        }
        Ok(TlsContext {
            acceptor,
            connector,
            slots: Arc::new(Semaphore::new(s.max_connections)),
            idle: s.idle_timeout,
            handshake: s.handshake_timeout,
        })
    }

    /// The acceptor, when a certificate is configured.
    pub(crate) fn acceptor(&self) -> Option<TlsAcceptor> {
        self.acceptor.clone()
    }

    /// TLS for the XMPP component link (`[xmpp] tls = true`): the same
    /// client config as SIP (trust anchors, verification, the `danger_`
    /// knob), verifying the server against `name`.
    pub(crate) fn xmpp(&self, name: &str) -> Result<crate::io::xmpp::XmppTls, String> {
        let connector = self.connector.clone()?;
        let server_name = ServerName::try_from(name.to_string())
            .map_err(|_| format!("{name:?} is not a DNS name or IP address"))?;
        Ok(crate::io::xmpp::XmppTls {
            connector,
            server_name,
            handshake: self.handshake,
        })
    }
}

/// The client config: system roots plus `ca_file`, the configured
/// certificate offered for mutual TLS, and the verifier (or, only with the
/// danger knob, none).
fn client_config(
    s: &TlsSettings,
    provider: Arc<CryptoProvider>,
    ca: &[CertificateDer<'static>],
    identity: Option<&(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
) -> Result<ClientConfig, String> {
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = if s.danger_accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServerCert(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::debug!(error = %e, "system trust store: entry skipped");
        }
        let (system, _) = roots.add_parsable_certificates(native.certs);
        let (extra, _) = roots.add_parsable_certificates(ca.iter().cloned());
        tracing::info!(system, ca_file = extra, "tls trust anchors loaded");
        if roots.is_empty() {
            return Err(
                "no trust anchors (empty system store and no tls.ca_file): server certificates cannot be verified"
                    .into(),
            );
        }
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| e.to_string())?;
        builder.with_webpki_verifier(verifier)
    };
    match identity {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain.clone(), key.clone_key())
            .map_err(|e| format!("client certificate: {e}")),
        None => Ok(builder.with_no_client_auth()),
    }
}

/// `danger_accept_invalid_certs`: any certificate, any name, any date.
/// Handshake signatures are still checked, so the peer must hold the key of
/// the certificate it shows.
#[derive(Debug)]
struct AcceptAnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The identity a verified client certificate proves: its subjectAltName
/// DNS names (RFC 5922 §7.2). `None` without a certificate (or without a
/// DNS name in it).
fn peer_identity(certs: Option<&[CertificateDer<'static>]>) -> Option<Arc<PeerIdentity>> {
    let leaf = certs?.first()?;
    let cert = webpki::EndEntityCert::try_from(leaf).ok()?;
    let id = PeerIdentity::new(cert.valid_dns_names());
    (!id.dns_names().is_empty()).then(|| Arc::new(id))
}

/// Accepts `tls://` connections forever: TLS handshake (bounded), then the
/// SIP stream. A refused handshake (no or bad client certificate, not TLS
/// at all) closes the connection; nothing reaches the core.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    ctx: Arc<TlsContext>,
    acceptor: TlsAcceptor,
    events: mpsc::Sender<IoEvent>,
    limits: Limits,
) {
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "tls accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = ctx.slots.clone().try_acquire_owned() else {
            tracing::warn!(peer = %remote, "tls connection limit reached; closing");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let acceptor = acceptor.clone();
        let events = events.clone();
        let (handshake, idle) = (ctx.handshake, ctx.idle);
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(handshake, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::info!(peer = %remote, error = %e, "inbound tls handshake refused");
                    let _ = events.send(IoEvent::TlsInboundFailed).await;
                    return;
                }
                Err(_) => {
                    tracing::info!(peer = %remote, "inbound tls handshake timed out");
                    let _ = events.send(IoEvent::TlsInboundFailed).await;
                    return;
                }
            };
            let identity = peer_identity(tls.get_ref().1.peer_certificates());
            if let Some(id) = &identity {
                tracing::debug!(peer = %remote, names = ?id.dns_names(), "tls client authenticated");
            }
            let (tx, rx) = mpsc::channel(crate::io::tcp::WRITE_QUEUE);
            if events
                .send(IoEvent::TlsOpened { remote, writer: tx })
                .await
                .is_err()
            {
                return;
            }
            let meta = StreamMeta {
                transport: Transport::Tls,
                identity,
                idle,
                server_name: None,
            };
            run_stream(tls, remote, rx, events, limits, meta).await;
            drop(permit);
        });
    }
}

/// Opens an outbound TLS connection to `dst`, verifying the server against
/// `server_name`, and runs it. Transmits queue on `rx` meanwhile; they are
/// written only after the handshake succeeded, and dropped if it did not.
pub(crate) fn connect(
    ctx: Arc<TlsContext>,
    dst: SocketAddr,
    server_name: Arc<str>,
    rx: mpsc::Receiver<Bytes>,
    events: mpsc::Sender<IoEvent>,
    limits: Limits,
) {
    tokio::spawn(async move {
        let refused = |reason: String| IoEvent::TlsFailed {
            dst,
            server_name: server_name.clone(),
            reason,
        };
        let Ok(permit) = ctx.slots.clone().try_acquire_owned() else {
            let _ = events
                .send(refused("tls connection limit reached".into()))
                .await;
            return;
        };
        let connector = match &ctx.connector {
            Ok(c) => c.clone(),
            Err(why) => {
                let _ = events.send(refused(why.clone())).await;
                return;
            }
        };
        let Ok(name) = ServerName::try_from(server_name.to_string()) else {
            let _ = events
                .send(refused(format!(
                    "{server_name:?} is not a DNS name or IP address"
                )))
                .await;
            return;
        };
        let deadline = tokio::time::Instant::now() + ctx.handshake;
        let tcp = match tokio::time::timeout_at(deadline, TcpStream::connect(dst)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                tracing::debug!(peer = %dst, error = %e, "tls: tcp connect failed");
                let _ = events
                    .send(IoEvent::ConnectFailed {
                        dst,
                        transport: Transport::Tls,
                    })
                    .await;
                return;
            }
            Err(_) => {
                tracing::debug!(peer = %dst, "tls: tcp connect timed out");
                let _ = events
                    .send(IoEvent::ConnectFailed {
                        dst,
                        transport: Transport::Tls,
                    })
                    .await;
                return;
            }
        };
        let _ = tcp.set_nodelay(true);
        let tls = match tokio::time::timeout_at(deadline, connector.connect(name, tcp)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                tracing::info!(peer = %dst, server_name = %server_name, error = %e, "outbound tls handshake refused");
                let _ = events.send(refused(e.to_string())).await;
                return;
            }
            Err(_) => {
                let _ = events.send(refused("handshake timed out".into())).await;
                return;
            }
        };
        tracing::debug!(peer = %dst, server_name = %server_name, "tls connection verified");
        let meta = StreamMeta {
            transport: Transport::Tls,
            identity: None,
            idle: ctx.idle,
            server_name: Some(server_name.clone()),
        };
        run_stream(tls, dst, rx, events, limits, meta).await;
        drop(permit);
    });
}
