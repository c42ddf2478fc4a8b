//! The rules that keep the book honest, checked on the chapters exactly as
//! the doctests see them (after include expansion).

use book_tests::fences::{BlockKind, CodeBlock, code_blocks};
use book_tests::files::chapter_files;
use book_tests::{CHAPTERS, Chapter};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn book_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book")
}

fn blocks() -> impl Iterator<Item = (&'static Chapter, CodeBlock)> {
    CHAPTERS.iter().flat_map(|chapter| {
        code_blocks(chapter.markdown)
            .into_iter()
            .map(move |b| (chapter, b))
    })
}

#[test]
fn every_rust_block_is_one_the_harness_runs() {
    let refused: Vec<String> = blocks()
        .filter_map(|(chapter, block)| match block.kind {
            BlockKind::Refused(why) => Some(format!("book/{}:{}: {why}", chapter.path, block.line)),
            _ => None,
        })
        .collect();
    assert!(
        refused.is_empty(),
        "blocks the harness would not run:\n{}",
        refused.join("\n")
    );
}

#[test]
fn no_run_blocks_say_why_on_the_line_before() {
    let unexplained: Vec<String> = blocks()
        .filter(|(_, block)| block.has_attribute("no_run"))
        .filter(|(_, block)| !block.line_before.starts_with("<!-- no_run:"))
        .map(|(chapter, block)| format!("book/{}:{}", chapter.path, block.line))
        .collect();
    assert!(
        unexplained.is_empty(),
        "`no_run` blocks need `<!-- no_run: reason -->` on the line before:\n{}",
        unexplained.join("\n")
    );
}

/// play.rust-lang.org cannot build the workspace's crates, so a block that
/// uses any crate the harness links must not offer the Run button.
#[test]
fn blocks_using_workspace_crates_have_no_run_button() {
    let crates = harness_dependencies();
    let offending: Vec<String> = blocks()
        .filter(|(_, block)| matches!(block.kind, BlockKind::Rust { .. }))
        .filter(|(_, block)| !block.has_attribute("noplayground"))
        .filter_map(|(chapter, block)| {
            let used = crates
                .iter()
                .find(|name| block.code.contains(&format!("{name}::")))?;
            Some(format!(
                "book/{}:{} uses `{used}`",
                chapter.path, block.line
            ))
        })
        .collect();
    assert!(
        offending.is_empty(),
        "mark these `rust,noplayground`:\n{}",
        offending.join("\n")
    );
}

#[test]
fn the_harness_sees_every_chapter_file() {
    let on_disk = markdown_files(&book_dir());
    let harnessed: BTreeSet<String> = CHAPTERS.iter().map(|c| c.path.to_owned()).collect();
    assert_eq!(harnessed, on_disk);
}

#[test]
fn every_chapter_is_in_the_summary_and_every_entry_exists() {
    let summary = std::fs::read_to_string(book_dir().join("SUMMARY.md")).unwrap();
    let listed: BTreeSet<String> = summary_links(&summary).into_iter().collect();
    let on_disk = markdown_files(&book_dir());
    let orphans: Vec<_> = on_disk.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&on_disk).collect();
    assert!(
        orphans.is_empty(),
        "chapters not in SUMMARY.md (mdBook would not render them): {orphans:?}"
    );
    assert!(
        missing.is_empty(),
        "SUMMARY.md entries with no file: {missing:?}"
    );
}

/// The book uses three call-outs, styled in `theme/css/callouts.css`:
/// `[!CAUTION]` is a Myth, `[!NOTE]` is What we measured, `[!WARNING]` is Security.
#[test]
fn call_outs_are_myth_measured_or_security() {
    let allowed = ["[!CAUTION]", "[!NOTE]", "[!WARNING]"];
    let mut wrong = Vec::new();
    for chapter in CHAPTERS {
        for (number, line) in chapter.markdown.lines().enumerate() {
            let text = line.trim_start_matches(['>', ' ']);
            if text.starts_with("[!") && !allowed.iter().any(|a| text.trim_end() == *a) {
                wrong.push(format!("book/{}:{}: {text}", chapter.path, number + 1));
            }
        }
    }
    assert!(wrong.is_empty(), "unknown call-outs:\n{}", wrong.join("\n"));
}

#[test]
fn chapters_leave_no_placeholders() {
    let words = ["TODO", "FIXME", "XXX", "lorem ipsum", "coming soon"];
    let found: Vec<String> = CHAPTERS
        .iter()
        .flat_map(|c| {
            words
                .iter()
                .filter(|w| c.markdown.contains(**w))
                .map(move |w| format!("book/{}: {w}", c.path))
        })
        .collect();
    assert!(found.is_empty(), "{found:?}");
}

fn markdown_files(dir: &Path) -> BTreeSet<String> {
    chapter_files(dir).into_iter().collect()
}

/// The `.md` targets of `[Title](target.md)` links in SUMMARY.md.
fn summary_links(summary: &str) -> Vec<String> {
    summary
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| target.ends_with(".md"))
        .map(|target| target.trim_start_matches("./").to_owned())
        .collect()
}

/// The crates this harness links, as they are written in Rust paths.
fn harness_dependencies() -> Vec<String> {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let mut in_dependencies = false;
    let mut names = vec!["book_tests".to_owned()];
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]" || line == "[dev-dependencies]";
        } else if in_dependencies && !line.is_empty() && !line.starts_with('#') {
            let name = line.split(['.', '=', ' ']).next().unwrap_or_default();
            names.push(name.replace('-', "_"));
        }
    }
    names
}

#[test]
fn the_dependency_list_is_read_from_the_manifest() {
    let crates = harness_dependencies();
    assert!(crates.contains(&"sessions".to_owned()), "{crates:?}");
    assert!(crates.contains(&"serde_json".to_owned()), "{crates:?}");
}
