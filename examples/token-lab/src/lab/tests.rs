use super::*;

#[test]
fn the_demo_keys_public_halves_belong_to_their_private_keys() {
    for algorithm in [SigningAlgorithm::Es256, SigningAlgorithm::EdDsa] {
        let pkcs8 = STANDARD
            .decode(match algorithm {
                SigningAlgorithm::Es256 => DEMO_ES256_PKCS8,
                _ => DEMO_EDDSA_PKCS8,
            })
            .unwrap();
        let derived = SigningKey::from_pkcs8(algorithm.first_key_id(), algorithm, &pkcs8).unwrap();
        assert_eq!(
            serde_json::to_value(KeyRing::new(derived).jwks()).unwrap(),
            serde_json::to_value(KeyRing::new(demo_key(algorithm).unwrap()).jwks()).unwrap(),
            "{algorithm:?}"
        );
    }
}

#[test]
fn a_fresh_token_is_valid_until_it_expires_for_every_algorithm() {
    let now = 1_767_258_000;
    for algorithm in SigningAlgorithm::ALL {
        let token = fresh_token(algorithm, Kind::Access, now).unwrap();
        assert_eq!(check(&token, Kind::Access, now).reason, "valid");
        assert_eq!(
            check(&token, Kind::Access, now + 15 * 60 + 5).reason,
            "expired"
        );
        assert_eq!(
            check(&token, Kind::Refresh, now).reason,
            "wrong token type (typ header)"
        );
        let refresh = fresh_token(algorithm, Kind::Refresh, now).unwrap();
        assert!(check(&refresh, Kind::Refresh, now).accepted);
    }
}

#[test]
fn an_unedited_token_put_together_again_is_the_same_token() {
    let token = fresh_token(SigningAlgorithm::Es256, Kind::Access, 1_767_258_000).unwrap();
    let parts = take_apart(&token).unwrap();
    assert!(parts.payload.contains("\n  \"sub\": \"alice\",\n"));
    let again = put_together(
        &parts.header,
        &parts.payload,
        Signature::Keep,
        &parts.signature,
    );
    assert_eq!(again.unwrap(), token);
}

#[test]
fn each_signature_choice_gets_the_verdict_it_should() {
    let now = 1_767_258_000;
    let token = fresh_token(SigningAlgorithm::Hs256, Kind::Access, now).unwrap();
    let parts = take_apart(&token).unwrap();
    let admin = parts.payload.replace("\"member\"", "\"admin\"");
    let verdict = |signature| {
        let token = put_together(&parts.header, &admin, signature, &parts.signature).unwrap();
        check(&token, Kind::Access, now).reason
    };
    assert_eq!(verdict(Signature::Keep), "signature does not match");
    assert_eq!(verdict(Signature::Strip), "signature does not match");
    assert_eq!(verdict(Signature::AttackerKey), "signature does not match");
    assert_eq!(verdict(Signature::DemoKey), "valid");

    let no_kid = parts.header.replace("\"kid\"", "\"xid\"");
    let refused = put_together(&no_kid, &admin, Signature::DemoKey, "");
    assert_eq!(
        refused,
        Err("to sign with a demo key, the header needs a kid naming one".to_owned())
    );
}

#[test]
fn what_is_not_a_token_is_refused_with_a_reason_not_a_panic() {
    for text in [
        "",
        "a.b",
        "a.b.c.d",
        "!!.??.**",
        "eyJ9.eyJ9.",
        "é.é.é",
        "_w.e30.",
    ] {
        // `eyJ9` is `{"}`: text, so it can be shown and edited; `_w` is not text.
        assert_eq!(take_apart(text).is_err(), text != "eyJ9.eyJ9.", "{text}");
        let verdict = check(text, Kind::Access, 0);
        assert!(!verdict.accepted && !verdict.reason.is_empty(), "{text}");
    }
}

#[test]
fn every_vector_gets_its_recorded_verdict_natively() {
    let file: VectorFile =
        serde_json::from_str(&std::fs::read_to_string(VECTOR_FILE).unwrap()).unwrap();
    assert!(file.vectors.len() > 50, "{} vectors", file.vectors.len());
    for vector in &file.vectors {
        assert_eq!(
            check(&vector.token, vector.kind, vector.now),
            vector.verdict,
            "{} ({}, {:?})",
            vector.attack,
            vector.algorithm,
            vector.kind
        );
    }
}
