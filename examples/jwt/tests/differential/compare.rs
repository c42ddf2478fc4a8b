//! Both paths on one token: the café's check (`verify_ignoring_time`, the
//! lean HS256 check for the café's own tokens) and jsonwebtoken's
//! (`verify_with_jsonwebtoken`). Their verdicts must be equal: the same
//! claims, or the same refusal, variant and words.

use jwt::keys::KeyRing;
use jwt::tokens::{
    RegisteredClaims, TimeClaims, TokenError, TokenKind, check_time, verify_hs256,
    verify_ignoring_time, verify_with_jsonwebtoken,
};
use serde::de::DeserializeOwned;
use std::fmt::Debug;

/// Which path gave the café's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The lean HS256 check.
    Lean,
    /// The token was not in the café's HS256 shape: jsonwebtoken decided.
    General,
}

/// Both verdicts on `token`, asserted equal; the verdict and which path
/// gave it.
pub fn both_paths<C>(keys: &KeyRing, kind: TokenKind, token: &str) -> (Result<C, TokenError>, Path)
where
    C: DeserializeOwned + RegisteredClaims + PartialEq + Debug,
{
    let cafe = verify_ignoring_time::<C>(keys, kind, token);
    let general = verify_with_jsonwebtoken::<C>(keys, kind, token);
    assert_eq!(
        cafe, general,
        "the two paths disagree on {kind:?} token {token:?}"
    );
    let path = match verify_hs256::<C>(keys, kind, token) {
        Some(lean) => {
            assert_eq!(
                lean, general,
                "the lean path disagrees on {kind:?} token {token:?}"
            );
            Path::Lean
        }
        None => Path::General,
    };
    (cafe, path)
}

/// [`both_paths`], then the clock: what `jwt::tokens::verify` says.
pub fn both_paths_at<C>(
    keys: &KeyRing,
    kind: TokenKind,
    token: &str,
    now: u64,
) -> Result<C, TokenError>
where
    C: DeserializeOwned + RegisteredClaims + TimeClaims + PartialEq + Debug,
{
    let (verdict, _) = both_paths::<C>(keys, kind, token);
    let checked = verdict.and_then(|claims| check_time(&claims, now).map(|()| claims));
    assert_eq!(
        checked,
        jwt::tokens::verify::<C>(keys, kind, token, now),
        "verify disagrees with its parts on {token:?}"
    );
    checked
}
