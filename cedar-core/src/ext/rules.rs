//! The original's rules for the values of the extension sections, with its messages.
//!
//! Values are read as text (the first text node, untrimmed, see [`crate::config`]) and checked
//! here, so that a bad value gets the original's message: `<compress_mode> none</compress_mode>`
//! is rejected like any unknown mode.

use crate::compress::{self, Codec};

/// How an extension compresses its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompressMode {
    None,
    Gzip,
    Bzip2,
}

/// The original's message for a compress mode it does not know.
pub const BAD_COMPRESS_MODE: &str = "Compress mode must be one of ['none', 'gzip', 'bzip2'].";
/// The original's message for a collect mode it does not know.
pub const BAD_COLLECT_MODE: &str = "Collect mode must be one of ['daily', 'weekly', 'incr'].";
/// The original's message for a boolean that is not Y or N.
pub const BAD_BOOLEAN: &str = "Boolean values must be one of ['Y', 'y', 'N', 'n'].";

/// The level the original compresses with, for gzip and bzip2 alike.
pub const LEVEL: u32 = 9;

impl CompressMode {
    pub fn parse(text: &str) -> Result<CompressMode, &'static str> {
        match text {
            "none" => Ok(CompressMode::None),
            "gzip" => Ok(CompressMode::Gzip),
            "bzip2" => Ok(CompressMode::Bzip2),
            _ => Err(BAD_COMPRESS_MODE),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CompressMode::None => "none",
            CompressMode::Gzip => "gzip",
            CompressMode::Bzip2 => "bzip2",
        }
    }

    /// The suffix the mode adds to a file name: empty, `.gz` or `.bz2`.
    pub fn extension(self) -> &'static str {
        self.codec().extension()
    }

    pub fn codec(self) -> Codec {
        match self {
            CompressMode::None => Codec::None,
            CompressMode::Gzip => Codec::Gzip,
            CompressMode::Bzip2 => Codec::Bzip2,
        }
    }

    /// Compression at the original's level 9, on every core.
    pub fn settings(self) -> compress::Settings {
        let mut settings = compress::Settings::new(self.codec());
        if self != CompressMode::None {
            settings.level = LEVEL;
        }
        settings
    }
}

/// When an item is backed up, and from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectMode {
    /// Every run, everything.
    Daily,
    /// On the starting day (or a full run), everything.
    Weekly,
    /// Every run, what is new since the last run; everything on a full run.
    Incr,
}

impl CollectMode {
    pub fn parse(text: &str) -> Result<CollectMode, &'static str> {
        match text {
            "daily" => Ok(CollectMode::Daily),
            "weekly" => Ok(CollectMode::Weekly),
            "incr" => Ok(CollectMode::Incr),
            _ => Err(BAD_COLLECT_MODE),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CollectMode::Daily => "daily",
            CollectMode::Weekly => "weekly",
            CollectMode::Incr => "incr",
        }
    }

    /// The original's rule: an item is backed up on a full run, in daily and incr mode, and in
    /// weekly mode when today is the starting day.
    pub fn backs_up_today(self, full: bool, start_of_week: bool) -> bool {
        full || self != CollectMode::Weekly || start_of_week
    }
}

/// `Y`/`y` or `N`/`n`, else the original's message.
pub fn parse_bool(text: &str) -> Result<bool, &'static str> {
    match text {
        "Y" | "y" => Ok(true),
        "N" | "n" => Ok(false),
        _ => Err(BAD_BOOLEAN),
    }
}

/// A compress mode that is set on the item or, failing that, on the section; `missing` is the
/// original's message for neither. A bad value is reported where it is written.
pub fn inherited<T: Copy>(
    own: Option<&str>,
    parent: Option<&str>,
    parse: fn(&str) -> Result<T, &'static str>,
    missing: &str,
) -> Result<T, String> {
    match own.or(parent) {
        Some(text) => parse(text).map_err(str::to_string),
        None => Err(missing.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_taken_as_written() {
        assert_eq!(CompressMode::parse("gzip"), Ok(CompressMode::Gzip));
        assert_eq!(CompressMode::parse(" none"), Err(BAD_COMPRESS_MODE));
        assert_eq!(CompressMode::parse("zstd"), Err(BAD_COMPRESS_MODE));
        assert_eq!(CollectMode::parse("incr"), Ok(CollectMode::Incr));
        assert_eq!(CollectMode::parse("Daily"), Err(BAD_COLLECT_MODE));
        assert_eq!(parse_bool("y"), Ok(true));
        assert_eq!(parse_bool("n"), Ok(false));
        assert_eq!(parse_bool("yes"), Err(BAD_BOOLEAN));
    }

    #[test]
    fn level_9_on_all_cores() {
        let settings = CompressMode::Bzip2.settings();
        assert_eq!((settings.level, settings.threads), (9, 0));
        assert_eq!(CompressMode::Gzip.settings().level, 9);
        assert_eq!(CompressMode::Gzip.extension(), ".gz");
        assert_eq!(CompressMode::None.extension(), "");
    }

    #[test]
    fn weekly_waits_for_the_starting_day() {
        assert!(!CollectMode::Weekly.backs_up_today(false, false));
        assert!(CollectMode::Weekly.backs_up_today(false, true));
        assert!(CollectMode::Weekly.backs_up_today(true, false));
        assert!(CollectMode::Daily.backs_up_today(false, false));
        assert!(CollectMode::Incr.backs_up_today(false, false));
    }

    #[test]
    fn the_item_wins_over_the_section() {
        let got = inherited(Some("bzip2"), Some("gzip"), CompressMode::parse, "none set");
        assert_eq!(got, Ok(CompressMode::Bzip2));
        let got = inherited(None, Some("gzip"), CompressMode::parse, "none set");
        assert_eq!(got, Ok(CompressMode::Gzip));
        let got = inherited::<CompressMode>(None, None, CompressMode::parse, "none set");
        assert_eq!(got, Err("none set".to_string()));
        let got = inherited(Some("zip"), Some("gzip"), CompressMode::parse, "none set");
        assert_eq!(got, Err(BAD_COMPRESS_MODE.to_string()));
    }
}
