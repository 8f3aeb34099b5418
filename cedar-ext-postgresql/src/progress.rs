//! The progress display of a run: one line per running dump with the bytes dumped so far and
//! the rate, drawn with `indicatif` on standard error.
//!
//! It is shown only on an interactive terminal: when standard error is a terminal and
//! `--quiet` is not given. Under cron, in a pipe or a file, or with `--quiet`, nothing is
//! drawn (the bytes are still counted, for the summary and the run status).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::config::Target;

/// How often the display is redrawn.
const REFRESH_HZ: u8 = 8;

/// The display of a run (possibly hidden).
#[derive(Debug)]
pub struct Progress {
    multi: Option<MultiProgress>,
}

impl Progress {
    /// The display for a run with `options`: shown on an interactive terminal, unless
    /// `--quiet`.
    pub fn for_run(options: &cedar_core::Options) -> Progress {
        if Progress::wanted(options.quiet, std::io::stderr().is_terminal()) {
            Progress::shown()
        } else {
            Progress::hidden()
        }
    }

    /// Whether to draw: standard error is a terminal and the run is not quiet.
    pub fn wanted(quiet: bool, stderr_is_terminal: bool) -> bool {
        stderr_is_terminal && !quiet
    }

    /// A display that draws nothing.
    pub fn hidden() -> Progress {
        Progress { multi: None }
    }

    /// A display drawn on standard error. While it exists, screen messages of the log
    /// (`--verbose`) are printed above it instead of through it.
    pub fn shown() -> Progress {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(REFRESH_HZ));
        let drawn = multi.clone();
        cedar_core::set_screen_guard(Some(std::sync::Arc::new(
            move |write: &mut dyn FnMut()| drawn.suspend(&mut *write),
        )));
        Progress { multi: Some(multi) }
    }

    /// Whether anything is drawn (for the tests).
    #[cfg(test)]
    pub fn is_shown(&self) -> bool {
        self.multi.is_some()
    }

    /// A line for the dump of `target`, from now until [`Bar::finish`] or [`Bar::abandon`].
    pub fn start(&self, target: &Target) -> Bar {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::no_length());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix} {bytes:>11} dumped, {binary_bytes_per_sec:>12} ({elapsed})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(target.to_string());
            bar.enable_steady_tick(Duration::from_millis(1000 / REFRESH_HZ as u64));
            bar
        });
        Bar {
            bar,
            bytes: AtomicU64::new(0),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.multi.is_some() {
            cedar_core::set_screen_guard(None);
        }
    }
}

/// The line of one dump; counts the bytes whether shown or not.
#[derive(Debug)]
pub struct Bar {
    bar: Option<ProgressBar>,
    bytes: AtomicU64,
}

impl Bar {
    /// `n` more bytes dumped.
    pub fn add(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// The bytes dumped so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Ends the line with `summary` in place of the running figures.
    pub fn finish(&self, summary: &str) {
        if let Some(bar) = &self.bar {
            bar.set_style(
                ProgressStyle::with_template("  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.finish_with_message(summary.to_string());
        }
    }

    /// Ends the line of a dump that failed or was interrupted.
    pub fn abandon(&self, target: &Target) {
        if let Some(bar) = &self.bar {
            bar.set_style(
                ProgressStyle::with_template("  {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.abandon_with_message(format!(
                "the dump of {target} failed after {} bytes",
                self.bytes()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_only_on_a_terminal_without_quiet() {
        assert!(Progress::wanted(false, true));
        assert!(!Progress::wanted(true, true));
        assert!(!Progress::wanted(false, false));
        assert!(!Progress::wanted(true, false));
    }

    #[test]
    fn a_hidden_display_still_counts() {
        let progress = Progress::hidden();
        assert!(!progress.is_shown());
        let bar = progress.start(&Target::Database("shop".into()));
        bar.add(10);
        bar.add(5);
        assert_eq!(bar.bytes(), 15);
        bar.finish("done");
    }

    #[test]
    fn a_shown_display_counts_too() {
        // Drawn to standard error when it is a terminal; harmless otherwise.
        let progress = Progress::shown();
        let bar = progress.start(&Target::All);
        bar.add(1 << 20);
        assert_eq!(bar.bytes(), 1 << 20);
        bar.abandon(&Target::All);
    }
}
