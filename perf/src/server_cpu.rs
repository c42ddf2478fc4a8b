//! The `cpu` step: server CPU time per request, at a fixed rate, in
//! interleaved rounds, written to `cpu.md`.
//!
//! The CPU is each thread's `/proc/PID/task/TID/schedstat` (its first
//! field, nanoseconds on a CPU), summed over the café's threads and
//! `redis-server`'s, before and after the measured requests. Not
//! `/proc/PID/schedstat`, which is the main thread's alone (the café's work
//! runs on tokio's worker thread); and not `/proc/PID/stat`'s utime and
//! stime, which cover the whole process but in clock ticks of 10 ms: a run
//! spends a few hundred milliseconds, so a tick is a few percent, more than
//! the differences measured. Those ticks are still read, as a cross-check.
//!
//! Settings, from the environment (a smoke run: `PERF_CPU_SECONDS=1
//! PERF_CPU_WARMUP=0.2 PERF_CPU_ROUNDS=2`):
//! `PERF_CPU_RATE` requests a second (default 12000), `PERF_CPU_SECONDS`
//! measured per run, both requests together (default 8), `PERF_CPU_BLOCK`
//! seconds a block (default 0.25), `PERF_CPU_WARMUP` seconds sent first
//! and not counted (default 1), `PERF_CPU_ROUNDS` (default 5), and
//! `PERF_CPU_ONLY`, a comma-separated list of variants to run instead of
//! all of them. The step takes about five minutes at the defaults.
//!
//! Why these defaults (measured 2026-11-30, one setting after another on a
//! machine other work kept busy, load average 6 to 11; four variants, five
//! rounds of five pairs of blocks): at 2,000 requests a second the café
//! parks between requests and waking it is most of the figure, so the
//! rounds of "added over /healthz" spread over microseconds and the A/A
//! pair agreed only within 2.39 µs; at 8,000 within 1.64 µs, at 12,000
//! within 0.34 µs (0.40 µs in blocks of 0.25 s). 16,000 a second agreed
//! within 0.26 µs with all six variants, but the generator kept its
//! schedule less often on the busy machine, and sessions on Redis (about
//! 50 µs of server CPU a request) would need 80 % of the server's CPU: the
//! default stays at 12,000, 60 % for the slowest variant.

use super::Failure;
use super::load::{cafe_binary, serve_args, start_cafe};
use cafe_client::launch::{CafeProcess, RedisServer};
use cafe_client::{Call, Client, Visitor};
use perf::cpu::{
    BASELINE, Block, CPU_TABLE, CPU_VARIANTS, CpuRun, CpuSample, MAX_IN_FLIGHT, MIN_ROUNDS,
    Monitored, Slot, Tally, block_order, commandstats, cpu_table, cpus_allowed, monitored,
    open_loop, pair_count, rate_not_held,
};
use perf::grouped;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

/// Requests sent while `MONITOR` watches, after the measured ones.
const WATCHED: u64 = 200;
/// What this step's `ECHO`s around the watched requests say.
const MARKER: &str = "perf cpu: watched requests";

/// How hard and how long, from the environment.
struct Settings {
    rate: u32,
    seconds: f64,
    block: f64,
    warmup: f64,
    rounds: usize,
}

impl Settings {
    /// Pairs of blocks in a run: `seconds` measured, `block` seconds each,
    /// an even number ([`pair_count`]).
    fn pairs(&self) -> usize {
        pair_count(self.seconds, self.block)
    }
}

/// `name`'s value, or `default` when unset; a value that is not a positive
/// number is refused, naming the variable.
fn setting<T: std::str::FromStr + PartialOrd + Default>(
    name: &str,
    default: T,
) -> Result<T, Failure> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(text) => match text.parse::<T>() {
            Ok(value) if value > T::default() => Ok(value),
            _ => Err(format!("{name}={text}: not a positive number").into()),
        },
    }
}

fn settings() -> Result<Settings, Failure> {
    let settings = Settings {
        rate: setting("PERF_CPU_RATE", 12_000)?,
        seconds: setting("PERF_CPU_SECONDS", 8.0)?,
        block: setting("PERF_CPU_BLOCK", 0.25)?,
        warmup: setting("PERF_CPU_WARMUP", 1.0)?,
        rounds: setting("PERF_CPU_ROUNDS", MIN_ROUNDS)?,
    };
    if settings.rounds < MIN_ROUNDS {
        eprintln!(
            "PERF_CPU_ROUNDS={}: fewer than {MIN_ROUNDS} rounds, so no CPU target can be met",
            settings.rounds
        );
    }
    Ok(settings)
}

/// The variants to run: all of them, or those `PERF_CPU_ONLY` names
/// (comma-separated, for a quicker look; the table then lacks the others).
fn only() -> Result<Vec<&'static str>, Failure> {
    let Ok(names) = std::env::var("PERF_CPU_ONLY") else {
        return Ok(CPU_VARIANTS.to_vec());
    };
    names
        .split(',')
        .map(|name| {
            let found = CPU_VARIANTS.iter().find(|variant| **variant == name.trim());
            found.copied().ok_or_else(|| {
                format!("PERF_CPU_ONLY: no variant {name:?}; there are {CPU_VARIANTS:?}").into()
            })
        })
        .collect()
}

/// Requests in `seconds` at `rate`, at least one.
fn requests(rate: u32, seconds: f64) -> u64 {
    ((f64::from(rate) * seconds).round() as u64).max(1)
}

/// The CPUs for the server (café and Redis) and for the load generator:
/// the first two this process may use, if `taskset` is there to pin them.
fn cores() -> Option<(usize, usize)> {
    let taskset = Command::new("taskset")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    match (taskset, cpus_allowed(&status).as_slice()) {
        (true, [server, generator, ..]) => Some((*server, *generator)),
        _ => None,
    }
}

/// Pins a thread (with `all`, every thread of the process) to `core`.
fn pin(id: u32, core: usize, all: bool) -> Result<(), Failure> {
    let mut taskset = Command::new("taskset");
    if all {
        taskset.arg("-a");
    }
    let status = taskset
        .args(["-p", "-c", &core.to_string(), &id.to_string()])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(format!("taskset could not pin {id} to CPU {core}").into());
    }
    Ok(())
}

/// The calling thread's ID, from `/proc/thread-self` (`PID/task/TID`).
fn this_thread_id() -> Result<u32, Failure> {
    let link = std::fs::read_link("/proc/thread-self")?;
    let tid = link.file_name().and_then(|name| name.to_str());
    Ok(tid.and_then(|tid| tid.parse().ok()).ok_or("no thread ID")?)
}

fn redis_cli(port: u16, args: &[&str]) -> Result<String, Failure> {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .map_err(|e| format!("redis-cli: {e} (apt-get install redis-server)"))?;
    if !out.status.success() {
        return Err(format!("redis-cli {args:?} failed").into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Clock ticks a second, for `/proc/PID/stat`.
fn ticks_per_second() -> u64 {
    super::output("getconf", &["CLK_TCK"])
        .parse()
        .unwrap_or(100)
}

/// `redis-cli MONITOR`, its lines read on a thread of their own; stopped
/// when dropped.
struct Monitor {
    child: Child,
    lines: Receiver<String>,
}

impl Monitor {
    fn start(port: u16) -> Result<Monitor, Failure> {
        let mut child = Command::new("redis-cli")
            .args(["-p", &port.to_string(), "MONITOR"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (send, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut monitor = Monitor { child, lines };
        // Redis's `OK`: from here on, every command is shown.
        monitor.until(|line| line == "OK")?;
        Ok(monitor)
    }

    /// The lines up to the first that `is_last` holds for.
    fn until(&mut self, is_last: impl Fn(&str) -> bool) -> Result<Vec<String>, Failure> {
        let mut lines = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(10))
                .map_err(|_| "MONITOR showed nothing for 10 s")?;
            if is_last(&line) {
                return Ok(lines);
            }
            lines.push(line);
        }
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Everything a run needs that lasts the whole step.
struct Bench {
    binary: PathBuf,
    redis: RedisServer,
    redis_pid: u32,
    server_core: Option<usize>,
    settings: Settings,
    ticks_per_second: u64,
    runtime: tokio::runtime::Runtime,
}

impl Bench {
    /// A fresh `cafe serve` for `variant`, on the server's core.
    fn start(&self, variant: &str) -> Result<CafeProcess, Failure> {
        let args = serve_args(variant, &self.redis.url());
        let server = match self.server_core {
            Some(core) => {
                let mut pinned = vec!["-c".to_owned(), core.to_string()];
                pinned.push(self.binary.to_string_lossy().into_owned());
                pinned.extend(args);
                start_cafe(Path::new("taskset"), &pinned, "listening on http://")?
            }
            None => start_cafe(&self.binary, &args, "listening on http://")?,
        };
        // taskset runs the café in its own place: the ID is the café's.
        let name = std::fs::read_to_string(format!("/proc/{}/comm", server.id()))?;
        if name.trim() != "cafe" {
            return Err(format!("process {} is {name}, not the café", server.id()).into());
        }
        Ok(server)
    }

    /// The visitor and the request of `variant`: `/healthz` with no login,
    /// or `/me` as alice.
    fn visitor(&self, variant: &str, base: &str) -> Result<(Visitor, Call), Failure> {
        let mut alice = Visitor::new(Client::new(base)?);
        if variant == BASELINE {
            return Ok((alice, Call::get("/healthz")));
        }
        let login = self
            .runtime
            .block_on(alice.log_in("alice", "wonderland-42"))?;
        if alice.credential.is_none() {
            return Err(format!("{variant}: login did not succeed: {}", login.summary()).into());
        }
        Ok((alice, Call::get("/me")))
    }

    /// Sends `count` of `call` at the rate and checks that each was sent
    /// and answered or failed.
    fn send(&self, visitor: &Arc<Visitor>, call: &Call, count: u64) -> Result<Tally, Failure> {
        let rate = self.settings.rate;
        let tally = self
            .runtime
            .block_on(open_loop(visitor.clone(), call.clone(), rate, count));
        if tally.sent != count || tally.responses + tally.failed != count {
            return Err(format!("{count} requests due to {}, {tally:?}", call.path).into());
        }
        Ok(tally)
    }

    fn measure(&self, round: usize, variant: &str) -> Result<CpuRun, Failure> {
        let server = self.start(variant)?;
        let (visitor, call) = self.visitor(variant, &server.url())?;
        let healthz = Call::get("/healthz");
        let visitor = Arc::new(visitor);
        let Settings {
            rate,
            warmup,
            block,
            ..
        } = self.settings;
        let mut warnings = Vec::new();
        for warm in [&healthz, &call] {
            let tally = self.send(&visitor, warm, requests(rate, warmup / 2.0))?;
            // A refusal is a setup fault (no login); a request that got no
            // answer while the server started is counted, not fatal.
            if tally.non_2xx > 0 || tally.responses == 0 {
                return Err(format!("{variant} warm-up: {tally:?}").into());
            }
            if tally.failed > 0 {
                warnings.push(format!(
                    "warm-up: {} of {} requests to {} got no answer",
                    tally.failed, tally.sent, warm.path
                ));
            }
        }
        redis_cli(self.redis.port, &["CONFIG", "RESETSTAT"])?;
        let generator_before = CpuSample::read(std::process::id())?;
        let mut blocks = Vec::new();
        let mut late = Vec::new();
        // The whole run too, for the cross-check of schedstat and ticks.
        let (cafe_first, redis_first) = (
            CpuSample::read(server.id())?,
            CpuSample::read(self.redis_pid)?,
        );
        for (i, slot) in block_order(self.settings.pairs()).into_iter().enumerate() {
            let sent = if slot == Slot::Healthz {
                &healthz
            } else {
                &call
            };
            let cafe_before = CpuSample::read(server.id())?;
            let redis_before = CpuSample::read(self.redis_pid)?;
            let tally = self.send(&visitor, sent, requests(rate, block))?;
            let cafe = CpuSample::read(server.id())?.since(&cafe_before);
            let redis = CpuSample::read(self.redis_pid)?.since(&redis_before);
            if tally.responses == 0 {
                return Err(format!("{variant}: block {i}: no request was answered").into());
            }
            if let Some(why) = rate_not_held(&tally, rate) {
                late.push(format!("block {} ({}): {why}", i + 1, sent.path));
            }
            blocks.push(Block {
                slot,
                cafe_ns: cafe.best_ns(self.ticks_per_second),
                redis_ns: redis.best_ns(self.ticks_per_second),
                tally,
            });
        }
        let generator = CpuSample::read(std::process::id())?.since(&generator_before);
        if let Some(first) = late.first() {
            let blocks = blocks.len();
            warnings.push(match late.len() {
                1 => first.clone(),
                n => format!("{n} of {blocks} blocks did not hold the rate, the first {first}"),
            });
        }
        let cafe_total = CpuSample::read(server.id())?.since(&cafe_first);
        let redis_total = CpuSample::read(self.redis_pid)?.since(&redis_first);
        let info = redis_cli(self.redis.port, &["INFO", "commandstats"])?;
        let monitored = self.watch(visitor, call)?;
        for (process, spent) in [("café", &cafe_total), ("redis-server", &redis_total)] {
            if spent.ns.is_none() {
                warnings.push(format!("{process}: no schedstat, clock ticks used"));
            }
            if let Some(why) = spent.disagreement(self.ticks_per_second) {
                warnings.push(format!("{process}: {why}"));
            }
        }
        let run = CpuRun {
            round,
            variant: variant.to_owned(),
            blocks,
            redis_calls: commandstats(&info),
            monitored,
            warnings,
        };
        let sent: u64 = run.blocks.iter().map(|block| block.tally.sent).sum();
        let per = |slot| run.per_request_ns(slot).map_or(f64::NAN, |(all, _)| all);
        eprintln!(
            "round {round}: {variant}: {:.0} ns per request, /healthz {:.0} ns, added {:.0} ns \
             (pairs {:?}); load generator {:.0} ns per request; {} answers",
            per(Slot::Variant),
            per(Slot::Healthz),
            run.added_ns().unwrap_or(f64::NAN),
            perf::cpu::pair_differences(&run.blocks)
                .unwrap_or_default()
                .iter()
                .map(|ns| *ns as i64)
                .collect::<Vec<_>>(),
            generator.best_ns(self.ticks_per_second) as f64 / sent.max(1) as f64,
            grouped(run.tally(Slot::Healthz).responses + run.tally(Slot::Variant).responses)
        );
        Ok(run)
    }

    /// [`WATCHED`] more requests while `MONITOR` watches Redis: the
    /// commands the café sent for them (a script's own calls apart). Not
    /// during the measured requests: `MONITOR` costs Redis CPU.
    fn watch(&self, visitor: Arc<Visitor>, call: Call) -> Result<Monitored, Failure> {
        let port = self.redis.port;
        let mut monitor = Monitor::start(port)?;
        let echo = |at: &str| redis_cli(port, &["ECHO", &format!("{MARKER}: {at}")]);
        echo("start")?;
        monitor.until(|line| line.contains(MARKER))?;
        let rate = self.settings.rate;
        let tally = self
            .runtime
            .block_on(open_loop(visitor, call, rate, WATCHED));
        if tally.responses != WATCHED {
            return Err(format!("{WATCHED} requests watched on MONITOR: {tally:?}").into());
        }
        // Every command sent for an answered request is shown before this.
        echo("end")?;
        let lines = monitor.until(|line| line.contains(&format!("{MARKER}: end")))?;
        let (sent, _) = monitored(&lines, MARKER);
        Ok(Monitored {
            answers: tally.responses,
            sent,
        })
    }
}

pub(super) fn cpu(root: &Path) -> Result<(), Failure> {
    let settings = settings()?;
    let binary = cafe_binary(root)?;
    let cores = cores();
    let root = root.to_owned();
    // Everything from here runs on a thread pinned to the generator's core
    // (and what it starts inherits that, until pinned elsewhere).
    std::thread::spawn(move || -> Result<(), String> {
        measure_all(&root, binary, settings, cores).map_err(|e| e.to_string())
    })
    .join()
    .map_err(|_| "the cpu step panicked")??;
    Ok(())
}

fn measure_all(
    root: &Path,
    binary: PathBuf,
    settings: Settings,
    cores: Option<(usize, usize)>,
) -> Result<(), Failure> {
    if let Some((_, generator)) = cores {
        pin(this_thread_id()?, generator, false)?;
    }
    let redis = RedisServer::start()?;
    let redis_pid: u32 = redis_cli(redis.port, &["INFO", "server"])?
        .lines()
        .find_map(|line| line.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
        .ok_or("redis-server did not say its process ID")?;
    if let Some((server, _)) = cores {
        pin(redis_pid, server, true)?;
    }
    let bench = Bench {
        binary,
        redis,
        redis_pid,
        server_core: cores.map(|(server, _)| server),
        settings,
        ticks_per_second: ticks_per_second(),
        runtime: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    };
    let variants = only()?;
    let mut runs = Vec::new();
    let rounds = bench.settings.rounds;
    for round in 1..=rounds {
        // Every variant once a round, starting one later each round, so no
        // variant always runs first (or right after the same neighbour).
        for k in 0..variants.len() {
            let variant = variants[(k + round - 1) % variants.len()];
            runs.push(bench.measure(round, variant)?);
        }
    }
    let (table, notes) = cpu_table(&runs).ok_or("the runs do not make a table")?;
    let mut intro = intro(&bench, cores);
    if !notes.is_empty() {
        intro.push_str(&format!("{notes}\n\n"));
    }
    super::write_table(root, CPU_TABLE.0, &intro, &table)
}

fn intro(bench: &Bench, cores: Option<(usize, usize)>) -> String {
    let settings = &bench.settings;
    let Settings {
        rate,
        seconds,
        block,
        warmup,
        rounds,
    } = *settings;
    let pinning = match cores {
        Some((server, generator)) => format!(
            "The café and `redis-server` run on CPU {server}, the load generator on CPU \
             {generator} (`taskset`)."
        ),
        None => "Nothing is pinned: `taskset` or a second CPU is missing.".to_owned(),
    };
    format!(
        "Server CPU time per request: what the café and `redis-server` spent (every \
         thread's `/proc/PID/task/TID/schedstat`, nanoseconds on a CPU, read before and \
         after each block; `/proc/PID/stat`'s clock ticks as a cross-check) while this \
         program sent {} requests a second, open loop (at most {MAX_IN_FLIGHT} awaiting an \
         answer), divided by the answers counted. \
         Each run is a fresh `cafe serve`: {warmup} s of warm-up, then {} pairs of \
         {block} s blocks ({seconds} s in all), one block `GET /healthz` and the other the \
         variant's request, alternating which goes first; \"added over /healthz\" is the \
         median over the run's pairs of the variant's block minus its neighbour's. \
         {rounds} rounds, interleaved: each round runs every variant once, starting one \
         variant later each round. {pinning} Each figure is the median of the rounds, \
         with the smallest and largest round; the baseline's blocks are all `GET \
         /healthz`, so its \"added\" is an A/A check that should be near zero. Redis \
         commands: those the café sent, counted on `MONITOR` over {WATCHED} more requests \
         after the measured ones (`MONITOR` costs Redis CPU); those Redis ran, a script's \
         own calls included, from `INFO commandstats`, reset before each run's blocks.\n\n",
        grouped(u64::from(rate)),
        settings.pairs(),
    )
}
