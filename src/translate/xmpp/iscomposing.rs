//! `application/im-iscomposing+xml` (RFC 3994 §5) ⇄ XEP-0085 chat states
//! (RFC 7573 §6, conformance B.38–39).
//!
//! Reading uses a minimal scanner, not an XML parser: it finds the root
//! element (local name `isComposing`, any prefix) and the text of its
//! `state` child. Documents over [`MAX_DOC`] bytes, and any DTD or entity
//! declaration (`<!DOCTYPE`, `<!ENTITY`), are refused. The namespace is not
//! checked. `state` `active` is composing; every other value is idle
//! (RFC 3994 §5: unknown tokens count as idle).
//!
//! Writing follows the RFC 3994 §5 schema order (state, contenttype,
//! refresh).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::MapError;
use super::html::decode_entities;

/// The RFC 3994 media type.
pub const ISCOMPOSING_TYPE: &str = "application/im-iscomposing+xml";
/// The RFC 3994 namespace.
pub const ISCOMPOSING_NAMESPACE: &str = "urn:ietf:params:xml:ns:im-iscomposing";

/// Largest isComposing document read (they are ~250 bytes).
const MAX_DOC: usize = 8192;

/// The RFC 3994 state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Composing {
    Active,
    Idle,
}

/// What an isComposing document says: its `state`, and for `active` the
/// `refresh` interval in seconds when one is given (RFC 3994 §3.3: the
/// receiver assumes 120 s when it is absent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Indication {
    pub(super) state: Composing,
    pub(super) refresh_secs: Option<u32>,
}

/// Reads the `state` and `refresh` of an isComposing document. A `refresh`
/// that is not a positive integer is ignored (the default applies).
pub(super) fn parse(body: &[u8]) -> Result<Indication, MapError> {
    let bad = MapError::InvalidIsComposing;
    if body.len() > MAX_DOC {
        return Err(bad("document too large"));
    }
    let doc = std::str::from_utf8(body).map_err(|_| bad("not utf-8"))?;
    let mut rest = doc;
    let mut depth = 0usize;
    let mut root_seen = false;
    let mut in_state = false;
    let mut state_text = String::new();
    let mut state = None;
    let mut in_refresh = false;
    let mut refresh_text = String::new();
    let mut refresh = None;
    while let Some(lt) = rest.find('<') {
        let text = rest.get(..lt).unwrap_or("");
        if in_state {
            state_text.push_str(text);
        }
        if in_refresh {
            refresh_text.push_str(text);
        }
        let tail = rest.get(lt..).unwrap_or("");
        if let Some(after) = tail.strip_prefix("<!--") {
            rest = after
                .find("-->")
                .and_then(|i| after.get(i + 3..))
                .ok_or(bad("unterminated comment"))?;
            continue;
        }
        if tail.starts_with("<!") {
            return Err(bad("dtd or entity declarations are not accepted"));
        }
        let end = tail.find('>').ok_or(bad("unterminated tag"))?;
        let tag = tail.get(1..end).unwrap_or("");
        rest = tail.get(end + 1..).unwrap_or("");
        if tag.starts_with('?') {
            continue;
        }
        let closing = tag.starts_with('/');
        let self_closing = tag.ends_with('/');
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap_or("");
        let local = name.rsplit(':').next().unwrap_or(name);
        if closing {
            if in_state && local == "state" && depth == 2 {
                in_state = false;
                state = Some(std::mem::take(&mut state_text));
            }
            if in_refresh && local == "refresh" && depth == 2 {
                in_refresh = false;
                refresh = Some(std::mem::take(&mut refresh_text));
            }
            depth = depth.checked_sub(1).ok_or(bad("unbalanced end tag"))?;
            continue;
        }
        if depth == 0 {
            if root_seen || local != "isComposing" {
                return Err(bad("root element is not isComposing"));
            }
            root_seen = true;
        }
        if depth == 1 && local == "state" && !self_closing && state.is_none() {
            in_state = true;
        }
        if depth == 1 && local == "refresh" && !self_closing && refresh.is_none() {
            in_refresh = true;
        }
        if !self_closing {
            depth = depth.saturating_add(1);
            if depth > 16 {
                return Err(bad("nested too deep"));
            }
        }
    }
    if !root_seen {
        return Err(bad("no isComposing element"));
    }
    if depth != 0 {
        return Err(bad("unclosed element"));
    }
    let state = state.ok_or(bad("no state element"))?;
    let state = if decode_entities(&state).trim() == "active" {
        Composing::Active
    } else {
        Composing::Idle
    };
    let refresh_secs = refresh
        .and_then(|r| r.trim().parse::<u32>().ok())
        .filter(|r| *r > 0 && state == Composing::Active);
    Ok(Indication {
        state,
        refresh_secs,
    })
}

/// Writes an isComposing document. `refresh` is only written for `active`
/// (RFC 3994 §3.2).
pub(super) fn build(state: Composing, refresh_secs: u32) -> String {
    let mut s = String::with_capacity(256);
    s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n");
    s.push_str("<isComposing xmlns=\"");
    s.push_str(ISCOMPOSING_NAMESPACE);
    s.push_str("\">\r\n");
    match state {
        Composing::Active => {
            s.push_str("<state>active</state>\r\n<contenttype>text/plain</contenttype>\r\n");
            s.push_str(&format!("<refresh>{}</refresh>\r\n", refresh_secs.max(60)));
        }
        Composing::Idle => {
            s.push_str("<state>idle</state>\r\n<contenttype>text/plain</contenttype>\r\n");
        }
    }
    s.push_str("</isComposing>\r\n");
    s
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn reads_rfc3994_examples() {
        let active = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
            <isComposing xmlns=\"urn:ietf:params:xml:ns:im-iscomposing\"\n \
            xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n\
            <state>active</state>\n<contenttype>text/plain</contenttype>\n\
            <refresh>90</refresh>\n</isComposing>";
        assert_eq!(
            parse(active.as_bytes()).unwrap(),
            Indication {
                state: Composing::Active,
                refresh_secs: Some(90)
            }
        );
        let idle = "<is:isComposing xmlns:is='urn:ietf:params:xml:ns:im-iscomposing'>\
            <!-- c --><is:state> idle </is:state><is:lastactive>2003-01-27T10:43:00Z</is:lastactive></is:isComposing>";
        assert_eq!(parse(idle.as_bytes()).unwrap().state, Composing::Idle);
        let unknown = "<isComposing><state>thinking</state></isComposing>";
        assert_eq!(parse(unknown.as_bytes()).unwrap().state, Composing::Idle);
        // No refresh (the receiver's 120 s default applies), a bad one, and
        // a refresh on idle, which means nothing.
        for doc in [
            "<isComposing><state>active</state></isComposing>",
            "<isComposing><state>active</state><refresh>0</refresh></isComposing>",
            "<isComposing><state>active</state><refresh>soon</refresh></isComposing>",
            "<isComposing><state>idle</state><refresh>60</refresh></isComposing>",
        ] {
            assert_eq!(parse(doc.as_bytes()).unwrap().refresh_secs, None, "{doc}");
        }
    }

    #[test]
    fn refuses_bad_documents() {
        for bad in [
            "<!DOCTYPE x [<!ENTITY a 'b'>]><isComposing><state>active</state></isComposing>",
            "<foo><state>active</state></foo>",
            "<isComposing></isComposing>",
            "<isComposing><state>active</state>",
            "</x>",
            "",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(parse(&vec![b' '; MAX_DOC + 1]).is_err());
    }

    #[test]
    fn builds_and_reads_back() {
        let a = build(Composing::Active, 10);
        assert!(a.contains("<refresh>60</refresh>"));
        assert_eq!(parse(a.as_bytes()).unwrap().state, Composing::Active);
        let i = build(Composing::Idle, 90);
        assert!(!i.contains("refresh"));
        assert_eq!(parse(i.as_bytes()).unwrap().state, Composing::Idle);
    }
}
