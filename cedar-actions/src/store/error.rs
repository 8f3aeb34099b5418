//! Why store, rebuild, initialize (and the writers they share with capacity and span) fail.
//! Every variant ends the action with exit 6; each message names the device, directory or
//! command and says what to do next.

use std::path::PathBuf;

use cedar_core::{ActionError, OwnershipError};

use super::check_error::CheckError;
use super::tools::ToolError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the {action} action needs the <{section}> section; add it to the configuration")]
    Incomplete {
        action: &'static str,
        section: &'static str,
    },
    #[error("the {action} action needs <{element}>; set it in the configuration")]
    MissingValue {
        action: &'static str,
        element: &'static str,
    },
    #[error("store writes the daily directories below <stage><staging_dir>, and this configuration has no <stage> section with one (the original crashes here); add <stage><staging_dir>, usually the same directory as <store><source_dir>")]
    NoStageSection,
    #[error("<store><blank_behavior> has mode {mode} but no <factor>, and deciding whether to blank today needs one (the original crashes here); add a factor such as <factor>1.0</factor>, or remove <blank_behavior>")]
    BlankFactorMissing { mode: &'static str },
    #[error("Unable to find unused staging directory to store (tried today, yesterday, tomorrow): none of {tried} is a directory holding cback.stage and no cback.store; run stage first, or store today's directory again with --full")]
    NothingToStore { tried: String },
    #[error("Unable to find unused staging directory to store (only tried today due to full option): {} is not a directory holding cback.stage; run stage first", dir.display())]
    NothingToStoreFull { dir: PathBuf },
    #[error("Unable to find any staging directories for rebuild process: no daily directory from {first} to {last} below {} holds cback.stage; check <store><source_dir> and run stage first", root.display())]
    NothingToRebuild {
        root: PathBuf,
        first: String,
        last: String,
    },
    #[error("Device [{}] is currently mounted; unmount it before writing (umount {})", device.display(), device.display())]
    DeviceMounted { device: PathBuf },
    #[error("Backup device {} {problem}; fix <store><target_device> or the device's permissions", device.display())]
    BadDevice {
        device: PathBuf,
        problem: &'static str,
    },
    #[error(transparent)]
    Tool(#[from] ToolError),
    #[error("cannot understand the output of `{command}`: {problem}; it printed {output:?}")]
    Unparsable {
        command: String,
        problem: &'static str,
        output: String,
    },
    #[error("Media does not contain enough capacity to store image: the image is {} and the {} disc in {} has {} available (capacity {}, {} used); nothing was written. Start a new disc (cback --full store, or cback rebuild), or split the data over several discs with cback-span", .0.image, .0.media, .0.device.display(), .0.available, .0.capacity, .0.used)]
    DoesNotFit(Box<Shortfall>),
    #[error("Media does not contain enough capacity to store image: growisofs found {free} blocks free on {} and {needed} to be written; put a new disc in, or write a new disc with cback --full store", device.display())]
    GrowisofsFull {
        device: PathBuf,
        free: u64,
        needed: u64,
    },
    #[error("Media has not been initialized: {problem} on {}; run `cback initialize` with this disc in the drive, or set <store><check_media>N", device.display())]
    MediaNotInitialized { device: PathBuf, problem: String },
    #[error("Only rewritable media types can be initialized: {media} is write-once; set <store><media_type> to a rewritable type (cdrw-74, cdrw-80, dvd+rw) or use a fresh disc without initializing")]
    NotRewritable { media: &'static str },
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}; the data is on the disc, fix the backup user or group and run again")]
    Ownership(#[from] OwnershipError),
    #[error("interrupted")]
    Interrupted,
    /// Stopped by SIGINT or SIGTERM while the disc was being written; a phrase that follows
    /// "interrupted while".
    #[error("writing {} to the disc in {}: the write stopped part way, so the disc may hold an incomplete session{}; no cback.store was written, so the next store run writes the same data again", dirs_list(dirs), device.display(), if *new_disc { " (this was a new disc: run store again with --full to start it over)" } else { " (if the next write to it fails, start a new disc with `cback --full store`)" })]
    InterruptedWriting {
        device: PathBuf,
        dirs: Vec<PathBuf>,
        new_disc: bool,
    },
}

fn dirs_list(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sizes of an image that does not fit, as written in messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    pub device: PathBuf,
    pub media: &'static str,
    pub image: String,
    pub available: String,
    pub capacity: String,
    pub used: String,
}

impl StoreError {
    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> StoreError {
        StoreError::Io {
            what,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn interrupted(&self) -> bool {
        matches!(
            self,
            StoreError::Interrupted | StoreError::Tool(ToolError::Interrupted { .. })
        )
    }
}

impl From<StoreError> for ActionError {
    fn from(err: StoreError) -> Self {
        if let StoreError::InterruptedWriting { .. } = err {
            return ActionError::InterruptedWhile(err.to_string());
        }
        if err.interrupted() {
            return ActionError::Interrupted;
        }
        let message = crate::collect::chain_message(&err);
        ActionError::with_source(message, err)
    }
}
