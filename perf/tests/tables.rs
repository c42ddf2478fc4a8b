//! The book's performance tables are generated, never typed: each file must
//! be one `cargo run --release -p perf` wrote, parse as a table, cover every
//! mechanism, and be included by the chapter.

use perf::{TABLE_DIR, TABLES, Table, generated_notice};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("perf/ is inside the repository")
}

fn read(file: &str) -> String {
    let path = root().join(TABLE_DIR).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_table_was_written_by_the_command_and_parses() {
    for (file, _) in TABLES {
        let text = read(file);
        assert!(
            text.starts_with(&generated_notice("cargo run --release -p perf")),
            "{file} was not written by the perf command"
        );
        let table = Table::parse(&text).unwrap_or_else(|| panic!("{file} has no table"));
        assert!(!table.rows.is_empty(), "{file} has no rows");
    }
}

#[test]
fn every_table_covers_every_mechanism_it_should() {
    for (file, rows) in TABLES {
        let table = Table::parse(&read(file)).expect("parses");
        let names = table.row_names();
        for row in rows {
            assert!(
                names.contains(row),
                "{file} has no row for {row}: {names:?}"
            );
        }
    }
}

#[test]
fn the_numbers_are_numbers() {
    for (file, _) in TABLES.iter().filter(|(file, _)| *file != "environment.md") {
        let table = Table::parse(&read(file)).expect("parses");
        for row in &table.rows {
            for cell in &row[1..] {
                let digits = cell.chars().filter(char::is_ascii_digit).count();
                // Words the code writes for a verdict, not a figure: peers.md's
                // comparison of intervals (its figures are the columns before).
                let allowed = [
                    "yes",
                    "no",
                    "GET /me",
                    "POST /orders",
                    "GET /healthz",
                    perf::CAFE_FASTER,
                    perf::CAFE_EQUAL,
                    perf::CAFE_SLOWER,
                    perf::CAFE_OWN_ROW,
                ];
                // targets.md's verdict when a run cannot judge its target
                // says why in words (perf::cpu::cpu_targets).
                let untold = cell.starts_with("can't tell: ");
                assert!(
                    digits > 0 || untold || allowed.contains(&cell.as_str()),
                    "{file}: `{cell}` in row {} is no figure",
                    row[0]
                );
            }
        }
    }
}

/// The Performance part of the book: its chapter and the pages under it.
const CHAPTER_PAGES: [&str; 4] = [
    "book/performance.md",
    "book/performance-cpu.md",
    "book/performance-missed-targets.md",
    "book/performance-libraries.md",
];

#[test]
fn the_chapter_includes_every_table() {
    let chapter: String = CHAPTER_PAGES
        .iter()
        .map(|page| std::fs::read_to_string(root().join(page)).expect(page))
        .collect();
    for (file, _) in TABLES {
        let include = format!(
            "{{{{#include {}/{file}}}}}",
            TABLE_DIR.trim_start_matches("book/")
        );
        assert!(
            chapter.contains(&include),
            "the chapter does not include {file}"
        );
    }
}
