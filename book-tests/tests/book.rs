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

/// Every function the repository defines (`fn name`), by name: what a
/// chapter's reference to a test or a function must match.
fn functions_defined_in(dirs: &[&str]) -> BTreeSet<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut names = BTreeSet::new();
    let mut pending: Vec<PathBuf> = dirs.iter().map(|dir| root.join(dir)).collect();
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            if path.ends_with("target") {
                continue;
            }
            let entries = std::fs::read_dir(&path).unwrap();
            pending.extend(entries.map(|entry| entry.unwrap().path()));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            let source = std::fs::read_to_string(&path).unwrap();
            for after in source.split("fn ").skip(1) {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                names.insert(name);
            }
        }
    }
    names
}

/// The `module::test_name` paths a chapter names in inline code: a last
/// segment with two or more underscores is a test or function of ours
/// (library paths such as `std::env::var` are not checked).
fn named_functions(markdown: &str) -> Vec<String> {
    markdown
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.contains("::") && !span.contains(char::is_whitespace))
        .filter_map(|span| span.rsplit("::").next())
        .filter(|last| last.matches('_').count() >= 2)
        .filter(|last| {
            last.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .map(str::to_owned)
        .collect()
}

/// A chapter that cites a test as its proof must cite one that exists: a
/// renamed or deleted test fails here, not silently in the reader's hands.
#[test]
fn every_test_the_book_names_exists() {
    let defined = functions_defined_in(&["examples", "perf", "book-tests"]);
    let named: usize = CHAPTERS
        .iter()
        .map(|chapter| named_functions(chapter.markdown).len())
        .sum();
    // The book cites about a hundred; far fewer means the reader broke.
    assert!(named > 50, "only {named} tests named in the whole book");
    let missing: Vec<String> = CHAPTERS
        .iter()
        .flat_map(|chapter| {
            named_functions(chapter.markdown)
                .into_iter()
                .filter(|name| !defined.contains(name))
                .map(move |name| format!("book/{}: {name}", chapter.path))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "no such test or function:\n{}",
        missing.join("\n")
    );
}

#[test]
fn named_functions_are_found_in_inline_code_only_when_they_look_like_ours() {
    let markdown = "proved by `sessions::an_idle_session_expires` and \
                    `conformance::<mode>::every_401_carries_a_challenge`; \
                    uses `std::env::var` and `attack-lab --list`";
    assert_eq!(
        named_functions(markdown),
        ["an_idle_session_expires", "every_401_carries_a_challenge"]
    );
}

/// A glossary entry (`## Term`) is linked from the chapter where its term
/// first appears in reading order, so the reader meets the link at the
/// first use.
#[test]
fn every_glossary_term_is_linked_where_it_is_first_used() {
    let summary = std::fs::read_to_string(book_dir().join("SUMMARY.md")).unwrap();
    let chapter = |path: &str| CHAPTERS.iter().find(|chapter| chapter.path == path);
    let glossary = chapter("glossary.md").expect("book/glossary.md");
    let terms = glossary_terms(glossary.markdown);
    assert!(terms.len() >= 30, "only {} glossary terms", terms.len());
    let reading_order: Vec<&Chapter> = summary_links(&summary)
        .iter()
        .filter(|path| *path != "glossary.md")
        .filter_map(|path| chapter(path))
        .collect();
    let mut unlinked = Vec::new();
    for (term, anchor) in &terms {
        let link = format!("glossary.md#{anchor}");
        match reading_order
            .iter()
            .find(|chapter| mentions(&prose(chapter.markdown), term))
        {
            None => unlinked.push(format!("{term}: used in no chapter")),
            Some(first) if !first.markdown.contains(&link) => unlinked.push(format!(
                "{term}: first used in book/{}, which does not link {link}",
                first.path
            )),
            Some(_) => {}
        }
    }
    assert!(unlinked.is_empty(), "{}", unlinked.join("\n"));
}

#[test]
fn glossary_terms_are_found_as_words_in_prose_only() {
    let markdown = "An [access token](https://example.com/kid) is short.\n\
                    ```text\nkid\n```\nThe kidney's `jti` claim.";
    let text = prose(markdown);
    assert!(mentions(&text, "Access token"));
    assert!(mentions(&text, "jti"));
    assert!(!mentions(&text, "kid"), "{text}");
    assert_eq!(
        glossary_terms("# Glossary\n## Session ID\ntext\n## BFF\n"),
        [
            ("Session ID".to_owned(), "session-id".to_owned()),
            ("BFF".to_owned(), "bff".to_owned())
        ]
    );
}

/// The `## Term` headings of the glossary, with the anchor mdBook gives each.
fn glossary_terms(markdown: &str) -> Vec<(String, String)> {
    markdown
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .map(|term| {
            let anchor = term
                .to_lowercase()
                .chars()
                .filter_map(|c| match c {
                    ' ' => Some('-'),
                    c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                    _ => None,
                })
                .collect();
            (term.to_owned(), anchor)
        })
        .collect()
}

/// A chapter's text without its code blocks and link targets: what a
/// reader reads as words.
fn prose(markdown: &str) -> String {
    let mut text = String::new();
    for line in lines_outside_code_blocks(markdown) {
        text.push_str(line);
        text.push('\n');
    }
    let mut without_targets = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("](") {
        without_targets.push_str(&rest[..start + 1]);
        rest = rest[start..]
            .find(')')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    without_targets.push_str(rest);
    without_targets
}

/// Whether `text` uses `term` as a word (any case, or its plural).
fn mentions(text: &str, term: &str) -> bool {
    let text = text.to_lowercase();
    let term = term.to_lowercase();
    let is_word_char = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric());
    text.match_indices(&term).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let mut after = text[at + term.len()..].chars();
        let mut next = after.next();
        if next == Some('s') {
            next = after.next();
        }
        !is_word_char(before) && !is_word_char(next)
    })
}

/// The lab's attacks a chapter cites as evidence (`access-after-logout`)
/// must be attacks the lab runs: a renamed attack fails here.
#[test]
fn every_attack_the_book_names_is_in_the_lab() {
    let lab: BTreeSet<&str> = attack_lab::catalogue()
        .iter()
        .map(|attack| attack.name)
        .collect();
    let families: BTreeSet<&str> = lab
        .iter()
        .filter_map(|name| name.split('-').next())
        .collect();
    let mut named = 0;
    let mut missing = Vec::new();
    for chapter in CHAPTERS {
        for span in inline_code(chapter.markdown) {
            let looks_like_an_attack = span.contains('-')
                && span
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && span.split('-').next().is_some_and(|f| families.contains(f));
            if !looks_like_an_attack {
                continue;
            }
            named += 1;
            if !lab.contains(span) {
                missing.push(format!("book/{}: {span}", chapter.path));
            }
        }
    }
    assert!(named > 30, "only {named} attacks named in the whole book");
    assert!(
        missing.is_empty(),
        "no such attack:\n{}",
        missing.join("\n")
    );
}

/// The inline code spans of a chapter (fenced blocks skipped).
fn inline_code(markdown: &str) -> Vec<&str> {
    lines_outside_code_blocks(markdown)
        .into_iter()
        .flat_map(|line| line.split('`').skip(1).step_by(2))
        .collect()
}

/// The lines of a chapter outside its fenced code blocks (the fences
/// themselves left out too).
fn lines_outside_code_blocks(markdown: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            lines.push(line);
        }
    }
    lines
}
