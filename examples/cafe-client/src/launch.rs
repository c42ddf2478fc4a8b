//! Starting what a café runs on, as separate processes: the `cafe` binary
//! itself and `redis-server` (one, or a three-node Redis Cluster). Every
//! process is stopped when its handle is dropped, whether the program that
//! started it finished or panicked: none outlives its test or benchmark.

use std::io::{BufRead, BufReader, Lines};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a process could not be started.
#[derive(Debug)]
pub enum LaunchError {
    /// The program is not installed; how to install it.
    NotInstalled(String),
    /// It was there but did not start, or did not come up in time.
    Failed(String),
}

impl std::fmt::Display for LaunchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LaunchError::NotInstalled(how) | LaunchError::Failed(how) => f.write_str(how),
        }
    }
}

impl std::error::Error for LaunchError {}

fn failed(what: impl std::fmt::Display) -> LaunchError {
    LaunchError::Failed(what.to_string())
}

/// A free TCP port on loopback (free when asked: another process may take
/// it before it is used, which the callers' start-up checks catch).
pub fn free_port() -> Result<u16, LaunchError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(failed)?;
    Ok(listener.local_addr().map_err(failed)?.port())
}

/// A running `cafe` (or any program that prints where it listens).
pub struct CafeProcess {
    child: Child,
    /// Its standard output, until [`CafeProcess::drain_output`] hands it
    /// to a thread of its own.
    lines: Option<Lines<BufReader<ChildStdout>>>,
    /// `host:port`, as the process printed it.
    pub address: String,
}

impl CafeProcess {
    /// Runs `binary args…` with `CAFE_JWT_SECRET` removed from its
    /// environment, and reads standard output until a line starting with
    /// `prefix` (e.g. `listening on http://`); the rest of that line is the
    /// address.
    pub fn start(binary: &Path, args: &[&str], prefix: &str) -> Result<CafeProcess, LaunchError> {
        let mut child = Command::new(binary)
            .args(args)
            .env_remove("CAFE_JWT_SECRET")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| failed(format!("{}: {e}", binary.display())))?;
        let stdout = child.stdout.take().ok_or_else(|| failed("no stdout"))?;
        let mut process = CafeProcess {
            child,
            lines: Some(BufReader::new(stdout).lines()),
            address: String::new(),
        };
        process.address = loop {
            let line = process
                .next_line()
                .ok_or_else(|| failed(format!("{} ended before it listened", binary.display())))?;
            if let Some(rest) = line.strip_prefix(prefix) {
                // `host:port` whether the prefix named the scheme or not:
                // `perf` passed "listening on" and got `http://http://…`.
                let rest = rest.trim();
                break rest.strip_prefix("http://").unwrap_or(rest).to_owned();
            }
        };
        Ok(process)
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The next line the process prints, or `None` once it has ended.
    pub fn next_line(&mut self) -> Option<String> {
        self.lines.as_mut()?.next()?.ok()
    }

    /// Reads (and drops) everything the process prints from now on, on a
    /// thread of its own, so it never blocks on a full pipe.
    pub fn drain_output(&mut self) {
        if let Some(lines) = self.lines.take() {
            std::thread::spawn(move || lines.for_each(drop));
        }
    }

    /// The process ID.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The most memory the process has ever held (`VmHWM`), in KiB.
    pub fn peak_memory_kib(&self) -> Result<u64, LaunchError> {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.id())).map_err(failed)?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|kib| kib.split_whitespace().next()?.parse().ok())
            .ok_or_else(|| failed("no VmHWM line in /proc/PID/status"))
    }
}

impl Drop for CafeProcess {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

/// Whether `redis-server` is installed.
pub fn redis_installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok()
}

/// A `redis-server` on a loopback port, with nothing saved to disk.
pub struct RedisServer {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    /// Extra arguments (cluster mode, and the folder its state file goes to).
    extra: Vec<String>,
}

impl RedisServer {
    /// A fresh server on a free port.
    pub fn start() -> Result<RedisServer, LaunchError> {
        RedisServer::on(free_port()?, Vec::new())
    }

    fn on(port: u16, extra: Vec<String>) -> Result<RedisServer, LaunchError> {
        if !redis_installed() {
            return Err(LaunchError::NotInstalled(
                "redis-server is not installed (apt-get install redis-server)".to_owned(),
            ));
        }
        let mut server = RedisServer {
            child: None,
            port,
            extra,
        };
        server.run()?;
        Ok(server)
    }

    fn run(&mut self) -> Result<(), LaunchError> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| failed(format!("redis-server: {e}")))?;
        self.child = Some(child);
        wait_for_port(self.port, Duration::from_secs(5))
            .map_err(|_| failed(format!("redis-server did not listen on {}", self.port)))
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server, as a crash or an outage would.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().ok();
            child.wait().ok();
        }
    }

    /// Starts it again on the same port, empty.
    pub fn restart(&mut self) -> Result<(), LaunchError> {
        self.stop();
        self.run()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until something accepts connections on loopback `port`.
pub fn wait_for_port(port: u16, patience: Duration) -> Result<(), LaunchError> {
    let deadline = Instant::now() + patience;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(failed(format!("nothing listens on port {port}")));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

/// A Redis Cluster of three masters on loopback, made the way the Redis
/// documentation makes one: three `redis-server --cluster-enabled yes`, then
/// `redis-cli --cluster create`.
pub struct RedisCluster {
    /// The nodes.
    pub nodes: Vec<RedisServer>,
    _state: TempDir,
}

/// A folder for the nodes' cluster state files, removed afterwards.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

impl RedisCluster {
    /// Three nodes, every slot served, or why not.
    pub fn start() -> Result<RedisCluster, LaunchError> {
        let state = TempDir(std::env::temp_dir().join(format!("cafe-cluster-{}", free_port()?)));
        std::fs::create_dir_all(&state.0).map_err(failed)?;
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let port = free_port()?;
            let extra = vec![
                "--cluster-enabled".to_owned(),
                "yes".to_owned(),
                "--cluster-config-file".to_owned(),
                format!("nodes-{port}.conf"),
                "--dir".to_owned(),
                state.0.display().to_string(),
            ];
            nodes.push(RedisServer::on(port, extra)?);
        }
        let addresses: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| failed(format!("redis-cli: {e}")))?;
        if !created.success() {
            return Err(failed("redis-cli --cluster create failed"));
        }
        // Every node must agree that all 16384 slots are served.
        let deadline = Instant::now() + Duration::from_secs(10);
        for node in &nodes {
            loop {
                let info = Command::new("redis-cli")
                    .args(["-p", &node.port.to_string(), "cluster", "info"])
                    .output()
                    .map_err(|e| failed(format!("redis-cli: {e}")))?;
                if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(failed("the cluster did not come up"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(RedisCluster {
            nodes,
            _state: state,
        })
    }

    /// Every node's URL.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(RedisServer::url).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::CafeProcess;
    use std::path::Path;

    /// The address is `host:port` however much of the line the caller
    /// named as the prefix: the load benchmarks once built
    /// `http://http://127.0.0.1:…` and every `wrk` run failed.
    #[test]
    fn the_address_is_host_and_port_whatever_the_prefix_names() {
        for prefix in ["listening on http://", "listening on", "listening on "] {
            let printer = ["-c", "echo 'listening on http://127.0.0.1:1234'; sleep 5"];
            let process = CafeProcess::start(Path::new("/bin/sh"), &printer, prefix).unwrap();
            assert_eq!(process.address, "127.0.0.1:1234", "{prefix:?}");
            assert_eq!(process.url(), "http://127.0.0.1:1234", "{prefix:?}");
        }
    }
}
