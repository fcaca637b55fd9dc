use crate::cpim::{MAX_TRANS_ID_LEN, NativeDetail, Response, Status, TransId, TransIdError};

#[test]
fn trans_id_new_checks() {
    assert_eq!(
        TransId::new("abc").map(|t| t.as_str().to_owned()),
        Ok("abc".to_owned())
    );
    assert_eq!(TransId::new(""), Err(TransIdError::Empty));
    assert_eq!(
        TransId::new(&"x".repeat(41)),
        Err(TransIdError::TooLong(41))
    );
    assert!(TransId::new(&"x".repeat(40)).is_ok());
    assert_eq!(TransId::new("a b"), Err(TransIdError::NotVisibleAscii));
    assert_eq!(TransId::new("é"), Err(TransIdError::NotVisibleAscii));
}

#[test]
fn trans_id_from_native_short_is_kept() {
    let t = TransId::from_native("z9hG4bK776asdhds");
    assert_eq!(t.as_str(), "z9hG4bK776asdhds");
    assert_eq!(t.to_string(), "z9hG4bK776asdhds");
}

#[test]
fn trans_id_from_native_long_is_stable_hash() {
    let native: String = (0..200u32)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let a = TransId::from_native(&native);
    let b = TransId::from_native(&native);
    assert_eq!(a, b);
    assert_eq!(a.as_str().len(), MAX_TRANS_ID_LEN);
    assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
    let mut other = native.clone();
    other.push('x');
    assert_ne!(TransId::from_native(&other), a);
    // Non-visible or empty natives are hashed too, and still valid.
    for n in ["", "has space", "ünïcode"] {
        let t = TransId::from_native(n);
        assert_eq!(t.as_str().len(), 40);
        assert!(TransId::new(t.as_str()).is_ok());
    }
}

#[test]
fn trans_id_digest_is_pinned() {
    // Guards against accidental changes to the hash (ids are persisted in logs
    // and correlation tables).
    let t = TransId::from_native(&"c".repeat(41));
    assert_eq!(t.as_str(), "bf5c461fe36d9f0a14394c9781ca360300804a67");
    let again = TransId::from_native(&"c".repeat(41));
    assert_eq!(t, again);
    assert_ne!(t, TransId::from_native(&"c".repeat(42)));
}

#[test]
fn status_spellings_follow_rfc3860() {
    assert_eq!(Status::Success.to_string(), "success");
    assert_eq!(Status::Failure.as_str(), "failure");
    assert_eq!(Status::Indeterminate.to_string(), "indeterminant");
}

#[test]
fn response_carries_native_detail() {
    let r = Response {
        trans_id: TransId::from_native("t1"),
        status: Status::Failure,
        detail: Some(NativeDetail::Xmpp("item-not-found".into())),
    };
    let copy = r.clone();
    assert_eq!(r, copy);
    assert_ne!(NativeDetail::Sip(404), NativeDetail::Timeout);
}
