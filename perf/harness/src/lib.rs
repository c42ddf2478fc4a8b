//! The benches' shared `main`: one list of checks, measured two ways.
//!
//! - `cargo bench -p jwt` (or `-p cafe`): criterion times each check and
//!   writes `target/criterion/<group>/<name>/new/estimates.json`.
//! - Under callgrind, with `BENCH_CHECK=<group>/<name>` and
//!   `BENCH_ITERATIONS=<n>`: the bench binary runs that one check `n` times
//!   inside [`measured_loop`], and nothing else is counted
//!   (`valgrind --tool=callgrind --toggle-collect='*measured_loop*'`).
//!   Instruction counts repeat run to run where wall-clock time does not.
//! - With `BENCH_LIST=1`: it prints the checks' names, one a line.

use criterion::Criterion;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// One thing a server does per request, ready to run again and again.
pub struct Check {
    /// The table it belongs to, such as `access_check`.
    pub group: &'static str,
    /// Its row, such as `jwt-hs256`.
    pub name: String,
    /// Does it once. Panics if the check does not pass: a benchmark of a
    /// refusal would measure the wrong thing.
    pub run: Box<dyn FnMut()>,
}

impl Check {
    /// A check named `group/name`.
    pub fn new(group: &'static str, name: impl Into<String>, run: impl FnMut() + 'static) -> Check {
        Check {
            group,
            name: name.into(),
            run: Box::new(run),
        }
    }

    /// `group/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.group, self.name)
    }
}

/// Runs a future that finishes at once, as every in-memory store's does.
/// A runtime would add its own cost to each measurement, and nothing here
/// ever waits.
///
/// # Panics
///
/// If the future is not finished on its first poll.
pub fn finish_now<F: Future>(future: F) -> F::Output {
    let mut context = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut context) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory store never waits"),
    }
}

/// Runs `check` `iterations` times. Never inlined, so that callgrind can
/// count what happens inside it and only that.
#[inline(never)]
pub fn measured_loop(iterations: u64, check: &mut dyn FnMut()) {
    for _ in 0..iterations {
        check();
    }
}

/// The bench binary's `main`: see the module documentation.
pub fn main(checks: Vec<Check>) {
    if std::env::var_os("BENCH_LIST").is_some() {
        for check in &checks {
            println!("{}", check.id());
        }
        return;
    }
    if let Ok(wanted) = std::env::var("BENCH_CHECK") {
        let iterations = std::env::var("BENCH_ITERATIONS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(1000);
        let Some(mut check) = checks.into_iter().find(|check| check.id() == wanted) else {
            eprintln!("no check named {wanted}; BENCH_LIST=1 lists them");
            std::process::exit(2);
        };
        (check.run)(); // first-use costs (lazy statics, warm caches) are not per request
        measured_loop(iterations, &mut check.run);
        return;
    }
    // Short runs: the tables need a median, and a 2-core machine running
    // every check at criterion's defaults would take many minutes.
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    for mut check in checks {
        let mut group = criterion.benchmark_group(check.group);
        group.bench_function(&check.name, |bencher| bencher.iter(&mut check.run));
        group.finish();
    }
    criterion.final_summary();
}
