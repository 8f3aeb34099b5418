//! Every item of an extension run attempted, each recorded for the run status
//! (`cback-status.json`, `cback.prom`), and the failures named together at the end, where the
//! original stops at the first one.

use std::time::Instant;

use crate::action::ActionError;
use crate::status::{self, DatabaseResult};

use super::capture::Captured;

/// The results of one run of an extension.
#[derive(Debug)]
pub struct Tally {
    action: &'static str,
    /// What the items are, for the summary: `MySQL dumps`, `Subversion repositories`, ...
    noun: &'static str,
    attempted: usize,
    failures: Vec<String>,
}

/// One item being worked on, timed from its start.
#[derive(Debug)]
pub struct Item {
    /// The name in the run status (database, repository path, file path).
    pub name: String,
    /// How messages name it: `database [shop]`, `repository [/srv/svn/a]`.
    pub label: String,
    started: Instant,
}

impl Item {
    pub fn new(name: impl Into<String>, label: impl Into<String>) -> Item {
        Item {
            name: name.into(),
            label: label.into(),
            started: Instant::now(),
        }
    }
}

/// The action failed for some items; the others were done.
#[derive(Debug, thiserror::Error)]
#[error("{}", message(.noun, *.attempted, .failures))]
pub struct ItemsFailed {
    pub noun: &'static str,
    pub attempted: usize,
    pub failures: Vec<String>,
}

fn message(noun: &str, attempted: usize, failures: &[String]) -> String {
    let mut text = if attempted == 1 && failures.len() == 1 {
        format!("1 of 1 {noun} failed")
    } else if failures.len() == attempted {
        format!("all {attempted} {noun} failed")
    } else {
        format!(
            "{} of {attempted} {noun} failed (the others were done)",
            failures.len()
        )
    };
    text.push_str("; fix the cause and run the action again");
    for failure in failures {
        text.push_str("\n- ");
        text.push_str(failure);
    }
    text
}

impl Tally {
    pub fn new(action: &'static str, noun: &'static str) -> Tally {
        Tally {
            action,
            noun,
            attempted: 0,
            failures: Vec::new(),
        }
    }

    /// `item` is done; `captured` is the file it wrote, if any.
    pub fn ok(&mut self, item: &Item, captured: Option<&Captured>) {
        self.attempted += 1;
        status::record(DatabaseResult {
            action: self.action.to_string(),
            database: item.name.clone(),
            file: captured
                .and_then(|c| c.path.file_name().map(|n| n.to_string_lossy().into_owned())),
            raw_bytes: captured.map_or(0, |c| c.totals.raw),
            bytes: captured.map_or(0, |c| c.totals.compressed),
            success: true,
            seconds: item.started.elapsed().as_secs_f64(),
            error: None,
            warnings: Vec::new(),
        });
    }

    /// `item` failed with `error`: logged now, named again at the end.
    pub fn failed(&mut self, item: &Item, error: &(dyn std::error::Error + 'static)) {
        self.attempted += 1;
        let text = format!("{}: {}", item.label, chain(error));
        tracing::error!("{text}");
        status::record(DatabaseResult {
            action: self.action.to_string(),
            database: item.name.clone(),
            file: None,
            raw_bytes: 0,
            bytes: 0,
            success: false,
            seconds: item.started.elapsed().as_secs_f64(),
            error: Some(text.clone()),
            warnings: Vec::new(),
        });
        self.failures.push(text);
    }

    /// Whether anything failed so far.
    pub fn has_failures(&self) -> bool {
        !self.failures.is_empty()
    }

    /// `Ok` when every item was done, else the failures together.
    pub fn finish(self) -> Result<(), ItemsFailed> {
        if self.failures.is_empty() {
            return Ok(());
        }
        Err(ItemsFailed {
            noun: self.noun,
            attempted: self.attempted,
            failures: self.failures,
        })
    }
}

impl From<ItemsFailed> for ActionError {
    fn from(err: ItemsFailed) -> Self {
        ActionError::failed(err.to_string())
    }
}

/// An error with its causes, on one line (`a: b: c`); see [`crate::chain::chain`].
pub use crate::chain::chain;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_named_together() {
        let mut tally = Tally::new("mysql", "MySQL dumps");
        tally.ok(&Item::new("a", "database [a]"), None);
        let err = std::io::Error::other("access denied");
        tally.failed(&Item::new("b", "database [b]"), &err);
        assert!(tally.has_failures());
        let text = tally.finish().unwrap_err().to_string();
        assert!(
            text.starts_with("1 of 2 MySQL dumps failed (the others were done)"),
            "{text}"
        );
        assert!(text.contains("\n- database [b]: access denied"), "{text}");
        assert!(Tally::new("mysql", "MySQL dumps").finish().is_ok());
    }
}
