//! The mechanisms that plug into the app through [`crate::auth::Mechanism`].

pub mod jwt;
pub mod sessions;
