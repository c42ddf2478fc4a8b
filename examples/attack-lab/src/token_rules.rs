//! Tokens the verifier must refuse although nothing in them is forged, or
//! although only their spelling is: the wrong kind of token, too big or too
//! deeply nested, encoded oddly, with a claim twice, expired, not yet valid,
//! for another issuer or audience, and the twin of a logged-out ES256
//! token. The attacks that forge a signature or a key are in
//! [`attack_lab::token`]; both are the JWT family.

use attack_lab::token::{capture, key_holder_attack, key_holder_signed, needs_key, presented};
use attack_lab::{
    Attack, Call, Endpoint, Family, Lab, LabResult, Outcome, Targets, judge, judge_all,
};
use jwt::forge::{assemble, b64, ecdsa_twin, segment, signature_respellings};
use serde_json::json;

const FAMILY: Family = Family::Jwt;

/// The JWT attacks on well-signed or re-spelt tokens.
pub const ATTACKS: &[Attack] = &[
    Attack {
        name: "jwt-refresh-as-access",
        family: FAMILY,
        attempt: "the real refresh token sent as a bearer access token",
        defence: "401: `typ` and `aud` differ (refresh+jwt, cafe-refresh)",
        source: "RFC 8725 §3.11, §3.12; ASVS 5.0 9.2.2",
        targets: Targets::Tokens,
        run: |lab| Box::pin(refresh_as_access(lab)),
    },
    Attack {
        name: "jwt-access-as-refresh",
        family: FAMILY,
        attempt: "the real access token sent to /refresh as a refresh token",
        defence: "401",
        source: "RFC 8725 §3.11, §3.12; ASVS 5.0 9.2.2",
        targets: Targets::Tokens,
        run: |lab| Box::pin(access_as_refresh(lab)),
    },
    Attack {
        name: "jwt-oversized",
        family: FAMILY,
        attempt: "a 12 KiB token",
        defence: "401 before any decoding (the café's cap is 4 KiB)",
        source: "OWASP Denial of Service Cheat Sheet",
        targets: Targets::Tokens,
        run: |lab| Box::pin(oversized(lab)),
    },
    Attack {
        name: "jwt-deeply-nested",
        family: FAMILY,
        attempt: "claims nested 1,000 arrays deep, for parsers that recurse without a limit",
        defence: "401, no crash",
        source: "OWASP Denial of Service Cheat Sheet",
        targets: Targets::Tokens,
        run: |lab| Box::pin(deeply_nested(lab)),
    },
    Attack {
        name: "jwt-non-canonical-base64",
        family: FAMILY,
        attempt: "a real token whose signature is spelt differently: padding, unused bits set",
        defence: "401: one token has one spelling, so a denylist of token strings could not be \
            sidestepped",
        source: "RFC 7515 §2, Appendix C",
        targets: Targets::Tokens,
        run: |lab| Box::pin(non_canonical_base64(lab)),
    },
    Attack {
        name: "jwt-duplicate-claim",
        family: FAMILY,
        attempt: "signed with the server's key: `role` twice, member then admin",
        defence: "401: JSON with a member twice is refused, not read first- or last-wins",
        source: "RFC 7519 §4",
        targets: Targets::Tokens,
        run: |lab| Box::pin(duplicate_claim(lab)),
    },
    Attack {
        name: "jwt-crit-unknown",
        family: FAMILY,
        attempt: "signed with the server's key: `crit` naming an extension the server does not \
            know",
        defence: "401",
        source: "RFC 7515 §4.1.11",
        targets: Targets::Tokens,
        run: |lab| Box::pin(crit_unknown(lab)),
    },
    Attack {
        name: "jwt-expired",
        family: FAMILY,
        attempt: "signed with the server's key: `exp` 10 minutes past, beyond the few minutes \
            of leeway RFC 7519 allows (one 30 s past is sent too and its answer reported: \
            beyond the café's 5 s leeway, inside jsonwebtoken's default 60 s)",
        defence: "401 for the token 10 minutes past expiry",
        source: "RFC 7519 §4.1.4; ASVS 5.0 9.2.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(expired(lab)),
    },
    Attack {
        name: "jwt-not-yet-valid",
        family: FAMILY,
        attempt: "signed with the server's key: `nbf` an hour ahead",
        defence: "401",
        source: "RFC 7519 §4.1.5; ASVS 5.0 9.2.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(not_yet_valid(lab)),
    },
    Attack {
        name: "jwt-wrong-issuer",
        family: FAMILY,
        attempt: "signed with the server's key: another `iss`",
        defence: "401",
        source: "RFC 8725 §3.8",
        targets: Targets::Tokens,
        run: |lab| Box::pin(wrong_issuer(lab)),
    },
    Attack {
        name: "jwt-wrong-audience",
        family: FAMILY,
        attempt: "signed with the server's key: an `aud` for another service",
        defence: "401",
        source: "RFC 8725 §3.9; ASVS 5.0 9.2.3",
        targets: Targets::Tokens,
        run: |lab| Box::pin(wrong_audience(lab)),
    },
    Attack {
        name: "jwt-missing-expiry",
        family: FAMILY,
        attempt: "signed with the server's key: no `exp` at all, a token that never ends",
        defence: "401: `exp` is required",
        source: "RFC 7519 §4.1.4; ASVS 5.0 9.2.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(missing_expiry(lab)),
    },
    Attack {
        name: "jwt-untyped",
        family: FAMILY,
        attempt: "signed with the server's key: `typ: JWT` instead of `at+jwt`",
        defence: "401: explicit typing keeps other JWTs from passing as access tokens",
        source: "RFC 8725 §3.11; RFC 9068 §2.1",
        targets: Targets::Tokens,
        run: |lab| Box::pin(untyped(lab)),
    },
    Attack {
        name: "jwt-ecdsa-malleability",
        family: FAMILY,
        attempt: "after logout, the token's twin: the same ECDSA signature with s replaced by n − \
            s",
        defence: "401: the denylist keys on the login's `sid`, which the twin shares, not on the \
            token's bytes",
        source: "RFC 7518 §3.4; RFC 7519 §4.1.7",
        targets: Targets::ES256,
        run: |lab| Box::pin(ecdsa_malleability(lab)),
    },
];

async fn refresh_as_access(lab: &Lab) -> LabResult {
    // Without a refresh endpoint the login has no refresh token to misuse.
    lab.needs(Endpoint::Refresh)?;
    let login = lab.log_in(&lab.member().name).await?;
    presented(lab, login.refresh_token()?, "/me").await
}

async fn access_as_refresh(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let reply = lab.send(lab.refresh_call(login.access_token()?)).await?;
    judge(&reply, &[401], "/refresh took an access token")
}

async fn oversized(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let claims = captured.claims_with(&[("padding", json!("x".repeat(9 * 1024)))]);
    let token = assemble(&captured.header, &claims, &captured.signature);
    let reply = lab.send(Call::get("/me").bearer(&token)).await?;
    judge(&reply, &[401, 431], "the oversized token was accepted")
}

async fn deeply_nested(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let depth = 1000;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let mut claims_text = captured.claims.to_string();
    claims_text.pop();
    claims_text.push_str(&format!(",\"nested\":{nested}}}"));
    let token = format!(
        "{}.{}.{}",
        segment(&captured.header),
        b64(claims_text.as_bytes()),
        captured.signature
    );
    presented(lab, &token, "/me").await
}

/// Other spellings of the same signature bytes: `=` padding, and the last
/// character's unused low bits set (a lenient decoder reads both as the
/// original).
async fn non_canonical_base64(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let body = captured
        .token
        .rsplit_once('.')
        .map_or("", |(body, _)| body)
        .to_owned();
    let mut verdicts = Vec::new();
    for signature in signature_respellings(&captured.signature) {
        verdicts.push(presented(lab, &format!("{body}.{signature}"), "/me").await?);
    }
    judge_all(verdicts)
}

async fn duplicate_claim(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let mut claims_text = captured.key_holder_claims(lab, &[]).to_string();
    claims_text.pop();
    claims_text.push_str(",\"role\":\"admin\"}");
    key_holder_attack(lab, &[], claims_text).await
}

async fn crit_unknown(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let extra = [
        ("crit", json!(["cafe-ext"])),
        ("cafe-ext", json!("must be understood")),
    ];
    let claims = captured.key_holder_claims(lab, &[]);
    key_holder_attack(lab, &extra, claims.to_string()).await
}

/// How long ago the expired tokens ended. Only the second is judged: 10
/// minutes is beyond the "small leeway, usually no more than a few
/// minutes" RFC 7519 §4.1.4 lets a server allow. The first, 30 s, is
/// beyond the café's 5 s leeway and inside jsonwebtoken's default 60 s:
/// sent and its answer reported in the verdict, not judged, since the RFC
/// allows that much (the book's 5 s is its own recommendation).
const EXPIRED_AGO: [(i64, &str); 2] = [(30, "30 s"), (600, "10 minutes")];

async fn expired(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let mut seen = Vec::new();
    let mut judged = None;
    for (ago, shown) in EXPIRED_AGO {
        let exp = captured.issued_at() - ago;
        let then = exp - 900;
        let claims = captured.key_holder_claims(
            lab,
            &[
                ("iat", json!(then)),
                ("nbf", json!(then)),
                ("exp", json!(exp)),
            ],
        );
        let outcome = key_holder_attack(lab, &[], claims.to_string()).await?;
        let how = match &outcome {
            Outcome::Refused(how) => how.clone(),
            Outcome::Accepted(what) if ago < 60 => {
                format!("{what} — within the server's leeway")
            }
            Outcome::Accepted(what) => what.clone(),
            Outcome::Skipped(_) => return Ok(outcome),
        };
        seen.push(format!("{shown} past expiry: {how}"));
        judged = Some(outcome);
    }
    let seen = seen.join("; ");
    Ok(match judged {
        Some(Outcome::Accepted(_)) => Outcome::Accepted(seen),
        _ => Outcome::Refused(seen),
    })
}

async fn not_yet_valid(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let later = captured.issued_at() + 3600;
    let claims =
        captured.key_holder_claims(lab, &[("nbf", json!(later)), ("exp", json!(later + 900))]);
    key_holder_attack(lab, &[], claims.to_string()).await
}

async fn wrong_issuer(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let claims = captured.key_holder_claims(lab, &[("iss", json!("https://login.other.example"))]);
    key_holder_attack(lab, &[], claims.to_string()).await
}

async fn wrong_audience(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let claims = captured.key_holder_claims(lab, &[("aud", json!("payments-api"))]);
    key_holder_attack(lab, &[], claims.to_string()).await
}

async fn missing_expiry(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let mut claims = captured.key_holder_claims(lab, &[]);
    if let Some(members) = claims.as_object_mut() {
        members.remove("exp");
    }
    key_holder_attack(lab, &[], claims.to_string()).await
}

async fn untyped(lab: &Lab) -> LabResult {
    let captured = capture(lab).await?;
    let claims = captured.key_holder_claims(lab, &[]).to_string();
    match key_holder_signed(lab, json!({ "typ": "JWT" }), &claims) {
        Some(token) => presented(lab, &token?, "/me").await,
        None => Ok(needs_key()),
    }
}

async fn ecdsa_malleability(lab: &Lab) -> LabResult {
    let login = lab.log_in(&lab.member().name).await?;
    let token = login.access_token()?.to_owned();
    let twin = ecdsa_twin(&token).ok_or("not an ES256 token")?;
    let before = lab.send(Call::get("/me").bearer(&twin)).await?;
    lab.log_out(&login).await?;
    let original = lab.send(Call::get("/me").bearer(&token)).await?;
    if original.status == 200 {
        return Ok(Outcome::Skipped(
            "this server checks no denylist: the logged-out token itself still works \
             (see access-after-logout)"
                .to_owned(),
        ));
    }
    let after = lab.send(Call::get("/me").bearer(&twin)).await?;
    let twin_was = if before.status == 200 {
        "the twin verified while the login lasted"
    } else {
        "the verifier refused the twin outright"
    };
    match judge(&after, &[401], "the logged-out token's twin was accepted")? {
        Outcome::Refused(how) => Ok(Outcome::Refused(format!("{how}; {twin_was}"))),
        other => Ok(other),
    }
}
