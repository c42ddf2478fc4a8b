//! The café's integration tests: one binary, the real server on a free port,
//! real HTTP. `support` starts servers and speaks HTTP; `conformance` runs
//! against every mechanism; the other modules test one mechanism each, or
//! record the transcripts the book shows.

mod account_logins;
mod attack_lab;
mod browser;
mod cli;
mod conformance;
mod connection_timeouts;
mod defaults;
mod flags;
mod golden;
mod hardening;
mod hostile_input;
mod hybrid;
mod jwt;
mod logout;
mod many_servers;
mod migration;
mod orders;
mod probe;
mod recommended;
mod redis_robustness;
mod redis_server;
mod role_changes;
mod sessions;
mod side_by_side;
mod store_conformance;
mod support;
mod throttle;
mod token_lab;
mod transcripts;
