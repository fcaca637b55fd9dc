//! What log lines show of user addresses: SIP/`im:`/`pres:` URIs and JIDs
//! as written, or with the user part replaced by a keyed hash (`[log]
//! redact = true`, the default).
//!
//! Redaction keeps what an operator of a federation point needs to follow
//! traffic — the scheme, the domain, and a tag that is the same for the same
//! user while the process runs — and drops who the user is: the local part
//! (and a JID's resource) becomes `~` and 8 hex digits of SipHash keyed with
//! a random per-process key, so the tag cannot be reversed by hashing a list
//! of likely names. A restart changes the key (and the tags).
//!
//! The setting is process-wide because it is a property of the log output,
//! not of any protocol state: the sans-IO cores call [`addr`] when they put
//! an address into a span or an event, and `main` calls [`configure`] once
//! when it sets up logging. Unconfigured, addresses are redacted.

use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

struct Setting {
    on: bool,
    key: std::collections::hash_map::RandomState,
}

static SETTING: OnceLock<Setting> = OnceLock::new();

fn setting() -> &'static Setting {
    SETTING.get_or_init(|| Setting {
        on: true,
        key: std::collections::hash_map::RandomState::new(),
    })
}

/// Sets the process-wide choice. The first call wins (later calls, e.g. a
/// reload, keep the setting the logs started with); returns whether this
/// call set it.
pub fn configure(redact: bool) -> bool {
    SETTING
        .set(Setting {
            on: redact,
            key: std::collections::hash_map::RandomState::new(),
        })
        .is_ok()
}

/// Whether addresses are redacted in this process.
pub fn enabled() -> bool {
    setting().on
}

/// An address for a log field: displays as written or redacted.
#[derive(Clone, Copy)]
pub struct Addr<'a>(&'a str);

/// Wraps a SIP/`im:`/`pres:` URI, a `name-addr` (`"Bob" <sip:b@x>`) or a
/// JID for logging.
pub fn addr(s: &str) -> Addr<'_> {
    Addr(s)
}

impl fmt::Display for Addr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = setting();
        if s.on {
            write_redacted(f, self.0, &s.key)
        } else {
            f.write_str(self.0)
        }
    }
}

impl fmt::Debug for Addr<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

fn tag(key: &impl BuildHasher, user: &str) -> u32 {
    let mut h = key.build_hasher();
    h.write(user.as_bytes());
    // 32 bits are enough to tell users apart in one log.
    (h.finish() >> 32) as u32
}

/// `sip:alice@example.com;transport=tcp` → `sip:~1a2b3c4d@example.com`,
/// `alice@xmpp.example/phone` → `~1a2b3c4d@xmpp.example/~`. A display name
/// or anything else outside the URI is dropped. Without a user part the
/// address (a domain, a host) is shown as written, minus parameters.
fn write_redacted(f: &mut fmt::Formatter<'_>, s: &str, key: &impl BuildHasher) -> fmt::Result {
    // The URI inside `<...>` when there is one (a name-addr).
    let inner = match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => s.get(a + 1..b).unwrap_or(s),
        _ => s,
    }
    .trim();
    let (scheme, rest) = match inner.split_once(':') {
        Some((sc, r))
            if !sc.is_empty()
                && sc.len() <= 6
                && sc.chars().all(|c| c.is_ascii_alphabetic())
                && !r.starts_with("//") =>
        {
            (Some(sc), r)
        }
        _ => (None, inner),
    };
    // Host part ends at URI parameters or headers; a JID keeps `/`.
    let rest = rest.split([';', '?']).next().unwrap_or(rest);
    if let Some(sc) = scheme {
        write!(f, "{sc}:")?;
    }
    let (user, host) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    if let Some(u) = user {
        write!(f, "~{:08x}@", tag(key, u))?;
    }
    match host.split_once('/') {
        Some((domain, _resource)) => write!(f, "{domain}/~"),
        None => f.write_str(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct R<'a>(&'a str);
    impl fmt::Display for R<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            let key =
                std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default(
                );
            write_redacted(f, self.0, &key)
        }
    }

    fn red(s: &str) -> String {
        R(s).to_string()
    }

    #[test]
    fn user_parts_and_resources_are_hashed_domains_kept() {
        let a = red("sip:alice@example.com;transport=tcp");
        assert!(a.starts_with("sip:~") && a.ends_with("@example.com"), "{a}");
        assert!(!a.contains("alice") && !a.contains("transport"), "{a}");
        assert_eq!(a, red("sip:alice@example.com"), "same user, same tag");
        assert_ne!(a, red("sip:bob@example.com"), "another user, another tag");
        let n = red("\"Alice Liddell\" <sip:alice@example.com>;tag=1");
        assert_eq!(n, a, "display name and parameters dropped");
        let j = red("juliet@xmpp.example/balcony");
        assert!(j.starts_with('~') && j.ends_with("@xmpp.example/~"), "{j}");
        assert!(!j.contains("juliet") && !j.contains("balcony"), "{j}");
        let p = red("pres:alice@example.com");
        assert!(p.starts_with("pres:~"), "{p}");
        assert_eq!(red("sip:example.com;lr"), "sip:example.com");
        assert_eq!(red("xmpp.example"), "xmpp.example");
        // An escaped JID node inside a component JID: still one user part.
        let e = red("alice\\40sip.test@cpim.xmpp.test");
        assert!(
            e.ends_with("@cpim.xmpp.test") && !e.contains("alice"),
            "{e}"
        );
    }

    #[test]
    fn odd_input_never_panics() {
        for s in [
            "", "<", ">", "<>", "><", "@", "sip:", ":", "a@b@c", "sip:@", "/", "é@ü/ß",
        ] {
            let _ = red(s);
        }
    }
}
