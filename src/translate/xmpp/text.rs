//! Text for the XML stream: charset decoding (UTF-8, US-ASCII, ISO-8859-1
//! by hand; RFC 3922 §4.2.9), removal of characters XML 1.0 §2.2 forbids,
//! and the small syntax checks for values that become SIP headers
//! (language tags, Call-ID, header text).

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::MapError;

/// Decodes a text body by its `charset` parameter. Absent means UTF-8 (SIP
/// default for text, RFC 3261 §7.4.1). UTF-8 and US-ASCII must be valid
/// UTF-8; ISO-8859-1 (and its registered aliases) is transcoded; any other
/// charset is refused.
pub(super) fn decode(
    body: &[u8],
    charset: Option<&str>,
    field: &'static str,
) -> Result<String, MapError> {
    let cs = charset.map(str::to_ascii_lowercase);
    match cs.as_deref() {
        None | Some("utf-8" | "utf8" | "us-ascii" | "ascii" | "ansi_x3.4-1968" | "iso646-us") => {
            std::str::from_utf8(body)
                .map(str::to_owned)
                .map_err(|_| MapError::InvalidText {
                    field,
                    charset: charset.unwrap_or("UTF-8").to_owned(),
                })
        }
        Some(
            "iso-8859-1" | "iso_8859-1" | "iso_8859-1:1987" | "latin1" | "l1" | "iso-ir-100"
            | "ibm819" | "cp819" | "csisolatin1",
        ) => Ok(latin1_to_string(body)),
        Some(_) => Err(MapError::UnsupportedCharset(
            charset.unwrap_or_default().to_owned(),
        )),
    }
}

/// ISO-8859-1 octets are the first 256 Unicode code points.
pub(super) fn latin1_to_string(body: &[u8]) -> String {
    body.iter().map(|&b| char::from(b)).collect()
}

/// Whether XML 1.0 §2.2 `Char` allows `c`.
pub(super) fn is_xml_char(c: char) -> bool {
    matches!(c,
        '\t' | '\n' | '\r'
        | '\u{20}'..='\u{D7FF}'
        | '\u{E000}'..='\u{FFFD}'
        | '\u{10000}'..='\u{10FFFF}')
}

/// Removes XML-forbidden characters from text (or refuses them when
/// `strict`).
pub(super) fn xml_clean(s: String, strict: bool, field: &'static str) -> Result<String, MapError> {
    match s.chars().find(|&c| !is_xml_char(c)) {
        None => Ok(s),
        Some(c) if strict => Err(MapError::ControlCharacter {
            field,
            code: u32::from(c),
        }),
        Some(_) => Ok(s.chars().filter(|&c| is_xml_char(c)).collect()),
    }
}

/// Text for a single-line SIP header value (Subject): every control
/// character (CR and LF included) becomes a space, so no header can be
/// injected; the result is trimmed.
pub(super) fn header_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A language tag as RFC 5646 §2.1 shapes it (subtags of 1–8 alphanumerics
/// joined by `-`, the first alphabetic), at most 64 bytes. Used for both
/// `xml:lang` and `Content-Language`; an invalid tag is not mapped.
pub(super) fn valid_lang(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let first_ok = subtags
        .next()
        .is_some_and(|f| (1..=8).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_alphabetic()));
    first_ok
        && tag.len() <= 64
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The first valid tag of a Content-Language list (RFC 3261 §20.13).
pub(super) fn first_lang(list: &str) -> Option<String> {
    list.split(',')
        .map(str::trim)
        .find(|t| valid_lang(t))
        .map(str::to_owned)
}

/// Whether `s` is a SIP Call-ID: `word [ "@" word ]` (RFC 3261 §25.1), at
/// most 256 bytes.
pub(super) fn valid_call_id(s: &str) -> bool {
    fn word(w: &str) -> bool {
        !w.is_empty()
            && w.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~()<>:\\\"/[]?{}".contains(&b))
    }
    if s.len() > 256 {
        return false;
    }
    match s.split_once('@') {
        Some((a, b)) => word(a) && word(b),
        None => word(s),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn charsets() {
        assert_eq!(decode(b"hi", None, "body").unwrap(), "hi");
        assert_eq!(decode(b"hi", Some("US-ASCII"), "body").unwrap(), "hi");
        assert_eq!(
            decode(b"caf\xe9", Some("ISO-8859-1"), "body").unwrap(),
            "café"
        );
        assert_eq!(
            decode(b"\xa0\xff", Some("latin1"), "body").unwrap(),
            "\u{a0}ÿ"
        );
        assert!(matches!(
            decode(b"caf\xe9", Some("utf-8"), "body"),
            Err(MapError::InvalidText { .. })
        ));
        assert!(matches!(
            decode(b"x", Some("iso-2022-jp"), "body"),
            Err(MapError::UnsupportedCharset(c)) if c == "iso-2022-jp"
        ));
    }

    #[test]
    fn xml_cleaning() {
        assert_eq!(
            xml_clean("a\u{7}b\u{0}c\tz\u{FFFE}".into(), false, "body").unwrap(),
            "abc\tz"
        );
        assert!(xml_clean("a\u{1b}".into(), true, "body").is_err());
        assert_eq!(header_text(" a\r\nVia: x "), "a  Via: x");
    }

    #[test]
    fn langs_and_call_ids() {
        assert!(valid_lang("cs") && valid_lang("en-GB") && valid_lang("i-default"));
        assert!(!valid_lang("") && !valid_lang("en US") && !valid_lang("1en"));
        assert_eq!(first_lang("bad tag, fr").as_deref(), Some("fr"));
        assert!(valid_call_id("a84b4c76e66710@pc33.example.com"));
        assert!(!valid_call_id("a b") && !valid_call_id("") && !valid_call_id("a@b@c"));
    }
}
