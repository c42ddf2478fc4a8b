//! Unit tests for the module beside this folder: kept out of its file so
//! that the chapters, which include the whole file, stay light.

use super::*;

fn rfc_key() -> Vec<u8> {
    key_from_base64url(RFC7515_A1_KEY).unwrap()
}

#[test]
fn the_rfc_7515_example_verifies() {
    assert_eq!(verify_hs256(RFC7515_A1_TOKEN, &rfc_key()), Ok(()));
}

#[test]
fn the_rfc_7515_example_decodes_to_its_published_claims() {
    let (header, claims) = decode_unverified(RFC7515_A1_TOKEN).unwrap();
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "HS256");
    assert_eq!(claims["iss"], "joe");
    assert_eq!(claims["exp"], 1_300_819_380);
    assert_eq!(claims["http://example.com/is_root"], true);
}

#[test]
fn a_changed_payload_still_decodes_but_no_longer_verifies() {
    let segments = split(RFC7515_A1_TOKEN).unwrap();
    let forged_claims = URL_SAFE_NO_PAD.encode(br#"{"iss":"mallory","exp":1300819380}"#);
    let forged = format!(
        "{}.{}.{}",
        segments.header, forged_claims, segments.signature
    );
    let (_, claims) = decode_unverified(&forged).unwrap();
    assert_eq!(claims["iss"], "mallory");
    assert_eq!(
        verify_hs256(&forged, &rfc_key()),
        Err(AnatomyError::BadSignature)
    );
}

#[test]
fn the_wrong_key_does_not_verify() {
    assert_eq!(
        verify_hs256(RFC7515_A1_TOKEN, b"not the key"),
        Err(AnatomyError::BadSignature)
    );
}

#[test]
fn two_or_four_segments_are_refused() {
    assert_eq!(split("a.b"), Err(AnatomyError::SegmentCount(2)));
    assert_eq!(split("a.b.c.d"), Err(AnatomyError::SegmentCount(4)));
    assert_eq!(split(""), Err(AnatomyError::SegmentCount(1)));
}

#[test]
fn padded_or_standard_alphabet_base64_is_refused() {
    // `eyJhIjoxfQ==` is `{"a":1}` with padding; JWTs never pad (RFC 7515 §2).
    assert_eq!(
        decode_json("eyJhIjoxfQ==", "header"),
        Err(AnatomyError::Base64 { segment: "header" })
    );
    // `+` and `/` belong to the standard alphabet, not base64url.
    assert!(decode_json("eyJh+jox/Q", "header").is_err());
}

#[test]
fn a_segment_that_is_json_but_not_an_object_is_refused() {
    let array = URL_SAFE_NO_PAD.encode(b"[1,2]");
    assert_eq!(
        decode_json(&array, "payload"),
        Err(AnatomyError::NotJsonObject { segment: "payload" })
    );
}
