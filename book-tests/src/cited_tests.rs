//! The tests a chapter may cite, read from the test binaries `cargo test`
//! built, exactly as `cargo test -- --list` prints them.
//!
//! A test cannot run a nested `cargo` (the outer one holds `target/`), so
//! this finds the workspace's test binaries next to the running one
//! (`target/<profile>/deps`), runs each with `--list --format terse` and
//! keeps its `path::to::test: test` lines. Cargo's fingerprint directory
//! (`target/<profile>/.fingerprint/<package>-<hash>/test-<kind>-<target>.json`)
//! says which file in `deps` is which target's test binary; the newest of
//! each target is the one the last build made.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

/// What the workspace's test binaries list, as the book cites it.
#[derive(Debug, Default)]
pub struct Listing {
    /// Every test as a chapter names it: the path `cargo test` prints, or,
    /// for a test at the top of its binary (such as one in
    /// `examples/jwt/tests/attacks.rs`), the binary's target name first
    /// (`attacks::alg_none_is_refused_in_any_letter_case`).
    pub tests: BTreeSet<String>,
    /// Test targets of the workspace that have no binary to list.
    pub missing: Vec<String>,
    /// Binaries older than one of their own source files.
    pub stale: Vec<String>,
}

impl Listing {
    /// Whether some targets could not be listed, or were listed from an
    /// older build: then a citation not found may still be right.
    pub fn is_incomplete(&self) -> bool {
        !self.missing.is_empty() || !self.stale.is_empty()
    }
}

/// One test target: the package, the kind cargo names it by (`lib`, `bin`,
/// `integration-test`) and its name.
type Target = (String, String, String);

/// Lists every test of the workspace whose root is `workspace`, from the
/// binaries in `deps` (the directory of the running test binary).
pub fn list_tests(workspace: &Path, deps: &Path) -> Listing {
    let mut listing = Listing::default();
    let built = test_binaries(deps);
    for target in workspace_test_targets(workspace) {
        let (package, kind, name) = &target;
        let label = format!("{package} {kind} `{name}`");
        let Some(candidates) = built.get(&target) else {
            listing.missing.push(label);
            continue;
        };
        let Some((path, names)) = candidates
            .iter()
            .find_map(|path| list_binary(path).ok().map(|names| (path, names)))
        else {
            listing.missing.push(label);
            continue;
        };
        if is_stale(workspace, path) {
            listing.stale.push(format!("{label} ({})", path.display()));
        }
        listing
            .tests
            .extend(names.into_iter().map(|test| as_cited(name, &test)));
    }
    listing
}

/// How the book cites `test` of the binary `target`: as printed when the
/// path has a module, else with the target's name first.
pub fn as_cited(target: &str, test: &str) -> String {
    if test.contains("::") {
        test.to_owned()
    } else {
        format!("{}::{test}", target.replace('-', "_"))
    }
}

/// The tests in `--list --format terse` output: `path::to::test: test`.
pub fn tests_in_listing(output: &str) -> Vec<String> {
    output
        .lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

/// Whether `citation` names a listed test. A segment written `<mode>` (any
/// `<…>`) stands for any one segment, so `conformance::<mode>::name` is
/// found when some mode has `name`.
pub fn resolves(citation: &str, tests: &BTreeSet<String>) -> bool {
    if !citation.contains('<') {
        return tests.contains(citation);
    }
    let wanted: Vec<&str> = citation.split("::").collect();
    tests.iter().any(|test| {
        let segments: Vec<&str> = test.split("::").collect();
        segments.len() == wanted.len()
            && wanted
                .iter()
                .zip(&segments)
                .all(|(want, have)| want == have || (want.starts_with('<') && want.ends_with('>')))
    })
}

/// The listed tests whose last segment is `citation`'s: where a test with a
/// wrong module path really is.
pub fn same_name_elsewhere(citation: &str, tests: &BTreeSet<String>) -> Vec<String> {
    let name = citation.rsplit("::").next().unwrap_or(citation);
    tests
        .iter()
        .filter(|test| test.rsplit("::").next() == Some(name))
        .cloned()
        .collect()
}

/// The test targets `cargo test` builds for the workspace: every member's
/// library, binaries and integration tests (benches are not run as tests).
pub fn workspace_test_targets(workspace: &Path) -> Vec<Target> {
    let manifest = std::fs::read_to_string(workspace.join("Cargo.toml")).unwrap_or_default();
    let mut targets = Vec::new();
    for member in members(workspace, &manifest) {
        let Ok(own) = std::fs::read_to_string(member.join("Cargo.toml")) else {
            continue;
        };
        let Some(package) = package_name(&own) else {
            continue;
        };
        let crate_name = package.replace('-', "_");
        if member.join("src/lib.rs").is_file() {
            targets.push((package.clone(), "lib".to_owned(), crate_name));
        }
        if member.join("src/main.rs").is_file() {
            targets.push((package.clone(), "bin".to_owned(), package.clone()));
        }
        for stem in file_stems(&member.join("src/bin")) {
            targets.push((package.clone(), "bin".to_owned(), stem));
        }
        for stem in file_stems(&member.join("tests")) {
            targets.push((package.clone(), "integration-test".to_owned(), stem));
        }
    }
    targets.sort();
    targets
}

/// The member directories named by `members = [...]`, with `dir/*` expanded.
fn members(workspace: &Path, manifest: &str) -> Vec<PathBuf> {
    let Some(list) = manifest
        .lines()
        .find_map(|line| line.trim().strip_prefix("members"))
    else {
        return Vec::new();
    };
    let mut dirs = Vec::new();
    for entry in list.split('"').skip(1).step_by(2) {
        match entry.strip_suffix("/*") {
            Some(parent) => {
                let Ok(children) = std::fs::read_dir(workspace.join(parent)) else {
                    continue;
                };
                let mut found: Vec<PathBuf> = children
                    .filter_map(Result::ok)
                    .map(|child| child.path())
                    .filter(|path| path.join("Cargo.toml").is_file())
                    .collect();
                found.sort();
                dirs.extend(found);
            }
            None => dirs.push(workspace.join(entry)),
        }
    }
    dirs
}

/// The `name` of a manifest's `[package]`.
fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            return value.split('"').nth(1).map(str::to_owned);
        }
    }
    None
}

/// The targets a directory holds as cargo finds them: `name.rs` files and
/// `name/main.rs` directories.
fn file_stems(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut stems: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter_map(|path| {
            let is_target = path.extension().is_some_and(|extension| extension == "rs")
                || path.join("main.rs").is_file();
            let stem = path.file_stem()?.to_str()?.to_owned();
            is_target.then_some(stem)
        })
        .collect();
    stems.sort();
    stems
}

/// The test binaries in `deps`, by target, newest first.
fn test_binaries(deps: &Path) -> BTreeMap<Target, Vec<PathBuf>> {
    let mut found: BTreeMap<Target, Vec<(SystemTime, PathBuf)>> = BTreeMap::new();
    let fingerprints = deps.with_file_name(".fingerprint");
    let Ok(entries) = std::fs::read_dir(&fingerprints) else {
        return BTreeMap::new();
    };
    for directory in entries.filter_map(Result::ok).map(|entry| entry.path()) {
        let Some(unit) = directory.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let Some((package, hash)) = unit.rsplit_once('-') else {
            continue;
        };
        let Ok(files) = std::fs::read_dir(&directory) else {
            continue;
        };
        for file in files.filter_map(Result::ok) {
            let file_name = file.file_name();
            let Some(unit_kind) = file_name
                .to_str()
                .and_then(|name| name.strip_suffix(".json"))
                .and_then(|name| name.strip_prefix("test-"))
            else {
                continue;
            };
            let Some((kind, name)) = ["lib", "bin", "integration-test"]
                .iter()
                .find_map(|kind| Some((*kind, unit_kind.strip_prefix(kind)?.strip_prefix('-')?)))
            else {
                continue;
            };
            let binary = deps.join(format!(
                "{}-{hash}{}",
                name.replace('-', "_"),
                std::env::consts::EXE_SUFFIX
            ));
            let Ok(modified) = binary.metadata().and_then(|meta| meta.modified()) else {
                continue;
            };
            found
                .entry((package.to_owned(), kind.to_owned(), name.to_owned()))
                .or_default()
                .push((modified, binary));
        }
    }
    found
        .into_iter()
        .map(|(target, mut binaries)| {
            binaries.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
            (target, binaries.into_iter().map(|(_, path)| path).collect())
        })
        .collect()
}

/// The tests one binary lists. A binary another build is rewriting at this
/// moment may fail to start; it is tried again a few times.
fn list_binary(binary: &Path) -> Result<Vec<String>, String> {
    let mut last_error = String::new();
    for attempt in 0..3 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_secs(2));
        }
        match Command::new(binary)
            .args(["--list", "--format", "terse"])
            .output()
        {
            Ok(output) if output.status.success() => {
                return Ok(tests_in_listing(&String::from_utf8_lossy(&output.stdout)));
            }
            Ok(output) => last_error = format!("{}: {}", binary.display(), output.status),
            Err(error) => last_error = format!("{}: {error}", binary.display()),
        }
    }
    Err(last_error)
}

/// Whether one of the binary's own source files (from its `.d` file, which
/// cargo writes next to it) changed after it was built.
fn is_stale(workspace: &Path, binary: &Path) -> bool {
    let Ok(built) = binary.metadata().and_then(|meta| meta.modified()) else {
        return true;
    };
    let Ok(dependencies) = std::fs::read_to_string(binary.with_extension("d")) else {
        return false;
    };
    let own_line = dependencies
        .lines()
        .find(|line| line.starts_with(&format!("{}:", binary.display())));
    let Some(sources) = own_line
        .and_then(|line| line.split_once(": "))
        .map(|(_, s)| s)
    else {
        return false;
    };
    sources
        .replace("\\ ", "\u{0}")
        .split_whitespace()
        .map(|source| workspace.join(source.replace('\u{0}', " ")))
        .any(|source| {
            source
                .metadata()
                .and_then(|meta| meta.modified())
                .is_ok_and(|changed| changed > built)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|name| (*name).to_owned()).collect()
    }

    #[test]
    fn a_listing_keeps_only_tests() {
        let output = "conformance::jwt::a_banned_user_is_refused: test\n\
                      request_checks: benchmark\n\
                      alg_none_is_refused_in_any_letter_case: test\n";
        assert_eq!(
            tests_in_listing(output),
            [
                "conformance::jwt::a_banned_user_is_refused",
                "alg_none_is_refused_in_any_letter_case"
            ]
        );
    }

    #[test]
    fn a_test_at_the_top_of_its_binary_is_cited_with_the_binarys_name() {
        assert_eq!(
            as_cited("attacks", "alg_none_is_refused_in_any_letter_case"),
            "attacks::alg_none_is_refused_in_any_letter_case"
        );
        assert_eq!(
            as_cited("api", "conformance::jwt::a_banned_user_is_refused"),
            "conformance::jwt::a_banned_user_is_refused"
        );
        assert_eq!(as_cited("signed-cookie", "a_test"), "signed_cookie::a_test");
    }

    #[test]
    fn a_citation_resolves_by_its_full_path_only() {
        let tests = listed(&[
            "conformance::jwt::logout_everywhere_ends_every_login_of_that_user",
            "conformance::jwt_checked::logout_everywhere_ends_every_login_of_that_user",
            "conformance::sessions::every_401_carries_a_challenge",
        ]);
        assert!(resolves(
            "conformance::jwt_checked::logout_everywhere_ends_every_login_of_that_user",
            &tests
        ));
        assert!(!resolves(
            "conformance::jwt_denylist::logout_everywhere_ends_every_login_of_that_user",
            &tests
        ));
        assert!(!resolves(
            "jwt::logout_everywhere_ends_every_login_of_that_user",
            &tests
        ));
        assert!(resolves(
            "conformance::<mode>::every_401_carries_a_challenge",
            &tests
        ));
        assert!(!resolves("<mode>::every_401_carries_a_challenge", &tests));
        assert_eq!(
            same_name_elsewhere("hybrid::every_401_carries_a_challenge", &tests),
            ["conformance::sessions::every_401_carries_a_challenge"]
        );
    }

    #[test]
    fn the_workspace_test_targets_are_read_from_the_manifests() {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let targets = workspace_test_targets(&workspace);
        let has = |package: &str, kind: &str, name: &str| {
            targets.contains(&(package.to_owned(), kind.to_owned(), name.to_owned()))
        };
        assert!(has("jwt", "integration-test", "attacks"), "{targets:?}");
        assert!(has("cafe", "integration-test", "api"), "{targets:?}");
        assert!(has("cafe", "lib", "cafe"), "{targets:?}");
        assert!(has("cafe", "bin", "cafe"), "{targets:?}");
        assert!(has("signed-cookie", "lib", "signed_cookie"), "{targets:?}");
        assert!(has("book-tests", "bin", "page-weight"), "{targets:?}");
    }
}
