//! The session layer, tower-sessions' `SessionManagerLayer`: as the docs
//! leave it (two settings), or with every knob turned to the book's
//! settings. What the layer has no knob for is in
//! [`hardening`](peer_axum_login::hardening).

use tower_sessions::{Expiry, SessionManagerLayer, SessionStore, cookie::SameSite};

use peer_axum_login::{PeerConfig, cookie_name};

// ANCHOR: session_layer
/// The session layer: the docs' two settings, or the book's.
pub fn session_layer<S: SessionStore>(store: S, config: &PeerConfig) -> SessionManagerLayer<S> {
    let expiry = Expiry::OnInactivity(config.idle_timeout);
    if !config.hardened {
        // As the example, word for word: everything else is tower-sessions'
        // default (cookie `id`, HttpOnly, SameSite=Strict, Path=/).
        return SessionManagerLayer::new(store)
            .with_secure(false)
            .with_expiry(expiry);
    }
    SessionManagerLayer::new(store)
        .with_name(cookie_name(true))
        // ASVS 5.0 3.3.1: Secure (tower-sessions' default, which every
        // example turns off).
        .with_secure(true)
        // ASVS 5.0 3.3.4: no script reads the session cookie.
        .with_http_only(true)
        // ASVS 5.0 3.3.2: the API is called from its own site only, so
        // Strict: no cross-site request carries the cookie.
        .with_same_site(SameSite::Strict)
        .with_path("/")
        .with_expiry(expiry)
        // tower-sessions counts only a *save* as activity ("Reading a
        // session is not considered activity", `tower-sessions-core@0.14.0
        // src/session.rs:959-964`), and with axum-login an ordinary request
        // only reads. Saving on every request makes `OnInactivity` the idle
        // timeout it says (ASVS 5.0 7.3.1); the absolute cap it then lacks
        // is `hardening::end_old_logins`.
        .with_always_save(true)
}
// ANCHOR_END: session_layer
