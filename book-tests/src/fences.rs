//! Finds the code blocks of a chapter and sorts them into Rust that the
//! harness runs, other languages, and blocks that break the book's rules.
//!
//! This file is shared by the build script (`#[path]`) and the library.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag};

/// Languages a non-Rust block may be tagged with. rustdoc skips these.
pub const OTHER_LANGUAGES: &[&str] = &[
    "text",
    "console",
    "http",
    "json",
    "mermaid",
    "toml",
    "sh",
    "bash",
    "html",
    "css",
    "javascript",
    "js",
    "diff",
    "yaml",
];

/// Attributes a Rust block may carry; all of them keep the block a doctest
/// that rustdoc compiles (and, but for `no_run`, runs).
pub const RUST_ATTRIBUTES: &[&str] = &[
    "noplayground",
    "no_run",
    "should_panic",
    "editable",
    "edition2021",
    "edition2024",
];

/// What a code block is, as far as the harness is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    /// A ```` ```rust ```` block that runs as a doctest, with its attributes.
    Rust {
        /// The attributes after `rust`, e.g. `noplayground`.
        attributes: Vec<String>,
    },
    /// A block in another language, which nothing runs.
    Other(String),
    /// A block the harness would not run, or that rustdoc would mistake for
    /// Rust; the reason says which.
    Refused(String),
}

/// One code block of a chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// One-based line of the opening fence, in the expanded chapter.
    pub line: usize,
    /// How the harness treats it.
    pub kind: BlockKind,
    /// The text inside the fences.
    pub code: String,
    /// The last non-blank line before the block (for `no_run` reasons).
    pub line_before: String,
}

impl CodeBlock {
    /// Whether this is a Rust block that carries `attribute`.
    pub fn has_attribute(&self, attribute: &str) -> bool {
        match &self.kind {
            BlockKind::Rust { attributes } => attributes.iter().any(|a| a == attribute),
            _ => false,
        }
    }
}

/// Classifies a fence's info string.
pub fn classify(info: &str) -> BlockKind {
    let mut tokens = info
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty());
    match tokens.next() {
        None => BlockKind::Refused(
            "untagged: rustdoc runs it as Rust; tag it rust, text, console, http, json or mermaid"
                .to_owned(),
        ),
        Some("rust") => {
            let attributes: Vec<String> = tokens.map(str::to_owned).collect();
            match attributes
                .iter()
                .find(|a| !RUST_ATTRIBUTES.contains(&a.as_str()))
            {
                Some(bad) if bad == "ignore" || bad.starts_with("ignore-") => {
                    BlockKind::Refused(format!("`{bad}`: every Rust block in the book runs"))
                }
                Some(bad) => BlockKind::Refused(format!(
                    "`{bad}` is not one of the allowed Rust attributes {RUST_ATTRIBUTES:?}"
                )),
                None => BlockKind::Rust { attributes },
            }
        }
        Some(language) if OTHER_LANGUAGES.contains(&language) => {
            BlockKind::Other(language.to_owned())
        }
        Some(other) => BlockKind::Refused(format!(
            "`{other}`: use `rust` for Rust, or one of {OTHER_LANGUAGES:?}"
        )),
    }
}

/// Every code block in a chapter, fenced or indented.
pub fn code_blocks(markdown: &str) -> Vec<CodeBlock> {
    let mut options = Options::empty();
    options.insert(Options::ENABLE_TABLES);
    options.insert(Options::ENABLE_FOOTNOTES);
    options.insert(Options::ENABLE_STRIKETHROUGH);
    options.insert(Options::ENABLE_TASKLISTS);
    options.insert(Options::ENABLE_HEADING_ATTRIBUTES);
    options.insert(Options::ENABLE_GFM);

    let mut blocks = Vec::new();
    let mut open: Option<CodeBlock> = None;
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let kind = match kind {
                    CodeBlockKind::Fenced(info) => classify(&info),
                    CodeBlockKind::Indented => BlockKind::Refused(
                        "indented code block: rustdoc runs it as Rust; use a fenced block"
                            .to_owned(),
                    ),
                };
                let before = &markdown[..range.start];
                open = Some(CodeBlock {
                    line: before.matches('\n').count() + 1,
                    kind,
                    code: String::new(),
                    line_before: before
                        .lines()
                        .rev()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                });
            }
            Event::Text(text) => {
                if let Some(block) = open.as_mut() {
                    block.code.push_str(&text);
                }
            }
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => blocks.extend(open.take()),
            _ => {}
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_with_known_attributes_runs() {
        assert_eq!(
            classify("rust,noplayground"),
            BlockKind::Rust {
                attributes: vec!["noplayground".to_owned()]
            }
        );
    }

    #[test]
    fn ignore_untagged_and_unknown_languages_are_refused() {
        for info in [
            "rust,ignore",
            "",
            "rs",
            "rust,compile_fail",
            "rust,ignore-wasm",
        ] {
            assert!(matches!(classify(info), BlockKind::Refused(_)), "{info:?}");
        }
    }

    #[test]
    fn other_languages_are_left_alone() {
        assert_eq!(classify("mermaid"), BlockKind::Other("mermaid".to_owned()));
    }

    #[test]
    fn blocks_are_found_with_their_lines_even_inside_quotes() {
        let md = "# T\n\n```rust\nlet a = 1;\n```\n\n\
                  > [!NOTE]\n> ```text\n> hi\n> ```\n\n    indented\n";
        let blocks = code_blocks(md);
        assert_eq!(blocks.len(), 3);
        assert_eq!(blocks[0].line, 3);
        assert_eq!(blocks[0].code, "let a = 1;\n");
        assert_eq!(blocks[1].kind, BlockKind::Other("text".to_owned()));
        assert!(matches!(blocks[2].kind, BlockKind::Refused(_)));
    }
}
