//! Prints what each given page of a built book weighs, and fails when a page
//! loads more than allowed.
//!
//! ```console
//! $ cargo run -p book-tests --bin page-weight -- build/html build/html/introduction.html
//! ```
//!
//! With `--at-most BYTES` the run fails if what any page loads (its scripts,
//! style sheets and, with a diagram, Mermaid) weighs more. The page's own
//! HTML is printed beside it but not limited here: how much a page says is
//! the word limit's business (book-tests' `every_page_is_short_enough_to_finish`),
//! and a long generated table is text, not an asset.

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
                let loaded: u64 = parts.iter().map(|(_, size)| size).sum();
                println!(
                    "{}: {total} bytes in {} files ({loaded} bytes loaded, {} of HTML)",
                    page.display(),
                    parts.len() + 1,
                    total - loaded
                );
                if limit.is_some_and(|limit| loaded > limit) {
                    eprintln!(
                        "  loads more than the allowed {} bytes",
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
