//! A program run on a pseudo-terminal, for the tests of what cback draws only on a terminal
//! (the progress display): util-linux `script` gives the command a terminal as its standard
//! streams and copies what it drew.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};

/// What a command drew on its terminal, and how it ended.
#[derive(Debug)]
pub struct Screen {
    /// Its exit code (`script -e` passes it on).
    pub code: Option<i32>,
    /// Everything it wrote to the terminal, control sequences included.
    pub text: String,
}

impl Screen {
    /// The lines it drew one after another: its text cut at each line end, carriage return
    /// and line erase (`ESC [2K`), as a redrawn progress line leaves them.
    pub fn frames(&self) -> impl Iterator<Item = &str> {
        self.text
            .split(['\r', '\n'])
            .flat_map(|l| l.split("\x1b[2K"))
    }
}

/// Runs `cmd` (its program, arguments and environment) on a pseudo-terminal; `None`, after
/// saying so on standard error, when util-linux `script` is not installed.
pub fn on_a_terminal(cmd: &Command) -> Option<Screen> {
    let Some(script) = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
    else {
        eprintln!("SKIPPED: util-linux `script` is not installed");
        return None;
    };
    let quote = |s: &std::ffi::OsStr| format!("'{}'", s.to_string_lossy().replace('\'', "'\\''"));
    let line: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(quote)
        .collect();
    let mut outer = Command::new(script);
    outer
        .args(["-q", "-e", "-f", "-c"])
        .arg(line.join(" "))
        .arg("/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cmd.get_current_dir() {
        outer.current_dir(dir);
    }
    for (key, value) in cmd.get_envs() {
        match value {
            Some(value) => outer.env(key, value),
            None => outer.env_remove(key),
        };
    }
    outer.env("TERM", "xterm");
    let mut child = outer.spawn().expect("start script");
    // script reads its standard input until the command ends; keep it open and empty.
    let stdin = child.stdin.take();
    let mut text = Vec::new();
    child
        .stdout
        .take()
        .expect("script's output")
        .read_to_end(&mut text)
        .expect("read script's output");
    drop(stdin);
    let status = child.wait().expect("wait for script");
    Some(Screen {
        code: status.code(),
        text: String::from_utf8_lossy(&text).into_owned(),
    })
}
