//! The stored form of subscriptions (architecture §6): one record per
//! subscription under the key `sub/<id>`, encoded with
//! [`crate::store::codec`]. A record holds everything needed to go on after
//! a restart: the dialog (Call-ID, tags, both CSeqs, route set, remote
//! target), the expiry as Unix time, and the XMPP side of the mapping.
#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use crate::sip::dialog::Dialog;
use crate::store::codec::{CodecError, Decoder, Encoder};

const KIND_NOTIFIER: u8 = 1;
const KIND_SUBSCRIBER: u8 = 2;
const VERSION: u8 = 1;

/// The store key of subscription `id`.
pub(in crate::gateway) fn key(id: &str) -> String {
    format!("sub/{id}")
}

/// A SIP watcher's subscription to an XMPP presentity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::gateway) struct NotifierRecord {
    pub(in crate::gateway) id: String,
    pub(in crate::gateway) dialog: Dialog,
    pub(in crate::gateway) watcher_jid: String,
    pub(in crate::gateway) presentity_jid: String,
    pub(in crate::gateway) active: bool,
    pub(in crate::gateway) expires_at_unix_ms: u64,
}

/// The gateway's subscription, for an XMPP watcher, to a SIP presentity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::gateway) struct SubscriberRecord {
    pub(in crate::gateway) id: String,
    pub(in crate::gateway) dialog: Dialog,
    /// The XMPP watcher's bare JID.
    pub(in crate::gateway) watcher_jid: String,
    /// Our JID for the SIP presentity.
    pub(in crate::gateway) presentity_jid: String,
    /// The SIP presentity's URI (the initial Request-URI).
    pub(in crate::gateway) presentity_uri: String,
    /// A NOTIFY `active` arrived and XMPP `subscribed` was sent.
    pub(in crate::gateway) active: bool,
    pub(in crate::gateway) expires_at_unix_ms: u64,
}

/// A decoded record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::gateway) enum Record {
    Notifier(NotifierRecord),
    Subscriber(SubscriberRecord),
}

fn put_dialog(e: &mut Encoder, d: &Dialog) -> Result<(), CodecError> {
    e.str(&d.call_id)?
        .str(&d.local_tag)?
        .str(&d.remote_tag)?
        .str(&d.local_uri)?
        .str(&d.remote_uri)?;
    e.u32(d.local_seq).opt_u64(d.remote_seq.map(u64::from));
    e.str(&d.remote_target)?.list_str(&d.route_set)?;
    Ok(())
}

fn get_dialog(d: &mut Decoder<'_>) -> Result<Dialog, CodecError> {
    Ok(Dialog {
        call_id: d.str()?.to_string(),
        local_tag: d.str()?.to_string(),
        remote_tag: d.str()?.to_string(),
        local_uri: d.str()?.to_string(),
        remote_uri: d.str()?.to_string(),
        local_seq: d.u32()?,
        remote_seq: d.opt_u64()?.and_then(|v| u32::try_from(v).ok()),
        remote_target: d.str()?.to_string(),
        route_set: d.list_str()?.into_iter().map(str::to_string).collect(),
    })
}

impl NotifierRecord {
    /// The stored bytes (empty if a field exceeds the codec's bounds,
    /// which the SIP parser's limits rule out).
    pub(in crate::gateway) fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(KIND_NOTIFIER, VERSION);
        let ok = e.str(&self.id).is_ok()
            && put_dialog(&mut e, &self.dialog).is_ok()
            && e.str(&self.watcher_jid).is_ok()
            && e.str(&self.presentity_jid).is_ok();
        e.bool(self.active).u64(self.expires_at_unix_ms);
        if ok { e.finish() } else { Vec::new() }
    }
}

impl SubscriberRecord {
    /// The stored bytes (see [`NotifierRecord::encode`]).
    pub(in crate::gateway) fn encode(&self) -> Vec<u8> {
        let mut e = Encoder::new(KIND_SUBSCRIBER, VERSION);
        let ok = e.str(&self.id).is_ok()
            && put_dialog(&mut e, &self.dialog).is_ok()
            && e.str(&self.watcher_jid).is_ok()
            && e.str(&self.presentity_jid).is_ok()
            && e.str(&self.presentity_uri).is_ok();
        e.bool(self.active).u64(self.expires_at_unix_ms);
        if ok { e.finish() } else { Vec::new() }
    }
}

/// Why a stored record was not usable.
#[derive(Debug, thiserror::Error)]
pub(in crate::gateway) enum RecordError {
    #[error("key {0:?} is not a subscription key")]
    Key(String),
    #[error("{0}")]
    Codec(#[from] CodecError),
    #[error("record id does not match its key")]
    IdMismatch,
}

/// Decodes the record stored under `key`.
pub(in crate::gateway) fn decode(key_: &str, bytes: &[u8]) -> Result<Record, RecordError> {
    let Some(id) = key_.strip_prefix("sub/") else {
        return Err(RecordError::Key(key_.to_string()));
    };
    let kind = bytes.first().copied().unwrap_or(0);
    let rec = if kind == KIND_NOTIFIER {
        let (mut d, _v) = Decoder::new(bytes, KIND_NOTIFIER)?;
        let r = NotifierRecord {
            id: d.str()?.to_string(),
            dialog: get_dialog(&mut d)?,
            watcher_jid: d.str()?.to_string(),
            presentity_jid: d.str()?.to_string(),
            active: d.bool()?,
            expires_at_unix_ms: d.u64()?,
        };
        d.end()?;
        Record::Notifier(r)
    } else {
        let (mut d, _v) = Decoder::new(bytes, KIND_SUBSCRIBER)?;
        let r = SubscriberRecord {
            id: d.str()?.to_string(),
            dialog: get_dialog(&mut d)?,
            watcher_jid: d.str()?.to_string(),
            presentity_jid: d.str()?.to_string(),
            presentity_uri: d.str()?.to_string(),
            active: d.bool()?,
            expires_at_unix_ms: d.u64()?,
        };
        d.end()?;
        Record::Subscriber(r)
    };
    let rid = match &rec {
        Record::Notifier(r) => &r.id,
        Record::Subscriber(r) => &r.id,
    };
    if rid != id {
        return Err(RecordError::IdMismatch);
    }
    Ok(rec)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;

    fn dialog() -> Dialog {
        Dialog {
            call_id: "c@h".into(),
            local_tag: "l".into(),
            remote_tag: "r".into(),
            local_uri: "<sip:a@b>".into(),
            remote_uri: "<sip:c@d>".into(),
            local_seq: 42,
            remote_seq: Some(7),
            remote_target: "sip:c@127.0.0.1:5090".into(),
            route_set: vec!["<sip:p;lr>".into()],
        }
    }

    #[test]
    fn records_round_trip() {
        let n = NotifierRecord {
            id: "n-1".into(),
            dialog: dialog(),
            watcher_jid: "a\\40b@gw".into(),
            presentity_jid: "romeo@x".into(),
            active: true,
            expires_at_unix_ms: 123,
        };
        assert_eq!(
            decode(&key("n-1"), &n.encode()).unwrap(),
            Record::Notifier(n.clone())
        );
        let s = SubscriberRecord {
            id: "s-1".into(),
            dialog: dialog(),
            watcher_jid: "juliet@x".into(),
            presentity_jid: "alice\\40sip.test@gw".into(),
            presentity_uri: "sip:alice@sip.test".into(),
            active: false,
            expires_at_unix_ms: 9,
        };
        assert_eq!(
            decode(&key("s-1"), &s.encode()).unwrap(),
            Record::Subscriber(s)
        );
        assert!(decode(&key("other"), &n.encode()).is_err());
        assert!(decode("x", &n.encode()).is_err());
        assert!(decode(&key("n-1"), b"\x01\x01garbage").is_err());
    }
}
