//! A [`SessionKey`] read back from the hex a store's per-user index keeps
//! it as. A module of its own because chapters compile `id.rs` and
//! `store.rs` whole, as doctests outside this crate, where an
//! `impl SessionKey` cannot be written; and the introduction's page carries
//! all of `id.rs`, so it stays short.

use sessions::id::SessionKey;

impl SessionKey {
    /// The key that [`SessionKey::to_hex`] wrote, as a store reads it back
    /// from an index; `None` for anything else.
    /// (with no shard: see [`SessionKey::in_shard`]).
    pub fn from_hex(hex: &str) -> Option<SessionKey> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut key = [0u8; 32];
        for (byte, pair) in key.iter_mut().zip(hex.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(SessionKey {
            hash: key,
            shard: None,
        })
    }

    /// The same key, in `shard`: a store that files a user's sessions in
    /// one shard knows it from the user.
    pub fn in_shard(self, shard: Option<u32>) -> SessionKey {
        SessionKey { shard, ..self }
    }
}
