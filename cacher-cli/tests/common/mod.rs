//! What the tests of the built `cacher` binary share: running it, and reading what it printed.

use std::process::{Command, Output, Stdio};

/// Runs `cacher args…`, without a terminal.
pub fn cacher(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cacher"))
        .args(args)
        .env_remove("CACHER_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("the cacher binary runs")
}

/// What it printed on stdout.
pub fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Its exit code.
pub fn code(output: &Output) -> i32 {
    output.status.code().expect("exited")
}
