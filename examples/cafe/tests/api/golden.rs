//! Every file a test writes for the book — transcripts, generated tables —
//! is checked through here: compared with the committed copy on every run,
//! rewritten only when `UPDATE_TRANSCRIPTS` is set, so a change shows up as
//! a diff to review.

use std::path::PathBuf;

/// Compares `actual` with the golden file, or rewrites it on request.
pub fn check_golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("transcripts")
        .join(name);
    check_generated(&path, actual);
}

/// Compares `actual` with the file at `path`, or rewrites it when
/// `UPDATE_TRANSCRIPTS` is set.
pub fn check_generated(path: &std::path::Path, actual: &str) {
    if std::env::var_os("UPDATE_TRANSCRIPTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run UPDATE_TRANSCRIPTS=1 cargo test -p cafe",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{} is out of date; rerun with UPDATE_TRANSCRIPTS=1 and review the diff.\n--- \
            expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}
