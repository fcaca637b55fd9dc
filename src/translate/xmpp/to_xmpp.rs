//! SIP MESSAGE / CPIM content → XMPP `<message/>` children (RFC 7572 §5,
//! Table 2; RFC 3922 §4.2; RFC 3923 §8; RFC 3994 → XEP-0085).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::borrow::Cow;

use super::iscomposing::{self, Composing};
use super::mime::MediaType;
use super::text::{decode, first_lang, valid_lang, xml_clean};
use super::{
    ChatState, HONOURED_REQUIRE, ISCOMPOSING_TYPE, MAX_CPIM_NESTING, MapError, SipSide,
    XmppMapPolicy, XmppMessageContent, e2e, html,
};
use crate::cpim::{Content, CpimMessage};

/// Maps the content of a SIP MESSAGE (already a CPIM [`Content`]) and its
/// SIP-only headers to the children of an XMPP `<message/>`.
///
/// - `Call-ID` → `thread`, `Content-Language` (first valid tag) → `lang`,
///   `Subject` → `subject` (RFC 7572 Table 2). A `Content-Language` among
///   the content headers (an inner MIME header of `message/cpim`) wins over
///   the SIP one; a CPIM `Subject` wins over the SIP one.
/// - Content by type: see the module docs of [`super`].
///
/// Errors are refusals the SIP sender must hear about (never a silent drop);
/// [`super::super::xmpp_errors::status_for`] gives the status.
pub fn cpim_to_xmpp(
    content: &Content,
    sip: &SipSide,
    policy: &XmppMapPolicy,
) -> Result<XmppMessageContent, MapError> {
    let strict = policy.strict_control_chars;
    let mut out = XmppMessageContent {
        thread: Some(xml_clean(sip.call_id.clone(), false, "call-id")?).filter(|t| !t.is_empty()),
        lang: sip.content_language.as_deref().and_then(first_lang),
        ..XmppMessageContent::default()
    };
    if let Some(s) = &sip.subject {
        let s = xml_clean(s.clone(), strict, "subject")?;
        if !s.is_empty() {
            out.subject = Some((None, s));
        }
    }
    fill(&mut out, content, policy, 0)?;
    Ok(out)
}

fn fill(
    out: &mut XmppMessageContent,
    content: &Content,
    policy: &XmppMapPolicy,
    depth: usize,
) -> Result<(), MapError> {
    let strict = policy.strict_control_chars;
    if content.content_type.trim().is_empty() && content.body.is_empty() {
        return Ok(());
    }
    let mt = MediaType::parse(&content.content_type)
        .ok_or_else(|| MapError::UnsupportedType(content.content_type.clone()))?;
    if let Some(l) = header(content, "Content-Language").and_then(first_lang) {
        out.lang = Some(l);
    }
    if e2e::is_e2e_type(&mt) {
        out.e2e = Some(e2e::to_e2e(content, &mt)?);
        out.body = match &policy.e2e_fallback_body {
            Some(b) => Some(xml_clean(b.clone(), false, "fallback body")?),
            None => None,
        };
        return Ok(());
    }
    match mt.essence.as_str() {
        "text/plain" => {
            let text = decode_text(content, &mt)?;
            out.body = Some(xml_clean(text, strict, "body")?);
        }
        "text/html" => {
            let text = xml_clean(decode_text(content, &mt)?, strict, "body")?;
            out.body = Some(html::to_plain_text(&text));
            if policy.xhtml_im {
                out.xhtml_body = html::to_xhtml_im(&text);
            }
        }
        "message/cpim" => unwrap_cpim(out, content, policy, depth)?,
        ISCOMPOSING_TYPE => {
            let ind = iscomposing::parse(&content.body)?;
            out.chat_state = Some(match ind.state {
                Composing::Active => ChatState::Composing,
                Composing::Idle => policy.idle_chat_state,
            });
            out.composing_refresh_secs = ind.refresh_secs;
        }
        _ => return Err(MapError::UnsupportedType(content.content_type.clone())),
    }
    Ok(())
}

/// RFC 3922 §4.2: deliver the inner content; keep `Subject`; refuse a
/// `Require` the XMPP side cannot honour (§4.2.7); `From`/`To`/`cc`/
/// `DateTime`/`NS` are not passed on (§4.2.1–4.2.6).
fn unwrap_cpim(
    out: &mut XmppMessageContent,
    content: &Content,
    policy: &XmppMapPolicy,
    depth: usize,
) -> Result<(), MapError> {
    if depth >= MAX_CPIM_NESTING {
        return Err(MapError::NestingTooDeep);
    }
    let msg = CpimMessage::parse(content.body.clone()).map_err(MapError::InvalidCpim)?;
    let unmet: Vec<String> = msg
        .require()
        .into_iter()
        .filter(|n| !HONOURED_REQUIRE.contains(n) && !policy.extra_require.iter().any(|e| e == n))
        .map(str::to_owned)
        .collect();
    if !unmet.is_empty() {
        return Err(MapError::UnsatisfiableRequire(unmet));
    }
    let inner = Content {
        content_type: msg.content_type().unwrap_or_default().to_owned(),
        headers: msg
            .content_headers()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("Content-Type"))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
        body: msg.content(),
    };
    fill(out, &inner, policy, depth.saturating_add(1))?;
    let subjects = msg.subject();
    if let Some((lang, text)) = pick_subject(&subjects, out.lang.as_deref()) {
        let text = xml_clean(
            text.to_string(),
            policy.strict_control_chars,
            "cpim subject",
        )?;
        let lang = lang.filter(|l| valid_lang(l)).map(str::to_owned);
        out.subject = Some((lang, text));
    }
    Ok(())
}

/// The subject in the message language, else one without a language, else
/// the first (RFC 3862 §4.5 allows one per language; XMPP gets one here).
fn pick_subject<'a>(
    subjects: &'a [(Option<&'a str>, Cow<'a, str>)],
    lang: Option<&str>,
) -> Option<(Option<&'a str>, &'a str)> {
    let by_lang = lang.and_then(|want| {
        subjects
            .iter()
            .find(|(l, _)| l.is_some_and(|l| l.eq_ignore_ascii_case(want)))
    });
    by_lang
        .or_else(|| subjects.iter().find(|(l, _)| l.is_none()))
        .or_else(|| subjects.first())
        .map(|(l, t)| (*l, t.as_ref()))
}

fn header<'a>(content: &'a Content, name: &str) -> Option<&'a str> {
    content
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Text with an identity transfer encoding, decoded by charset.
fn decode_text(content: &Content, mt: &MediaType) -> Result<String, MapError> {
    if let Some(cte) = header(content, "Content-Transfer-Encoding") {
        let cte = cte.trim();
        if !["7bit", "8bit", "binary"]
            .iter()
            .any(|c| cte.eq_ignore_ascii_case(c))
        {
            return Err(MapError::UnsupportedTransferEncoding(cte.to_owned()));
        }
    }
    decode(&content.body, mt.param("charset"), "body")
}
