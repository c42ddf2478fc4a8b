//! The café's HS256 check (`jwt::tokens::verify_hs256`, which
//! `verify_ignoring_time` takes for the café's own tokens) against the
//! general path (`jwt::tokens::verify_with_jsonwebtoken`): the same verdict,
//! claims or refusal, on every token the token lab's vectors hold, on a
//! corpus of hand-built hostile tokens, and on generated ones. Every attack
//! test in `attacks.rs` compares the two paths as well, on each token it
//! checks (its `verify` is `compare::both_paths_at`).
//!
//! Each test counts the tokens it compared and asserts the count, and how
//! many the lean path decided, so that a comparison that silently ran on
//! nothing, or only on the general path, fails.

#[path = "differential/compare.rs"]
mod compare;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use compare::{Path, both_paths, both_paths_at};
use jwt::anatomy::hs256_signature;
use jwt::forge;
use jwt::keys::{KeyRing, SigningAlgorithm, SigningKey};
use jwt::tokens::{AccessClaims, MAX_TOKEN_BYTES, RefreshClaims, TokenError, TokenKind};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

const NOW: u64 = 1_767_258_000;
const ATTACKER_SECRET: &[u8] = b"the attacker's own key, 32 bytes or more";

// The token lab's demo keys (`examples/token-lab/src/lab.rs`), printed in
// the book. Only their verifying halves: the token-lab crate itself cannot
// be a dev-dependency here (a cycle that gives the book's doctests two
// `jwt` crates).
const DEMO_HS256_SECRET: &str = "the token lab's demo secret: it is printed in the book";
const DEMO_ES256_X: &str = "-MOf6Ksp6Xf_Z6Ji8PMAtH06yJphqfgVP-Fa78WSCzo";
const DEMO_ES256_Y: &str = "miHegKqtN-rEQf-7R1DDEv3DhqiaAsqzq5AA52ksQbQ";
const DEMO_EDDSA_X: &str = "5Su0Yyec90rcTZksNMRr94I-wj1gtDFIllRPLWoMymY";
const VECTOR_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../book/attacks/token-lab/vectors.json"
);

/// The token lab's ring: the three demo keys, so a token may name any.
/// The key pairs verify only, so they are given no private half.
fn lab_ring() -> KeyRing {
    let bytes = |text: &str| URL_SAFE_NO_PAD.decode(text).unwrap();
    let es256_point = [vec![4], bytes(DEMO_ES256_X), bytes(DEMO_ES256_Y)].concat();
    let hs256 = SigningAlgorithm::Hs256;
    let mut ring = KeyRing::new(
        SigningKey::hs256(hs256.first_key_id(), DEMO_HS256_SECRET.as_bytes()).unwrap(),
    );
    for (algorithm, public_key) in [
        (SigningAlgorithm::Es256, es256_point),
        (SigningAlgorithm::EdDsa, bytes(DEMO_EDDSA_X)),
    ] {
        let key = SigningKey::from_key_pair(algorithm.first_key_id(), algorithm, &[], &public_key);
        ring.also_verify(key.unwrap());
    }
    ring
}

/// One of the lab's vectors: what it sent, when, and what the café said.
#[derive(serde::Deserialize)]
struct Vector {
    description: String,
    kind: TokenKind,
    now: u64,
    token: String,
    verdict: Verdict,
}

#[derive(serde::Deserialize)]
struct Verdict {
    reason: String,
}

#[derive(serde::Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

/// Both paths on `token` as a token of `kind`, with that kind's claims.
fn compare(ring: &KeyRing, kind: TokenKind, token: &str) -> (Result<(), TokenError>, Path) {
    match kind {
        TokenKind::Access => {
            let (verdict, path) = both_paths::<AccessClaims>(ring, kind, token);
            (verdict.map(drop), path)
        }
        TokenKind::Refresh => {
            let (verdict, path) = both_paths::<RefreshClaims>(ring, kind, token);
            (verdict.map(drop), path)
        }
    }
}

/// How many tokens each path decided.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    lean: usize,
    general: usize,
}

impl Tally {
    fn add(&mut self, path: Path) {
        match path {
            Path::Lean => self.lean += 1,
            Path::General => self.general += 1,
        }
    }
    fn total(&self) -> usize {
        self.lean + self.general
    }
}

#[test]
fn every_token_lab_vector_gets_the_same_verdict_from_both_paths() {
    let ring = lab_ring();
    let text = std::fs::read_to_string(VECTOR_FILE).unwrap();
    let file: VectorFile = serde_json::from_str(&text).unwrap();
    let mut tally = Tally::default();
    for vector in &file.vectors {
        let (_, path) = compare(&ring, vector.kind, &vector.token);
        tally.add(path);
        // And with the clock, as the lab judged it: the recorded verdict.
        let verdict = match vector.kind {
            TokenKind::Access => {
                both_paths_at::<AccessClaims>(&ring, vector.kind, &vector.token, vector.now)
                    .map(drop)
            }
            TokenKind::Refresh => {
                both_paths_at::<RefreshClaims>(&ring, vector.kind, &vector.token, vector.now)
                    .map(drop)
            }
        };
        let reason = verdict.map_or_else(|refusal| refusal.to_string(), |()| "valid".to_owned());
        assert_eq!(reason, vector.verdict.reason, "{}", vector.description);
    }
    eprintln!("token lab vectors: {tally:?}");
    assert_eq!(tally.total(), 132, "the lab's vectors, each compared once");
    assert_eq!(tally.total(), file.vectors.len());
    assert!(tally.lean >= 40, "{tally:?}");
    assert!(tally.general >= 40, "{tally:?}");
}

/// `header.payload.signature` from header and payload text as given
/// (duplicates, escapes and spacing kept), signed with `key`.
fn signed_text(header: &str, payload: &str, key: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = hs256_signature(key, &input);
    format!("{input}.{signature}")
}

fn demo_signed(header: &Value, claims: &Value) -> String {
    forge::hmac_signed(header, claims, DEMO_HS256_SECRET.as_bytes())
}

fn access_header() -> Value {
    json!({ "alg": "HS256", "typ": "at+jwt", "kid": "hs256-1" })
}

fn access_claims() -> Value {
    json!({
        "iss": "cafe", "sub": "alice", "aud": "cafe-api",
        "iat": NOW, "nbf": NOW, "exp": NOW + 900,
        "jti": "j1", "role": "member", "sid": "s1", "ver": 0,
    })
}

fn refresh_claims() -> Value {
    json!({
        "iss": "cafe", "sub": "alice", "aud": "cafe-refresh",
        "iat": NOW, "nbf": NOW, "exp": NOW + 86_400,
        "jti": "j2", "sid": "s1",
    })
}

/// JSON values of every type, and near misses of the ones the café uses.
fn hostile_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(1),
        json!(-1),
        json!(1.5),
        json!(1e3),
        json!(u64::MAX),
        json!(-9_223_372_036_854_775_808_i64),
        json!(""),
        json!("x"),
        json!("1767258900"),
        json!([]),
        json!(["cafe-api"]),
        json!(["cafe"]),
        json!({}),
        json!({ "kty": "oct", "k": "c2VjcmV0" }),
    ]
}

/// Headers, claims, signatures and shapes an attacker or a broken client
/// might send: each member of the header and the claims given every kind
/// of value, taken away, doubled and re-spelt; every segment re-encoded.
fn hostile_corpus() -> Vec<(TokenKind, String)> {
    let mut tokens = Vec::new();
    let access = |token: String| (TokenKind::Access, token);
    let valid = demo_signed(&access_header(), &access_claims());
    tokens.push(access(valid.clone()));
    tokens.push((TokenKind::Refresh, valid.clone()));
    let refresh_header = json!({ "alg": "HS256", "typ": "refresh+jwt", "kid": "hs256-1" });
    tokens.push((
        TokenKind::Refresh,
        demo_signed(&refresh_header, &refresh_claims()),
    ));
    tokens.push(access(demo_signed(&refresh_header, &refresh_claims())));
    tokens.push(access(demo_signed(&access_header(), &refresh_claims())));

    // The header: every member given every value, and taken away.
    let algorithms = [
        "HS256", "HS384", "HS512", "ES256", "ES384", "RS256", "RS384", "RS512", "PS256", "PS384",
        "PS512", "EdDSA", "none", "None", "hs256", "HS256 ", "",
    ];
    let typs = [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/AT+JWT",
        "refresh+jwt",
        "JWT",
        "text/at+jwt",
        "at+jwt;charset=utf-8",
        "",
    ];
    let kids = ["hs256-1", "es256-1", "eddsa-1", "hs256-2", "HS256-1", ""];
    let named = [
        ("alg", &algorithms[..]),
        ("typ", &typs[..]),
        ("kid", &kids[..]),
    ];
    for (member, values) in named {
        for value in values {
            let mut header = access_header();
            header[member] = json!(value);
            tokens.push(access(demo_signed(&header, &access_claims())));
            tokens.push(access(forge::hmac_signed(
                &header,
                &access_claims(),
                ATTACKER_SECRET,
            )));
        }
        for value in hostile_values() {
            let mut header = access_header();
            header[member] = value;
            tokens.push(access(demo_signed(&header, &access_claims())));
        }
        let mut header = access_header();
        header.as_object_mut().unwrap().remove(member);
        tokens.push(access(demo_signed(&header, &access_claims())));
    }
    let others = [
        "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "cty", "crit", "enc", "zip", "url", "nonce",
        "b64", "extra",
    ];
    for member in others {
        for value in hostile_values() {
            let mut header = access_header();
            header[member] = value;
            tokens.push(access(demo_signed(&header, &access_claims())));
        }
    }

    // The header as text: duplicates, escapes, spacing, and not an object.
    let claims_text = access_claims().to_string();
    let header_texts = [
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256-1"}"#,
        r#"{"kid":"hs256-1","typ":"at+jwt","alg":"HS256"}"#,
        r#" { "alg" : "HS256" , "typ" : "at+jwt" , "kid" : "hs256-1" } "#,
        "{\"alg\":\"HS256\",\n\t\"typ\":\"at+jwt\",\r\"kid\":\"hs256-1\"}\n",
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256-1","alg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256-1","alg":"none"}"#,
        r#"{"alg":"none","typ":"at+jwt","kid":"hs256-1","alg":"HS256"}"#,
        r#"{"alg":"HS256","typ":"refresh+jwt","kid":"hs256-1","typ":"at+jwt"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256-1","typ":"refresh+jwt"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"es256-1","kid":"hs256-1"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256-1","extra":1,"extra":2}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256-1","jku":"a","jku":null}"#,
        r#"{"\u0061lg":"HS256","typ":"at+jwt","kid":"hs256-1"}"#,
        r#"{"alg":"HS\u0032\u0035\u0036","typ":"at+jwt","kid":"hs256-1"}"#,
        r#"{"alg":"HS256","typ":"at\u002bjwt","kid":"hs256-1"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256\u002d1"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256-1"}x"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256-1"}{}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256-1",}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256-1""#,
        "\u{feff}{\"alg\":\"HS256\",\"typ\":\"at+jwt\",\"kid\":\"hs256-1\"}",
        r#"{"alg":"HS256","typ":"at+jwt","kid":"hs256-1","":""}"#,
        r#"{"alg":"HS256","typ":"at+jwt\u0000","kid":"hs256-1"}"#,
        r#"{"alg":"HS256","typ":"at+jwt","kid":"\ud800"}"#,
        r#"[{"alg":"HS256","typ":"at+jwt","kid":"hs256-1"}]"#,
        r#"["HS256","at+jwt","hs256-1"]"#,
        r#" ["HS256","at+jwt","hs256-1"]"#,
        r#"{}"#,
        "null",
        "",
    ];
    for header in header_texts {
        tokens.push(access(signed_text(
            header,
            &claims_text,
            DEMO_HS256_SECRET.as_bytes(),
        )));
    }

    // The claims: every claim given every value, taken away, and the
    // audience and issuer of someone else.
    let header = access_header();
    for claim in access_claims().as_object().unwrap().keys() {
        for value in hostile_values() {
            let mut claims = access_claims();
            claims[claim.as_str()] = value;
            tokens.push(access(demo_signed(&header, &claims)));
        }
        let mut claims = access_claims();
        claims.as_object_mut().unwrap().remove(claim);
        tokens.push(access(demo_signed(&header, &claims)));
    }
    for (claim, value) in [
        ("iss", json!("cafe ")),
        ("iss", json!("CAFE")),
        ("aud", json!("cafe-refresh")),
        ("aud", json!(["cafe-api", "other"])),
        ("extra", json!({ "deep": [1, 2, 3] })),
        ("exp", json!(NOW - 3600)),
        ("nbf", json!(NOW + 3600)),
    ] {
        let claims = forge::with_claims(&access_claims(), &[(claim, value)]);
        tokens.push(access(demo_signed(&header, &claims)));
    }
    let header_text = access_header().to_string();
    let claim_texts = [
        claims_text.replacen(r#""iss":"cafe""#, r#""iss":"evil","iss":"cafe""#, 1),
        claims_text.replacen(r#""iss":"cafe""#, r#""iss":"cafe","iss":"evil""#, 1),
        claims_text.replacen(r#""aud":"cafe-api""#, r#""aud":"cafe-api","aud":"x""#, 1),
        claims_text.replacen(r#""role":"member""#, r#""role":"member","role":"admin""#, 1),
        claims_text.replacen(r#""sub":"alice""#, r#""s\u0075b":"alice""#, 1),
        claims_text.replacen(r#""role":"member""#, r#""role":"\u0061dmin""#, 1),
        claims_text.replacen(r#""exp":"#, r#""exp":1767258900,"exp":"#, 1),
        format!("{claims_text} "),
        format!("{claims_text}x"),
        claims_text.replacen('{', "[", 1),
        format!(
            r#"["cafe","alice","cafe-api",{NOW},{NOW},{},"j1","member","s1",0]"#,
            NOW + 900
        ),
        "{}".to_owned(),
        "null".to_owned(),
        String::new(),
    ];
    for claims in &claim_texts {
        tokens.push(access(signed_text(
            &header_text,
            claims,
            DEMO_HS256_SECRET.as_bytes(),
        )));
    }

    // The segments: re-spelt, cut, joined and padded.
    let (signing_input, signature) = valid.rsplit_once('.').unwrap();
    let (header_segment, payload_segment) = signing_input.split_once('.').unwrap();
    for respelt in forge::signature_respellings(signature) {
        tokens.push(access(format!("{signing_input}.{respelt}")));
    }
    for segment in [header_segment, payload_segment] {
        for respelt in forge::signature_respellings(segment) {
            let token = valid.replacen(segment, &respelt, 1);
            let (input, _) = token.rsplit_once('.').unwrap();
            let resigned = hs256_signature(DEMO_HS256_SECRET.as_bytes(), input);
            tokens.push(access(format!("{input}.{resigned}")));
            tokens.push(access(token));
        }
    }
    let mut flipped = signature.to_owned().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let undecodable_payload = format!("{header_segment}.{payload_segment}*");
    let undecodable_signed = format!(
        "{undecodable_payload}.{}",
        hs256_signature(DEMO_HS256_SECRET.as_bytes(), &undecodable_payload)
    );
    for token in [
        format!("{signing_input}.{flipped}"),
        format!("{signing_input}."),
        format!("{signing_input}.{}", &signature[..signature.len() - 1]),
        format!("{signing_input}.{signature}A"),
        format!("{signing_input}.{signature}AAAA"),
        format!(
            "{signing_input}.{}",
            signature.replace('_', "/").replace('-', "+")
        ),
        format!("{signing_input}.{signature}."),
        format!("{signing_input}.{signature}.{signature}"),
        format!("{header_segment}.{signature}"),
        format!("{header_segment}..{signature}"),
        format!(".{payload_segment}.{signature}"),
        format!(" {valid}"),
        format!("{valid} "),
        format!("{valid}\n"),
        undecodable_signed,
        signing_input.to_owned(),
        header_segment.to_owned(),
        "..".to_owned(),
        ".".to_owned(),
        String::new(),
        "a.b.c".to_owned(),
        "é.é.é".to_owned(),
    ] {
        tokens.push(access(token));
    }

    // The size cap: a valid token just at it, and one byte over.
    let bare = demo_signed(
        &header,
        &forge::with_claims(&access_claims(), &[("pad", json!(""))]),
    );
    let room = MAX_TOKEN_BYTES - bare.len();
    // Base64url turns 3 bytes into 4 characters: find the padding that
    // lands the token exactly on the cap, then one more.
    let at_cap = (0..room)
        .map(|pad| {
            let claims = forge::with_claims(&access_claims(), &[("pad", json!("p".repeat(pad)))]);
            demo_signed(&header, &claims)
        })
        .find(|token| token.len() >= MAX_TOKEN_BYTES - 2)
        .unwrap();
    tokens.push(access(at_cap.clone()));
    tokens.push(access(format!("{at_cap}AAA")));
    tokens.push(access("a".repeat(MAX_TOKEN_BYTES + 1)));
    tokens
}

/// The lean check finds a missing claim through the claims types, not a
/// list of its own: a claim one of them made optional would go unchecked
/// there only. So, for both kinds: without any one of the five claims the
/// café requires (`iss`, `sub`, `aud`, `exp`, `nbf`; RFC 9068 §2.2), the
/// lean path itself refuses the token, and the general path agrees.
#[test]
fn a_token_without_any_required_claim_is_refused_by_the_lean_path_in_both_kinds() {
    let ring = lab_ring();
    let refresh_header = json!({ "alg": "HS256", "typ": "refresh+jwt", "kid": "hs256-1" });
    let mut refused = 0;
    for (kind, header, claims) in [
        (TokenKind::Access, access_header(), access_claims()),
        (TokenKind::Refresh, refresh_header, refresh_claims()),
    ] {
        assert!(
            compare(&ring, kind, &demo_signed(&header, &claims))
                .0
                .is_ok()
        );
        for claim in ["iss", "sub", "aud", "exp", "nbf"] {
            let mut without = claims.clone();
            without.as_object_mut().unwrap().remove(claim);
            let (verdict, path) = compare(&ring, kind, &demo_signed(&header, &without));
            assert!(verdict.is_err(), "{kind:?} without {claim} was accepted");
            assert_eq!(path, Path::Lean, "{kind:?} without {claim}");
            refused += 1;
        }
    }
    assert_eq!(refused, 10);
}

#[test]
fn hand_built_hostile_tokens_get_the_same_verdict_from_both_paths() {
    let ring = lab_ring();
    let corpus = hostile_corpus();
    let mut tally = Tally::default();
    let mut accepted = 0;
    for (kind, token) in &corpus {
        let (verdict, path) = compare(&ring, *kind, token);
        tally.add(path);
        accepted += usize::from(verdict.is_ok());
    }
    eprintln!("hand-built tokens: {tally:?}, {accepted} accepted");
    assert_eq!(tally.total(), corpus.len());
    assert!(corpus.len() >= 500, "{} tokens", corpus.len());
    assert!(tally.lean >= 150, "{tally:?}");
    assert!(tally.general >= 150, "{tally:?}");
    assert!(accepted >= 10, "{accepted} accepted");
}

/// A JSON member list as text, duplicates and order kept.
fn object_text(members: &[(String, Value)]) -> String {
    let members: Vec<String> = members
        .iter()
        .map(|(name, value)| format!("{}:{value}", Value::from(name.as_str())))
        .collect();
    format!("{{{}}}", members.join(","))
}

/// The members of a JSON object, in order.
fn members_of(object: &Value) -> Vec<(String, Value)> {
    object
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// One change to a member list.
#[derive(Debug, Clone)]
enum Edit {
    Remove(prop::sample::Index),
    Replace(prop::sample::Index, Value),
    Double(prop::sample::Index, Value),
    Add(&'static str, Value),
    Swap(prop::sample::Index, prop::sample::Index),
}

impl Edit {
    fn apply(self, members: &mut Vec<(String, Value)>) {
        let len = members.len();
        if len == 0 {
            return;
        }
        match self {
            Edit::Remove(at) => {
                members.remove(at.index(len));
            }
            Edit::Replace(at, value) => members[at.index(len)].1 = value,
            Edit::Double(at, value) => {
                let name = members[at.index(len)].0.clone();
                members.push((name, value));
            }
            Edit::Add(name, value) => members.push((name.to_owned(), value)),
            Edit::Swap(a, b) => members.swap(a.index(len), b.index(len)),
        }
    }
}

/// A value for a header member or claim: another of the café's, or
/// anything.
fn any_value() -> impl Strategy<Value = Value> {
    let cafe = vec![
        json!("HS256"),
        json!("ES256"),
        json!("none"),
        json!("at+jwt"),
        json!("refresh+jwt"),
        json!("hs256-1"),
        json!("es256-1"),
        json!("cafe"),
        json!("cafe-api"),
        json!("cafe-refresh"),
        json!(["cafe-api"]),
        json!("alice"),
        json!(NOW),
        json!(NOW - 3600),
        json!(NOW + 3600),
    ];
    prop_oneof![
        3 => prop::sample::select(cafe),
        2 => prop::sample::select(hostile_values()),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        1 => ".{0,10}".prop_map(Value::from),
    ]
}

fn edits(extra_names: Vec<&'static str>) -> impl Strategy<Value = Vec<Edit>> {
    let index = any::<prop::sample::Index>;
    let edit = prop_oneof![
        (index()).prop_map(Edit::Remove),
        (index(), any_value()).prop_map(|(at, value)| Edit::Replace(at, value)),
        (index(), any_value()).prop_map(|(at, value)| Edit::Double(at, value)),
        (prop::sample::select(extra_names), any_value())
            .prop_map(|(name, value)| Edit::Add(name, value)),
        (index(), index()).prop_map(|(a, b)| Edit::Swap(a, b)),
    ];
    prop::collection::vec(edit, 0..3)
}

/// A token a verifier might be sent: the café's own header and claims
/// with up to two members of each taken away, replaced, doubled or added,
/// signed with the demo key most of the time, then perhaps damaged.
fn hostile_token() -> impl Strategy<Value = (TokenKind, String)> {
    let header_edits = edits(vec![
        "jku", "jwk", "x5c", "crit", "cty", "zip", "url", "extra",
    ]);
    let claim_edits = edits(vec!["extra", "scope", "pad", "iss", "aud", "exp", "nbf"]);
    let key = prop_oneof![
        8 => Just(Some(DEMO_HS256_SECRET.as_bytes())),
        1 => Just(Some(ATTACKER_SECRET)),
        1 => Just(None),
    ];
    let inserted = prop::sample::select(vec![".", "=", "+", "/", "A", " "]);
    let damage = prop_oneof![
        8 => Just(None),
        1 => (any::<prop::sample::Index>(), inserted).prop_map(Some),
    ];
    let kinds = (
        prop::sample::select(TokenKind::ALL.to_vec()),
        prop_oneof![6 => Just(false), 1 => Just(true)],
    );
    let random_signature = prop::collection::vec(any::<u8>(), 0..40);
    (
        kinds,
        header_edits,
        claim_edits,
        key,
        random_signature,
        damage,
    )
        .prop_map(
            |(
                (kind, other_kinds_token),
                header_edits,
                claim_edits,
                key,
                random_signature,
                damage,
            )| {
                let made_as = match (kind, other_kinds_token) {
                    (TokenKind::Access, false) | (TokenKind::Refresh, true) => TokenKind::Access,
                    _ => TokenKind::Refresh,
                };
                let (mut header, mut claims) = match made_as {
                    TokenKind::Access => {
                        (members_of(&access_header()), members_of(&access_claims()))
                    }
                    TokenKind::Refresh => (
                        members_of(
                            &json!({ "alg": "HS256", "typ": "refresh+jwt", "kid": "hs256-1" }),
                        ),
                        members_of(&refresh_claims()),
                    ),
                };
                header_edits
                    .into_iter()
                    .for_each(|edit| edit.apply(&mut header));
                claim_edits
                    .into_iter()
                    .for_each(|edit| edit.apply(&mut claims));
                let (header, claims) = (object_text(&header), object_text(&claims));
                let mut token = match key {
                    Some(key) => signed_text(&header, &claims, key),
                    None => format!(
                        "{}.{}.{}",
                        URL_SAFE_NO_PAD.encode(&header),
                        URL_SAFE_NO_PAD.encode(&claims),
                        forge::b64(&random_signature)
                    ),
                };
                if let Some((at, text)) = damage {
                    let at = at.index(token.len() + 1);
                    token.insert_str(at, text);
                }
                (kind, token)
            },
        )
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(4096)
}

#[test]
fn generated_hostile_tokens_get_the_same_verdict_from_both_paths() {
    let ring = lab_ring();
    let cases = cases();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let tally = std::cell::RefCell::new((Tally::default(), 0usize));
    runner
        .run(&hostile_token(), |(kind, token)| {
            let (verdict, path) = compare(&ring, kind, &token);
            let mut tally = tally.borrow_mut();
            tally.0.add(path);
            tally.1 += usize::from(verdict.is_ok());
            Ok(())
        })
        .unwrap();
    let (tally, accepted) = tally.into_inner();
    eprintln!("generated tokens: {tally:?}, {accepted} accepted");
    assert_eq!(tally.total(), usize::try_from(cases).unwrap(), "cases run");
    // Enough of each to mean something: the lean path decides the tokens
    // in the café's shape, the general path the rest, and some pass.
    let share = |part: usize| part * 10 >= tally.total();
    assert!(share(tally.lean) && share(tally.general), "{tally:?}");
    assert!(accepted > 0, "{accepted} accepted of {tally:?}");
}
