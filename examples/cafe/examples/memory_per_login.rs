//! How much server memory a logged-in user costs, in each store: creates
//! many sessions, refresh families and denylist entries, measures, and
//! writes the table the "Many servers" chapter includes
//! (`examples/cafe/measurements/memory-per-login.md`).
//!
//! ```console
//! $ redis-server --port 6390 --save '' --appendonly no &
//! $ cargo run -p cafe --example memory_per_login -- 1000000 redis://127.0.0.1:6390
//! ```
//!
//! The memory store is measured by this process's resident memory (VmRSS);
//! Redis by its own count of the bytes it holds (`INFO memory`,
//! `used_memory`). Without a Redis URL only the memory store is measured.

use cafe::redis_store::RedisStore;
use jwt::revocation::{DenylistStore, MemoryTokenStore, RefreshFamilyStore};
use sessions::{MemoryStore, SessionId, SessionRecord, SessionStore};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

const TTL: Duration = Duration::from_secs(30 * 60);
const NOW: u64 = 1_767_258_000;

/// This process's resident memory, in bytes.
fn resident_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with("VmRSS:"))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

async fn redis_used_bytes(url: &str) -> u64 {
    let client = redis::Client::open(url).expect("a Redis URL");
    let mut connection = client
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut connection)
        .await
        .expect("INFO memory");
    info.lines()
        .find_map(|line| line.strip_prefix("used_memory:"))
        .and_then(|bytes| bytes.trim().parse().ok())
        .unwrap_or(0)
}

/// What each login keeps of where it came from: an address and a browser's
/// `User-Agent`, cut as the café cuts it.
fn device() -> sessions::Device {
    sessions::Device::new(
        "203.0.113.7",
        Some(concat!(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 ",
            "(KHTML, like Gecko) Chrome/142.0 Safari/537.36"
        )),
    )
}

fn record(n: usize) -> SessionRecord {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(NOW);
    SessionRecord {
        user: format!("user-{n}"),
        created_at: at,
        last_seen: at,
        login_id: format!("{n:022}"),
        device: device(),
    }
}

/// Sessions, families and denylist entries for `logins` users, `tasks` at
/// a time, in `sessions` and `tokens`.
async fn fill<S, T>(sessions: Arc<S>, tokens: Arc<T>, logins: usize, what: &str, tasks: usize)
where
    S: SessionStore,
    T: RefreshFamilyStore + DenylistStore,
{
    let mut running = Vec::new();
    for task in 0..tasks {
        let (sessions, tokens) = (sessions.clone(), tokens.clone());
        let what = what.to_owned();
        running.push(tokio::spawn(async move {
            for n in (task..logins).step_by(tasks) {
                let user = format!("user-{n}");
                match what.as_str() {
                    "sessions" => {
                        let record = record(n);
                        let shard = sessions.shard_for(&record.user);
                        let key = SessionId::generate_in(shard).expect("random bytes").key();
                        sessions.create(key, record, TTL).await.expect("stored");
                    }
                    "families" => {
                        let sid = format!("{n:022}");
                        let jti = format!("{:022}", n + 1);
                        tokens
                            .start(&sid, &user, &jti, NOW + 7 * 86_400, NOW, &device())
                            .await
                            .expect("stored");
                    }
                    _ => {
                        // An entry names an ended login by its sid.
                        let sid = format!("{n:022}");
                        tokens
                            .deny(&user, &sid, NOW + 905, NOW)
                            .await
                            .expect("stored");
                    }
                }
            }
        }));
    }
    for task in running {
        task.await.expect("the task finished");
    }
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let logins: usize = args
        .next()
        .map_or(1_000_000, |n| n.parse().expect("a count"));
    let redis_url = args.next();
    let mut rows = Vec::new();

    if let Some(what) = redis_url
        .as_deref()
        .and_then(|arg| arg.strip_prefix("--in-memory-only="))
    {
        // A child run: one kind of state, in a fresh process, so memory that
        // an earlier measurement freed cannot be counted twice.
        let sessions = Arc::new(MemoryStore::new());
        let tokens = Arc::new(MemoryTokenStore::new());
        let before = resident_bytes();
        fill(sessions, tokens, logins, what, 1).await;
        println!("{}", resident_bytes().saturating_sub(before));
        return;
    }
    for what in ["sessions", "families", "denylist"] {
        let child = std::process::Command::new(std::env::current_exe().expect("this program"))
            .args([logins.to_string(), format!("--in-memory-only={what}")])
            .output()
            .expect("the measurement runs");
        let bytes = String::from_utf8_lossy(&child.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        rows.push(("memory", what, bytes));
    }
    if let Some(url) = &redis_url {
        for what in ["sessions", "families", "denylist"] {
            // A fresh prefix each run, so every key is new: point this at a
            // Redis of its own, not one that holds anything you want.
            let run = SessionId::generate().expect("random bytes").key().to_hex();
            let prefix = format!("measure-{}-{what}:", &run[..8]);
            let store = Arc::new(RedisStore::connect(url, &prefix).await.expect("Redis"));
            let before = redis_used_bytes(url).await;
            fill(store.clone(), store, logins, what, 64).await;
            let bytes = redis_used_bytes(url).await.saturating_sub(before);
            rows.push(("Redis", what, bytes));
        }
    }

    // Bytes each is also MB per million users: 10^6 of them, 10^6 bytes a MB.
    let mut table = String::from(
        "| Store | State | Bytes each, or MB per million users |\n| --- | --- | ---: |\n",
    );
    for (store, what, bytes) in &rows {
        let each = *bytes as f64 / logins as f64;
        let label = match *what {
            "sessions" => "a session record (and its user index)",
            "families" => "a refresh family (and its user index)",
            _ => "a denylist entry",
        };
        table.push_str(&format!("| {store} | {label} | {each:.0} |\n"));
    }
    table.push_str(&format!(
        "\nMeasured with {logins} of each on {}, by `cargo run -p cafe --example memory_per_login \
            -- {logins}{}`.\n",
        std::env::consts::ARCH,
        if redis_url.is_some() {
            " <redis-url>"
        } else {
            ""
        },
    ));
    print!("{table}");
    let out =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("measurements/memory-per-login.md");
    std::fs::write(&out, &table).expect("the table is written");
    eprintln!("wrote {}", out.display());
}
