//! Fuzz checks for the `message/cpim` parser (RFC 3862) and `im:` URIs
//! (RFC 3860 Appendix A), house style B.13; the checks behind `fuzz_targets/cpim_message.rs`.
//!
//! Properties: parsing never panics; an accepted message keeps its bytes
//! exactly (`as_bytes() == input`, RFC 3862 §6); and parse → to_builder →
//! build → parse succeeds with the same semantic fields (compared through
//! `to_builder`, which holds From, To, cc, DateTime, Subjects, NS, Require,
//! unescaped extension values, MIME headers and content bytes).

use cpim_gateway::cpim::{CpimMessage, ImUri, PresUri};

/// Runs every property on one input (the libFuzzer entry point and the
/// `fuzz/regressions` replay both call this).
pub fn check(data: &[u8]) {
    // The fuzz crate does not depend on `bytes`; `Vec<u8>` converts into it.
    if let Ok(msg) = CpimMessage::parse(data.to_vec().into()) {
        assert_eq!(msg.as_bytes().as_ref(), data);
        assert!(data.ends_with(&msg.content()));
        assert!(data.ends_with(&msg.content_entity()));
        let builder = msg.to_builder();
        let rebuilt = builder.to_bytes();
        let again = match CpimMessage::parse(rebuilt.clone()) {
            Ok(m) => m,
            Err(e) => panic!(
                "built message does not parse: {e}\n{:?}",
                String::from_utf8_lossy(&rebuilt)
            ),
        };
        assert_eq!(again.to_builder(), builder);
        assert_eq!(again.content(), msg.content());
        assert_eq!(
            again.content_type(),
            msg.content_type()
                .map(|ct| ct.replace(['\r', '\n'], ""))
                .as_deref()
        );
    }
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(uri) = ImUri::parse(s)
    {
        let again = ImUri::parse(uri.as_str()).ok();
        assert_eq!(again.as_ref(), Some(&uri));
        assert_eq!(
            PresUri::parse(uri.to_pres().as_str())
                .ok()
                .map(|p| p.to_im()),
            Some(uri)
        );
    }
}
