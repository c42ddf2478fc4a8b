//! The load and cluster steps: a release `cafe` per variant, driven by
//! `wrk` with alice's credential, the best round of each kept, and the
//! tables `load.md` and `cluster.md` written from them.

use super::{Failure, write_table};
use cafe_client::launch::{CafeProcess, RedisServer};
use cafe_client::{Client, Credential, Visitor};
use perf::{CLUSTER_VARIANTS, LOAD_VARIANTS, LoadResult, Table, grouped, parse_wrk};
use std::path::{Path, PathBuf};
use std::process::Command;

pub(super) fn cafe_binary(root: &Path) -> Result<PathBuf, Failure> {
    let status = Command::new("cargo")
        .current_dir(root)
        .args(["build", "--release", "-p", "cafe", "--bin", "cafe"])
        .status()?;
    if !status.success() {
        return Err("cargo build -p cafe failed".into());
    }
    Ok(root.join("target/release/cafe"))
}

/// Starts `cafe <args>` and waits for the line that says where it listens.
pub(super) fn start_cafe(
    binary: &Path,
    args: &[String],
    listening: &str,
) -> Result<CafeProcess, Failure> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut server = CafeProcess::start(binary, &args, listening)?;
    // Keep reading, so the server never blocks on a full pipe.
    server.drain_output();
    Ok(server)
}

/// Logs alice in through the café's own client and returns the header that
/// proves it on later requests, as wrk will send it.
fn credential_header(base: &str) -> Result<String, Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let credential = runtime.block_on(async {
        let mut alice = Visitor::new(Client::new(base)?);
        let login = alice.log_in("alice", "wonderland-42").await?;
        alice
            .credential
            .ok_or_else(|| format!("login did not succeed: {}", login.summary()))
    })?;
    Ok(match credential {
        Credential::Cookie(cookie) => format!("Cookie: {cookie}"),
        Credential::Bearer { access, .. } => format!("Authorization: Bearer {access}"),
    })
}

/// The wrk script that turns every request into `POST /orders`.
fn order_script(root: &Path) -> Result<PathBuf, Failure> {
    let path = root.join("target/perf-order.lua");
    std::fs::write(
        &path,
        "wrk.method = \"POST\"\nwrk.body = '{\"item\":\"flat white\"}'\n\
         wrk.headers[\"Content-Type\"] = \"application/json\"\n",
    )?;
    Ok(path)
}

fn run_wrk(url: &str, header: Option<&str>, script: Option<&Path>) -> Result<LoadResult, Failure> {
    let seconds = std::env::var("PERF_SECONDS").unwrap_or_else(|_| "5".to_owned());
    let mut command = Command::new("wrk");
    command.args(["-t1", "-c32", "--latency", &format!("-d{seconds}s")]);
    if let Some(header) = header {
        command.args(["-H", header]);
    }
    if let Some(script) = script {
        command.arg("-s").arg(script);
    }
    let out = command
        .arg(url)
        .output()
        .map_err(|e| format!("wrk: {e} (apt-get install wrk)"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let result = parse_wrk(&text).ok_or_else(|| format!("wrk printed no result: {text}"))?;
    if result.errors > 0 {
        return Err(format!("{} error responses from {url}", result.errors).into());
    }
    Ok(result)
}

fn rounds() -> usize {
    std::env::var("PERF_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2)
}

/// The server arguments of one load variant.
pub(super) fn serve_args(variant: &str, redis: &str) -> Vec<String> {
    let args: &[&str] = match variant {
        "sessions-redis" => &[
            "--auth",
            "sessions",
            "--store",
            "redis",
            "--redis-url",
            redis,
        ],
        "jwt-hs256" => &["--auth", "jwt", "--alg", "hs256"],
        "jwt-es256" => &["--auth", "jwt", "--alg", "es256"],
        "jwt-eddsa" => &["--auth", "jwt", "--alg", "eddsa"],
        "jwt-hs256-checked-redis" => &[
            "--auth",
            "jwt",
            "--store",
            "redis",
            "--redis-url",
            redis,
            "--check-denylist",
            "--check-token-version",
        ],
        "hybrid-hs256" => &["--auth", "hybrid"],
        _ => &["--auth", "sessions"],
    };
    // Every load run orders for seconds on end, far past the 1,000 orders
    // an account keeps by default.
    let mut all: Vec<String> = [
        "serve",
        "--addr",
        "127.0.0.1:0",
        "--max-orders-per-user",
        "10000000",
    ]
    .map(String::from)
    .to_vec();
    all.extend(args.iter().map(|a| a.to_string()));
    all
}

/// Best (highest-rate) result of each (variant, endpoint), over the rounds.
type Results = Vec<(String, &'static str, LoadResult)>;

fn keep_best(results: &mut Results, variant: &str, endpoint: &'static str, result: LoadResult) {
    match results
        .iter_mut()
        .find(|(v, e, _)| v == variant && *e == endpoint)
    {
        Some((_, _, best)) if best.requests_per_second >= result.requests_per_second => {}
        Some((_, _, best)) => *best = result,
        None => results.push((variant.to_owned(), endpoint, result)),
    }
}

pub(super) fn load(root: &Path) -> Result<(), Failure> {
    let binary = cafe_binary(root)?;
    let redis = RedisServer::start()?;
    let script = order_script(root)?;
    let mut results = Results::new();
    for round in 1..=rounds() {
        for variant in LOAD_VARIANTS {
            eprintln!("round {round}: {variant}");
            let server = start_cafe(
                &binary,
                &serve_args(variant, &redis.url()),
                "listening on http://",
            )?;
            if variant.starts_with("no-auth") {
                let result = run_wrk(&format!("{}/healthz", server.url()), None, None)?;
                keep_best(&mut results, variant, "GET /me", result);
                continue;
            }
            let header = credential_header(&server.url())?;
            let me = run_wrk(&format!("{}/me", server.url()), Some(&header), None)?;
            keep_best(&mut results, variant, "GET /me", me);
            let orders = format!("{}/orders", server.url());
            let order = run_wrk(&orders, Some(&header), Some(&script))?;
            keep_best(&mut results, variant, "POST /orders", order);
        }
    }
    let intro = "Each row is a fresh `cafe serve`, driven by `wrk -t1 -c32` on the same \
                 machine; the baseline is `GET /healthz`, the same server and layers with \
                 no authentication. Ratios are to that baseline.\n\n";
    write_table(root, "load.md", intro, &load_table(&results))
}

fn load_table(results: &Results) -> Table {
    let baseline = results
        .iter()
        .find(|(v, _, _)| v.starts_with("no-auth"))
        .map_or(f64::NAN, |(_, _, r)| r.requests_per_second);
    let mut table = Table::new(&["server", "request", "requests/s", "× no-auth", "p50", "p99"]);
    for (variant, endpoint, result) in results {
        let endpoint = if variant.starts_with("no-auth") {
            "GET /healthz"
        } else {
            endpoint
        };
        table.push(vec![
            variant.clone(),
            endpoint.to_owned(),
            grouped(result.requests_per_second as u64),
            format!("{:.2}", result.requests_per_second / baseline),
            format!("{:.0} µs", result.p50_us),
            format!("{:.0} µs", result.p99_us),
        ]);
    }
    table
}

pub(super) fn cluster(root: &Path) -> Result<(), Failure> {
    let binary = cafe_binary(root)?;
    let redis = RedisServer::start()?;
    let redis_url = redis.url();
    let secret = root.join("target/perf-jwt-secret");
    std::fs::write(
        &secret,
        "a benchmark secret shared by every instance, 32+ bytes",
    )?;
    let secret = secret.to_string_lossy().into_owned();
    let mut results = Results::new();
    for round in 1..=rounds() {
        for variant in CLUSTER_VARIANTS {
            eprintln!("round {round}: {variant}");
            let (mode, instances) = variant
                .split_once(" ×")
                .ok_or("a variant names instances")?;
            let mut args: Vec<String> =
                ["cluster", "--addr", "127.0.0.1:0", "--instances", instances]
                    .iter()
                    .map(|a| a.to_string())
                    .collect();
            let extra: Vec<&str> = match mode {
                "sessions-redis" => vec![
                    "--auth",
                    "sessions",
                    "--store",
                    "redis",
                    "--redis-url",
                    &redis_url,
                ],
                _ => vec!["--auth", "jwt", "--jwt-secret-file", &secret],
            };
            args.extend(extra.iter().map(|a| a.to_string()));
            let server = start_cafe(&binary, &args, "load balancer on http://")?;
            let result = if mode == "no-auth" {
                run_wrk(&format!("{}/healthz", server.url()), None, None)?
            } else {
                let header = credential_header(&server.url())?;
                run_wrk(&format!("{}/me", server.url()), Some(&header), None)?
            };
            keep_best(&mut results, variant, "GET /me", result);
        }
    }
    let intro = "The same `GET /me`, through `cafe cluster`'s round-robin balancer, with one \
                 and with three café servers in one process (the no-auth rows are `GET /healthz`). \
                 All of them share the machine's two cores with the balancer and `wrk`.\n\n";
    write_table(root, "cluster.md", intro, &load_table(&results))
}
