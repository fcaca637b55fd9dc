use std::collections::HashSet;

use crate::cpim::{ImUri, MAX_URI_LEN, PresUri, UriError};

#[test]
fn parses_plain_im_uri() {
    let u = ImUri::parse("im:fred@example.com").unwrap();
    assert_eq!(u.user(), "fred");
    assert_eq!(u.domain(), "example.com");
    assert_eq!(u.as_str(), "im:fred@example.com");
    assert_eq!(u.to_string(), "im:fred@example.com");
    assert_eq!(u.headers().count(), 0);
}

#[test]
fn scheme_is_case_insensitive_and_normalised() {
    let u = ImUri::parse("IM:Fred.Flintstone@Example.COM").unwrap();
    assert_eq!(u.as_str(), "im:Fred.Flintstone@Example.COM");
    assert_eq!(u.user(), "Fred.Flintstone");
    assert!(u.domain_eq("example.com"));
    assert!(!u.domain_eq("example.org"));
    let p: PresUri = "Pres:x@y".parse().unwrap();
    assert_eq!(p.as_str(), "pres:x@y");
}

#[test]
fn equality_ignores_domain_case_only() {
    let a = ImUri::parse("im:fred@EXAMPLE.com").unwrap();
    let b = ImUri::parse("im:fred@example.COM").unwrap();
    let c = ImUri::parse("im:Fred@example.com").unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let set: HashSet<ImUri> = [a, b, c].into_iter().collect();
    assert_eq!(set.len(), 2);
}

#[test]
fn quoted_local_part_and_headers() {
    let u = ImUri::parse("im:\"john doe\"@example.com?subject=hi%20there&x=1").unwrap();
    assert_eq!(u.user(), "\"john doe\"");
    assert_eq!(u.domain(), "example.com");
    let h: Vec<_> = u.headers().collect();
    assert_eq!(h, vec![("subject", "hi%20there"), ("x", "1")]);
    let q = ImUri::parse(r#"im:"a\"b@c"@d"#).unwrap();
    assert_eq!(q.user(), r#""a\"b@c""#);
    assert_eq!(q.domain(), "d");
}

#[test]
fn domain_literal_and_escapes() {
    let u = ImUri::parse("im:a%40b@[2001:db8::1]").unwrap();
    assert_eq!(u.user(), "a%40b");
    assert_eq!(u.domain(), "[2001:db8::1]");
    assert!(ImUri::parse("im:ünï@example.com").is_ok());
}

#[test]
fn invalid_uris_have_typed_errors() {
    let cases: &[(&str, UriError)] = &[
        ("sip:a@b", UriError::BadScheme { expected: "im" }),
        ("fred@example.com", UriError::BadScheme { expected: "im" }),
        ("im:", UriError::EmptyLocalPart),
        ("im:@example.com", UriError::EmptyLocalPart),
        ("im:fred", UriError::MissingAt),
        ("im:fred?x=1", UriError::MissingAt),
        ("im:fred@", UriError::EmptyDomain),
        ("im:fred@?x=1", UriError::EmptyDomain),
        ("im:fr ed@x", UriError::InvalidLocalPart(2)),
        ("im:a..b@x", UriError::InvalidLocalPart(2)),
        ("im:.a@x", UriError::InvalidLocalPart(0)),
        ("im:a%4@x", UriError::InvalidLocalPart(1)),
        ("im:\"open@x", UriError::MissingAt),
        ("im:a@exa mple.com", UriError::InvalidDomain),
        ("im:a@example..com", UriError::InvalidDomain),
        ("im:a@[1.2.3.4", UriError::InvalidDomain),
        ("im:a@bücher.de", UriError::InvalidDomain),
        ("im:a@b?novalue", UriError::InvalidHeader),
        ("im:a@b?x=<y>", UriError::InvalidHeader),
        ("im:a@b?", UriError::InvalidHeader),
    ];
    for (s, e) in cases {
        assert_eq!(ImUri::parse(s).as_ref().map(ImUri::as_str), Err(e), "{s}");
    }
    assert_eq!(
        PresUri::parse("im:a@b"),
        Err(UriError::BadScheme { expected: "pres" })
    );
    let long = format!("im:{}@x", "a".repeat(MAX_URI_LEN));
    assert_eq!(ImUri::parse(&long), Err(UriError::TooLong));
    // Found by the cpim_message fuzz target: the cap holds under both
    // schemes, so the longest accepted im: URI still has a pres: twin.
    let longest = format!("im:{}@x", "a".repeat(MAX_URI_LEN - "pres:".len() - 2));
    let im = ImUri::parse(&longest).unwrap();
    assert_eq!(PresUri::parse(im.to_pres().as_str()).unwrap().to_im(), im);
    let one_more = format!("im:{}@x", "a".repeat(MAX_URI_LEN - "pres:".len() - 1));
    assert_eq!(ImUri::parse(&one_more), Err(UriError::TooLong));
}

#[test]
fn new_keeps_valid_user_parts() {
    let u = ImUri::new("alice.smith+tag", "example.com").unwrap();
    assert_eq!(u.as_str(), "im:alice.smith+tag@example.com");
    assert_eq!(ImUri::parse(u.as_str()).unwrap(), u);
    let u = ImUri::new("a%20b", "example.com").unwrap();
    assert_eq!(u.user(), "a%20b");
}

#[test]
fn new_percent_encodes_what_cannot_stand_raw() {
    let cases = [
        ("a;b", "a%3Bb"),
        ("a b", "a%20b"),
        ("a?b", "a%3Fb"),
        ("ü", "%C3%BC"),
        ("100%", "100%25"),
        (".lead", "%2Elead"),
        ("trail.", "trail%2E"),
        ("a..b", "a.%2Eb"),
        ("\"q\"", "%22q%22"),
        ("+1-555,x", "+1-555%2Cx"),
    ];
    for (user, want) in cases {
        let u = ImUri::new(user, "example.com").unwrap();
        assert_eq!(u.user(), want, "{user}");
        // Always re-parses to the same value.
        assert_eq!(ImUri::parse(u.as_str()).unwrap(), u, "{user}");
    }
}

#[test]
fn new_rejects_bad_parts() {
    assert_eq!(ImUri::new("", "example.com"), Err(UriError::EmptyLocalPart));
    assert_eq!(ImUri::new("a", ""), Err(UriError::EmptyDomain));
    assert_eq!(ImUri::new("a", "exa mple"), Err(UriError::InvalidDomain));
    assert_eq!(
        ImUri::new("a", "example.com:5060"),
        Err(UriError::InvalidDomain)
    );
    assert!(ImUri::new("a", "[::1]").is_ok());
    assert!(ImUri::new("a", "192.0.2.1").is_ok());
}

#[test]
fn im_pres_conversions() {
    let im = ImUri::parse("im:fred@example.com?x=1").unwrap();
    let pres = im.to_pres();
    assert_eq!(pres.as_str(), "pres:fred@example.com?x=1");
    assert_eq!(pres.user(), "fred");
    assert_eq!(pres.domain(), "example.com");
    assert_eq!(pres.headers().collect::<Vec<_>>(), vec![("x", "1")]);
    assert_eq!(pres.to_im(), im);
    let p = PresUri::new("bob", "example.org").unwrap();
    assert_eq!(p.as_str(), "pres:bob@example.org");
    assert_eq!(p.to_im().as_str(), "im:bob@example.org");
}
