//! The book's test harness.
//!
//! The build script expands every chapter under `book/` as mdBook would and
//! attaches it to an empty module as documentation, so `cargo test` runs each
//! chapter's Rust blocks as doctests named after the chapter (for example
//! `book-tests/src/lib.rs - introduction (line 12)`). The integration tests in
//! `tests/` then check the rules that keep the book honest: every Rust block
//! runs, every other block is tagged, every chapter is in `SUMMARY.md`,
//! every test a chapter cites is one `cargo test` lists (`cited_tests`).

pub mod cited_tests;
pub mod expand;
pub mod fences;
pub mod files;
pub mod page_weight;

/// One chapter of the book, as the doctests see it.
#[derive(Debug, Clone, Copy)]
pub struct Chapter {
    /// Path below `book/`, e.g. `introduction.md`.
    pub path: &'static str,
    /// The module whose doctests are this chapter's Rust blocks.
    pub module: &'static str,
    /// The chapter after `{{#include}}` expansion.
    pub markdown: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/chapters.rs"));
