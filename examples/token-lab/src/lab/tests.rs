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

/// The token of `kind` alice got at an ordinary login, from the vector file.
fn login_token(algorithm: &str, kind: TokenKind) -> Vector {
    let file = VectorFile::load().unwrap();
    file.login_token(algorithm, kind).unwrap().clone()
}

#[test]
fn a_login_token_is_valid_until_it_expires_for_every_algorithm() {
    for algorithm in ["HS256", "ES256", "EdDSA"] {
        let access = login_token(algorithm, TokenKind::Access);
        let (token, now) = (&access.token, access.now);
        let exp = jwt::anatomy::decode_unverified(token).unwrap().1["exp"]
            .as_u64()
            .unwrap();
        assert_eq!(check(token, TokenKind::Access, now).reason, "valid");
        // The café's leeway is 5 s: refused from exp + 5 on.
        assert!(check(token, TokenKind::Access, exp + 4).accepted);
        assert_eq!(check(token, TokenKind::Access, exp + 5).reason, "expired");
        assert_eq!(
            check(token, TokenKind::Refresh, now).reason,
            "wrong token type (typ header)"
        );
        let refresh = login_token(algorithm, TokenKind::Refresh);
        assert!(check(&refresh.token, TokenKind::Refresh, refresh.now).accepted);
    }
}

#[test]
fn an_unedited_token_put_together_again_is_the_same_token() {
    for algorithm in ["HS256", "ES256", "EdDSA"] {
        let token = login_token(algorithm, TokenKind::Access).token;
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
}

#[test]
fn each_signature_choice_gets_the_verdict_it_should() {
    let Vector { token, now, .. } = login_token("HS256", TokenKind::Access);
    let parts = take_apart(&token).unwrap();
    let admin = parts.payload.replace("\"member\"", "\"admin\"");
    let verdict = |signature| {
        let token = put_together(&parts.header, &admin, signature, &parts.signature).unwrap();
        check(&token, TokenKind::Access, now).reason
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
        let verdict = check(text, TokenKind::Access, 0);
        assert!(!verdict.accepted && !verdict.reason.is_empty(), "{text}");
    }
}

#[test]
fn every_vector_gets_its_recorded_verdict_natively() {
    let file = VectorFile::load().unwrap();
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
