//! Commands that reach a remote peer: the `rcp_command` copies of the stage action and the
//! `rsh_command` calls of managed steps, in the original's exact form.
//!
//! The command is a list of [`Word`]s. Run by an ordinary user, the words are the argument
//! vector, executed directly. Run by root, the call goes through `su BACKUP_USER -c "TEXT"`, so
//! that the backup user's ssh keys and wrappers are used, and TEXT is the words joined by
//! spaces the way the original joins them:
//!
//! - the fields of the configured command as they are (a site's wrapper may rely on the shell,
//!   e.g. `$HOME`), a field that holds a blank (grouped by double quotes in the configuration)
//!   in double quotes;
//! - a path or `USER@HOST:PATH` as it is, unless it holds a character the shell would take
//!   apart (a blank, a quote, `$`, ...), which the original passes unquoted and so breaks; then
//!   it is single-quoted;
//! - the two arguments of the indicator push in double quotes, and the remote command of a
//!   managed call in single quotes, as the original writes them.
//!
//! For every ordinary configuration the text is byte for byte the original's.

use std::process::{ExitStatus, Output};

use crate::hooks::split_command;
use crate::process::{self, SupervisedError, WithinError};

/// One word of a remote command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Word {
    /// A field of the configured rcp or rsh command.
    Config(String),
    /// A path or `USER@HOST:PATH`, quoted for the shell only when it needs it.
    Plain(String),
    /// `PREFIX/*`: a remote glob, left for the copy program to expand; PREFIX is quoted like
    /// [`Word::Plain`].
    Glob(String),
    /// Always in double quotes in the shell text (the original's indicator push).
    Double(String),
    /// Always in single quotes in the shell text (the original's managed remote command).
    Single(String),
}

impl Word {
    /// The argument this word is when the command is run directly.
    pub fn arg(&self) -> String {
        match self {
            Word::Config(s) | Word::Plain(s) | Word::Double(s) | Word::Single(s) => s.clone(),
            Word::Glob(prefix) => format!("{prefix}/*"),
        }
    }

    /// The word as it appears in the `su -c` text.
    pub fn shell(&self) -> String {
        match self {
            Word::Config(s) if s.chars().any(char::is_whitespace) => double_quote(s),
            Word::Config(s) => s.clone(),
            Word::Plain(s) => quote_if_needed(s),
            Word::Glob(prefix) => format!("{}/*", quote_if_needed(prefix)),
            Word::Double(s) => double_quote(s),
            Word::Single(s) => single_quote(s),
        }
    }
}

/// The words of a configured command (`/usr/bin/scp -B -q -C`), split like the original.
pub fn config_words(command: &str) -> Vec<Word> {
    split_command(command)
        .into_iter()
        .map(Word::Config)
        .collect()
}

fn is_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c)
}

fn quote_if_needed(s: &str) -> String {
    if !s.is_empty() && s.chars().all(is_safe) {
        s.to_string()
    } else {
        single_quote(s)
    }
}

/// `'s'`, with each `'` written as `'\''`.
pub fn single_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn double_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A command toward a peer, and who runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCall {
    pub words: Vec<Word>,
    /// `Some(user)`: run as `su USER -c TEXT` (this process is root).
    pub su_user: Option<String>,
    /// The `su` program (the `<override>` for `su`, else `su`).
    pub su_program: String,
}

/// Why a remote call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("cannot run `{command}`: {source}; check that the program exists (or fix its path in the configuration)")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` was stopped: the run was interrupted")]
    Interrupted { command: String },
    #[error("`{command}` gave no answer within {seconds} s and was stopped; check that the host is reachable and the command does not wait for a password")]
    TimedOut { command: String, seconds: u64 },
    #[error(
        "`{command}` {}{}",
        describe_status(status),
        stderr_suffix(stderr_tail)
    )]
    Exit {
        command: String,
        status: ExitStatus,
        /// The last lines the command wrote on standard error.
        stderr_tail: String,
    },
}

fn describe_status(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("failed with exit status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        _ => format!("failed ({status})"),
    }
}

fn stderr_suffix(tail: &str) -> String {
    if tail.is_empty() {
        "; it printed nothing on standard error".to_string()
    } else {
        format!(": {tail}")
    }
}

/// How many lines of standard error an error keeps.
pub const STDERR_TAIL_LINES: usize = 5;

impl RemoteCall {
    /// A call of `words`, run through `su` as `local_user` when `as_root`.
    pub fn new(words: Vec<Word>, local_user: Option<&str>, su_program: &str) -> RemoteCall {
        RemoteCall {
            words,
            su_user: local_user.map(str::to_string),
            su_program: su_program.to_string(),
        }
    }

    /// The words joined for the shell (the text after `su USER -c`).
    pub fn shell_text(&self) -> String {
        self.words
            .iter()
            .map(Word::shell)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The argument vector that is executed.
    pub fn argv(&self) -> Vec<String> {
        match &self.su_user {
            Some(user) => vec![
                self.su_program.clone(),
                user.clone(),
                "-c".to_string(),
                self.shell_text(),
            ],
            None => self.words.iter().map(Word::arg).collect(),
        }
    }

    /// The call as one line, for logs, errors and `--dry-run`.
    pub fn display(&self) -> String {
        match &self.su_user {
            Some(user) => format!(
                "{} {user} -c {}",
                self.su_program,
                double_quote(&self.shell_text())
            ),
            None => self.shell_text(),
        }
    }

    /// Runs the call to completion, supervised (a SIGTERM stops it with its process group);
    /// its output is logged with `--output`. Success is exit status 0.
    pub fn run(&self) -> Result<Output, RemoteError> {
        self.run_limited(None)
    }

    /// [`RemoteCall::run`] stopped after `limit` ([`RemoteError::TimedOut`]): for checks that
    /// must not hang on an unreachable host (`cback doctor`).
    pub fn run_within(&self, limit: std::time::Duration) -> Result<Output, RemoteError> {
        self.run_limited(Some(limit))
    }

    fn run_limited(&self, limit: Option<std::time::Duration>) -> Result<Output, RemoteError> {
        let argv = self.argv();
        let command = self.display();
        let Some((program, args)) = argv.split_first() else {
            return Err(RemoteError::Spawn {
                command,
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "empty command"),
            });
        };
        tracing::debug!("Executing command [{command}].");
        let mut cmd = process::command(program);
        cmd.args(args);
        let output = match limit {
            Some(limit) => process::run_supervised_within(cmd, limit),
            None => process::run_supervised(cmd).map_err(WithinError::from),
        }
        .map_err(|err| match err {
            WithinError::Supervised(SupervisedError::Spawn(source)) => RemoteError::Spawn {
                command: command.clone(),
                source,
            },
            WithinError::Supervised(SupervisedError::Interrupted) => RemoteError::Interrupted {
                command: command.clone(),
            },
            WithinError::TimedOut(limit) => RemoteError::TimedOut {
                command: command.clone(),
                seconds: limit.as_secs(),
            },
        })?;
        crate::logging::log_command_output(&process::combined_text(&output));
        if output.status.success() {
            Ok(output)
        } else {
            Err(RemoteError::Exit {
                command,
                status: output.status,
                stderr_tail: process::tail(
                    &String::from_utf8_lossy(&output.stderr),
                    STDERR_TAIL_LINES,
                )
                .replace('\n', " | "),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scp() -> Vec<Word> {
        config_words("/usr/bin/scp -B -q -C")
    }

    #[test]
    fn the_copy_reads_as_the_original_writes_it() {
        let mut words = scp();
        words.push(Word::Glob("backup@host1:/var/backup/collect".into()));
        words.push(Word::Plain("/stage/2026/12/01/host1".into()));
        let as_root = RemoteCall::new(words.clone(), Some("backup"), "su");
        assert_eq!(
            as_root.argv(),
            [
                "su",
                "backup",
                "-c",
                "/usr/bin/scp -B -q -C backup@host1:/var/backup/collect/* /stage/2026/12/01/host1"
            ]
        );
        let plain = RemoteCall::new(words, None, "su");
        assert_eq!(
            plain.argv(),
            [
                "/usr/bin/scp",
                "-B",
                "-q",
                "-C",
                "backup@host1:/var/backup/collect/*",
                "/stage/2026/12/01/host1"
            ]
        );
    }

    #[test]
    fn the_push_and_the_managed_command_keep_the_originals_quotes() {
        let mut words = scp();
        words.push(Word::Double("/work/cback.stage".into()));
        words.push(Word::Double("backup@host1:/c/cback.stage".into()));
        assert_eq!(
            RemoteCall::new(words, Some("backup"), "su").argv()[3],
            r#"/usr/bin/scp -B -q -C "/work/cback.stage" "backup@host1:/c/cback.stage""#
        );
        let mut words = config_words("/usr/bin/ssh -q");
        words.push(Word::Plain("backup@host1".into()));
        words.push(Word::Single("/usr/bin/cback3 --full collect".into()));
        let call = RemoteCall::new(words, Some("backup"), "su");
        assert_eq!(
            call.argv()[3],
            "/usr/bin/ssh -q backup@host1 '/usr/bin/cback3 --full collect'"
        );
        assert_eq!(
            call.display(),
            r#"su backup -c "/usr/bin/ssh -q backup@host1 '/usr/bin/cback3 --full collect'""#
        );
    }

    #[test]
    fn only_what_the_shell_would_break_is_quoted() {
        assert_eq!(Word::Plain("/a b/c".into()).shell(), "'/a b/c'");
        assert_eq!(Word::Plain("it's".into()).shell(), r"'it'\''s'");
        assert_eq!(Word::Glob("u@h:/my dir".into()).shell(), "'u@h:/my dir'/*");
        assert_eq!(Word::Glob("u@h:/my dir".into()).arg(), "u@h:/my dir/*");
        assert_eq!(Word::Double(r#"a"$b"#.into()).shell(), r#""a\"\$b""#);
        // A configured field stays as written, so a wrapper may use the shell ...
        assert_eq!(Word::Config("$HOME/key".into()).shell(), "$HOME/key");
        // ... and a field the configuration grouped with double quotes stays one word.
        let words = config_words(r#"ssh -o "ProxyCommand nc %h %p""#);
        assert_eq!(words[2].shell(), r#""ProxyCommand nc %h %p""#);
    }

    #[test]
    fn a_failing_call_names_the_command_and_its_stderr() {
        let words = vec![
            Word::Config("/bin/sh".into()),
            Word::Config("-c".into()),
            Word::Single("echo one >&2; echo two >&2; exit 3".into()),
        ];
        let err = RemoteCall::new(words, None, "su").run().unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("failed with exit status 3: one | two"),
            "{text}"
        );
        assert!(text.starts_with("`/bin/sh -c "), "{text}");
        let err = RemoteCall::new(vec![Word::Config("/no/such/rcp".into())], None, "su")
            .run()
            .unwrap_err();
        assert!(matches!(err, RemoteError::Spawn { .. }), "{err}");
    }
}
