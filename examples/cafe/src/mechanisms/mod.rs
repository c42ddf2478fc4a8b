//! The mechanisms that plug into the app through [`cafe::auth::Mechanism`].

pub mod jwt;
pub mod sessions;
