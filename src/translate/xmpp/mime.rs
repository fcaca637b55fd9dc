//! Just enough MIME to route content: media type and parameters
//! (RFC 2045 §5.1, RFC 2046), and MIME header blocks with folding
//! (RFC 5322 §2.2.3). Values are read, never rewritten: the original
//! Content-Type string is what travels.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// A parsed Content-Type value: `type/subtype` lower-cased, parameter names
/// lower-cased, values unquoted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct MediaType {
    pub(super) essence: String,
    pub(super) params: Vec<(String, String)>,
}

impl MediaType {
    /// Parses `type "/" subtype *( ";" name "=" value )`, lenient about
    /// whitespace and about tspecials in unquoted values; `None` when the
    /// type, subtype or a parameter name is not a token.
    pub(super) fn parse(value: &str) -> Option<MediaType> {
        let mut parts = split_params(value).into_iter();
        let essence = parts.next()?.trim().to_ascii_lowercase();
        let (t, s) = essence.split_once('/')?;
        if !is_token(t) || !is_token(s) {
            return None;
        }
        let mut params = Vec::new();
        for p in parts {
            let p = p.trim();
            if p.is_empty() {
                continue;
            }
            let (n, v) = p.split_once('=')?;
            let n = n.trim();
            if !is_token(n) {
                return None;
            }
            params.push((n.to_ascii_lowercase(), unquote(v.trim())?));
        }
        Some(MediaType { essence, params })
    }

    #[cfg(test)]
    pub(super) fn is(&self, essence: &str) -> bool {
        self.essence == essence
    }

    pub(super) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits at `;` outside quoted strings.
fn split_params(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(value.get(start..i).unwrap_or_default());
                start = i.saturating_add(1);
            }
            _ => {}
        }
    }
    out.push(value.get(start..).unwrap_or_default());
    out
}

fn unquote(v: &str) -> Option<String> {
    let Some(inner) = v.strip_prefix('"') else {
        // Lenient: unquoted values with tspecials (`protocol=application/x`)
        // are common in the wild.
        let ok = !v.is_empty() && v.bytes().all(|b| b.is_ascii_graphic() && b != b'"');
        return ok.then(|| v.to_owned());
    };
    let inner = inner.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.push(chars.next()?);
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// RFC 2045 token.
pub(super) fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?=".contains(&b))
}

/// Splits a CRLF (or LF) header block into unfolded `(name, value)` pairs.
/// Unfolding removes the line break before a continuation line and keeps its
/// leading whitespace (RFC 5322 §2.2.3); values are trimmed. `None` when a
/// line has no colon, a name is not a token, or a value holds a control
/// character other than HT.
pub(super) fn parse_header_block(block: &str) -> Option<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in block.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let (_, v) = out.last_mut()?;
            v.push_str(line);
            continue;
        }
        let (n, v) = line.split_once(':')?;
        if !is_token(n) {
            return None;
        }
        out.push((n.to_owned(), v.to_owned()));
    }
    for (_, v) in &mut out {
        if v.chars().any(|c| c.is_control() && c != '\t') {
            return None;
        }
        *v = v.trim_matches([' ', '\t']).to_owned();
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn media_type_with_quoted_params() {
        let m = MediaType::parse(
            "Multipart/Signed; boundary=\"a;b\\\"c\"; micalg=sha-256 ;protocol=\"application/pkcs7-signature\"",
        )
        .unwrap();
        assert!(m.is("multipart/signed"));
        assert_eq!(m.param("boundary"), Some("a;b\"c"));
        assert_eq!(m.param("micalg"), Some("sha-256"));
        assert_eq!(m.param("protocol"), Some("application/pkcs7-signature"));
        assert!(MediaType::parse("text").is_none());
        assert!(MediaType::parse("text/plain; charset").is_none());
        assert!(MediaType::parse("").is_none());
    }

    #[test]
    fn header_block_unfolds() {
        let h =
            parse_header_block("Content-Type: multipart/signed;\r\n boundary=x\r\nX: y").unwrap();
        assert_eq!(
            h[0],
            ("Content-Type".into(), "multipart/signed; boundary=x".into())
        );
        assert_eq!(h[1], ("X".into(), "y".into()));
        assert!(parse_header_block(" leading continuation").is_none());
        assert!(parse_header_block("no colon").is_none());
    }
}
