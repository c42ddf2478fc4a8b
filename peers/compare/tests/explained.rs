//! Every attack that gets through a hardened peer, or that a hardened peer
//! answers with the wrong status, and every conformance check a hardened
//! peer fails, is explained in the chapter *Doing it with libraries*
//! (`book/verdict/libraries.md`): the chapter names the attack in code
//! (`` `csrf-login` ``) and the check in plain text (refused-login-hands-out-nothing:
//! the book reads a name in code as a lab attack), where it says why the
//! library lets it through, with the library's own documentation or issue
//! tracker as the source, and what the reader must add. The cells come from
//! the generated table, `book/verdict/libraries-table.md`
//! (`tests/libraries.rs`).
//!
//! And every note the table's test writes beside it
//! (`book/verdict/libraries-skips.md`) is on the appendix page under the
//! table. The chapter's sub-page *Pointing the lab at your app*
//! (`book/verdict/your-app.md`) prints the README's commands, which
//! `tests/readme.rs` runs, and names each peer's port as its profiles do.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The cells of `line`, a row of a Markdown table.
fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|cell| cell.trim().to_owned())
        .collect()
}

/// What a hardened peer's column has that the chapter must explain: each
/// attack it lets through or answers wrongly, and each check it fails.
#[derive(Default)]
struct ToExplain {
    /// `(attack, cell)`.
    attacks: Vec<(String, String)>,
    /// Check names.
    failed_checks: Vec<String>,
}

/// For each hardened peer's column, what the chapter must explain.
fn to_explain() -> BTreeMap<String, ToExplain> {
    let table =
        std::fs::read_to_string(workspace().join("book/verdict/libraries-table.md")).unwrap();
    let mut rows = table.lines().filter(|line| line.starts_with('|'));
    let heading = cells(rows.next().expect("the table has a heading row"));
    let hardened: Vec<usize> = heading
        .iter()
        .enumerate()
        .filter(|(_, title)| title.contains("hardened"))
        .map(|(column, _)| column)
        .collect();
    assert!(
        hardened.len() >= 2,
        "no hardened peer columns in {heading:?}"
    );
    let mut found: BTreeMap<String, ToExplain> = BTreeMap::new();
    for row in rows.skip(1).map(cells) {
        // Family rows (`**Login**`) hold no cells.
        if row[0].starts_with("**") {
            continue;
        }
        // Attacks are named in code, checks in plain text.
        let attack = row[0].strip_prefix('`').and_then(|n| n.strip_suffix('`'));
        for &column in &hardened {
            let cell = &row[column];
            let entry = found.entry(heading[column].clone()).or_default();
            match attack {
                Some(attack) if cell == "accepted" || cell.starts_with("wrong answer") => {
                    entry.attacks.push((attack.to_owned(), cell.clone()));
                }
                None if cell == "fails" => entry.failed_checks.push(row[0].clone()),
                _ => {}
            }
        }
    }
    found
}

/// The attacks `markdown` names in inline code.
fn named_in_code(markdown: &str) -> Vec<&str> {
    let mut in_fence = false;
    let mut named = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            named.extend(line.split('`').skip(1).step_by(2));
        }
    }
    named
}

/// Whether `markdown` names `check` in its prose: outside code blocks and
/// inline code, as a whole name (not inside a longer hyphenated one).
fn named_in_prose(markdown: &str, check: &str) -> bool {
    let mut in_fence = false;
    let mut prose = String::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        } else if !in_fence {
            for text in line.split('`').step_by(2) {
                prose.push_str(text);
                prose.push(' ');
            }
            prose.push('\n');
        }
    }
    let part_of_a_name = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '-');
    prose.match_indices(check).any(|(at, _)| {
        !part_of_a_name(prose[..at].chars().next_back())
            && !part_of_a_name(prose[at + check.len()..].chars().next())
    })
}

#[test]
fn a_check_is_found_in_prose_only() {
    let chapter = "The refused-login-hands-out-nothing check; \
                   `errors-are-json` in code; not-me-without-a-credential-is-401.\n\
                   ```text\nlogout-clears-the-browser\n```\n";
    assert!(named_in_prose(chapter, "refused-login-hands-out-nothing"));
    assert!(!named_in_prose(chapter, "errors-are-json"));
    assert!(!named_in_prose(chapter, "me-without-a-credential-is-401"));
    assert!(!named_in_prose(chapter, "logout-clears-the-browser"));
}

#[test]
fn every_accepted_cell_of_a_hardened_peer_is_explained() {
    let found = to_explain();
    let chapter_path = workspace().join("book/verdict/libraries.md");
    let chapter = std::fs::read_to_string(&chapter_path).unwrap_or_default();
    let named = named_in_code(&chapter);
    let mut missing = Vec::new();
    for (column, cells) in &found {
        for (attack, cell) in &cells.attacks {
            if !named.contains(&attack.as_str()) {
                missing.push(format!("{column}: `{attack}` ({cell})"));
            }
        }
        for check in &cells.failed_checks {
            if !named_in_prose(&chapter, check) {
                missing.push(format!("{column}: {check} (fails; name it in plain text)"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "{} names none of these cells of a hardened peer (book/verdict/libraries-table.md); \
         each needs the library's own documentation or issue as the source and what the \
         reader must add, naming an attack in code and a check in plain text:\n{}",
        if chapter.is_empty() {
            format!("{} does not exist yet, so it", chapter_path.display())
        } else {
            chapter_path.display().to_string()
        },
        missing.join("\n")
    );
}

/// The notes the table's test writes beside it are the lab's own words,
/// which Markdown would misread (`["Secure"]` as a link, `<time>` as a
/// tag), so the appendix page shows them as a text block, from the first
/// column's title on (the line before it is the "Generated by" notice and
/// a blank line). A notice of another length fails here, with the include
/// line to write.
#[test]
fn every_note_of_the_table_is_on_the_appendix_page() {
    let verdict = workspace().join("book/verdict");
    let notes = std::fs::read_to_string(verdict.join("libraries-skips.md")).unwrap();
    let first_title = notes
        .lines()
        .position(|line| line.starts_with("**"))
        .expect("the notes name their columns in bold")
        + 1;
    let include = format!("```text\n{{{{#include libraries-skips.md:{first_title}:}}}}\n```");
    let page = std::fs::read_to_string(verdict.join("libraries-results.md")).unwrap();
    assert!(
        page.contains(&include),
        "book/verdict/libraries-results.md must show the notes with\n{include}"
    );
}

/// The lines of the first console block in `markdown` that runs a peer,
/// without a prompt.
fn peer_commands(markdown: &str) -> Vec<String> {
    markdown
        .split("```console\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .find(|block| block.contains("-p peer-"))
        .unwrap_or_default()
        .lines()
        .map(|line| line.strip_prefix("$ ").unwrap_or(line).to_owned())
        .collect()
}

/// The page on pointing the lab at your app prints the README's lines that
/// point the lab at a peer, which `tests/readme.rs` runs as printed: the
/// same lines, so that what the page shows is what that test ran. The
/// chapter itself prints none (it links the page).
#[test]
fn the_page_prints_the_readmes_commands() {
    let read = |file: &str| std::fs::read_to_string(workspace().join(file)).unwrap();
    let readme = peer_commands(&read("README.md"));
    assert_eq!(readme.len(), 3, "{readme:?}");
    assert_eq!(
        peer_commands(&read("book/verdict/your-app.md")),
        readme,
        "book/verdict/your-app.md"
    );
    assert_eq!(
        peer_commands(&read("book/verdict/libraries.md")),
        Vec::<String>::new(),
        "book/verdict/libraries.md prints a peer's commands: print them on your-app.md"
    );
}

/// The page tells the reader each peer's port (`port 8081`); it is the one
/// both of the peer's profiles target, so the README's line reaches the
/// peer without `--target`, and for the JWT peer the one it listens on by
/// default.
#[test]
fn the_page_names_each_peers_port_as_its_profiles_target() {
    let page = std::fs::read_to_string(workspace().join("book/verdict/your-app.md")).unwrap();
    let peers = [("axum-login", 8081), ("axum-jwt-auth", 8082)];
    for (peer, port) in peers {
        for profile in ["profile.toml", "profile-hardened.toml"] {
            let path = workspace().join("peers").join(peer).join(profile);
            let target = cafe_client::Profile::load(&path).unwrap().target;
            assert_eq!(
                target,
                format!("http://127.0.0.1:{port}"),
                "{peer}/{profile}"
            );
        }
        assert!(
            page.contains(&format!("port {port}")),
            "book/verdict/your-app.md must name {peer}'s port {port}"
        );
    }
    assert_eq!(peer_axum_jwt_auth::DEFAULT_PORT, 8082);
}
