//! A private `redis-server` per test: on a free loopback port, in a temporary directory, without
//! persistence, killed when dropped.
//!
//! When the binary is missing the Redis tests skip (printing `skipped: redis-server not found`),
//! unless `CACHER_REQUIRE_REDIS=1`, under which they fail: CI installs Redis and sets it, so that
//! a broken installation cannot pass as a skip.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Set to `1` to make the Redis tests fail, rather than skip, when no server can be started.
pub const REQUIRE_ENV: &str = "CACHER_REQUIRE_REDIS";

/// Overrides the `redis-server` binary (a path).
pub const BINARY_ENV: &str = "CACHER_REDIS_SERVER";

/// How long a starting server has to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `redis-server`, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server, or returns `None` after printing why the test is skipped.
    ///
    /// # Panics
    /// When the server cannot be started and `CACHER_REQUIRE_REDIS=1`, or when the binary exists
    /// but the server does not come up.
    pub fn start() -> Option<Self> {
        let Some(binary) = find_binary() else {
            if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
                panic!(
                    "redis-server not found on PATH (nor in ${BINARY_ENV}), and {REQUIRE_ENV}=1: \
                     install it (Debian: apt-get install redis-server)"
                );
            }
            println!("skipped: redis-server not found");
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary directory for redis-server");
        let mut server = Self {
            binary,
            dir,
            port: 0,
            child: None,
        };
        // A free port can be taken by someone else between our probe and the server's bind:
        // try a few.
        let mut last_error = String::new();
        for _ in 0..5 {
            server.port = free_port();
            match server.spawn() {
                Ok(()) => return Some(server),
                Err(e) => last_error = e,
            }
        }
        panic!("redis-server did not start: {last_error}");
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (`SIGKILL`: no clean shutdown) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port, empty (nothing is persisted).
    ///
    /// # Panics
    /// When it does not come up.
    pub fn restart(&mut self) {
        self.kill();
        if let Err(e) = self.spawn() {
            panic!("redis-server did not restart on port {}: {e}", self.port);
        }
    }

    /// Sends one command, as RESP, and returns the raw reply (for tests that want no client).
    pub fn raw(&self, args: &[&str]) -> String {
        raw_command(self.port, args).unwrap_or_else(|e| panic!("redis {args:?}: {e}"))
    }

    fn spawn(&mut self) -> Result<(), String> {
        let log = self.dir.path().join(format!("redis-{}.log", self.port));
        let child = Command::new(&self.binary)
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--daemonize", "no", "--databases", "16"])
            .arg("--dir")
            .arg(self.dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if raw_command(self.port, &["PING"]).is_ok_and(|reply| reply == "+PONG\r\n") {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(format!("exited with {status}: {}", read_log(&log)));
            }
            if Instant::now() > deadline {
                self.kill();
                return Err(format!(
                    "no PONG within {START_TIMEOUT:?}: {}",
                    read_log(&log)
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn read_log(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn find_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(BINARY_ENV) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/bin", "/usr/sbin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

fn raw_command(port: u16, args: &[&str]) -> std::io::Result<String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut request = format!("*{}\r\n", args.len());
    for arg in args {
        request.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
    }
    stream.write_all(request.as_bytes())?;
    let mut reply = Vec::new();
    let mut buf = [0u8; 512];
    // Simple replies end with CRLF; enough for PING and the like.
    while !reply.ends_with(b"\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// Runs the current test binary again as a child, running only `test` (exactly: the full name
/// that [`test_name!`](crate::test_name) gives), with `envs` set: the child-role pattern of the multi-process tests. The child's test reads its role from
/// the environment and is a no-op when run normally.
pub fn spawn_self(test: &str, envs: &[(&str, String)]) -> Child {
    let mut command = Command::new(std::env::current_exe().expect("the test binary"));
    command
        .args([test, "--exact", "--nocapture", "--test-threads", "1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in envs {
        command.env(key, value);
    }
    command
        .spawn()
        .expect("spawning the test binary as a child")
}

/// Waits for a child made by [`spawn_self`], panics with its output if it failed, and returns
/// the values of its `RESULT <name>=<value>` lines, in order.
pub fn child_results(child: Child) -> Vec<(String, String)> {
    let output: Output = child.wait_with_output().expect("waiting for the child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "child failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        // libtest may print `test <name> ... ` on the same line, before the first result.
        .filter_map(|line| line.find("RESULT ").map(|at| &line[at + "RESULT ".len()..]))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
