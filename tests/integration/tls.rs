//! SIP over TLS against real TLS peers written here (tokio-rustls) with
//! certificates made in the test (openssl): a CA, a server certificate for
//! `peer.test`, one for the wrong name, a self-signed one, an expired one,
//! the gateway's own, and a client certificate for `example.test`.
//!
//! (a) a UDP MESSAGE routed to a `sips:` next hop is relayed over TLS and the
//! 200 comes back, on one reused connection; (b) wrong-name, self-signed and
//! expired peers are refused: they read no SIP byte and the sender gets 503
//! with a Warning; (c) `danger_accept_invalid_certs = true` accepts the
//! self-signed peer; (d) mutual TLS: a client whose certificate says
//! `example.test` may send From `example.test` (relayed, answered 200) but
//! not From `other.test` (403, counted as a policy refusal).
//! Everything is on 127.0.0.1, ports picked at run time, every wait bounded.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509NameBuilder};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::*;

const WAIT: Duration = Duration::from_secs(10);

fn ec_key() -> PKey<Private> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
}

/// A certificate: `issuer` None makes it self-signed; `days` is (not
/// before, not after) relative to now.
fn cert(
    cn: &str,
    sans: &[&str],
    is_ca: bool,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    days: (i64, i64),
) -> X509 {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial.rand(64, MsbOption::MAYBE_ZERO, false).unwrap();
    b.set_serial_number(&serial.to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(&name, |(c, _)| c.subject_name()))
        .unwrap();
    b.set_pubkey(key).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    b.set_not_before(&Asn1Time::from_unix(now + days.0 * 86_400).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(now + days.1 * 86_400).unwrap())
        .unwrap();
    if is_ca {
        b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()
                .unwrap(),
        )
        .unwrap();
    } else {
        b.append_extension(BasicConstraints::new().build().unwrap())
            .unwrap();
        b.append_extension(
            KeyUsage::new()
                .critical()
                .digital_signature()
                .build()
                .unwrap(),
        )
        .unwrap();
        b.append_extension(
            ExtendedKeyUsage::new()
                .server_auth()
                .client_auth()
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    if !sans.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for s in sans {
            san.dns(s);
        }
        let ext = san
            .build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None))
            .unwrap();
        b.append_extension(ext).unwrap();
    }
    let signer = issuer.map_or(key, |(_, k)| k);
    b.sign(signer, MessageDigest::sha256()).unwrap();
    b.build()
}

/// A certificate and key written as PEM files.
struct Pem {
    cert: PathBuf,
    key: PathBuf,
}

impl Pem {
    fn write(dir: &Path, name: &str, c: &X509, k: &PKey<Private>) -> Pem {
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, c.to_pem().unwrap()).unwrap();
        std::fs::write(&key, k.private_key_to_pem_pkcs8().unwrap()).unwrap();
        Pem { cert, key }
    }

    fn chain(&self) -> Vec<CertificateDer<'static>> {
        CertificateDer::pem_file_iter(&self.cert)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    fn private_key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::from_pem_file(&self.key).unwrap()
    }
}

/// Every certificate a test needs, under one scratch directory.
struct Pki {
    ca: Pem,
    peer: Pem,
    wrong_name: Pem,
    self_signed: Pem,
    expired: Pem,
    gateway: Pem,
    client: Pem,
}

fn pki(dir: &Path) -> Pki {
    let ca_key = ec_key();
    let ca = cert("Test CA", &[], true, &ca_key, None, (-1, 30));
    let leaf = |name: &str, cn: &str, sans: &[&str], days| {
        let k = ec_key();
        let c = cert(cn, sans, false, &k, Some((&ca, &ca_key)), days);
        Pem::write(dir, name, &c, &k)
    };
    let ss_key = ec_key();
    let ss = cert("peer.test", &["peer.test"], false, &ss_key, None, (-1, 30));
    Pki {
        ca: Pem::write(dir, "ca", &ca, &ca_key),
        peer: leaf("peer", "peer.test", &["peer.test"], (-1, 30)),
        wrong_name: leaf("wrong", "wrong.test", &["wrong.test"], (-1, 30)),
        self_signed: Pem::write(dir, "self-signed", &ss, &ss_key),
        expired: leaf("expired", "peer.test", &["peer.test"], (-3, -1)),
        gateway: leaf("gateway", "gw.test", &["gw.test"], (-1, 30)),
        client: leaf("client", "example.test", &["example.test"], (-1, 30)),
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What a TLS peer saw.
#[derive(Default)]
struct PeerLog {
    accepted: AtomicUsize,
    handshakes: AtomicUsize,
    sip_bytes: AtomicUsize,
    messages: Mutex<Vec<String>>,
}

/// Cuts complete SIP messages off the front of `buf`.
fn take_messages(buf: &mut Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let cl: usize = head
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                (n.trim().eq_ignore_ascii_case("content-length") || n.trim() == "l")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        let total = end + 4 + cl;
        if buf.len() < total {
            break;
        }
        out.push(buf.drain(..total).collect());
    }
    out
}

/// A SIP-over-TLS UAS on 127.0.0.1 presenting `pem`: answers every
/// request 200 on the connection it came on, and counts what it saw.
async fn tls_uas(pem: &Pem) -> (SocketAddr, Arc<PeerLog>) {
    let cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pem.chain(), pem.private_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let log = Arc::new(PeerLog::default());
    let l = log.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            l.accepted.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            let l = l.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                l.handshakes.fetch_add(1, Ordering::SeqCst);
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let n = match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    l.sip_bytes.fetch_add(n, Ordering::SeqCst);
                    buf.extend_from_slice(&chunk[..n]);
                    for m in take_messages(&mut buf) {
                        l.messages
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&m).to_string());
                        if m.starts_with(b"SIP/2.0") {
                            continue;
                        }
                        if tls.write_all(&answer(&m, "200 OK")).await.is_err() {
                            return;
                        }
                        let _ = tls.flush().await;
                    }
                }
            });
        }
    });
    (addr, log)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A route to a TLS UAS for `peer.test`, verified against `peer.test`.
fn route_to(addr: SocketAddr) -> String {
    format!("[[route]]\ndomain = \"peer.test\"\nvia = \"sips:{addr}\"\ntls_name = \"peer.test\"\n")
}

fn message(uac: &UdpPeer, branch: &str) -> Vec<u8> {
    request(
        "MESSAGE",
        "sip:bob@peer.test",
        uac.addr(),
        branch,
        &[("Content-Type", "text/plain")],
        b"over tls",
    )
}

#[test]
fn valid_peer_certificate_relays_over_one_reused_connection() {
    let dir = scratch_dir("tls-valid-peer");
    let pki = pki(&dir);
    let rt = runtime();
    let (addr, peer) = rt.block_on(tls_uas(&pki.peer));
    let gw = Gateway::start(
        "tls-valid",
        "",
        &format!(
            "[tls]\nca_file = \"{}\"\n\n{}",
            pki.ca.cert.display(),
            route_to(addr)
        ),
    );
    let uac = UdpPeer::bind();
    for i in 0..2 {
        uac.send(&message(&uac, &format!("z9hG4bKtlsok{i}")), gw.addr());
        let resp = uac
            .recv_response(WAIT)
            .unwrap_or_else(|| panic!("no answer to MESSAGE {i}; gateway log:\n{}", gw.log()));
        assert!(resp.starts_with("SIP/2.0 200"), "{resp}\n{}", gw.log());
    }
    let msgs = peer.messages.lock().unwrap().clone();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    let first = &msgs[0];
    assert!(
        first.starts_with("MESSAGE sip:bob@peer.test SIP/2.0"),
        "{first}"
    );
    assert!(first.contains("Via: SIP/2.0/TLS "), "{first}");
    assert!(first.ends_with("over tls"), "{first}");
    assert_eq!(
        peer.accepted.load(Ordering::SeqCst),
        1,
        "the second MESSAGE reuses the first connection"
    );
}

/// Starts a gateway routing `peer.test` to a UAS presenting `pem`, sends one
/// MESSAGE and returns the answer and what the peer read.
fn relay_to_peer(name: &str, pki: &Pki, pem: &Pem, tls_extra: &str) -> (String, usize, Gateway) {
    let rt = runtime();
    let (addr, peer) = rt.block_on(tls_uas(pem));
    let gw = Gateway::start(
        name,
        "",
        &format!(
            "[tls]\nca_file = \"{}\"\n{tls_extra}\n\n{}",
            pki.ca.cert.display(),
            route_to(addr)
        ),
    );
    let uac = UdpPeer::bind();
    uac.send(&message(&uac, &format!("z9hG4bK{name}")), gw.addr());
    let resp = uac
        .recv_response(WAIT)
        .unwrap_or_else(|| panic!("{name}: no answer; gateway log:\n{}", gw.log()));
    // Let a late write (there must be none) reach the peer before counting.
    std::thread::sleep(Duration::from_millis(200));
    let bytes = peer.sip_bytes.load(Ordering::SeqCst);
    assert!(
        peer.accepted.load(Ordering::SeqCst) >= 1,
        "{name}: the gateway never connected"
    );
    (resp, bytes, gw)
}

#[test]
fn wrong_name_self_signed_and_expired_peers_are_refused() {
    let dir = scratch_dir("tls-refused-peers");
    let pki = pki(&dir);
    for (name, pem, why) in [
        ("tls-wrong-name", &pki.wrong_name, "not valid for name"),
        ("tls-self-signed", &pki.self_signed, "UnknownIssuer"),
        ("tls-expired", &pki.expired, "xpired"),
    ] {
        let (resp, bytes, gw) = relay_to_peer(name, &pki, pem, "");
        assert!(
            resp.starts_with("SIP/2.0 503") || resp.starts_with("SIP/2.0 502"),
            "{name}: {resp}"
        );
        let warning = header_of(&resp, "Warning").unwrap_or_default();
        assert!(
            warning.contains("TLS handshake with peer.test") && warning.contains(why),
            "{name}: Warning {warning:?}\n{resp}\n{}",
            gw.log()
        );
        assert_eq!(bytes, 0, "{name}: the peer read SIP bytes");
        assert!(
            gw.wait_metric("tls_handshake_failures_total{direction=\"outbound\"}", 1) >= 1,
            "{name}: counted in /metrics"
        );
    }
}

#[test]
fn danger_knob_accepts_a_self_signed_peer() {
    let dir = scratch_dir("tls-danger");
    let pki = pki(&dir);
    let (resp, bytes, gw) = relay_to_peer(
        "tls-danger",
        &pki,
        &pki.self_signed,
        "danger_accept_invalid_certs = true",
    );
    assert!(resp.starts_with("SIP/2.0 200"), "{resp}\n{}", gw.log());
    assert!(bytes > 0);
    assert!(
        gw.log().contains("danger_accept_invalid_certs"),
        "the danger knob is logged at start"
    );
}

/// A raw MESSAGE as a TLS client sends it.
fn tls_message(local: SocketAddr, branch: &str, from_domain: &str) -> Vec<u8> {
    let body = "hello over mtls";
    format!(
        "MESSAGE sip:bob@sink.test SIP/2.0\r\nVia: SIP/2.0/TLS {local};branch={branch}\r\n\
         From: <sip:a@{from_domain}>;tag=c{branch}\r\nTo: <sip:bob@sink.test>\r\n\
         Call-ID: {branch}@client\r\nCSeq: 1 MESSAGE\r\nMax-Forwards: 70\r\n\
         Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one SIP message from a TLS stream (bounded).
async fn read_message<S: tokio::io::AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>) -> String {
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(m) = take_messages(buf).into_iter().next() {
            return String::from_utf8_lossy(&m).to_string();
        }
        let n = tokio::time::timeout(WAIT, s.read(&mut chunk))
            .await
            .expect("timed out reading from the gateway")
            .expect("read");
        assert!(n > 0, "the gateway closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn mutual_tls_identity_decides_the_source_domain() {
    let dir = scratch_dir("tls-mutual");
    let pki = pki(&dir);
    let tls_port = free_port();
    let sink = UdpPeer::bind();
    let gw = Gateway::start_with_listeners(
        "tls-mutual",
        &[format!("tls://127.0.0.1:{tls_port}")],
        "",
        &format!(
            "[tls]\ncertificate = \"{}\"\nprivate_key = \"{}\"\nca_file = \"{}\"\nclient_auth = \"required\"\n\n\
             [[peer]]\nname = \"example\"\ntls_names = [\"example.test\"]\ndomains = [\"example.test\"]\n\n\
             [[route]]\ndomain = \"sink.test\"\nvia = \"sip:{}\"\n",
            pki.gateway.cert.display(),
            pki.gateway.key.display(),
            pki.ca.cert.display(),
            sink.addr()
        ),
    );
    let before = gw
        .metrics()
        .get("refused_policy_total")
        .copied()
        .unwrap_or(0);
    let rt = runtime();
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(pki.ca.chain());
    let cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(pki.client.chain(), pki.client.private_key())
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let mut tls = rt.block_on(async {
        let tcp = TcpStream::connect(("127.0.0.1", tls_port)).await.unwrap();
        tokio::time::timeout(
            WAIT,
            connector.connect(ServerName::try_from("gw.test").unwrap(), tcp),
        )
        .await
        .expect("handshake timed out")
        .expect("the gateway's certificate verifies for gw.test")
    });
    let local = rt.block_on(async { tls.get_ref().0.local_addr().unwrap() });
    let mut buf = Vec::new();

    // Its own domain: relayed to the sink, whose 200 comes back over TLS.
    rt.block_on(tls.write_all(&tls_message(local, "z9hG4bKmtls1", "example.test")))
        .unwrap();
    let (req, _) = sink
        .recv(WAIT)
        .unwrap_or_else(|| panic!("nothing relayed; gateway log:\n{}", gw.log()));
    let text = String::from_utf8_lossy(&req).to_string();
    assert!(text.starts_with("MESSAGE sip:bob@sink.test"), "{text}");
    assert!(text.contains("From: <sip:a@example.test>"), "{text}");
    sink.send(&answer(&req, "200 OK"), gw.addr());
    let resp = rt.block_on(read_message(&mut tls, &mut buf));
    assert!(resp.starts_with("SIP/2.0 200"), "{resp}\n{}", gw.log());

    // Another domain: 403 over the same connection, counted, nothing relayed.
    rt.block_on(tls.write_all(&tls_message(local, "z9hG4bKmtls2", "other.test")))
        .unwrap();
    let resp = rt.block_on(read_message(&mut tls, &mut buf));
    assert!(resp.starts_with("SIP/2.0 403"), "{resp}");
    assert!(
        header_of(&resp, "Warning").is_some_and(|w| w.contains("example")),
        "{resp}"
    );
    assert!(sink.recv(Duration::from_millis(300)).is_none());
    assert_eq!(
        gw.wait_metric("refused_policy_total", before + 1),
        before + 1
    );
}

#[test]
fn client_without_certificate_is_refused_when_required() {
    let dir = scratch_dir("tls-no-client-cert");
    let pki = pki(&dir);
    let tls_port = free_port();
    let gw = Gateway::start_with_listeners(
        "tls-no-client-cert",
        &[format!("tls://127.0.0.1:{tls_port}")],
        "",
        &format!(
            "[tls]\ncertificate = \"{}\"\nprivate_key = \"{}\"\nca_file = \"{}\"\nclient_auth = \"required\"\n",
            pki.gateway.cert.display(),
            pki.gateway.key.display(),
            pki.ca.cert.display(),
        ),
    );
    let rt = runtime();
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(pki.ca.chain());
    let cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(cfg));
    let refused = rt.block_on(async {
        let tcp = TcpStream::connect(("127.0.0.1", tls_port)).await.unwrap();
        let Ok(Ok(mut tls)) = tokio::time::timeout(
            WAIT,
            connector.connect(ServerName::try_from("gw.test").unwrap(), tcp),
        )
        .await
        else {
            return true;
        };
        // TLS 1.3: the server's refusal arrives after the client finished.
        let local = tls.get_ref().0.local_addr().unwrap();
        let _ = tls
            .write_all(&tls_message(local, "z9hG4bKnocert", "example.test"))
            .await;
        let mut b = [0u8; 512];
        !matches!(
            tokio::time::timeout(WAIT, tls.read(&mut b)).await,
            Ok(Ok(n)) if n > 0
        )
    });
    assert!(refused, "a client without a certificate got an answer");
    let deadline = std::time::Instant::now() + WAIT;
    while !gw.log().contains("inbound tls handshake refused") {
        assert!(std::time::Instant::now() < deadline, "{}", gw.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        gw.wait_metric("tls_handshake_failures_total{direction=\"inbound\"}", 1) >= 1,
        "the refused handshake is counted"
    );
}

/// A TLS front for a plain TCP service: terminates TLS with `pem` and
/// copies bytes both ways to `backend` (real Prosody's component port),
/// so the gateway's component link runs over TLS to a real XMPP server.
/// Counts completed handshakes.
async fn tls_front(pem: &Pem, backend: SocketAddr) -> (SocketAddr, Arc<AtomicUsize>) {
    let cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pem.chain(), pem.private_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let handshakes = Arc::new(AtomicUsize::new(0));
    let h = handshakes.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let h = h.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                h.fetch_add(1, Ordering::SeqCst);
                let Ok(mut plain) = TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (addr, handshakes)
}

/// `[xmpp] tls = true`: the component link to real Prosody runs over TLS
/// with the server certificate verified against `tls_name` (the link comes
/// up and carries a SIP MESSAGE to an XMPP user); a certificate for
/// another name keeps the link down, with the refusal logged.
#[test]
fn xmpp_component_link_over_tls_verifies_the_server() {
    use crate::common::prosody::Prosody;
    let dir = scratch_dir("tls-xmpp");
    let pki = pki(&dir);
    let prosody = Prosody::start(&dir, "cpim.xmpp.test", "cpim-secret");
    let backend: SocketAddr = format!("127.0.0.1:{}", prosody.component_port)
        .parse()
        .unwrap();
    let rt = runtime();
    let start = |name: &str, front: SocketAddr| {
        Gateway::start(
            name,
            "",
            &format!(
                "[tls]\nca_file = \"{}\"\n\n[xmpp]\nserver = \"{front}\"\ncomponent = \"cpim.xmpp.test\"\n\
                 secret = \"cpim-secret\"\ndomains = [\"xmpp.test\"]\nerror_window_ms = 0\n\
                 tls = true\ntls_name = \"peer.test\"\n",
                pki.ca.cert.display()
            ),
        )
    };
    let link_up = |gw: &Gateway, within: Duration| {
        let end = std::time::Instant::now() + within;
        while std::time::Instant::now() < end {
            if gw.metrics().get("xmpp_link_up") == Some(&1) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    };

    // The right name: the link comes up through TLS, and a MESSAGE crosses.
    let (front, handshakes) = rt.block_on(tls_front(&pki.peer, backend));
    let gw = start("tls-xmpp-ok", front);
    assert!(link_up(&gw, WAIT), "link over TLS:\n{}", gw.log());
    assert!(handshakes.load(Ordering::SeqCst) >= 1);
    let uac = UdpPeer::bind();
    uac.send(
        &request(
            "MESSAGE",
            "sip:bob@xmpp.test",
            uac.addr(),
            "z9hG4bKtlsxmpp",
            &[("Content-Type", "text/plain")],
            b"over tls",
        ),
        gw.addr(),
    );
    let status = uac.recv_status(WAIT);
    assert!(
        matches!(status, Some(200 | 202)),
        "MESSAGE over the TLS component link: {status:?}\n{}",
        gw.log()
    );

    // Another name on the certificate: verification fails, the link stays
    // down, and the log says why.
    let (front, handshakes) = rt.block_on(tls_front(&pki.wrong_name, backend));
    let gw = start("tls-xmpp-wrong", front);
    assert!(
        !link_up(&gw, Duration::from_secs(3)),
        "a wrong-name server must not be accepted"
    );
    assert_eq!(
        handshakes.load(Ordering::SeqCst),
        0,
        "no handshake completes"
    );
    assert!(
        gw.log().contains("xmpp tls handshake refused"),
        "{}",
        gw.log()
    );
}
