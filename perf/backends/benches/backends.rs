//! One backend's verify, per algorithm:
//!
//! ```console
//! $ cargo bench --manifest-path perf/backends/Cargo.toml --features aws_lc_rs
//! $ cargo bench --manifest-path perf/backends/Cargo.toml --features rust_crypto
//! ```

use bench_harness::Check;
use crypto_backends::{BACKEND, verifiers};

fn main() {
    let checks = verifiers()
        .expect("the test keys load")
        .into_iter()
        .map(|verifier| {
            let name = format!("{}-{BACKEND}", verifier.name);
            Check::new("backend_verify", name, move || {
                verifier.verify().expect("valid");
            })
        })
        .collect();
    bench_harness::main(checks);
}
