//! Turns every chapter of the book into doc text that rustdoc tests.
//!
//! `mdbook test` cannot link the workspace's crates (mdBook issue #706), so
//! instead each chapter is expanded here exactly as mdBook would expand it,
//! written to `OUT_DIR`, and attached to an empty module as its documentation.
//! `cargo test` then runs every Rust block in it as a doctest named after the
//! chapter, with this crate's dependencies available.

#[path = "src/expand.rs"]
mod expand;
#[path = "src/files.rs"]
mod files;

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let book_dir = manifest_dir
        .join("../book")
        .canonicalize()
        .expect("the book/ directory");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").unwrap());
    let chapters_dir = out_dir.join("chapters");
    std::fs::create_dir_all(&chapters_dir).unwrap();

    // A directory makes Cargo rescan everything below it, so a new chapter is
    // picked up with no registration.
    println!("cargo:rerun-if-changed={}", book_dir.display());
    println!("cargo:rerun-if-changed=src/expand.rs");
    println!("cargo:rerun-if-changed=src/files.rs");

    let mut index = String::from("/// Every chapter of the book, after include expansion.\n");
    index.push_str("pub const CHAPTERS: &[Chapter] = &[\n");
    let mut modules = String::new();
    let mut seen_modules = std::collections::BTreeMap::new();

    for relative in files::chapter_files(&book_dir) {
        let path = book_dir.join(&relative);
        let source = std::fs::read_to_string(&path).unwrap();
        let expanded = expand::expand(&source, path.parent().unwrap())
            .unwrap_or_else(|error| panic!("book/{relative}: {error}"));
        for file in &expanded.included_files {
            println!("cargo:rerun-if-changed={}", file.display());
        }

        let module = module_name(&relative);
        if let Some(other) = seen_modules.insert(module.clone(), relative.clone()) {
            panic!("book/{relative} and book/{other} both become the doctest module `{module}`");
        }
        let out_file = chapters_dir.join(format!("{module}.md"));
        std::fs::write(&out_file, &expanded.text).unwrap();

        let out_file = out_file.display().to_string().replace('\\', "/");
        writeln!(
            index,
            "    Chapter {{ path: {relative:?}, module: {module:?}, markdown: \
                include_str!({out_file:?}) }},"
        )
        .unwrap();
        writeln!(modules, "/// Doctests of `book/{relative}`.").unwrap();
        writeln!(
            modules,
            "#[cfg(doctest)]\n#[doc = include_str!({out_file:?})]"
        )
        .unwrap();
        writeln!(modules, "pub mod {module} {{}}\n").unwrap();
    }
    index.push_str("];\n\n");
    std::fs::write(out_dir.join("chapters.rs"), index + &modules).unwrap();
}

/// `sessions/logging-in.md` becomes `sessions_logging_in`.
fn module_name(relative: &str) -> String {
    let stem = relative.strip_suffix(".md").unwrap_or(relative);
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "chapter_");
    }
    name
}
