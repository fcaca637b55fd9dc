//! `text/html` for XMPP (RFC 7572 §7): a plain-text rendering for
//! `<body/>`, and XHTML-IM markup (XEP-0071) restricted to its recommended
//! profile.
//!
//! The tokenizer is deliberately small and total: tags, attributes (quoted
//! or not), comments, `<!…>`/`<?…?>` skipped, `script`/`style` contents
//! skipped. It is not an HTML5 parser; malformed input still gives
//! well-formed output.
//!
//! XHTML-IM output keeps `a` (href with http/https/mailto/xmpp only), `br`,
//! `blockquote`, `cite`, `code`, `em`, `img` (alt, height, width, src with
//! http/https only), `li`, `ol`, `p`, `span`, `strong`, `ul`; `b` → `strong`,
//! `i` → `em`, `div`/`h1`–`h6` → `p`. `style` attributes are dropped
//! (no CSS sanitiser). Other elements are unwrapped (their text kept), and
//! `head`, `title`, `script`, `style`, `iframe`, `object` lose their
//! content. Nesting is capped at [`MAX_DEPTH`].

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use super::text::is_xml_char;

/// Deepest element nesting kept in XHTML-IM output.
const MAX_DEPTH: usize = 32;

enum Tok<'a> {
    Text(&'a str),
    Open {
        name: String,
        attrs: Vec<(String, String)>,
    },
    Close(String),
}

fn tokens(html: &str) -> Vec<Tok<'_>> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let Some(lt) = rest.find('<') else {
            out.push(Tok::Text(rest));
            break;
        };
        let (text, tail) = rest.split_at_checked(lt).unwrap_or((rest, ""));
        if !text.is_empty() {
            out.push(Tok::Text(text));
        }
        if let Some(after) = tail.strip_prefix("<!--") {
            rest = after
                .find("-->")
                .and_then(|i| after.get(i + 3..))
                .unwrap_or("");
            continue;
        }
        if tail.starts_with("<!") || tail.starts_with("<?") {
            rest = tail.find('>').and_then(|i| tail.get(i + 1..)).unwrap_or("");
            continue;
        }
        let inner_start = tail.get(1..).unwrap_or("");
        let closing = inner_start.starts_with('/');
        let name_src = if closing {
            inner_start.get(1..).unwrap_or("")
        } else {
            inner_start
        };
        if !name_src.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push(Tok::Text("<"));
            rest = inner_start;
            continue;
        }
        let Some(end) = tag_end(name_src) else {
            // Unterminated tag: the rest is not text either.
            break;
        };
        let inner = name_src.get(..end).unwrap_or("");
        rest = name_src.get(end + 1..).unwrap_or("");
        let name_len = inner
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == ':'))
            .unwrap_or(inner.len());
        let name = inner.get(..name_len).unwrap_or("").to_ascii_lowercase();
        if closing {
            out.push(Tok::Close(name));
            continue;
        }
        let attrs = parse_attrs(inner.get(name_len..).unwrap_or(""));
        let self_closing = inner.trim_end().ends_with('/');
        if name == "script" || name == "style" {
            // Raw text elements: skip to the matching end tag.
            let close = format!("</{name}");
            rest = find_ci(rest, &close)
                .and_then(|i| rest.get(i..))
                .and_then(|r| r.find('>').and_then(|j| r.get(j + 1..)))
                .unwrap_or("");
            continue;
        }
        out.push(Tok::Open {
            name: name.clone(),
            attrs,
        });
        if self_closing {
            out.push(Tok::Close(name));
        }
    }
    out
}

/// Index of the `>` ending a tag, outside quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '>') => return Some(i),
            _ => {}
        }
    }
    None
}

fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    h.windows(n.len()).position(|w| w.eq_ignore_ascii_case(n))
}

fn parse_attrs(mut s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if s.is_empty() {
            return out;
        }
        let n_end = s
            .find(|c: char| c.is_whitespace() || c == '=' || c == '/')
            .unwrap_or(s.len());
        let name = s.get(..n_end).unwrap_or("").to_ascii_lowercase();
        s = s.get(n_end..).unwrap_or("").trim_start();
        let mut value = String::new();
        if let Some(after_eq) = s.strip_prefix('=') {
            let v = after_eq.trim_start();
            if let Some(q) = v.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let body = v.get(1..).unwrap_or("");
                let end = body.find(q).unwrap_or(body.len());
                value = body.get(..end).unwrap_or("").to_owned();
                s = body.get(end + 1..).unwrap_or("");
            } else {
                let end = v.find(char::is_whitespace).unwrap_or(v.len());
                value = v.get(..end).unwrap_or("").to_owned();
                s = v.get(end..).unwrap_or("");
            }
        }
        if !name.is_empty() {
            out.push((name, decode_entities(&value)));
        }
    }
}

/// Decodes the five XML entities, `&nbsp;` and numeric references; unknown
/// references stay literal. Characters XML forbids are dropped.
pub(super) fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(rest.get(..i).unwrap_or(""));
        let tail = rest.get(i..).unwrap_or("");
        let semi = tail.get(..12.min(tail.len())).and_then(|t| t.find(';'));
        let decoded = semi.and_then(|j| {
            let name = tail.get(1..j)?;
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => '\u{a0}',
                _ => {
                    let num = name.strip_prefix('#')?;
                    let v = match num.strip_prefix(['x', 'X']) {
                        Some(h) => u32::from_str_radix(h, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(v)?
                }
            };
            Some((c, j))
        });
        match decoded {
            Some((c, j)) => {
                if is_xml_char(c) {
                    out.push(c);
                }
                rest = tail.get(j + 1..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = tail.get(1..).unwrap_or("");
            }
        }
    }
    out.push_str(rest);
    out.retain(is_xml_char);
    out
}

const SKIP_CONTENT: &[&str] = &["head", "title", "script", "style", "iframe", "object"];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "hr",
];

/// The plain-text rendering: tags removed, entities decoded, whitespace
/// runs collapsed to one space, block elements as line breaks, at most one
/// empty line in a row, trimmed.
pub(super) fn to_plain_text(html: &str) -> String {
    let mut raw = String::with_capacity(html.len());
    let mut skip = 0usize;
    for t in tokens(html) {
        match t {
            Tok::Open { name, .. } if SKIP_CONTENT.contains(&name.as_str()) => {
                skip = skip.saturating_add(1);
            }
            Tok::Close(name) if SKIP_CONTENT.contains(&name.as_str()) => {
                skip = skip.saturating_sub(1);
            }
            _ if skip > 0 => {}
            Tok::Open { name, .. } | Tok::Close(name) => {
                if BLOCK.contains(&name.as_str()) {
                    raw.push('\n');
                }
            }
            Tok::Text(s) => {
                let decoded = decode_entities(s).replace('\u{a0}', " ");
                for c in decoded.chars() {
                    raw.push(if c.is_whitespace() { ' ' } else { c });
                }
            }
        }
    }
    let mut out = String::with_capacity(raw.len());
    let mut blank_run = 0usize;
    for line in raw.split('\n') {
        let collapsed = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if collapsed.is_empty() {
            blank_run = blank_run.saturating_add(1);
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 1 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(&collapsed);
    }
    out
}

/// The XHTML-IM rendering (inner markup of the XHTML `<body/>`), or `None`
/// when nothing remains.
pub(super) fn to_xhtml_im(html: &str) -> Option<String> {
    let mut out = String::with_capacity(html.len());
    let mut stack: Vec<&'static str> = Vec::new();
    let mut skip = 0usize;
    for t in tokens(html) {
        match t {
            Tok::Open { name, .. } if SKIP_CONTENT.contains(&name.as_str()) => {
                skip = skip.saturating_add(1);
            }
            Tok::Close(name) if SKIP_CONTENT.contains(&name.as_str()) => {
                skip = skip.saturating_sub(1);
            }
            _ if skip > 0 => {}
            Tok::Text(s) => escape_into(&mut out, &decode_entities(s), false),
            Tok::Open { name, attrs } => {
                let Some(el) = xhtml_name(&name) else {
                    continue;
                };
                if el == "br" {
                    out.push_str("<br/>");
                    continue;
                }
                if el != "img" && stack.len() >= MAX_DEPTH {
                    continue;
                }
                out.push('<');
                out.push_str(el);
                for (n, v) in attrs {
                    if let Some(n) = allowed_attr(el, &n, &v) {
                        out.push(' ');
                        out.push_str(n);
                        out.push_str("=\"");
                        escape_into(&mut out, &v, true);
                        out.push('"');
                    }
                }
                if el == "img" {
                    out.push_str("/>");
                } else {
                    out.push('>');
                    stack.push(el);
                }
            }
            Tok::Close(name) => {
                let Some(el) = xhtml_name(&name) else {
                    continue;
                };
                if let Some(pos) = stack.iter().rposition(|e| *e == el) {
                    while stack.len() > pos {
                        if let Some(open) = stack.pop() {
                            out.push_str("</");
                            out.push_str(open);
                            out.push('>');
                        }
                    }
                }
            }
        }
    }
    while let Some(open) = stack.pop() {
        out.push_str("</");
        out.push_str(open);
        out.push('>');
    }
    let trimmed = out.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_owned())
}

fn xhtml_name(name: &str) -> Option<&'static str> {
    Some(match name {
        "a" => "a",
        "b" | "strong" => "strong",
        "blockquote" => "blockquote",
        "br" => "br",
        "cite" => "cite",
        "code" => "code",
        "div" | "p" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => "p",
        "em" | "i" => "em",
        "img" => "img",
        "li" => "li",
        "ol" => "ol",
        "span" => "span",
        "ul" => "ul",
        _ => return None,
    })
}

fn allowed_attr(el: &str, name: &str, value: &str) -> Option<&'static str> {
    let scheme_ok = |allowed: &[&str]| {
        value
            .split_once(':')
            .is_some_and(|(s, _)| allowed.iter().any(|a| s.trim().eq_ignore_ascii_case(a)))
    };
    match (el, name) {
        ("a", "href") if scheme_ok(&["http", "https", "mailto", "xmpp"]) => Some("href"),
        ("a", "type") => Some("type"),
        ("img", "src") if scheme_ok(&["http", "https"]) => Some("src"),
        ("img", "alt") => Some("alt"),
        ("img", "height") => Some("height"),
        ("img", "width") => Some("width"),
        _ => None,
    }
}

fn escape_into(out: &mut String, s: &str, attr: bool) {
    for c in s.chars().filter(|&c| is_xml_char(c)) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\'' if attr => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn plain_rendering() {
        let html = "<html><head><title>T</title><style>p{}</style></head><body>\
            <p>Hello&nbsp;<b>world</b> &amp; co</p>\n\n<p>line&#32;two<br>three &#x263A; &bogus;</p>\
            <script>alert('x')</script></body></html>";
        assert_eq!(
            to_plain_text(html),
            "Hello world & co\nline two\nthree ☺ &bogus;"
        );
        assert_eq!(to_plain_text("a   b\t\n c"), "a b c");
        assert_eq!(to_plain_text("x < y"), "x < y");
    }

    #[test]
    fn xhtml_profile() {
        let html = "<div onclick='evil()'>Hi <B>bold</B> <i>it</i> <a href=\"javascript:x\">j</a> \
            <a href='https://e.example/?a=1&amp;b=2' style='color:red'>ok</a><img src=data:x alt='a\"b'>\
            <font>f</font><script>x</script><p>unclosed";
        assert_eq!(
            to_xhtml_im(html).unwrap(),
            "<p>Hi <strong>bold</strong> <em>it</em> <a>j</a> \
             <a href=\"https://e.example/?a=1&amp;b=2\">ok</a><img alt=\"a&quot;b\"/>f<p>unclosed</p></p>"
        );
        assert_eq!(
            to_xhtml_im("<em>a<strong>b</em>c</strong>").unwrap(),
            "<em>a<strong>b</strong></em>c"
        );
        assert!(to_xhtml_im("<script>x</script>").is_none());
        assert_eq!(to_xhtml_im("a<b").unwrap(), "a");
        assert_eq!(to_xhtml_im("1 < 2 &lt; 3").unwrap(), "1 &lt; 2 &lt; 3");
    }

    #[test]
    fn deep_nesting_is_capped() {
        let html = "<span>".repeat(100) + "x";
        let out = to_xhtml_im(&html).unwrap();
        assert_eq!(out.matches("<span>").count(), MAX_DEPTH);
        assert_eq!(out.matches("</span>").count(), MAX_DEPTH);
    }
}
