//! Runs every benchmark behind the book's figures and rewrites the tables
//! in `book/performance/`:
//!
//! ```console
//! $ cargo run --release -p perf            # everything, about 20 minutes
//! $ cargo run --release -p perf -- load    # one part: environment, checks,
//!                                          # load, cluster, cpu, sizes,
//!                                          # backends, targets
//! $ cargo run --release -p perf -- peers   # only peers.md, run only when
//!                                          # named (`checks` writes it too)
//! ```
//!
//! It needs `valgrind`, `wrk` and `redis-server` (`apt-get install valgrind
//! wrk redis-server`). `PERF_SECONDS` (default 5) sets each load run's
//! length, `PERF_ROUNDS` (default 2) how many times every load variant runs;
//! the best round counts, the one least disturbed by the rest of the machine.
//! The `cpu` step measures server CPU time per request instead, the figure
//! that holds still; its settings are in `server_cpu.rs`.

use bench_harness::finish_now;
use cafe_client::launch::RedisServer;
use perf::{
    Median, PeerMeasured, TABLE_DIR, Table, callgrind_collected, criterion_median,
    generated_notice, grouped, human_ns,
};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

mod load;
mod server_cpu;
use load::{cluster, load};
use server_cpu::cpu;

type Failure = Box<dyn std::error::Error>;
/// One part of the run: it measures and writes its tables.
type Step = fn(&Path) -> Result<(), Failure>;

const COMMAND: &str = "cargo run --release -p perf";
/// When the size tables' tokens are issued (NumericDate): any fixed time.
const LOGIN_TIME: u64 = 1_767_258_000;

fn main() -> ExitCode {
    let parts: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    let Some(root) = Path::new(env!("CARGO_MANIFEST_DIR")).parent() else {
        return ExitCode::FAILURE;
    };
    let steps: [(&str, Step); 9] = [
        ("environment", environment),
        ("sizes", sizes),
        ("checks", checks),
        // Only when named: `checks` writes peers.md in the same run.
        ("peers", peers_only),
        ("load", load),
        ("cluster", cluster),
        ("cpu", cpu),
        ("backends", backends),
        // Last: judged on the tables the other steps wrote.
        ("targets", targets),
    ];
    for (name, step) in steps {
        let named_only = name == "peers" && parts.is_empty();
        if wanted(name) && !named_only {
            eprintln!("== {name}");
            if let Err(error) = step(root) {
                eprintln!("{name} failed: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

fn write_table(root: &Path, file: &str, intro: &str, table: &Table) -> Result<(), Failure> {
    let path = root.join(TABLE_DIR).join(file);
    std::fs::create_dir_all(path.parent().ok_or("no parent")?)?;
    let text = format!(
        "{}{intro}{}",
        generated_notice(COMMAND),
        table.to_markdown()
    );
    std::fs::write(&path, text)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|out| {
            let text = if out.stdout.is_empty() {
                out.stderr
            } else {
                out.stdout
            };
            String::from_utf8_lossy(&text).trim().to_owned()
        })
        .unwrap_or_else(|_| "not installed".to_owned())
}

/// The version of `package` that Cargo.lock pins for the café (its `jwt`
/// and `cafe` crates), and any other version locked beside it.
fn locked_version(root: &Path, package: &str) -> Result<String, Failure> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))?;
    ["jwt", "cafe"]
        .iter()
        .find_map(|user| perf::locked_version(&lock, package, user))
        .ok_or_else(|| format!("{package} is not in Cargo.lock for the café").into())
}

/// Date, machine, toolchain and crate versions: what every figure depends on.
fn environment(root: &Path) -> Result<(), Failure> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")?
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .map(|name| name.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown".to_owned());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")?
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))
        .and_then(|kib| kib.trim().trim_end_matches(" kB").parse::<u64>().ok())
        .map_or("unknown".to_owned(), |kib| {
            format!("{} GiB", kib / 1024 / 1024)
        });
    let mut table = Table::new(&["what", "value"]);
    let mut row = |what: &str, value: String| table.push(vec![what.to_owned(), value]);
    row("date", output("date", &["-u", "+%Y-%m-%d"]));
    row("machine", format!("{cpu}, {cores} cores, {memory}"));
    row("kernel", output("uname", &["-sr"]));
    row("rustc", output("rustc", &["--version"]));
    for package in [
        "jsonwebtoken",
        "aws-lc-rs",
        "axum",
        "hyper",
        "redis",
        "argon2",
    ] {
        row(package, locked_version(root, package)?);
    }
    row(
        "crypto backend",
        "aws_lc_rs (jsonwebtoken feature)".to_owned(),
    );
    let redis = output("redis-server", &["--version"]);
    row(
        "redis-server",
        redis.split(" sha=").next().unwrap_or("").to_owned(),
    );
    row(
        "wrk",
        // "wrk debian/4.1.0-3+b2 [epoll] Copyright …": the name and version.
        output("wrk", &["--version"])
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" "),
    );
    row("valgrind", output("valgrind", &["--version"]));
    write_table(root, "environment.md", "", &table)
}

/// Bytes on the wire: every credential as the client sends it.
fn sizes(root: &Path) -> Result<(), Failure> {
    let mut table = Table::new(&["credential", "token bytes", "header bytes per request"]);
    let session = sessions::SessionId::generate().map_err(|e| format!("no random bytes: {e:?}"))?;
    let header = format!(
        "Cookie: {}={}",
        sessions::cookie::COOKIE_NAME,
        session.as_str()
    );
    table.push(vec![
        "session cookie".to_owned(),
        session.as_str().len().to_string(),
        header.len().to_string(),
    ]);
    for (name, algorithm) in [
        ("hs256", jwt::keys::SigningAlgorithm::Hs256),
        ("es256", jwt::keys::SigningAlgorithm::Es256),
        ("eddsa", jwt::keys::SigningAlgorithm::EdDsa),
    ] {
        let (_, pair) = logged_in(algorithm)?;
        let header = format!("Authorization: Bearer {}", pair.access_token);
        table.push(vec![
            format!("{name} access"),
            pair.access_token.len().to_string(),
            header.len().to_string(),
        ]);
        let cookie = cafe_refresh_cookie(&pair.refresh_token);
        table.push(vec![
            format!("{name} refresh (hybrid cookie, to /refresh only)"),
            pair.refresh_token.len().to_string(),
            cookie.len().to_string(),
        ]);
    }
    write_table(root, "sizes.md", "", &table)?;
    fat_tokens(root)
}

fn cafe_refresh_cookie(token: &str) -> String {
    format!("Cookie: {}={token}", cafe::mechanisms::jwt::REFRESH_COOKIE)
}

/// A login's tokens, and the authority that issued and checks them.
fn logged_in(
    algorithm: jwt::keys::SigningAlgorithm,
) -> Result<(jwt::TokenAuthority, jwt::TokenPair), Failure> {
    let key = jwt::keys::SigningKey::generate(cafe::cli::key_id(algorithm), algorithm)?;
    let authority = jwt::TokenAuthority::new(
        jwt::keys::KeyRing::new(key),
        jwt::Lifetimes::default(),
        jwt::RevocationChecks::default(),
        jwt::TokenStores::in_memory(),
    );
    let member = async {
        Ok(jwt::Standing::Active {
            role: "member".into(),
        })
    };
    let pair = finish_now(authority.log_in(
        "alice",
        &jwt::revocation::Device::default(),
        LOGIN_TIME,
        member,
    ))?;
    Ok((authority, pair))
}

/// An access token with more in it: what each extra claim costs on every
/// request, and when a cookie carrying it passes browsers' 4096-byte limit.
#[derive(serde::Serialize)]
struct FatClaims {
    #[serde(flatten)]
    access: jwt::tokens::AccessClaims,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    permissions: Vec<String>,
}

fn fat_tokens(root: &Path) -> Result<(), Failure> {
    let hs256 = jwt::keys::SigningAlgorithm::Hs256;
    let ring = jwt::keys::KeyRing::new(jwt::keys::SigningKey::generate(
        cafe::cli::key_id(hs256),
        hs256,
    )?);
    let (authority, pair) = logged_in(jwt::keys::SigningAlgorithm::Hs256)?;
    let access = finish_now(authority.authenticate(&pair.access_token, LOGIN_TIME))
        .map_err(|refusal| format!("our own token was refused: {refusal:?}"))?;
    let sign = |email: bool, permissions: usize| -> Result<String, Failure> {
        let claims = FatClaims {
            access: access.clone(),
            email: email.then(|| "alice@example.com".to_owned()),
            name: email.then(|| "Alice Liddell".to_owned()),
            permissions: (0..permissions)
                .map(|n| format!("orders:read:shop-{n:03}"))
                .collect(),
        };
        Ok(jwt::tokens::sign(
            &ring,
            jwt::tokens::TokenKind::Access,
            &claims,
        )?)
    };
    let mut table = Table::new(&[
        "access token (HS256)",
        "token bytes",
        "over the café's 4 KiB cap",
    ]);
    let mut row = |what: String, token: String| {
        let over = token.len() > jwt::tokens::MAX_TOKEN_BYTES;
        table.push(vec![
            what,
            token.len().to_string(),
            if over { "yes" } else { "no" }.into(),
        ]);
    };
    row("the café's claims".to_owned(), sign(false, 0)?);
    row("+ email and name".to_owned(), sign(true, 0)?);
    for permissions in [10, 50, 100] {
        row(
            format!("+ email, name, {permissions} permissions"),
            sign(true, permissions)?,
        );
    }
    // Browsers keep cookies up to 4096 bytes of name, value and attributes
    // (RFC 6265 §6.1 asks for at least that much): find where this one stops fitting.
    let cookie_limit = (0..1000)
        .map(|permissions| (permissions, sign(true, permissions)))
        .find(|(_, token)| match token {
            Ok(token) => format!("access_token={token}; Path=/; Secure; HttpOnly").len() > 4096,
            Err(_) => true,
        })
        .map_or(0, |(permissions, _)| permissions);
    let intro = format!(
        "With email, name and {cookie_limit} permission strings, a cookie carrying this token \
         passes the 4096 bytes browsers are required to keep.\n\n"
    );
    write_table(root, "fat-tokens.md", &intro, &table)
}

/// The bench executables `cargo bench --no-run` built for these arguments.
fn bench_binaries(
    root: &Path,
    args: &[&str],
    env: &[(&str, &str)],
) -> Result<Vec<PathBuf>, Failure> {
    let out = Command::new("cargo")
        .current_dir(root)
        .args(["bench", "--no-run", "--message-format=json"])
        .args(args)
        .envs(env.iter().copied())
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err("cargo bench --no-run failed".into());
    }
    let mut binaries = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let message: serde_json::Value = serde_json::from_str(line)?;
        let is_bench = message["target"]["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bench"));
        if let (true, Some(path)) = (is_bench, message["executable"].as_str()) {
            binaries.push(PathBuf::from(path));
        }
    }
    Ok(binaries)
}

/// Criterion's median and callgrind's instructions for every check of one
/// bench binary, in its own order.
struct Measured {
    id: String,
    median_ns: f64,
    /// The median with criterion's confidence interval of it.
    time: Median,
    instructions: u64,
}

fn measure(
    binary: &Path,
    target_dir: &Path,
    env: &[(&str, &str)],
) -> Result<Vec<Measured>, Failure> {
    let status = Command::new(binary)
        .arg("--bench")
        .envs(env.iter().copied())
        .env("CARGO_TARGET_DIR", target_dir)
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("{} failed", binary.display()).into());
    }
    let listed = Command::new(binary)
        .env("BENCH_LIST", "1")
        .envs(env.iter().copied())
        .output()?;
    let mut results = Vec::new();
    for id in String::from_utf8_lossy(&listed.stdout).lines() {
        let estimates = target_dir
            .join("criterion")
            .join(id)
            .join("new/estimates.json");
        let time = criterion_median(&std::fs::read_to_string(&estimates)?)
            .ok_or_else(|| format!("no median and interval in {}", estimates.display()))?;
        let median_ns = time.ns;
        let instructions = instructions_per_run(binary, id, median_ns, env)?;
        eprintln!(
            "{id}: {} ({} instructions)",
            human_ns(median_ns),
            grouped(instructions)
        );
        results.push(Measured {
            id: id.to_owned(),
            median_ns,
            time,
            instructions,
        });
    }
    Ok(results)
}

/// Instructions per run of one check: callgrind counts inside the measured
/// loop at two iteration counts, and the difference is divided out, so
/// nothing done once (first-use setup) is counted.
fn instructions_per_run(
    binary: &Path,
    id: &str,
    median_ns: f64,
    env: &[(&str, &str)],
) -> Result<u64, Failure> {
    // About a hundredth of a second of work natively, whatever the check
    // costs: callgrind runs code some fifty times slower.
    let extra = ((1e7 / median_ns) as u64).clamp(2, 2000);
    // Only the thread that runs the loop is counted, unless the check hands
    // work to threads of its own (the password checker's hashing threads):
    // then the whole program is, and the difference still removes set-up.
    let only_the_loop = !id.starts_with("login/");
    let count = |iterations: u64| -> Result<u64, Failure> {
        let mut valgrind = Command::new("valgrind");
        valgrind.arg("--tool=callgrind");
        if only_the_loop {
            valgrind.arg("--toggle-collect=*measured_loop*");
        }
        let out = valgrind
            .arg("--callgrind-out-file=/dev/null")
            .arg(binary)
            .envs(env.iter().copied())
            .env("BENCH_CHECK", id)
            .env("BENCH_ITERATIONS", iterations.to_string())
            .output()
            .map_err(|e| format!("valgrind: {e} (apt-get install valgrind)"))?;
        callgrind_collected(&String::from_utf8_lossy(&out.stderr))
            .ok_or_else(|| format!("callgrind counted nothing for {id}").into())
    };
    let (few, many) = (count(1)?, count(1 + extra)?);
    Ok(many.saturating_sub(few) / extra)
}

fn checks(root: &Path) -> Result<(), Failure> {
    let redis = RedisServer::start()?;
    let target_dir = root.join("target");
    let redis_url = redis.url();
    let env = [("CAFE_REDIS_URL", redis_url.as_str())];
    let mut measured = Vec::new();
    for binary in bench_binaries(root, &["-p", "jwt", "-p", "cafe"], &[])? {
        measured.extend(measure(&binary, &target_dir, &env)?);
    }
    // The peers on the same work, in the same run and on the same Redis.
    measured.extend(measure_peers(root, &target_dir, &env)?);
    let find = |id: &str| measured.iter().find(|m| m.id == id);
    let row = |m: &Measured, baseline: Option<&Measured>| {
        let name = m.id.rsplit('/').next().unwrap_or(&m.id).to_owned();
        let mut cells = vec![name, human_ns(m.median_ns), grouped(m.instructions)];
        if let Some(base) = baseline {
            cells.push(format!(
                "{:.2}×",
                m.instructions as f64 / base.instructions as f64
            ));
        }
        cells
    };

    let mut requests = Table::new(&["mode", "median time", "instructions"]);
    for m in measured
        .iter()
        .filter(|m| m.id.starts_with("request_check/") || m.id.starts_with("login/"))
    {
        requests.push(row(m, None));
    }
    write_table(root, "request-checks.md", CALLGRIND_CAVEAT, &requests)?;

    let mut layers = Table::new(&["check", "median time", "instructions", "× bare decode"]);
    for m in measured
        .iter()
        .filter(|m| m.id.starts_with("jwt_layers/") || m.id.starts_with("jwt_issue/"))
    {
        let algorithm =
            m.id.trim_start_matches("jwt_layers/")
                .trim_start_matches("jwt_issue/");
        let algorithm = algorithm.split('-').next().unwrap_or("");
        let bare = find(&format!("jwt_layers/{algorithm}-jsonwebtoken-decode"));
        layers.push(row(m, bare));
    }
    write_table(root, "jwt-layers.md", CALLGRIND_CAVEAT, &layers)?;

    write_peers(root, &measured)
}

/// The peers bench's rows, measured.
fn measure_peers(
    root: &Path,
    target_dir: &Path,
    env: &[(&str, &str)],
) -> Result<Vec<Measured>, Failure> {
    let mut measured = Vec::new();
    for binary in bench_binaries(root, &["-p", "peer-compare", "--bench", "peers"], &[])? {
        measured.extend(measure(&binary, target_dir, env)?);
    }
    Ok(measured)
}

/// `peers.md` from the `peers/` rows of `measured`.
fn write_peers(root: &Path, measured: &[Measured]) -> Result<(), Failure> {
    let peers: Vec<PeerMeasured> = measured
        .iter()
        .filter_map(|m| {
            Some(PeerMeasured {
                name: m.id.strip_prefix("peers/")?.to_owned(),
                time: m.time,
                instructions: m.instructions,
            })
        })
        .collect();
    let peers = perf::peers_table(&peers).ok_or("a café row of the peers' work is missing")?;
    let intro = format!(
        "× the café's: the median time over the café's row of the same work (its HS256 check; \
         its HS256 check with its two revocation lookups in memory for axum-jwt-auth, which \
         makes two; or its `GET /me` on the same store). 95 % CI: criterion's confidence \
         interval of the median. Against the café's row: \"{faster}\" only when the café's \
         whole interval is below the row's; when the two overlap, the difference is smaller \
         than the measured spread and shown as equal. Instructions count the bench process \
         only, not redis-server. {CALLGRIND_CAVEAT}",
        faster = perf::CAFE_FASTER
    );
    write_table(root, "peers.md", &intro, &peers)
}

/// Only `peers.md`: the peers bench, on a Redis of its own.
fn peers_only(root: &Path) -> Result<(), Failure> {
    let redis = RedisServer::start()?;
    let redis_url = redis.url();
    let env = [("CAFE_REDIS_URL", redis_url.as_str())];
    let measured = measure_peers(root, &root.join("target"), &env)?;
    write_peers(root, &measured)
}

/// What every table with instruction counts says above it.
const CALLGRIND_CAVEAT: &str = "Instructions are counted under callgrind, which hides the CPU's \
    SHA extension (SHA-NI): aws-lc then takes its AVX code path, so instruction counts of \
    SHA-256 and HMAC work overstate the native work, and instruction ratios against the HMAC \
    mislead. Judge HS256 by the native median time.\n\n";

/// The targets table, from the load, request-check, peer and CPU tables
/// already in the book.
fn targets(root: &Path) -> Result<(), Failure> {
    let read = |file: &str| -> Result<Table, Failure> {
        let path = root.join(TABLE_DIR).join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "{}: {e} (run `{COMMAND} -- {}` first)",
                path.display(),
                step_of(file)
            )
        })?;
        Table::parse(&text).ok_or_else(|| format!("{file} has no table").into())
    };
    let mut table = perf::targets(
        &read("load.md")?,
        &read("request-checks.md")?,
        &read("peers.md")?,
    )
    .ok_or("a figure the targets need is missing")?;
    let cpu_file = perf::cpu::CPU_TABLE.0;
    let cpu_text = std::fs::read_to_string(root.join(TABLE_DIR).join(cpu_file))?;
    let cpu = perf::cpu::cpu_targets(&read(cpu_file)?, &cpu_text)
        .ok_or("a figure the CPU targets need is missing from cpu.md")?;
    table.rows.extend(cpu);
    write_table(root, "targets.md", "", &table)
}

/// The step that writes `file`.
fn step_of(file: &str) -> &'static str {
    match file {
        "load.md" => "load",
        "cpu.md" => "cpu",
        _ => "checks",
    }
}

fn backends(root: &Path) -> Result<(), Failure> {
    let manifest = root.join("perf/backends/Cargo.toml");
    let manifest = manifest.to_string_lossy();
    let mut table = Table::new(&["verify", "median time", "instructions", "clean build"]);
    for backend in ["aws_lc_rs", "rust_crypto"] {
        // A clean build of the library and its crypto, timed.
        let build_dir = root.join("target/perf-backends/build").join(backend);
        std::fs::remove_dir_all(&build_dir).ok();
        let started = Instant::now();
        let status = Command::new("cargo")
            .args([
                "build",
                "--release",
                "--lib",
                "--manifest-path",
                &manifest,
                "--features",
                backend,
            ])
            .env("CARGO_TARGET_DIR", &build_dir)
            .status()?;
        if !status.success() {
            return Err(format!("building with {backend} failed").into());
        }
        let build_seconds = started.elapsed().as_secs();
        std::fs::remove_dir_all(&build_dir).ok();

        let target_dir = root.join("target/perf-backends").join(backend);
        let target = target_dir.to_string_lossy().into_owned();
        let env = [("CARGO_TARGET_DIR", target.as_str())];
        let args = ["--manifest-path", &manifest, "--features", backend];
        for binary in bench_binaries(root, &args, &env)? {
            for m in measure(&binary, &target_dir, &[])? {
                let name =
                    m.id.trim_start_matches("backend_verify/")
                        .replacen('-', " ", 1);
                table.push(vec![
                    name,
                    human_ns(m.median_ns),
                    grouped(m.instructions),
                    format!("{build_seconds} s"),
                ]);
            }
        }
    }
    table.rows.sort();
    write_table(root, "backends.md", "", &table)
}
