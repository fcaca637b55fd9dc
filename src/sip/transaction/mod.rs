//! The RFC 3261 §17 transaction layer, sans-IO: the non-INVITE client
//! transaction (§17.1.2), the non-INVITE server transaction (§17.2.2), the
//! INVITE server transaction as far as rejecting an INVITE (§17.2.1), the
//! matching rules that find them (§17.1.3, §17.2.3) and their timers
//! (Appendix A).
//!
//! The layer never parses or builds SIP. The caller (the gateway's
//! transaction user) parses each message, hands over the matching keys,
//! method and status, and passes responses and requests already encoded;
//! the layer keeps those bytes for retransmission and says, through
//! [`TransactionLayer::poll_transmit`], when to send them.
//!
//! Not implemented: the INVITE client transaction (§17.1.1, Timers A, B and
//! D), 2xx responses to INVITE (§17.2.1, §13.3.1.4), and server-side
//! transport error reporting (§17.2.4). The gateway never sends INVITE and
//! rejects every incoming one.

mod client;
mod invite_server;
mod key;
mod server;
mod stats;
mod timer;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::sip::method::Method;
use crate::sip::status::StatusCode;
use crate::sip::transport::{Transmit, Transport};

use client::NonInviteClient;
use invite_server::InviteServer;
use server::NonInviteServer;
use timer::{Armed, Owner, TimerTable};

pub use key::{ClientKey, ServerKey};
pub use stats::{TimerCounts, TransactionStats};
pub use timer::Timer;

/// The RFC 3261 timer base values (§17.1.1.1, Appendix A). Every other
/// timer derives from these (see [`Timer::initial`]).
///
/// All three must be non-zero; a zero value still cannot make the layer
/// spin, but retransmissions and timeouts then fire on every
/// [`TransactionLayer::handle_timeout`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransactionConfig {
    /// T1, the round-trip time estimate. Default 500 ms.
    pub t1: Duration,
    /// T2, the maximum retransmit interval for non-INVITE requests and
    /// INVITE responses. Default 4 s.
    pub t2: Duration,
    /// T4, the maximum time a message stays in the network. Default 5 s.
    pub t4: Duration,
}

impl Default for TransactionConfig {
    /// The RFC 3261 recommended values: T1 = 500 ms, T2 = 4 s, T4 = 5 s.
    fn default() -> Self {
        TransactionConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

/// Names one server transaction for as long as it lives. Handles are never
/// reused, so a stale one is simply unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerHandle(u64);

/// Names one client transaction for as long as it lives. Handles are never
/// reused, so a stale one is simply unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientHandle(u64);

/// What [`TransactionLayer::handle_request`] made of a request (§17.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerVerdict {
    /// First sight of the request: a server transaction was created. Deliver
    /// the request to the TU, which answers through
    /// [`TransactionLayer::respond`]. Returned exactly once per transaction.
    New(ServerHandle),
    /// A retransmission of a request whose transaction exists. Absorbed; if
    /// the transaction has sent a response, that response is queued again
    /// for [`TransactionLayer::poll_transmit`].
    Retransmission,
    /// An ACK matched an INVITE server transaction that had sent a final
    /// response (Completed → Confirmed), or repeated such an ACK.
    AckAbsorbed,
    /// An ACK that matched no transaction awaiting it. The TU ignores it:
    /// ACKs to 2xx are end-to-end and the gateway never sends 2xx to INVITE.
    StrayAck,
}

/// What the layer reports upward, drained with
/// [`TransactionLayer::poll_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionEvent {
    /// A response for a client transaction (§17.1.2.2): every provisional
    /// received in Trying or Proceeding, and the first final. Retransmitted
    /// finals are absorbed and not reported.
    ClientResponse {
        /// The transaction.
        handle: ClientHandle,
        /// The response's status.
        status: StatusCode,
    },
    /// Timer F fired: no final response within 64·T1. The TU must act as if
    /// it had received a 408 (§17.1.2.2). `ClientTerminated` follows.
    ClientTimeout {
        /// The transaction.
        handle: ClientHandle,
    },
    /// The transport failed to send the request (§17.1.4), as reported by
    /// [`TransactionLayer::handle_transport_error`]. `ClientTerminated`
    /// follows.
    ClientTransportError {
        /// The transaction.
        handle: ClientHandle,
    },
    /// The client transaction ended and was removed; its handle is dead.
    ClientTerminated {
        /// The transaction.
        handle: ClientHandle,
    },
    /// Timer H fired: no ACK arrived for the INVITE final response
    /// (§17.2.1). `ServerTerminated` follows.
    ServerTimeout {
        /// The transaction.
        handle: ServerHandle,
    },
    /// The server transaction ended and was removed; its handle is dead.
    ServerTerminated {
        /// The transaction.
        handle: ServerHandle,
    },
}

/// The state of a live transaction (RFC 3261 Figures 6–8). Terminated
/// transactions are removed, so the accessors return `None` for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransactionState {
    /// Non-INVITE client or server: no response yet.
    Trying,
    /// A provisional response was received (client) or sent (server); for
    /// the INVITE server transaction, the state it starts in.
    Proceeding,
    /// A final response was received (client) or sent (server).
    Completed,
    /// INVITE server only: the ACK for the final response arrived.
    Confirmed,
}

/// Why the layer refused an input.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    /// No live transaction has this handle (it never existed or has
    /// terminated).
    #[error("unknown or terminated transaction")]
    UnknownHandle,
    /// The server transaction already sent a final response; further
    /// responses from the TU are discarded (§17.2.1, §17.2.2).
    #[error("a final response was already sent on this transaction")]
    AlreadyFinal,
    /// A 2xx to INVITE was passed to the INVITE server transaction. Only
    /// non-2xx finals are supported (the gateway rejects INVITE).
    #[error("2xx responses to invite are not supported by the server transaction")]
    Unsupported2xxForInvite,
    /// A client transaction with the same branch and method is live
    /// (§17.1.3 needs the pair to be unique).
    #[error("a client transaction with this branch and method already exists")]
    DuplicateClientKey,
    /// Only non-INVITE client transactions exist: INVITE needs the INVITE
    /// client transaction (§17.1.1) and ACK never has one of its own.
    #[error("no client transaction for {0} requests")]
    UnsupportedClientMethod(Method),
}

/// The transaction layer: every client and server transaction, their
/// matching indexes and one timer index.
///
/// # Driving contract
///
/// - Inputs are `handle_*` calls ([`handle_request`](Self::handle_request),
///   [`handle_response`](Self::handle_response),
///   [`handle_transport_error`](Self::handle_transport_error),
///   [`handle_timeout`](Self::handle_timeout)) plus the TU's commands
///   [`respond`](Self::respond) and [`start_client`](Self::start_client).
///   Each takes `now`; the layer never reads a clock.
/// - After every input, drain [`poll_event`](Self::poll_event) and
///   [`poll_transmit`](Self::poll_transmit) until both return `None`, then
///   call [`handle_timeout`](Self::handle_timeout) no later than
///   [`poll_timeout`](Self::poll_timeout). Calling it early or late is
///   harmless: only due timers fire, and late ones fire at the late `now`.
/// - Time going backwards (a `now` earlier than one already seen) is
///   treated as no progress: the layer keeps using the latest `now` it saw,
///   fires nothing new, and counts it in
///   [`TransactionStats::clock_went_backwards`]. It never panics.
/// - A terminated transaction is removed at once and announced with
///   [`TransactionEvent::ClientTerminated`] or
///   [`TransactionEvent::ServerTerminated`]; its handle then is unknown.
///
/// Lookups are hash-map based and the timer index is a B-tree, so the layer
/// stays cheap with tens of thousands of live transactions.
#[derive(Debug)]
pub struct TransactionLayer {
    core: Core,
    servers: HashMap<ServerHandle, ServerEntry>,
    server_index: HashMap<ServerKey, ServerHandle>,
    clients: HashMap<ClientHandle, ClientEntry>,
    client_index: HashMap<ClientKey, ClientHandle>,
    /// Source of handle numbers; never reused.
    next_id: u64,
    /// The latest `now` seen, for the time-going-backwards rule.
    last_now: Option<Instant>,
}

impl TransactionLayer {
    /// An empty layer with the given timer values.
    pub fn new(config: TransactionConfig) -> Self {
        TransactionLayer {
            core: Core {
                config,
                timers: TimerTable::default(),
                transmits: VecDeque::new(),
                events: VecDeque::new(),
                stats: TransactionStats::default(),
            },
            servers: HashMap::new(),
            server_index: HashMap::new(),
            clients: HashMap::new(),
            client_index: HashMap::new(),
            next_id: 0,
            last_now: None,
        }
    }

    /// The timer values in use.
    pub fn config(&self) -> &TransactionConfig {
        &self.core.config
    }

    // --- server side (§17.2) ---

    /// A request arrived from `remote` over `transport` (§17.2.3).
    ///
    /// `key` is the request's [`ServerKey`] and `method` its method. A new
    /// non-ACK request creates a server transaction (INVITE: §17.2.1, any
    /// other method: §17.2.2) that will answer to `remote` over
    /// `transport`. A retransmission is absorbed and, where the transaction
    /// has already responded, the last response is queued again. An ACK
    /// never creates a transaction.
    pub fn handle_request(
        &mut self,
        now: Instant,
        key: ServerKey,
        method: &Method,
        transport: Transport,
        remote: SocketAddr,
    ) -> ServerVerdict {
        let now = self.advance(now);
        let is_ack = *method == Method::Ack;
        let Some(&handle) = self.server_index.get(&key) else {
            if is_ack {
                self.core.stats.stray_acks += 1;
                tracing::trace!(branch = key.branch(), "stray ack");
                return ServerVerdict::StrayAck;
            }
            return ServerVerdict::New(self.create_server(key, transport, remote));
        };
        let Some(entry) = self.servers.get_mut(&handle) else {
            // The index and the table change together; a miss is a bug.
            // Answer as if the request were a retransmission: safe either way.
            return ServerVerdict::Retransmission;
        };
        let mut cx = Cx::new(
            now,
            Owner::Server(handle),
            entry.peer,
            entry.transport,
            &mut entry.armed,
            &mut self.core,
        );
        let (verdict, next) = match (&mut entry.machine, is_ack) {
            (ServerMachine::Invite(m), true) => m.on_ack(handle, &mut cx),
            (ServerMachine::Invite(m), false) => (m.on_request(&mut cx), Next::Stay),
            // Cannot happen: an ACK's key names INVITE. Treated as stray.
            (ServerMachine::NonInvite(_), true) => {
                cx.core.stats.stray_acks += 1;
                (ServerVerdict::StrayAck, Next::Stay)
            }
            (ServerMachine::NonInvite(m), false) => (m.on_request(&mut cx), Next::Stay),
        };
        if next == Next::Terminate {
            self.remove_server(handle);
        }
        verdict
    }

    /// The TU answers the request of server transaction `handle` with
    /// `status`, encoded as `encoded` (§17.2.1, §17.2.2).
    ///
    /// Queues the response to the request's source. A provisional keeps the
    /// transaction open (and is re-sent on retransmissions); a final one
    /// moves it to Completed and arms Timer J (non-INVITE) or Timers G and H
    /// (INVITE). On a reliable transport a non-INVITE transaction ends at
    /// once (J = 0).
    ///
    /// # Errors
    ///
    /// [`TransactionError::UnknownHandle`] if the transaction is gone,
    /// [`TransactionError::AlreadyFinal`] after a final response, and
    /// [`TransactionError::Unsupported2xxForInvite`] for a 2xx to INVITE.
    /// Nothing is sent on error.
    pub fn respond(
        &mut self,
        now: Instant,
        handle: ServerHandle,
        status: StatusCode,
        encoded: Bytes,
    ) -> Result<(), TransactionError> {
        let now = self.advance(now);
        let entry = self
            .servers
            .get_mut(&handle)
            .ok_or(TransactionError::UnknownHandle)?;
        let mut cx = Cx::new(
            now,
            Owner::Server(handle),
            entry.peer,
            entry.transport,
            &mut entry.armed,
            &mut self.core,
        );
        let next = match &mut entry.machine {
            ServerMachine::Invite(m) => m.on_respond(handle, status, encoded, &mut cx)?,
            ServerMachine::NonInvite(m) => m.on_respond(handle, status, encoded, &mut cx)?,
        };
        if next == Next::Terminate {
            self.remove_server(handle);
        }
        Ok(())
    }

    // --- client side (§17.1.2, non-INVITE only) ---

    /// Starts a non-INVITE client transaction (§17.1.2) that sends
    /// `encoded` to `dst` over `transport`.
    ///
    /// The first transmit is queued at once; Timer E (unreliable transports
    /// only) and Timer F are armed.
    ///
    /// # Errors
    ///
    /// [`TransactionError::DuplicateClientKey`] if a live client transaction
    /// has the same key, [`TransactionError::UnsupportedClientMethod`] for
    /// INVITE or ACK.
    pub fn start_client(
        &mut self,
        now: Instant,
        key: ClientKey,
        encoded: Bytes,
        dst: SocketAddr,
        transport: Transport,
    ) -> Result<ClientHandle, TransactionError> {
        let now = self.advance(now);
        if matches!(key.method(), Method::Invite | Method::Ack) {
            return Err(TransactionError::UnsupportedClientMethod(
                key.method().clone(),
            ));
        }
        if self.client_index.contains_key(&key) {
            return Err(TransactionError::DuplicateClientKey);
        }
        let handle = ClientHandle(self.fresh_id());
        let mut armed = Armed::default();
        let mut cx = Cx::new(
            now,
            Owner::Client(handle),
            dst,
            transport,
            &mut armed,
            &mut self.core,
        );
        let machine = NonInviteClient::start(encoded, &mut cx);
        tracing::debug!(?handle, branch = key.branch(), method = %key.method(), "client transaction trying");
        self.client_index.insert(key.clone(), handle);
        self.clients.insert(
            handle,
            ClientEntry {
                key,
                dst,
                transport,
                armed,
                machine,
            },
        );
        let stats = &mut self.core.stats;
        stats.client_created += 1;
        stats.client_active = self.clients.len() as u64;
        Ok(handle)
    }

    /// A response arrived whose top Via branch and CSeq method make `key`
    /// (§17.1.3).
    ///
    /// Returns the matching transaction, or `None` when there is none (a
    /// stray the TU drops). What the response meant comes out of
    /// [`poll_event`](Self::poll_event): a
    /// [`TransactionEvent::ClientResponse`] unless it was a retransmitted
    /// final, which is absorbed.
    pub fn handle_response(
        &mut self,
        now: Instant,
        key: &ClientKey,
        status: StatusCode,
    ) -> Option<ClientHandle> {
        let now = self.advance(now);
        let Some(&handle) = self.client_index.get(key) else {
            self.core.stats.stray_responses += 1;
            return None;
        };
        let entry = self.clients.get_mut(&handle)?;
        let mut cx = Cx::new(
            now,
            Owner::Client(handle),
            entry.dst,
            entry.transport,
            &mut entry.armed,
            &mut self.core,
        );
        if entry.machine.on_response(handle, status, &mut cx) == Next::Terminate {
            self.remove_client(handle);
        }
        Some(handle)
    }

    /// Sending the request of client transaction `handle` failed (§17.1.4):
    /// a [`TransactionEvent::ClientTransportError`] is reported and the
    /// transaction ends. Ignored for an unknown handle, and in Completed,
    /// where nothing is being sent any more.
    pub fn handle_transport_error(&mut self, now: Instant, handle: ClientHandle) {
        let now = self.advance(now);
        let Some(entry) = self.clients.get_mut(&handle) else {
            return;
        };
        let mut cx = Cx::new(
            now,
            Owner::Client(handle),
            entry.dst,
            entry.transport,
            &mut entry.armed,
            &mut self.core,
        );
        if entry.machine.on_transport_error(handle, &mut cx) == Next::Terminate {
            self.core.stats.transport_errors += 1;
            self.remove_client(handle);
        }
    }

    // --- time and output ---

    /// Fires every timer due at `now`, in deadline order. Only due entries
    /// of the index are touched.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        while let Some((owner, timer)) = self.core.timers.pop_due(now) {
            self.core.stats.timers_fired.count(timer);
            match owner {
                Owner::Client(handle) => self.fire_client(now, handle, timer),
                Owner::Server(handle) => self.fire_server(now, handle, timer),
            }
        }
    }

    /// The next message to send, oldest first.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.core.transmits.pop_front()
    }

    /// The next event for the TU, oldest first.
    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.core.events.pop_front()
    }

    /// The earliest timer deadline across all transactions, or `None` when
    /// no timer is armed. Call [`handle_timeout`](Self::handle_timeout) at
    /// (or after) that instant.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.core.timers.next()
    }

    // --- accessors ---

    /// Counters since creation.
    pub fn stats(&self) -> &TransactionStats {
        &self.core.stats
    }

    /// Live server transactions.
    pub fn server_count(&self) -> usize {
        self.servers.len()
    }

    /// Live client transactions.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// The key of a live client transaction.
    pub fn key_of(&self, handle: ClientHandle) -> Option<&ClientKey> {
        self.clients.get(&handle).map(|e| &e.key)
    }

    /// The key of a live server transaction.
    pub fn server_key_of(&self, handle: ServerHandle) -> Option<&ServerKey> {
        self.servers.get(&handle).map(|e| &e.key)
    }

    /// Where a live client transaction sends its request.
    pub fn client_destination(&self, handle: ClientHandle) -> Option<(SocketAddr, Transport)> {
        self.clients.get(&handle).map(|e| (e.dst, e.transport))
    }

    /// Where a live server transaction sends its responses.
    pub fn server_remote(&self, handle: ServerHandle) -> Option<(SocketAddr, Transport)> {
        self.servers.get(&handle).map(|e| (e.peer, e.transport))
    }

    /// The state of a live client transaction.
    pub fn client_state(&self, handle: ClientHandle) -> Option<TransactionState> {
        self.clients.get(&handle).map(|e| e.machine.state())
    }

    /// The state of a live server transaction.
    pub fn server_state(&self, handle: ServerHandle) -> Option<TransactionState> {
        self.servers.get(&handle).map(|e| match &e.machine {
            ServerMachine::Invite(m) => m.state(),
            ServerMachine::NonInvite(m) => m.state(),
        })
    }

    // --- helpers ---

    /// Applies the time-going-backwards rule and returns the `now` to use.
    fn advance(&mut self, now: Instant) -> Instant {
        let now = match self.last_now {
            Some(last) if now < last => {
                self.core.stats.clock_went_backwards += 1;
                last
            }
            Some(_) | None => now,
        };
        self.last_now = Some(now);
        now
    }

    fn fresh_id(&mut self) -> u64 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }

    fn create_server(
        &mut self,
        key: ServerKey,
        transport: Transport,
        remote: SocketAddr,
    ) -> ServerHandle {
        let handle = ServerHandle(self.fresh_id());
        let machine = if *key.method() == Method::Invite {
            ServerMachine::Invite(InviteServer::new())
        } else {
            ServerMachine::NonInvite(NonInviteServer::Trying)
        };
        tracing::debug!(?handle, branch = key.branch(), method = %key.method(), "server transaction created");
        self.server_index.insert(key.clone(), handle);
        self.servers.insert(
            handle,
            ServerEntry {
                key,
                peer: remote,
                transport,
                armed: Armed::default(),
                machine,
            },
        );
        let stats = &mut self.core.stats;
        stats.server_created += 1;
        stats.server_active = self.servers.len() as u64;
        handle
    }

    fn fire_client(&mut self, now: Instant, handle: ClientHandle, timer: Timer) {
        // Removal cancels every timer, so a miss cannot happen; ignore it.
        let Some(entry) = self.clients.get_mut(&handle) else {
            return;
        };
        entry.armed.clear(timer);
        let mut cx = Cx::new(
            now,
            Owner::Client(handle),
            entry.dst,
            entry.transport,
            &mut entry.armed,
            &mut self.core,
        );
        if entry.machine.on_timer(handle, timer, &mut cx) == Next::Terminate {
            self.remove_client(handle);
        }
    }

    fn fire_server(&mut self, now: Instant, handle: ServerHandle, timer: Timer) {
        let Some(entry) = self.servers.get_mut(&handle) else {
            return;
        };
        entry.armed.clear(timer);
        let mut cx = Cx::new(
            now,
            Owner::Server(handle),
            entry.peer,
            entry.transport,
            &mut entry.armed,
            &mut self.core,
        );
        let next = match &mut entry.machine {
            ServerMachine::Invite(m) => m.on_timer(handle, timer, &mut cx),
            ServerMachine::NonInvite(m) => m.on_timer(timer),
        };
        if next == Next::Terminate {
            self.remove_server(handle);
        }
    }

    /// Removes a client transaction (→ Terminated) and announces it.
    fn remove_client(&mut self, handle: ClientHandle) {
        let Some(mut entry) = self.clients.remove(&handle) else {
            return;
        };
        self.client_index.remove(&entry.key);
        self.core
            .timers
            .cancel_all(&mut entry.armed, Owner::Client(handle));
        self.core
            .events
            .push_back(TransactionEvent::ClientTerminated { handle });
        let stats = &mut self.core.stats;
        stats.client_terminated += 1;
        stats.client_active = self.clients.len() as u64;
        tracing::debug!(?handle, "client transaction terminated");
    }

    /// Removes a server transaction (→ Terminated) and announces it.
    fn remove_server(&mut self, handle: ServerHandle) {
        let Some(mut entry) = self.servers.remove(&handle) else {
            return;
        };
        self.server_index.remove(&entry.key);
        self.core
            .timers
            .cancel_all(&mut entry.armed, Owner::Server(handle));
        self.core
            .events
            .push_back(TransactionEvent::ServerTerminated { handle });
        let stats = &mut self.core.stats;
        stats.server_terminated += 1;
        stats.server_active = self.servers.len() as u64;
        tracing::debug!(?handle, "server transaction terminated");
    }
}

/// What the state machines share: settings, the timer index, the output
/// queues and the counters.
#[derive(Debug)]
struct Core {
    config: TransactionConfig,
    timers: TimerTable,
    transmits: VecDeque<Transmit>,
    events: VecDeque<TransactionEvent>,
    stats: TransactionStats,
}

/// A live server transaction.
#[derive(Debug)]
struct ServerEntry {
    key: ServerKey,
    /// Where responses go: the source of the request that created it.
    peer: SocketAddr,
    transport: Transport,
    armed: Armed,
    machine: ServerMachine,
}

/// The two server state machines (Figures 7 and 8).
#[derive(Debug)]
enum ServerMachine {
    Invite(InviteServer),
    NonInvite(NonInviteServer),
}

/// A live client transaction.
#[derive(Debug)]
struct ClientEntry {
    key: ClientKey,
    dst: SocketAddr,
    transport: Transport,
    armed: Armed,
    machine: NonInviteClient,
}

/// Whether a transaction lives on after an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Next {
    Stay,
    /// Go to Terminated: the layer removes the transaction and emits the
    /// `…Terminated` event.
    Terminate,
}

/// One transaction's view of the layer for the duration of one input:
/// where it sends, its timers, and the shared core.
struct Cx<'a> {
    now: Instant,
    owner: Owner,
    peer: SocketAddr,
    transport: Transport,
    armed: &'a mut Armed,
    core: &'a mut Core,
}

impl<'a> Cx<'a> {
    fn new(
        now: Instant,
        owner: Owner,
        peer: SocketAddr,
        transport: Transport,
        armed: &'a mut Armed,
        core: &'a mut Core,
    ) -> Self {
        Cx {
            now,
            owner,
            peer,
            transport,
            armed,
            core,
        }
    }

    fn config(&self) -> &TransactionConfig {
        &self.core.config
    }

    /// The first value of `timer` on this transaction's transport.
    fn initial(&self, timer: Timer) -> Option<Duration> {
        timer.initial(&self.core.config, self.transport)
    }

    /// Queues `payload` to the peer.
    fn send(&mut self, payload: Bytes) {
        self.core.transmits.push_back(Transmit {
            dst: self.peer,
            transport: self.transport,
            payload,
        });
    }

    /// Queues `payload` again, counting a retransmission.
    fn resend(&mut self, payload: Bytes) {
        self.core.stats.retransmissions_sent += 1;
        tracing::trace!(owner = ?self.owner, "retransmit");
        self.send(payload);
    }

    /// Counts an absorbed retransmission.
    fn absorbed(&mut self) {
        self.core.stats.retransmissions_absorbed += 1;
    }

    fn emit(&mut self, event: TransactionEvent) {
        self.core.events.push_back(event);
    }

    /// Arms `timer` to fire `after` from now. A zero wait is stretched to
    /// one nanosecond so a re-armed timer cannot fire twice in one
    /// `handle_timeout`.
    fn arm(&mut self, timer: Timer, after: Duration) {
        let at = timer::deadline(self.now, after.max(Duration::from_nanos(1)));
        self.core.timers.arm(self.armed, self.owner, timer, at);
    }

    fn cancel(&mut self, timer: Timer) {
        self.core.timers.cancel(self.armed, self.owner, timer);
    }

    /// Arms one of the "wait, then end" timers (I, J, K) per the table. A
    /// zero wait (reliable transport) means Terminated at once.
    fn arm_wait(&mut self, timer: Timer) -> Next {
        match self.initial(timer) {
            Some(wait) if !wait.is_zero() => {
                self.arm(timer, wait);
                Next::Stay
            }
            Some(_) | None => Next::Terminate,
        }
    }
}

#[cfg(test)]
mod tests;
