//! The rules that keep the book honest, checked on the chapters exactly as
//! the doctests see them (after include expansion).

use book_tests::cited_tests::{list_tests, resolves, same_name_elsewhere};
use book_tests::fences::{BlockKind, CodeBlock, code_blocks};
use book_tests::files::chapter_files;
use book_tests::{CHAPTERS, Chapter};
use std::collections::{BTreeMap, BTreeSet};
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

/// The tests a chapter cites in inline code (`module::test_name`): a span
/// with a path whose last segment has two or more underscores is a test of
/// ours (library paths such as `std::env::var` are not checked). Spans in
/// fenced code blocks are not citations.
fn cited_tests(markdown: &str) -> Vec<String> {
    inline_code(markdown)
        .into_iter()
        .filter(|span| span.contains("::") && !span.contains(char::is_whitespace))
        .filter(|span| {
            span.rsplit("::").next().is_some_and(|last| {
                last.matches('_').count() >= 2
                    && last
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            })
        })
        .map(str::to_owned)
        .collect()
}

/// A chapter that cites a test as its proof must cite one that exists, by
/// the full path `cargo test -- --list` prints (a test at the top of its
/// binary with the binary's name first: `attacks::…`). A renamed or moved
/// test, or the right name under the wrong module
/// (`conformance::jwt::…` for `conformance::jwt_checked::…`), fails here,
/// not silently in the reader's hands. A test named without its module
/// fails too.
///
/// The names come from the test binaries `cargo test` built (see
/// `book_tests::cited_tests`). Without them (`cargo test -p book-tests`
/// alone) a citation not found is reported and the check skipped, except
/// under `CI`, where it fails; a right name under a wrong module fails
/// always.
#[test]
fn every_test_the_book_names_exists() {
    let cited: Vec<(&Chapter, String)> = CHAPTERS
        .iter()
        .flat_map(|chapter| {
            cited_tests(chapter.markdown)
                .into_iter()
                .map(move |name| (chapter, name))
        })
        .collect();
    // The book cites over a hundred; far fewer means the reader broke.
    assert!(
        cited.len() > 100,
        "only {} tests named in the whole book",
        cited.len()
    );
    let this_binary = std::env::current_exe().unwrap();
    let deps = this_binary.parent().unwrap();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let listing = list_tests(&workspace, deps);
    let how_to_build = "build every test binary first: `cargo test` (the whole \
                        workspace; `cargo test --workspace --no-run` builds them without running)";
    if listing.tests.is_empty() {
        let message = format!(
            "no test binaries to list in {}: cannot check the {} tests the book cites; \
             {how_to_build}",
            deps.display(),
            cited.len()
        );
        assert!(std::env::var_os("CI").is_none(), "{message}");
        eprintln!("SKIPPED every_test_the_book_names_exists: {message}");
        return;
    }
    let mut wrong_module = Vec::new();
    let mut not_found = Vec::new();
    for (chapter, citation) in &cited {
        if resolves(citation, &listing.tests) {
            continue;
        }
        let elsewhere = same_name_elsewhere(citation, &listing.tests);
        let line = format!("book/{}: `{citation}`", chapter.path);
        if elsewhere.is_empty() {
            not_found.push(line);
        } else {
            wrong_module.push(format!("{line}, but cargo lists {}", elsewhere.join(", ")));
        }
    }
    let bare = bare_test_names(&listing.tests);
    assert!(
        wrong_module.is_empty() && bare.is_empty(),
        "cite a test by its full path, as `cargo test -- --list` prints it:\n{}",
        wrong_module
            .into_iter()
            .chain(bare)
            .collect::<Vec<_>>()
            .join("\n")
    );
    if not_found.is_empty() {
        return;
    }
    let mut message = format!("no such test:\n{}", not_found.join("\n"));
    if listing.is_incomplete() {
        message.push_str(&format!(
            "\n\nbut the tests were listed from an incomplete build; {how_to_build}.\n\
             no test binary: {}\nolder than its sources: {}",
            listing.missing.join(", "),
            listing.stale.join(", ")
        ));
        if std::env::var_os("CI").is_none() {
            eprintln!("SKIPPED every_test_the_book_names_exists: {message}");
            return;
        }
    }
    panic!("{message}");
}

/// Inline code that is only a test's name, which a reader cannot find
/// without its module: `attacks::an_unknown_or_missing_kid_is_refused`,
/// not `an_unknown_or_missing_kid_is_refused`.
fn bare_test_names(tests: &BTreeSet<String>) -> Vec<String> {
    let by_name: BTreeMap<&str, &str> = tests
        .iter()
        .filter_map(|test| Some((test.rsplit("::").next()?, test.as_str())))
        .collect();
    CHAPTERS
        .iter()
        .flat_map(|chapter| {
            inline_code(chapter.markdown)
                .into_iter()
                .filter_map(|span| by_name.get(span))
                .map(move |full| {
                    format!("book/{}: `{full}` named without its module", chapter.path)
                })
        })
        .collect()
}

#[test]
fn named_functions_are_found_in_inline_code_only_when_they_look_like_ours() {
    let markdown = "proved by `sessions::an_idle_session_expires` and \
                    `conformance::<mode>::every_401_carries_a_challenge`; \
                    uses `std::env::var` and `attack-lab --list`, \
                    `conformance::jwt_checked::a_banned_user_is_refused`.\n\
                    ```text\n`not::a_citation_in_a_block`\n```\n";
    assert_eq!(
        cited_tests(markdown),
        [
            "sessions::an_idle_session_expires",
            "conformance::<mode>::every_401_carries_a_challenge",
            "conformance::jwt_checked::a_banned_user_is_refused"
        ]
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

/// Most words a page may ask a reader to read (issue 25).
const MOST_WORDS_ON_A_PAGE: usize = 1_800;

/// A reader finishes a page: none of the pages `SUMMARY.md` lists has more
/// than `MOST_WORDS_ON_A_PAGE` words a reader meets on the rendered page.
/// Included Markdown fragments (`.md`, `.part`: tables, generated results)
/// count; code blocks, code files and HTML comments do not. Over the limit,
/// move generated detail to a linked appendix page and cut what another page
/// (or the answer table) already says.
#[test]
fn every_page_is_short_enough_to_finish() {
    let summary = std::fs::read_to_string(book_dir().join("SUMMARY.md")).unwrap();
    let mut counted = 0;
    let mut too_long = Vec::new();
    for page in summary_links(&summary) {
        let path = book_dir().join(&page);
        let source = std::fs::read_to_string(&path).unwrap();
        let words = words_a_reader_meets(&source, path.parent().unwrap());
        counted += 1;
        // `cargo test -p book-tests --test book every_page -- --nocapture`
        // lists every page's count: what the closing notes of issues quote.
        println!("{words:>5} book/{page}");
        if words > MOST_WORDS_ON_A_PAGE {
            too_long.push(format!("book/{page}: {words} words"));
        }
    }
    assert!(counted > 30, "only {counted} pages in SUMMARY.md");
    assert!(
        too_long.is_empty(),
        "pages over {MOST_WORDS_ON_A_PAGE} words (code blocks and HTML comments left out, \
         included Markdown counted):\n{}",
        too_long.join("\n")
    );
}

/// The words of a page as a reader meets them: its Markdown includes
/// expanded, its includes of code files dropped, and then everything outside
/// code blocks and HTML comments that holds a letter or a digit (a table's
/// `|` and `---` are not words; link targets are not read).
fn words_a_reader_meets(source: &str, base_dir: &Path) -> usize {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let markdown = book_tests::expand::expand(&without_code_includes(source), base_dir)
        .unwrap_or_else(|error| panic!("{error}"))
        .text;
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_FOOTNOTES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_GFM);
    let mut text = String::new();
    let mut in_code_block = false;
    for event in Parser::new_ext(&markdown, options) {
        match event {
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            Event::Text(words) | Event::Code(words) if !in_code_block => text.push_str(&words),
            Event::Html(html) | Event::InlineHtml(html) => text.push_str(&html),
            Event::End(
                TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough | TagEnd::Link,
            ) => {}
            Event::End(_) | Event::SoftBreak | Event::HardBreak => text.push(' '),
            _ => {}
        }
    }
    without_html(&text)
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .count()
}

/// `source` without its `{{#include}}`-style links to anything but
/// Markdown (`.md`, `.part`): code files are shown in code blocks.
fn without_code_includes(source: &str) -> String {
    let mut kept = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(start) = rest.find("{{#") {
        let Some(length) = rest[start..].find("}}") else {
            break;
        };
        let link = &rest[start..start + length + 2];
        let file = link[3..link.len() - 2]
            .split_whitespace()
            .nth(1)
            .and_then(|target| target.split(':').next())
            .unwrap_or_default();
        kept.push_str(&rest[..start]);
        if file.ends_with(".md") || file.ends_with(".part") {
            kept.push_str(link);
        }
        rest = &rest[start + length + 2..];
    }
    kept.push_str(rest);
    kept
}

/// `text` with HTML comments and tags taken out, each leaving a space.
fn without_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let comment = rest.find("<!--");
        let tag = rest
            .match_indices('<')
            .find(|(at, _)| {
                rest[at + 1..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '/')
            })
            .map(|(at, _)| at);
        let (start, end_marker) = match (comment, tag) {
            (Some(c), Some(t)) if c <= t => (c, "-->"),
            (Some(c), None) => (c, "-->"),
            (_, Some(t)) => (t, ">"),
            (None, None) => break,
        };
        out.push_str(&rest[..start]);
        out.push(' ');
        rest = rest[start..]
            .find(end_marker)
            .map_or("", |end| &rest[start + end + end_marker.len()..]);
    }
    out.push_str(rest);
    out
}

#[test]
fn a_pages_words_leave_out_code_comments_and_link_targets() {
    let dir = std::env::temp_dir().join(format!("book-tests-words-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("table.md.part"),
        "<!-- not read -->\n| mode | status |\n| --- | --- |\n| sessions | 200 |\n",
    )
    .unwrap();
    let page = "# Logging in\n<!-- Generated by nobody -->\nAlice orders a **flat** \
                white, see [the café](cafe.md) and `cafe serve`.\n\n\
                {{#include table.md.part}}\n\n\
                ```text\nnot counted at all\n```\n\
                {{#include ../examples/cafe/src/lib.rs:app}}\n\
                {{#include ../examples/cafe/Cargo.toml}}\n";
    // Logging in / Alice orders a flat white, see the café and cafe serve /
    // mode status sessions 200
    assert_eq!(words_a_reader_meets(page, &dir), 17);
}
