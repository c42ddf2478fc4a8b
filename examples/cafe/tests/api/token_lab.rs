//! The book's token lab (`examples/token-lab`, the chapter "Token lab"):
//! its vector file, made from what the attack lab really sends, and the
//! page itself, from the built book served as static files, in Chromium.
//!
//! ```console
//! $ UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api token_lab   # vectors, size
//! $ UPDATE_SCREENSHOTS=1 cargo test -p cafe --test api token_lab   # and the chapter's picture
//! ```

use crate::browser::Browser;
use crate::golden::check_generated;
use crate::support::{Mode, opening_time, spawn_configured};
use attack_lab::{Exchange, Family, Lab, catalogue};
use cafe::clock::{Clock, ManualClock};
use cafe::mechanisms::jwt::REFRESH_COOKIE;
use cafe::{AuthMode, Config};
use jwt::keys::{KeyRing, SigningAlgorithm};
use jwt::tokens::TokenKind;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::UNIX_EPOCH;
use token_lab::{Vector, VectorFile};
use tower_http::services::ServeDir;

/// The chapter's folder of assets: the page's script, the vectors.
const CHAPTER_FOLDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../book/attacks/token-lab");
const REGENERATE: &str = "UPDATE_TRANSCRIPTS=1 cargo test -p cafe --test api token_lab";

/// The token an exchange sent, and as what: a bearer token is presented as
/// an access token, whatever reaches `/refresh` as a refresh token.
fn sent_token(exchange: &Exchange) -> Option<(TokenKind, String)> {
    let header = |name: &str| {
        exchange
            .request_headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    };
    if let Some(token) = header("authorization").and_then(|value| value.strip_prefix("Bearer ")) {
        return Some((TokenKind::Access, token.to_owned()));
    }
    if !exchange.request_line.ends_with("/refresh") {
        return None;
    }
    let from_body = exchange
        .request_body
        .as_deref()
        .and_then(|body| serde_json::from_str::<Value>(body).ok())
        .and_then(|body| body["refresh_token"].as_str().map(str::to_owned));
    let from_cookie = header("cookie")
        .and_then(|cookie| cookie.strip_prefix(&format!("{REFRESH_COOKIE}=")))
        .map(str::to_owned);
    from_body
        .or(from_cookie)
        .map(|token| (TokenKind::Refresh, token))
}

/// Runs every JWT attack of the lab against a café signing with the demo
/// key for `algorithm`, and returns every token the lab sent, with what the
/// token checks say of it at the café's time, after an ordinary login's two.
async fn vectors_against(algorithm: SigningAlgorithm) -> Vec<Vector> {
    let demo_key = || token_lab::demo_key(algorithm).unwrap();
    let mut config = Config::new(AuthMode::Jwt);
    config.jwt_keys = KeyRing::new(demo_key());
    let clock = Arc::new(ManualClock::starting_at(opening_time()));
    let app = spawn_configured(Mode::Jwt, config, clock.clone()).await;
    let time_machine = clock.clone();
    let lab = Lab::connect(&app.address)
        .await
        .unwrap()
        .with_signing_key(demo_key())
        .with_time_machine(Arc::new(move |by| time_machine.advance(by)));
    let now = || clock.now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let vector = |attack: &str, description: &str, kind: TokenKind, token: String| Vector {
        attack: attack.to_owned(),
        description: description.to_owned(),
        algorithm: algorithm.as_str().to_owned(),
        kind,
        now: now(),
        verdict: token_lab::check(&token, kind, now()),
        token,
    };

    let login = lab.log_in("alice").await.unwrap();
    let mut vectors = vec![
        vector(
            "valid",
            "alice's access token, straight from a login",
            TokenKind::Access,
            login.access_token().unwrap().to_owned(),
        ),
        vector(
            "valid",
            "alice's refresh token, straight from a login",
            TokenKind::Refresh,
            login.refresh_token().unwrap().to_owned(),
        ),
    ];
    lab.take_exchanges();
    for attack in catalogue().iter().filter(|a| a.family == Family::Jwt) {
        lab.run(attack).await.unwrap();
        let mut sent: Vec<(TokenKind, String)> = Vec::new();
        for token in lab.take_exchanges().iter().filter_map(sent_token) {
            if !sent.contains(&token) {
                sent.push(token);
            }
        }
        for (kind, token) in sent {
            vectors.push(vector(attack.name, attack.attempt, kind, token));
        }
    }
    vectors
}

/// The chapter's sentence about the vector file (one line: it is included
/// inside a call-out).
fn summary(vectors: &[Vector]) -> String {
    let jwt_attacks = catalogue()
        .iter()
        .filter(|a| a.family == Family::Jwt)
        .count();
    let from_attacks = vectors.iter().filter(|v| v.attack != "valid").count();
    let mut attacks: Vec<&str> = vectors
        .iter()
        .filter(|v| v.attack != "valid")
        .map(|v| v.attack.as_str())
        .collect();
    attacks.sort_unstable();
    attacks.dedup();
    // One line, notice included: the chapter includes it inside a call-out.
    format!(
        "<!-- Generated by `{REGENERATE}`. Do not edit: rerun it. --> The vector file holds \
         {} tokens: {from_attacks} from {} of the lab's {jwt_attacks} \
         JWT attacks (the offline wordlist crack sends none) and the access and refresh \
         tokens of an ordinary login, against a café signing with each of the three demo keys.\n",
        vectors.len(),
        attacks.len(),
    )
}

/// What of a vector must stay the same from one run to the next: tokens
/// differ (fresh ids, randomised ECDSA signatures), verdicts may not.
fn outline(vectors: &[Vector]) -> Vec<String> {
    vectors
        .iter()
        .map(|v| {
            let verdict = &v.verdict.reason;
            format!("{} {} {:?}: {verdict}", v.attack, v.algorithm, v.kind)
        })
        .collect()
}

#[tokio::test]
async fn the_vector_file_holds_every_token_the_jwt_attacks_send() {
    let mut vectors = Vec::new();
    for algorithm in SigningAlgorithm::ALL {
        vectors.extend(vectors_against(algorithm).await);
    }
    // Every JWT attack but the offline crack sends a token to some café.
    for attack in catalogue().iter().filter(|a| a.family == Family::Jwt) {
        let sends_a_token = vectors.iter().any(|v| v.attack == attack.name);
        let offline = attack.name == "jwt-weak-secret-wordlist";
        assert_eq!(sends_a_token, !offline, "{}", attack.name);
    }
    check_generated(
        &Path::new(CHAPTER_FOLDER).join("measured.md"),
        &summary(&vectors),
    );
    let path = Path::new(token_lab::VECTOR_FILE);
    if std::env::var_os("UPDATE_TRANSCRIPTS").is_some() {
        let file = VectorFile {
            generated_by: REGENERATE.to_owned(),
            vectors,
        };
        std::fs::write(path, serde_json::to_string_pretty(&file).unwrap() + "\n").unwrap();
        return;
    }
    let committed = VectorFile::load().unwrap_or_else(|e| panic!("{e}; run {REGENERATE}"));
    assert_eq!(
        outline(&committed.vectors),
        outline(&vectors),
        "{} is out of date: run {REGENERATE}",
        path.display()
    );
}

/// The root of the repository.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(command: &mut Command, how_to_install: &str) {
    let status = command
        .current_dir(repository())
        .status()
        .unwrap_or_else(|e| panic!("{command:?}: {e}; {how_to_install}"));
    assert!(status.success(), "{command:?} failed; {how_to_install}");
}

/// The book as `mdbook build` makes it, with the lab's WebAssembly built
/// first (`.ci/build-token-lab`): once per test run.
fn built_book() -> &'static Path {
    static BOOK: OnceLock<PathBuf> = OnceLock::new();
    BOOK.get_or_init(|| {
        let install = "bash .ci/install-tools installs what the token lab needs";
        run(Command::new("bash").arg(".ci/build-token-lab"), install);
        // Beside the lab's own build, overwritten by each run.
        let out = repository().join("target/token-lab/book");
        run(
            Command::new("mdbook")
                .arg("build")
                .arg("--dest-dir")
                .arg(&out),
            install,
        );
        // With a second renderer (the link check), the pages are in html/.
        out.join("html")
    })
}

/// Serves `root` as static files, as GitHub Pages would, on a free port:
/// tower-http's `ServeDir`, which sets each file's content type and refuses
/// paths that leave `root`.
async fn serve_static(root: &'static Path) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let files = axum::Router::new().fallback_service(ServeDir::new(root));
    tokio::spawn(async move { axum::serve(listener, files).await.ok() });
    address
}

/// Chromium on the lab's page of the built book, once its WebAssembly has
/// loaded; `None` when browser tests are skipped.
async fn the_lab_in_a_browser() -> Option<(Browser, String)> {
    let mut browser = Browser::start().await?;
    let site = serve_static(built_book()).await;
    browser
        .navigate(&format!("{site}/attacks/token-lab.html"))
        .await;
    browser
        .wait_for("window.tokenLab && window.tokenLab.ready")
        .await;
    Some((browser, site))
}

#[tokio::test]
async fn the_page_and_the_native_checks_give_every_vector_the_same_verdict() {
    let Some((mut browser, _)) = the_lab_in_a_browser().await else {
        return;
    };
    let file = VectorFile::load().unwrap();
    let in_the_page = browser
        .eval(
            "window.tokenLab.vectors().then(file => file.vectors.map(v => \
             window.tokenLab.check(v.token, v.kind, v.now)))",
        )
        .await;
    let in_the_page: Vec<token_lab::Verdict> = serde_json::from_value(in_the_page).unwrap();
    assert_eq!(in_the_page.len(), file.vectors.len());
    for (vector, wasm) in file.vectors.iter().zip(&in_the_page) {
        let native = token_lab::check(&vector.token, vector.kind, vector.now);
        assert_eq!(
            (&native, &native),
            (wasm, &vector.verdict),
            "{} ({}, {:?})",
            vector.attack,
            vector.algorithm,
            vector.kind
        );
    }
}

/// The verdict the page shows.
async fn shown_verdict(browser: &mut Browser) -> String {
    let verdict = browser
        .eval("document.getElementById('lab-verdict').textContent")
        .await;
    verdict.as_str().unwrap().to_owned()
}

/// What a form field holds.
async fn field(browser: &mut Browser, id: &str) -> String {
    let value = browser
        .eval(&format!("document.getElementById('{id}').value"))
        .await;
    value.as_str().unwrap().to_owned()
}

/// Sets a form field as a reader would, and lets the page react.
async fn set_field(browser: &mut Browser, id: &str, value: &str) {
    let value = json!(value);
    browser
        .eval(&format!(
            "(() => {{ const field = document.getElementById('{id}'); field.value = {value}; \
             field.dispatchEvent(new Event(field.tagName === 'SELECT' ? 'change' : 'input')); }})()"
        ))
        .await;
}

/// Picks the first preset of `attack` from the page's list.
async fn load_preset(browser: &mut Browser, attack: &str) {
    let preset = browser
        .eval(&format!(
            "[...document.getElementById('lab-preset').options]\
             .find(o => o.textContent.startsWith('{attack} ')).value"
        ))
        .await;
    set_field(browser, "lab-preset", preset.as_str().unwrap()).await;
}

#[tokio::test]
async fn a_reader_tampers_re_signs_and_loads_an_attack_in_the_page() {
    let Some((mut browser, site)) = the_lab_in_a_browser().await else {
        return;
    };
    // It opens on the access token of an ordinary login, valid at its time.
    assert_eq!(
        shown_verdict(&mut browser).await,
        "valid: the café accepts it"
    );

    // Promote alice in the claims: the old signature no longer matches.
    let payload = field(&mut browser, "lab-payload").await;
    assert!(payload.contains("\"role\": \"member\""), "{payload}");
    let promoted = payload.replace("\"role\": \"member\"", "\"role\": \"admin\"");
    set_field(&mut browser, "lab-payload", &promoted).await;
    assert_eq!(
        shown_verdict(&mut browser).await,
        "refused: signature does not match"
    );
    if std::env::var_os("UPDATE_SCREENSHOTS").is_some() {
        // The chapter's picture of the lab, for the print view (which has no lab).
        browser
            .eval("document.getElementById('lab-preset').scrollIntoView()")
            .await;
        let picture = Path::new(CHAPTER_FOLDER).join("screenshot.png");
        browser.screenshot_to(&picture, 900, 900).await;
    }

    // Re-signed with the demo key its kid names, which a key holder could do.
    set_field(&mut browser, "lab-signature", "demo-key").await;
    assert_eq!(
        shown_verdict(&mut browser).await,
        "valid: the café accepts it"
    );
    let token = field(&mut browser, "lab-token").await;
    let claims = jwt::anatomy::decode_unverified(&token).unwrap().1;
    assert_eq!(claims["role"], "admin");

    // Attacks from the lab, each refused for the reason the lab gives.
    for (attack, reason) in [
        (
            "jwt-alg-none",
            "not a well-formed JWT with a known algorithm",
        ),
        (
            "jwt-algorithm-confusion",
            "algorithm not allowed for that key",
        ),
        ("jwt-expired", "expired"),
        ("jwt-wrong-audience", "claims rejected: wrong aud"),
        ("jwt-refresh-as-access", "wrong token type (typ header)"),
    ] {
        load_preset(&mut browser, attack).await;
        assert_eq!(
            shown_verdict(&mut browser).await,
            format!("refused: {reason}"),
            "{attack}"
        );
    }

    // Nothing was fetched from anywhere but the book's own files.
    let fetched = browser
        .eval("performance.getEntriesByType('resource').map(entry => entry.name)")
        .await;
    let fetched: Vec<String> = serde_json::from_value(fetched).unwrap();
    assert!(
        fetched.iter().any(|url| url.ends_with(".wasm")),
        "{fetched:?}"
    );
    for url in &fetched {
        assert!(url.starts_with(&site), "the page fetched {url}");
    }
}

/// The lab's download stays within its budget, and the sizes the chapter
/// states are the sizes built.
#[test]
fn the_labs_assets_stay_within_their_budget() {
    const WASM_BUDGET_BYTES: u64 = 640 * 1024;
    const SCRIPT_BUDGET_BYTES: u64 = 40 * 1024;
    if std::env::var_os("SKIP_BROWSER_TESTS").is_some() {
        eprintln!("SKIP_BROWSER_TESTS is set: skipping the token lab's build");
        return;
    }
    let site = built_book().join("attacks/token-lab");
    let size = |file: &str| std::fs::metadata(site.join(file)).unwrap().len();
    let wasm = size("pkg/token_lab_bg.wasm");
    assert!(wasm <= WASM_BUDGET_BYTES, "{wasm} bytes of WebAssembly");
    let scripts = size("pkg/token_lab.js") + size("lab.js");
    assert!(scripts <= SCRIPT_BUDGET_BYTES, "{scripts} bytes of script");

    // Debian's gzip, as the lab's own build uses Debian's wasm-opt: no
    // compression crate is in the workspace for this one figure.
    let gzip = Command::new("gzip")
        .args(["-9", "--stdout"])
        .arg(site.join("pkg/token_lab_bg.wasm"))
        .output()
        .unwrap();
    assert!(gzip.status.success(), "gzip -9 failed");
    let built = LabSize {
        wasm,
        gzipped: gzip.stdout.len() as u64,
    };
    check_lab_size(&Path::new(CHAPTER_FOLDER).join("size.md"), built);
}

/// The WebAssembly's size, in bytes, as built and gzipped.
#[derive(Clone, Copy, Debug)]
struct LabSize {
    wasm: u64,
    gzipped: u64,
}

/// What the lab's payload was meant to stay within (issue 24).
const LAB_SIZE_AIM_BYTES: u64 = 300 * 1000;

/// How far the built sizes may stray from the chapter's before the chapter
/// is out of date: the size moves a little with the Rust toolchain and
/// binaryen, which CI and a developer's machine need not share.
const LAB_SIZE_TOLERANCE: f64 = 0.05;

/// The chapter's sentence on the payload, in KB (1,000 bytes) as it shows
/// them.
fn lab_size_fragment(size: LabSize) -> String {
    let kb = |bytes: u64| (bytes + 500) / 1000;
    let aim = LAB_SIZE_AIM_BYTES / 1000;
    let verdict = if size.wasm <= LAB_SIZE_AIM_BYTES {
        format!("within the {aim} KB we aimed for")
    } else {
        format!("over the {aim} KB we aimed for: that aim is not met")
    };
    format!(
        "<!-- Generated by `{REGENERATE}`. Do not edit: rerun it. --> The WebAssembly \
         is {} KB after `wasm-opt -Oz` ({} KB compressed by `gzip -9`), {verdict}.\n",
        kb(size.wasm),
        kb(size.gzipped)
    )
}

/// Compares the built sizes with the chapter's fragment, or rewrites it
/// when `UPDATE_TRANSCRIPTS` is set.
fn check_lab_size(path: &Path, built: LabSize) {
    if std::env::var_os("UPDATE_TRANSCRIPTS").is_some() {
        std::fs::write(path, lab_size_fragment(built)).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        !lab_size_is_stale(&committed, built),
        "{} is out of date: the build has {built:?}; run {REGENERATE}\n--- committed\n{committed}",
        path.display()
    );
}

/// Whether the fragment `committed` no longer describes `built`. It holds
/// rounded figures, so it is stale when a figure is off by more than
/// `LAB_SIZE_TOLERANCE`, when the verdict on the aim changed, or when its
/// wording is not the current one.
fn lab_size_is_stale(committed: &str, built: LabSize) -> bool {
    let stated = |before: &str| -> Option<u64> {
        let at = committed.find(before)? + before.len();
        let number: String = committed[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        Some(number.parse::<u64>().ok()? * 1000)
    };
    let (Some(wasm), Some(gzipped)) = (
        stated("The WebAssembly is "),
        stated("after `wasm-opt -Oz` ("),
    ) else {
        return true;
    };
    let stated = LabSize { wasm, gzipped };
    let off = |actual: u64, stated: u64| actual.abs_diff(stated) as f64 / stated.max(1) as f64;
    committed != lab_size_fragment(stated)
        || off(built.wasm, stated.wasm) > LAB_SIZE_TOLERANCE
        || off(built.gzipped, stated.gzipped) > LAB_SIZE_TOLERANCE
        || (built.wasm <= LAB_SIZE_AIM_BYTES) != (stated.wasm <= LAB_SIZE_AIM_BYTES)
}

#[test]
fn the_lab_size_check_refuses_a_stale_figure() {
    let committed = LabSize {
        wasm: 597_239,
        gzipped: 247_000,
    };
    let page = lab_size_fragment(committed);
    assert!(page.contains("597 KB"), "{page}");
    assert!(page.contains("that aim is not met"), "{page}");
    // A rebuild a little larger is the same page.
    let larger = LabSize {
        wasm: 605_000,
        ..committed
    };
    assert!(!lab_size_is_stale(&page, larger));
    // The WebAssembly a tenth smaller, the gzipped figure a tenth larger,
    // another wording: stale.
    let smaller = LabSize {
        wasm: 540_000,
        ..committed
    };
    assert!(lab_size_is_stale(&page, smaller));
    let gzipped_larger = LabSize {
        gzipped: 272_000,
        ..committed
    };
    assert!(lab_size_is_stale(&page, gzipped_larger));
    assert!(lab_size_is_stale(
        &page.replace("gzip -9", "gzip"),
        committed
    ));
    // Just under the aim, from just over it: within the tolerance, but the
    // verdict changed.
    let over = LabSize {
        wasm: 302_000,
        ..committed
    };
    let under = LabSize {
        wasm: 299_000,
        ..committed
    };
    assert!(lab_size_is_stale(&lab_size_fragment(over), under));
    assert!(lab_size_fragment(under).contains("within the 300 KB"));
}
