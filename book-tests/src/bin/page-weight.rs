//! Prints what each given page of a built book weighs, and fails when a page
//! is heavier than allowed.
//!
//! ```console
//! $ cargo run -p book-tests --bin page-weight -- build/html build/html/introduction.html
//! ```
//!
//! With `--at-most BYTES` the run fails if any page weighs more.

use book_tests::page_weight::page_weight;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut limit = None;
    let mut paths = Vec::new();
    while let Some(arg) = args.next() {
        if arg == "--at-most" {
            limit = args.next().and_then(|n| n.parse::<u64>().ok());
            if limit.is_none() {
                eprintln!("--at-most needs a number of bytes");
                return ExitCode::FAILURE;
            }
        } else {
            paths.push(PathBuf::from(arg));
        }
    }
    let Some((root, pages)) = paths.split_first() else {
        eprintln!("usage: page-weight [--at-most BYTES] BOOK_OUTPUT_DIR PAGE...");
        return ExitCode::FAILURE;
    };

    let mut ok = true;
    for page in pages {
        match page_weight(page, root) {
            Ok((total, parts)) => {
                println!(
                    "{}: {total} bytes in {} files",
                    page.display(),
                    parts.len() + 1
                );
                if limit.is_some_and(|limit| total > limit) {
                    eprintln!(
                        "  heavier than the allowed {} bytes",
                        limit.unwrap_or_default()
                    );
                    ok = false;
                }
            }
            Err(error) => {
                eprintln!("{}: {error}", page.display());
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
