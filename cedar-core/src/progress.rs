//! The one progress display of every long action (collect, stage, store, the postgresql dump,
//! the amazons3 upload and `cback-amazons3-sync`'s, `cback-restore`): lines drawn with
//! `indicatif` on standard error, each with what is done so far (items and bytes), the rate,
//! the time left when the total is known (given at the start, or learnt while the line runs:
//! [`Bar::set_totals`]), and what is being worked on now (a directory, a peer, an object,
//! a device).
//!
//! It is shown only on an interactive terminal: when standard error is a terminal and
//! `--quiet` is not given. Under cron or systemd, in a pipe or a file, or with `--quiet`,
//! nothing is drawn; the figures are still counted, for the action's summary line in the log
//! ([`Bar::summary`], [`Bar::conclude`]) and the run status.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::quantity::display_bytes;

/// How often the display is redrawn.
const REFRESH_HZ: u8 = 8;

/// The width of the bar of a line whose total is known (short: a terminal of 80 columns holds
/// the figures, and the rest of the line names the current work).
const BAR_WIDTH: usize = 12;

/// The display of a run (possibly hidden).
#[derive(Debug)]
pub struct Progress {
    multi: Option<MultiProgress>,
    /// Whether this display installed the log's screen guard (removed when it is dropped).
    guards_screen: bool,
}

impl Progress {
    /// The display for a run with `options`: shown on an interactive terminal, unless
    /// `--quiet`.
    pub fn for_run(options: &crate::Options) -> Progress {
        Progress::for_terminal(options.quiet)
    }

    /// The display of a program without a run's options (`cback-restore`): shown when standard
    /// error is a terminal and `quiet` is false.
    pub fn for_terminal(quiet: bool) -> Progress {
        if Progress::wanted(quiet, std::io::stderr().is_terminal()) {
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
        Progress {
            multi: None,
            guards_screen: false,
        }
    }

    /// A display drawn on standard error. While it exists, screen messages of the log
    /// (`--verbose`) are printed above it instead of through it.
    pub fn shown() -> Progress {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(REFRESH_HZ));
        let drawn = multi.clone();
        crate::logging::set_screen_guard(Some(std::sync::Arc::new(
            move |write: &mut dyn FnMut()| drawn.suspend(&mut *write),
        )));
        Progress {
            multi: Some(multi),
            guards_screen: true,
        }
    }

    /// A display that draws into nothing, with every line's drawing code running (for the
    /// tests: it leaves the log's screen guard alone, which other tests use at the same time).
    #[cfg(test)]
    fn drawn_nowhere() -> Progress {
        Progress {
            multi: Some(MultiProgress::with_draw_target(ProgressDrawTarget::hidden())),
            guards_screen: false,
        }
    }

    /// Whether anything is drawn.
    pub fn is_shown(&self) -> bool {
        self.multi.is_some()
    }

    /// A line measuring `measure`, from now until [`Bar::finish`], [`Bar::conclude`] or
    /// [`Bar::abandon`] (a line dropped without them is cleared).
    pub fn start(&self, measure: Measure) -> Bar {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(match measure.position() {
                Position::Bytes => ProgressBar::new(measure.total_bytes.unwrap_or(0)),
                Position::Items => ProgressBar::new(measure.total_items.unwrap_or(0)),
                Position::Count | Position::Phase => ProgressBar::no_length(),
            });
            bar.set_style(style(&measure.template()));
            bar.set_prefix(measure.prefix(0));
            bar.enable_steady_tick(Duration::from_millis(1000 / REFRESH_HZ as u64));
            bar
        });
        let line = Bar {
            bar,
            measure: Mutex::new(measure),
            items: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            current: Mutex::new(Vec::new()),
            started: Instant::now(),
        };
        line.redraw_message();
        line
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.guards_screen {
            crate::logging::set_screen_guard(None);
        }
    }
}

/// What one line counts: its label, what its items are, what is done to its bytes, and the
/// totals when they are known beforehand.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Measure {
    /// The line's name on the screen: `collect`, `stage`, `database [shop]`.
    pub label: String,
    /// What the items are (`files`, `peers`, `objects`); `None` when only bytes are counted.
    pub noun: Option<&'static str>,
    /// What happens to the bytes: `archived`, `copied`, `sent`, `dumped`, `of SQL`.
    pub verb: &'static str,
    /// The items to do, when known.
    pub total_items: Option<u64>,
    /// The bytes to do, when known.
    pub total_bytes: Option<u64>,
}

/// What the drawn bar follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// The bytes, of a known total: the bar, the rate and the time left.
    Bytes,
    /// The items, of a known total (the bytes are not known beforehand): the bar.
    Items,
    /// No total: the bytes so far and the rate.
    Count,
    /// Nothing counted while it runs (an external program that reports nothing): the time
    /// and what is being done.
    Phase,
}

impl Measure {
    /// A line named `label` counting bytes only (`verb`: what is done to them).
    pub fn bytes(label: impl Into<String>, verb: &'static str) -> Measure {
        Measure {
            label: label.into(),
            verb,
            ..Measure::default()
        }
    }

    /// A line named `label` that counts nothing while it runs, and shows what is being done
    /// ([`Bar::now_on`]) and for how long; its bytes, added when known, go into its summary.
    pub fn phase(label: impl Into<String>) -> Measure {
        Measure {
            label: label.into(),
            ..Measure::default()
        }
    }

    /// A line named `label` counting `noun` and the bytes they hold.
    pub fn items(label: impl Into<String>, noun: &'static str, verb: &'static str) -> Measure {
        Measure {
            label: label.into(),
            noun: Some(noun),
            verb,
            ..Measure::default()
        }
    }

    /// The same line with its totals known beforehand.
    pub fn of(mut self, total_items: Option<u64>, total_bytes: Option<u64>) -> Measure {
        self.total_items = total_items;
        self.total_bytes = total_bytes;
        self
    }

    fn position(&self) -> Position {
        match (self.total_bytes, self.total_items) {
            (Some(_), _) => Position::Bytes,
            (None, Some(_)) => Position::Items,
            (None, None) if self.verb.is_empty() && self.noun.is_none() => Position::Phase,
            (None, None) => Position::Count,
        }
    }

    /// The `indicatif` template of the line; the message (`{wide_msg}`) is [`Measure::message`].
    fn template(&self) -> String {
        match self.position() {
            Position::Bytes => format!(
                "{{spinner}} {{prefix}}, {{bytes}} of {{total_bytes}} {verb} [{{bar:{BAR_WIDTH}}}] {{binary_bytes_per_sec}}, {{eta}} left  {{wide_msg}}",
                verb = escape(self.verb)
            ),
            Position::Items => format!(
                "{{spinner}} {{prefix}} [{{bar:{BAR_WIDTH}}}] {{pos}} of {{len}} {noun}, {{elapsed}}  {{wide_msg}}",
                noun = escape(self.noun.unwrap_or("items"))
            ),
            Position::Count => format!(
                "{{spinner}} {{prefix}} {{bytes}} {verb}, {{binary_bytes_per_sec}}, {{elapsed}}  {{wide_msg}}",
                verb = escape(self.verb)
            ),
            Position::Phase => "{spinner} {prefix} {elapsed}  {wide_msg}".to_string(),
        }
    }

    /// The start of the line: its label, and for a line of known bytes the items it counts
    /// (`amazons3 12 of 340 objects`), which must not be cut off with the message when the
    /// terminal is narrow.
    pub fn prefix(&self, items: u64) -> String {
        match (self.position(), self.noun) {
            (Position::Bytes, Some(noun)) => match self.total_items {
                Some(total) => format!("{} {items} of {total} {noun}", self.label),
                None => format!("{} {items} {noun}", self.label),
            },
            _ => self.label.clone(),
        }
    }

    /// What the line says after its figures: the count neither the bar nor the prefix shows,
    /// then what is worked on now (cut to the terminal's width). `12 files · /home/alice`,
    /// `1.20 MB copied, 0.60 MB/s · host1, host2`, `host1/etc.tar.gz`.
    pub fn message(&self, items: u64, bytes: u64, seconds: f64, current: &[String]) -> String {
        let figures = match self.position() {
            Position::Items => format!(
                "{} {}, {}/s",
                display_bytes(bytes as f64),
                self.verb,
                display_bytes(rate(bytes, seconds))
            ),
            Position::Bytes => String::new(),
            Position::Count | Position::Phase => match (self.noun, self.total_items) {
                (None, _) => String::new(),
                (Some(noun), Some(total)) => format!("{items} of {total} {noun}"),
                (Some(noun), None) => format!("{items} {noun}"),
            },
        };
        let now = current.join(", ");
        match (figures.is_empty(), now.is_empty()) {
            (true, _) => now,
            (false, true) => figures,
            (false, false) => format!("{figures} · {now}"),
        }
    }
}

/// The style drawn from `template` (a spinner should it not parse).
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// `text` safe inside an `indicatif` template.
fn escape(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// Bytes a second over `seconds` (nothing in no time).
fn rate(bytes: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        bytes as f64 / seconds
    } else {
        0.0
    }
}

/// The summary line of an action in the log: `Collected 1234 files, 56.78 MB in 12.3 s
/// (4.62 MB/s).` `done` is what happened, as a sentence's start (`Collected`, `Staged`); the
/// items are left out when `items` is `None`.
pub fn summary_line(done: &str, items: Option<(u64, &str)>, bytes: u64, seconds: f64) -> String {
    let counted = match items {
        Some((count, noun)) => format!("{count} {noun}, "),
        None => String::new(),
    };
    format!(
        "{done} {counted}{} in {seconds:.1} s ({}/s).",
        display_bytes(bytes as f64),
        display_bytes(rate(bytes, seconds))
    )
}

/// One line of the display; counts its items and bytes whether shown or not. Shared by the
/// threads of an action (every method takes `&self`).
#[derive(Debug)]
pub struct Bar {
    bar: Option<ProgressBar>,
    /// What the line counts; its totals may be learnt while it runs ([`Bar::set_totals`]).
    measure: Mutex<Measure>,
    items: AtomicU64,
    bytes: AtomicU64,
    /// What is worked on now (several when work runs at once).
    current: Mutex<Vec<String>>,
    started: Instant,
}

impl Bar {
    /// A line that draws nothing and counts (for a caller that has no display to draw on).
    pub fn hidden(measure: Measure) -> Bar {
        Progress::hidden().start(measure)
    }

    fn measure(&self) -> MutexGuard<'_, Measure> {
        self.measure.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The bytes to do, learnt once the line runs (a disc image's size, estimated by the
    /// writer): from now on the line shows the bytes done of `total`, the bar and the time
    /// left, as a line started with its total does ([`Bar::set_totals`]).
    pub fn set_total_bytes(&self, total: u64) {
        self.set_totals(None, Some(total));
    }

    /// The items and bytes to do, learnt once the line runs (collect's count, made beside the
    /// archiving); a total given as `None` stays as it was. From now on the line is drawn as a
    /// line started with these totals: the bar follows the bytes when their total is known
    /// (with the time left), else the items.
    pub fn set_totals(&self, items: Option<u64>, bytes: Option<u64>) {
        // Held while the bar is set, so that an item counted meanwhile moves it once.
        let mut measure = self.measure();
        measure.total_items = items.or(measure.total_items);
        measure.total_bytes = bytes.or(measure.total_bytes);
        if let Some(bar) = &self.bar {
            // Whatever the bar followed until now, it follows what has a total from now on.
            let followed = match measure.position() {
                Position::Bytes => measure.total_bytes.map(|total| (total, self.bytes())),
                Position::Items => measure.total_items.map(|total| (total, self.items())),
                Position::Count | Position::Phase => None,
            };
            if let Some((total, done)) = followed {
                bar.set_length(total);
                bar.set_position(done);
            }
            bar.set_style(style(&measure.template()));
        }
        drop(measure);
        self.redraw_message();
    }

    /// `n` more bytes done.
    pub fn add_bytes(&self, n: u64) {
        let Some(bar) = &self.bar else {
            self.bytes.fetch_add(n, Ordering::Relaxed);
            return;
        };
        // Held while counting, so that a total learnt meanwhile counts these bytes once.
        let measure = self.measure();
        self.bytes.fetch_add(n, Ordering::Relaxed);
        let position = measure.position();
        if position != Position::Items {
            bar.inc(n);
        }
        drop(measure);
        if position == Position::Items {
            self.redraw_message();
        }
    }

    /// One more item done, holding `bytes` bytes.
    pub fn add_item(&self, bytes: u64) {
        let Some(bar) = &self.bar else {
            self.items.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(bytes, Ordering::Relaxed);
            return;
        };
        // Held while counting, so that a total learnt meanwhile counts this item once.
        let measure = self.measure();
        self.items.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        match measure.position() {
            Position::Items => bar.inc(1),
            Position::Bytes | Position::Count | Position::Phase => bar.inc(bytes),
        }
        drop(measure);
        self.redraw_message();
    }

    /// Work on `name` begins (beside what else is worked on).
    pub fn begin(&self, name: &str) {
        self.with_current(|current| current.push(name.to_string()));
    }

    /// Work on `name` ended.
    pub fn end(&self, name: &str) {
        self.with_current(|current| {
            if let Some(at) = current.iter().position(|c| c == name) {
                current.remove(at);
            }
        });
    }

    /// `name` is now the one thing worked on.
    pub fn now_on(&self, name: &str) {
        self.with_current(|current| {
            current.clear();
            current.push(name.to_string());
        });
    }

    fn with_current(&self, change: impl FnOnce(&mut Vec<String>)) {
        change(&mut self.current.lock().unwrap_or_else(|e| e.into_inner()));
        self.redraw_message();
    }

    fn redraw_message(&self) {
        if let Some(bar) = &self.bar {
            let current = self.current.lock().unwrap_or_else(|e| e.into_inner());
            let measure = self.measure();
            if measure.position() == Position::Bytes {
                bar.set_prefix(measure.prefix(self.items()));
            }
            bar.set_message(measure.message(self.items(), self.bytes(), self.seconds(), &current));
        }
    }

    /// Whether the line is drawn (a measurement made only for the screen can be left out
    /// when it is not).
    pub fn is_drawn(&self) -> bool {
        self.bar.is_some()
    }

    /// The items done so far.
    pub fn items(&self) -> u64 {
        self.items.load(Ordering::Relaxed)
    }

    /// The bytes done so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The seconds since the line began.
    pub fn seconds(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The summary line of what this line counted ([`summary_line`]).
    pub fn summary(&self, done: &str) -> String {
        let items = self.measure().noun.map(|noun| (self.items(), noun));
        summary_line(done, items, self.bytes(), self.seconds())
    }

    /// Ends the line with `summary` in place of the running figures.
    pub fn finish(&self, summary: &str) {
        if let Some(bar) = self.ended() {
            bar.finish_with_message(summary.to_string());
        }
    }

    /// The drawn line, restyled to show only its last words.
    fn ended(&self) -> Option<&ProgressBar> {
        let bar = self.bar.as_ref()?;
        bar.set_style(style("  {msg}"));
        Some(bar)
    }

    /// Ends the line with `summary`, and logs it: the action's one summary line, which the log
    /// holds whether or not anything was drawn.
    pub fn conclude(&self, summary: &str) {
        self.finish(summary);
        tracing::info!("{summary}");
    }

    /// Removes the line from the screen (its figures stay counted).
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// Ends the line of work that failed or was interrupted, with `message`.
    pub fn abandon(&self, message: &str) {
        if let Some(bar) = self.ended() {
            bar.abandon_with_message(message.to_string());
        }
    }
}

impl Drop for Bar {
    /// A line left running (an error returned early) is cleared rather than left half drawn.
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            if !bar.is_finished() {
                bar.finish_and_clear();
            }
        }
    }
}

/// The bytes of one piece of work (a copy, an object, a disc image) counted on a line as its
/// program reports them, and settled to the piece's final figure when it is done, so that no
/// byte counts twice. Reports may be increments ([`Tally::add`]) or the total so far
/// ([`Tally::grow_to`]); shared by the threads that report (every method takes `&self`).
#[derive(Debug, Default)]
pub struct Tally {
    counted: AtomicU64,
}

impl Tally {
    /// `n` more bytes done.
    pub fn add(&self, line: &Bar, n: u64) {
        self.counted.fetch_add(n, Ordering::Relaxed);
        line.add_bytes(n);
    }

    /// `so_far` bytes done in all (a figure that only grows; a smaller one counts nothing).
    pub fn grow_to(&self, line: &Bar, so_far: u64) {
        let before = self.counted.fetch_max(so_far, Ordering::Relaxed);
        if so_far > before {
            line.add_bytes(so_far - before);
        }
    }

    /// The piece is done with `total` bytes: what the reports left out is counted now.
    pub fn settle(&self, line: &Bar, total: u64) {
        self.grow_to(line, total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tally_counts_each_byte_once_whatever_the_reports() {
        let line = Bar::hidden(Measure::bytes("copy", "copied"));
        let increments = Tally::default();
        increments.add(&line, 300);
        increments.add(&line, 200);
        increments.settle(&line, 800);
        assert_eq!(line.bytes(), 800);
        let totals = Tally::default();
        totals.grow_to(&line, 100);
        totals.grow_to(&line, 400);
        totals.grow_to(&line, 350);
        assert_eq!(line.bytes(), 1200, "a smaller report counts nothing");
        totals.settle(&line, 400);
        assert_eq!(line.bytes(), 1200, "settled at what was reported");
        totals.settle(&line, 500);
        assert_eq!(line.bytes(), 1300);
    }

    #[test]
    fn shown_only_on_a_terminal_without_quiet() {
        assert!(Progress::wanted(false, true));
        assert!(!Progress::wanted(true, true));
        assert!(!Progress::wanted(false, false));
        assert!(!Progress::wanted(true, false));
        assert!(!Progress::hidden().is_shown());
    }

    #[test]
    fn a_hidden_line_still_counts_and_sums_up() {
        let progress = Progress::hidden();
        let bar = progress.start(Measure::items("collect", "files", "archived"));
        bar.now_on("/home");
        bar.add_item(10);
        bar.add_item(5);
        bar.add_bytes(1);
        assert_eq!((bar.items(), bar.bytes()), (2, 16));
        let line = bar.summary("Collected");
        assert!(
            line.starts_with("Collected 2 files, 16 bytes in "),
            "{line}"
        );
        assert!(line.ends_with("/s)."), "{line}");
        bar.conclude(&line);
    }

    #[test]
    fn a_shown_line_counts_too() {
        let progress = Progress::drawn_nowhere();
        assert!(progress.is_shown());
        let bar =
            progress.start(Measure::items("upload", "objects", "sent").of(Some(2), Some(3 << 20)));
        let drawn = bar.bar.clone().unwrap();
        assert_eq!(drawn.prefix(), "upload 0 of 2 objects");
        bar.begin("a");
        bar.begin("b");
        assert_eq!(drawn.message(), "a, b");
        bar.add_item(1 << 20);
        bar.end("a");
        assert_eq!((bar.items(), bar.bytes()), (1, 1 << 20));
        assert_eq!(drawn.position(), 1 << 20, "the bar follows the bytes");
        assert_eq!(drawn.prefix(), "upload 1 of 2 objects");
        assert_eq!(drawn.message(), "b");
        bar.abandon("stopped");
        assert!(drawn.is_finished());
        assert_eq!(drawn.message(), "stopped");

        // Peers of a known number: the bar follows the items.
        let stage = progress.start(Measure::items("stage", "peers", "copied").of(Some(3), None));
        stage.add_bytes(5);
        stage.add_item(0);
        let drawn = stage.bar.clone().unwrap();
        assert_eq!(drawn.position(), 1);
        assert!(drawn.message().starts_with("5 bytes copied, "));
        stage.conclude("Staged 3 peer(s): ...");
        assert_eq!(drawn.message(), "Staged 3 peer(s): ...");

        // Dropped unfinished: cleared.
        let counted = progress.start(Measure::bytes("database [shop]", "dumped"));
        counted.add_bytes(7);
        assert_eq!(counted.bytes(), 7);
        let drawn = counted.bar.clone().unwrap();
        drop(counted);
        assert!(drawn.is_finished());
    }

    #[test]
    fn totals_learnt_while_the_line_runs_draw_it_as_a_line_started_with_them() {
        let progress = Progress::drawn_nowhere();
        let write = progress.start(Measure::bytes("[/dev/cdrw]", "written"));
        let drawn = write.bar.clone().unwrap();
        assert_eq!(drawn.length(), None);
        write.add_bytes(100);
        write.set_total_bytes(1000);
        assert_eq!((drawn.length(), drawn.position()), (Some(1000), 100));
        write.add_bytes(200);
        assert_eq!((drawn.position(), write.bytes()), (300, 300));
        assert_eq!(
            write.measure().template(),
            Measure::bytes("[/dev/cdrw]", "written")
                .of(None, Some(1000))
                .template(),
            "drawn as a line started with its total"
        );
        // A line whose bar followed its items follows the bytes once their total is known.
        let stage = progress.start(Measure::items("stage", "peers", "copied").of(Some(3), None));
        let drawn = stage.bar.clone().unwrap();
        stage.add_bytes(50);
        stage.add_item(0);
        assert_eq!(drawn.position(), 1);
        stage.set_total_bytes(500);
        assert_eq!(drawn.position(), 50);
        assert_eq!(drawn.prefix(), "stage 1 of 3 peers");
        // Both totals learnt (collect's count): drawn as a line started with them.
        let collect = progress.start(Measure::items("collect", "files", "archived"));
        let drawn = collect.bar.clone().unwrap();
        collect.add_item(10);
        collect.add_item(30);
        collect.set_totals(Some(5), Some(100));
        assert_eq!((drawn.length(), drawn.position()), (Some(100), 40));
        assert_eq!(drawn.prefix(), "collect 2 of 5 files");
        assert_eq!(
            collect.measure().template(),
            Measure::items("collect", "files", "archived")
                .of(Some(5), Some(100))
                .template()
        );
        collect.add_item(20);
        assert_eq!(
            (drawn.position(), drawn.prefix()),
            (60, "collect 3 of 5 files".into())
        );
        // The items' total alone: the bar follows the items; a total not given stays.
        let peers = progress.start(Measure::items("stage", "peers", "copied"));
        let drawn = peers.bar.clone().unwrap();
        peers.add_bytes(70);
        peers.add_item(0);
        peers.set_totals(Some(4), None);
        assert_eq!((drawn.length(), drawn.position()), (Some(4), 1));
        peers.set_totals(None, Some(700));
        assert_eq!((drawn.length(), drawn.position()), (Some(700), 70));
        assert_eq!(peers.measure().total_items, Some(4));
        // Hidden: the total is kept for nothing drawn, the counting goes on.
        let hidden = Bar::hidden(Measure::bytes("x", "written"));
        hidden.set_total_bytes(10);
        hidden.add_bytes(4);
        assert_eq!(hidden.bytes(), 4);
    }

    #[test]
    fn the_message_gives_the_count_the_bar_does_not_and_the_current_work() {
        let now = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        // Bytes of a known total: the items at the start, the message only the current work.
        let upload = Measure::items("upload", "objects", "sent").of(Some(340), Some(1 << 30));
        assert_eq!(upload.prefix(12), "upload 12 of 340 objects");
        assert_eq!(
            upload.message(12, 0, 1.0, &now(&["2026/12/01/host1/etc.tar.gz"])),
            "2026/12/01/host1/etc.tar.gz"
        );
        let bytes_of = Measure::bytes("restoring x", "of SQL").of(None, Some(10));
        assert_eq!(bytes_of.prefix(0), "restoring x");
        // Peers of a known number, bytes unknown beforehand: the bytes and their rate.
        let stage = Measure::items("stage", "peers", "copied").of(Some(10), None);
        assert_eq!(
            stage.message(3, 3 << 20, 2.0, &now(&["host1", "host2"])),
            "3.00 MB copied, 1.50 MB/s · host1, host2"
        );
        // No total: the items so far.
        let collect = Measure::items("collect", "files", "archived");
        assert_eq!(collect.prefix(5), "collect");
        assert_eq!(collect.message(5, 0, 0.0, &[]), "5 files");
        // Bytes only: what is worked on, or nothing.
        let dump = Measure::bytes("database [shop]", "dumped");
        assert_eq!(dump.message(0, 9, 1.0, &now(&["x"])), "x");
        assert_eq!(dump.message(0, 9, 1.0, &[]), "");
    }

    #[test]
    fn each_kind_of_line_has_its_own_template() {
        let known = Measure::items("upload", "objects", "sent").of(Some(1), Some(2));
        let items = Measure::items("stage", "peers", "copied").of(Some(4), None);
        let count = Measure::bytes("restoring {x}", "of SQL");
        let phase = Measure::phase("store");
        assert_eq!(phase.template(), "{spinner} {prefix} {elapsed}  {wide_msg}");
        assert_eq!(
            phase.message(0, 0, 1.0, &["writing [x] to [/dev/cdrw]".into()]),
            "writing [x] to [/dev/cdrw]"
        );
        assert!(known.template().contains("{bytes} of {total_bytes} sent"));
        assert!(known.template().contains("{eta} left"));
        assert!(items.template().contains("{pos} of {len} peers"));
        assert!(count
            .template()
            .contains("{bytes} of SQL, {binary_bytes_per_sec}"));
        for measure in [known, items, count, phase] {
            assert!(
                ProgressStyle::with_template(&measure.template()).is_ok(),
                "{}",
                measure.template()
            );
        }
        assert_eq!(escape("a{b}"), "a{{b}}");
    }

    #[test]
    fn the_summary_line_gives_items_bytes_time_and_rate() {
        assert_eq!(
            summary_line("Collected", Some((1234, "files")), 3 << 20, 2.0),
            "Collected 1234 files, 3.00 MB in 2.0 s (1.50 MB/s)."
        );
        assert_eq!(
            summary_line("Wrote the image to [/dev/cdrw]:", None, 0, 0.0),
            "Wrote the image to [/dev/cdrw]: 0 bytes in 0.0 s (0 bytes/s)."
        );
    }
}
