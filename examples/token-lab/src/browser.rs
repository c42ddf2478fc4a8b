//! What the page's script calls: the lab's functions, with strings in and
//! JSON text out, so the glue wasm-bindgen writes stays small.

// The exports wasm-bindgen generates contain `unsafe` blocks; this module
// itself has none.
#![allow(unsafe_code)]

use jwt::tokens::TokenKind;
use serde::Serialize;
use token_lab::Signature;
use wasm_bindgen::prelude::wasm_bindgen;

fn answer<T: Serialize>(result: Result<T, String>) -> String {
    let value = match result {
        Ok(value) => serde_json::json!({ "ok": value }),
        Err(error) => serde_json::json!({ "error": error }),
    };
    value.to_string()
}

fn parse<T: serde::de::DeserializeOwned>(name: &str, text: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| format!("unknown {name}: {text}"))
}

/// [`crate::take_apart`].
#[wasm_bindgen]
pub fn take_apart(token: &str) -> String {
    answer(crate::take_apart(token))
}

/// [`crate::put_together`]; `signature` is `keep`, `strip`, `demo-key` or
/// `attacker-key`.
#[wasm_bindgen]
pub fn put_together(header: &str, payload: &str, signature: &str, kept: &str) -> String {
    answer(
        parse::<Signature>("signature", signature)
            .and_then(|signature| crate::put_together(header, payload, signature, kept)),
    )
}

/// [`crate::check`]; `kind` is `access` or `refresh`, `now` in seconds.
#[wasm_bindgen]
pub fn check(token: &str, kind: &str, now: f64) -> String {
    answer(parse::<TokenKind>("kind", kind).map(|kind| crate::check(token, kind, now as u64)))
}

/// [`crate::DEMO_HS256_SECRET`], for the page to show.
#[wasm_bindgen]
pub fn demo_secret() -> String {
    crate::DEMO_HS256_SECRET.to_owned()
}
