//! Expands `{{#include}}`, `{{#rustdoc_include}}`, `{{#playground}}` and
//! `{{#title}}` exactly as mdBook 0.5's `links` preprocessor does, with one
//! difference: a missing file or anchor is an error here, where mdBook logs it
//! (missing file) or silently renders an empty block (missing anchor).
//!
//! This file is shared by the build script (`#[path]`) and the library.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// mdBook stops expanding nested includes at this depth.
const MAX_DEPTH: usize = 10;

/// A chapter after expansion, and every file it pulled in.
#[derive(Debug, Default)]
pub struct Expanded {
    /// The Markdown the renderer (and rustdoc) sees.
    pub text: String,
    /// Files read while expanding, for `cargo:rerun-if-changed`.
    pub included_files: Vec<PathBuf>,
}

/// Why a chapter could not be expanded.
#[derive(Debug, PartialEq, Eq)]
pub enum ExpandError {
    /// The included file could not be read.
    MissingFile {
        /// The link as written in the chapter.
        link: String,
        /// Where it pointed.
        path: PathBuf,
    },
    /// The file has no `ANCHOR: name` line.
    MissingAnchor {
        /// The link as written in the chapter.
        link: String,
        /// The anchor that was asked for.
        anchor: String,
    },
    /// The anchor starts but never ends.
    UnclosedAnchor {
        /// The link as written in the chapter.
        link: String,
        /// The anchor that was asked for.
        anchor: String,
    },
    /// Includes nest deeper than mdBook allows: probably a cycle.
    TooDeep {
        /// The link at which expansion stopped.
        link: String,
    },
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpandError::MissingFile { link, path } => {
                write!(f, "{link}: cannot read {}", path.display())
            }
            ExpandError::MissingAnchor { link, anchor } => {
                write!(f, "{link}: no `ANCHOR: {anchor}` in the file")
            }
            ExpandError::UnclosedAnchor { link, anchor } => {
                write!(
                    f,
                    "{link}: `ANCHOR: {anchor}` has no `ANCHOR_END: {anchor}`"
                )
            }
            ExpandError::TooDeep { link } => {
                write!(f, "{link}: includes nest more than {MAX_DEPTH} deep")
            }
        }
    }
}

impl std::error::Error for ExpandError {}

/// Expands every link in `text`, resolving paths against `base_dir`
/// (the directory of the chapter file).
pub fn expand(text: &str, base_dir: &Path) -> Result<Expanded, ExpandError> {
    let mut expanded = Expanded::default();
    expanded.text = expand_at_depth(text, base_dir, 0, &mut expanded.included_files)?;
    Ok(expanded)
}

fn expand_at_depth(
    text: &str,
    base_dir: &Path,
    depth: usize,
    included: &mut Vec<PathBuf>,
) -> Result<String, ExpandError> {
    let mut out = String::with_capacity(text.len());
    let mut copied_up_to = 0;
    for link in find_links(text) {
        out.push_str(&text[copied_up_to..link.span.start]);
        copied_up_to = link.span.end;
        let link_text = &text[link.span.clone()];
        match link.kind {
            LinkKind::Escaped => out.push_str(&link_text[1..]),
            LinkKind::Title => {}
            LinkKind::Include {
                path,
                selection,
                rustdoc,
                playground_attrs,
            } => {
                if depth >= MAX_DEPTH {
                    return Err(ExpandError::TooDeep {
                        link: link_text.to_owned(),
                    });
                }
                let target = base_dir.join(path);
                let source =
                    std::fs::read_to_string(&target).map_err(|_| ExpandError::MissingFile {
                        link: link_text.to_owned(),
                        path: target.clone(),
                    })?;
                included.push(target.clone());
                let body = match (playground_attrs, selection) {
                    (Some(attrs), _) => playground_block(&source, &attrs),
                    (None, Selection::Lines(range)) if rustdoc => {
                        hide_outside_lines(&source, range)
                    }
                    (None, Selection::Lines(range)) => take_lines(&source, range),
                    (None, Selection::Anchor(anchor)) => take_anchor(&source, &anchor, rustdoc)
                        .map_err(|unclosed| {
                            let link = link_text.to_owned();
                            if unclosed {
                                ExpandError::UnclosedAnchor { link, anchor }
                            } else {
                                ExpandError::MissingAnchor { link, anchor }
                            }
                        })?,
                };
                let nested_base = target.parent().unwrap_or(base_dir).to_path_buf();
                out.push_str(&expand_at_depth(&body, &nested_base, depth + 1, included)?);
            }
        }
    }
    out.push_str(&text[copied_up_to..]);
    Ok(out)
}

/// Which lines of a file an include takes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selection {
    /// Zero-based, end exclusive; `None` is open.
    Lines(LineRange),
    Anchor(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct LineRange {
    start: usize,
    end: Option<usize>,
}

impl LineRange {
    fn contains(&self, index: usize) -> bool {
        index >= self.start && self.end.is_none_or(|end| index < end)
    }
}

#[derive(Debug)]
enum LinkKind<'a> {
    Escaped,
    Title,
    Include {
        path: &'a str,
        selection: Selection,
        rustdoc: bool,
        playground_attrs: Option<Vec<&'a str>>,
    },
}

#[derive(Debug)]
struct Link<'a> {
    span: Range<usize>,
    kind: LinkKind<'a>,
}

/// Finds links the way mdBook's regex does: `\{{#…}}` (escaped, greedy to the
/// last `}}` on the line) or `{{ #type target… }}`.
fn find_links(text: &str) -> Vec<Link<'_>> {
    let mut links = Vec::new();
    let mut at = 0;
    while let Some(offset) = text[at..].find("{{") {
        let start = at + offset;
        if start > 0 && text.as_bytes()[start - 1] == b'\\' && text[start..].starts_with("{{#") {
            let line_end = text[start..].find('\n').map_or(text.len(), |n| start + n);
            if let Some(close) = text[start..line_end].rfind("}}") {
                let end = start + close + 2;
                links.push(Link {
                    span: start - 1..end,
                    kind: LinkKind::Escaped,
                });
                at = end;
                continue;
            }
        }
        match parse_link(text, start) {
            Some(link) => {
                at = link.span.end;
                links.push(link);
            }
            None => at = start + 2,
        }
    }
    links
}

fn parse_link(text: &str, start: usize) -> Option<Link<'_>> {
    let rest = &text[start + 2..];
    let after_space = rest.trim_start();
    let after_hash = after_space.strip_prefix('#')?;
    let name_len = after_hash
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(after_hash.len());
    let (name, after_name) = after_hash.split_at(name_len);
    if name.is_empty() || !after_name.starts_with(char::is_whitespace) {
        return None;
    }
    let close = after_name.find('}')?;
    if !after_name[close..].starts_with("}}") || after_name[..close].trim().is_empty() {
        return None;
    }
    let target = &after_name[..close];
    let end = text.len() - after_name.len() + close + 2;
    let mut words = target.split_whitespace();
    let file_arg = words.next()?;
    let (path, selection) = parse_target(file_arg);
    let kind = match name {
        "include" => LinkKind::Include {
            path,
            selection,
            rustdoc: false,
            playground_attrs: None,
        },
        "rustdoc_include" => LinkKind::Include {
            path,
            selection,
            rustdoc: true,
            playground_attrs: None,
        },
        "playground" | "playpen" => LinkKind::Include {
            path: file_arg,
            selection: Selection::Lines(LineRange {
                start: 0,
                end: None,
            }),
            rustdoc: false,
            playground_attrs: Some(words.collect()),
        },
        "title" => LinkKind::Title,
        _ => return None,
    };
    Some(Link {
        span: start..end,
        kind,
    })
}

/// `file.rs`, `file.rs:anchor`, `file.rs:3`, `file.rs:3:7`, `file.rs:3:`, `file.rs::7`
/// (line numbers one-based and inclusive, as in mdBook).
fn parse_target(arg: &str) -> (&str, Selection) {
    let mut parts = arg.splitn(3, ':');
    let path = parts.next().unwrap_or_default();
    let first = parts.next();
    let start = match first {
        Some(s) if s.parse::<usize>().is_ok() => {
            Some(s.parse::<usize>().unwrap_or(1).saturating_sub(1))
        }
        Some("") | None => None,
        Some(anchor) => return (path, Selection::Anchor(anchor.to_owned())),
    };
    let end = parts.next().map(|s| s.parse::<usize>());
    let range = match (start, end) {
        (Some(start), Some(Ok(end))) => LineRange {
            start,
            end: Some(end),
        },
        (Some(start), Some(Err(_))) => LineRange { start, end: None },
        (Some(start), None) => LineRange {
            start,
            end: Some(start + 1),
        },
        (None, Some(Ok(end))) => LineRange {
            start: 0,
            end: Some(end),
        },
        (None, _) => LineRange {
            start: 0,
            end: None,
        },
    };
    (path, Selection::Lines(range))
}

fn take_lines(source: &str, range: LineRange) -> String {
    let lines = source
        .lines()
        .enumerate()
        .filter(|(i, _)| range.contains(*i));
    lines.map(|(_, line)| line).collect::<Vec<_>>().join("\n")
}

fn hide_outside_lines(source: &str, range: LineRange) -> String {
    let lines = source.lines().enumerate().map(|(i, line)| {
        if range.contains(i) {
            line.to_owned()
        } else {
            format!("# {line}")
        }
    });
    lines.collect::<Vec<_>>().join("\n")
}

/// The name after `ANCHOR:` or `ANCHOR_END:` on this line, if any.
fn anchor_name<'a>(line: &'a str, marker: &str) -> Option<&'a str> {
    let at = line.find(marker)?;
    let rest = line[at + marker.len()..].trim_start();
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    (len > 0).then(|| &rest[..len])
}

/// The lines between `ANCHOR: name` and `ANCHOR_END: name`, without any anchor
/// lines. With `rustdoc`, the lines outside are kept behind `# ` (hidden),
/// except a plain `mod name;` declaration: the doctest compiles this one
/// file, where a module kept in a file of its own is not there to find.
/// (`#[cfg(test)] mod tests;` stays: it compiles to nothing.)
/// `Err(false)`: no such anchor; `Err(true)`: it never ends.
fn take_anchor(source: &str, anchor: &str, rustdoc: bool) -> Result<String, bool> {
    let mut kept = Vec::new();
    let mut found = false;
    let mut inside = false;
    let mut previous = "";
    for line in source.lines() {
        let after_attribute = previous.trim_start().starts_with("#[");
        previous = line;
        if rustdoc && !inside && is_module_file_declaration(line) && !after_attribute {
            continue;
        }
        let starts = anchor_name(line, "ANCHOR:");
        let ends = anchor_name(line, "ANCHOR_END:");
        if inside {
            if ends == Some(anchor) {
                inside = false;
                if !rustdoc {
                    break;
                }
            } else if starts.is_none() && ends.is_none() {
                kept.push(line.to_owned());
            }
        } else if starts == Some(anchor) {
            found = true;
            inside = true;
        } else if rustdoc && starts.is_none() && ends.is_none() {
            kept.push(format!("# {line}"));
        }
    }
    match (found, inside) {
        (false, _) => Err(false),
        (true, true) => Err(true),
        (true, false) => Ok(kept.join("\n")),
    }
}

/// `mod name;` or `pub mod name;`: a module whose code is in another file.
fn is_module_file_declaration(line: &str) -> bool {
    let line = line.trim();
    let declared = line.strip_prefix("pub ").unwrap_or(line);
    declared
        .strip_prefix("mod ")
        .and_then(|rest| rest.strip_suffix(';'))
        .is_some_and(|name| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

fn playground_block(source: &str, attrs: &[&str]) -> String {
    let info = if attrs.is_empty() {
        "rust".to_owned()
    } else {
        format!("rust,{}", attrs.join(","))
    };
    let newline = if source.ends_with('\n') { "" } else { "\n" };
    format!("```{info}\n{source}{newline}```\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "use std::fmt;\n// ANCHOR: body\nfn shown() {}\n// ANCHOR: inner\n\
        fn also() {}\n// ANCHOR_END: inner\n// ANCHOR_END: body\nfn hidden() {}";

    fn with_file(contents: &str, chapter: &str) -> Result<Expanded, ExpandError> {
        let dir = std::env::temp_dir().join(format!("book-tests-expand-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let name = format!("{:x}.rs", contents.len() * 31 + chapter.len());
        std::fs::write(dir.join(&name), contents).unwrap();
        expand(&chapter.replace("FILE", &name), &dir)
    }

    #[test]
    fn include_anchor_takes_its_lines_and_drops_anchor_lines() {
        let out = with_file(SOURCE, "{{#include FILE:body}}").unwrap();
        assert_eq!(out.text, "fn shown() {}\nfn also() {}");
    }

    #[test]
    fn rustdoc_include_drops_modules_kept_in_other_files_but_not_cfg_test_ones() {
        let source = "mod app;\npub mod store;\n// ANCHOR: a\nfn a() {}\n// ANCHOR_END: a\n\
                      #[cfg(test)]\nmod tests;\nmod inline {}";
        let out = with_file(source, "{{#rustdoc_include FILE:a}}").unwrap();
        assert_eq!(
            out.text,
            "fn a() {}\n# #[cfg(test)]\n# mod tests;\n# mod inline {}"
        );
    }

    #[test]
    fn rustdoc_include_hides_the_lines_outside_the_anchor() {
        let out = with_file(SOURCE, "{{#rustdoc_include FILE:inner}}").unwrap();
        assert_eq!(
            out.text,
            "# use std::fmt;\n# fn shown() {}\nfn also() {}\n# fn hidden() {}"
        );
    }

    #[test]
    fn line_ranges_are_one_based_and_inclusive() {
        let out = with_file(SOURCE, "{{#include FILE:3:3}}|{{#include FILE::1}}").unwrap();
        assert_eq!(out.text, "fn shown() {}|use std::fmt;");
    }

    #[test]
    fn an_escaped_link_is_left_as_text() {
        let out = expand(r"see \{{#include nowhere.rs}} here", Path::new(".")).unwrap();
        assert_eq!(out.text, "see {{#include nowhere.rs}} here");
    }

    #[test]
    fn a_missing_anchor_is_an_error() {
        let err = with_file(SOURCE, "{{#include FILE:nope}}").unwrap_err();
        assert!(matches!(err, ExpandError::MissingAnchor { anchor, .. } if anchor == "nope"));
    }

    #[test]
    fn an_unclosed_anchor_is_an_error() {
        let err = with_file("// ANCHOR: open\nfn f() {}", "{{#include FILE:open}}").unwrap_err();
        assert!(matches!(err, ExpandError::UnclosedAnchor { .. }));
    }

    #[test]
    fn a_missing_file_is_an_error() {
        let err = expand("{{#include does/not/exist.rs}}", Path::new(".")).unwrap_err();
        assert!(matches!(err, ExpandError::MissingFile { .. }));
    }

    #[test]
    fn text_that_only_looks_like_a_link_is_kept() {
        let text = "{{ not a link }} and {{#}} and {{#unknown x}}";
        assert_eq!(expand(text, Path::new(".")).unwrap().text, text);
    }
}
