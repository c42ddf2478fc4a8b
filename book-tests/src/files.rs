//! Finding the book's chapter files. Shared by the build script (`#[path]`)
//! and the tests, so both see exactly the same set.

use std::path::{Path, PathBuf};

/// Every `.md` file below `dir` except `SUMMARY.md` at its top, as paths
/// relative to `dir` with `/` separators, sorted.
pub fn chapter_files(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for path in entries.filter_map(Result::ok).map(|entry| entry.path()) {
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "md") {
                files.push(relative(&path, dir));
            }
        }
    }
    files.retain(|file| file != "SUMMARY.md");
    files.sort();
    files
}

fn relative(path: &Path, dir: &Path) -> String {
    let relative: PathBuf = path.strip_prefix(dir).unwrap_or(path).to_path_buf();
    relative.to_string_lossy().replace('\\', "/")
}
