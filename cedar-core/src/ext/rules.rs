//! The original's rules for the values of the extension sections, with its messages.
//!
//! Values are read as text (the first text node, untrimmed, see [`crate::config`]) and checked
//! here, so that a bad value gets the original's message: `<compress_mode> none</compress_mode>`
//! is rejected like any unknown mode.

use crate::compress::{self, Codec};
use crate::config::CollectMode;

/// The original's message for a compress mode it does not know.
pub const BAD_COMPRESS_MODE: &str = "Compress mode must be one of ['none', 'gzip', 'bzip2'].";
/// The original's message for a collect mode it does not know.
pub const BAD_COLLECT_MODE: &str = "Collect mode must be one of ['daily', 'weekly', 'incr'].";
/// The original's message for a boolean that is not Y or N.
pub const BAD_BOOLEAN: &str = "Boolean values must be one of ['Y', 'y', 'N', 'n'].";

/// The level the original compresses with, for gzip and bzip2 alike.
pub const LEVEL: u32 = 9;

/// A `<compress_mode>` the original knows (`none`, `gzip`, `bzip2`: not cback's `zstd`), else
/// the original's message.
pub fn parse_compress_mode(text: &str) -> Result<Codec, &'static str> {
    match Codec::parse(text) {
        Some(Codec::Zstd) | None => Err(BAD_COMPRESS_MODE),
        Some(codec) => Ok(codec),
    }
}

/// Compression with `codec` at the original's level 9, on every core.
pub fn compression(codec: Codec) -> compress::Settings {
    let mut settings = compress::Settings::new(codec);
    if codec != Codec::None {
        settings.level = LEVEL;
    }
    settings
}

/// A `<collect_mode>`, else the original's message.
pub fn parse_collect_mode(text: &str) -> Result<CollectMode, &'static str> {
    CollectMode::parse(text).ok_or(BAD_COLLECT_MODE)
}

/// `Y`/`y` or `N`/`n`, else the original's message.
pub fn parse_bool(text: &str) -> Result<bool, &'static str> {
    crate::config::values::parse_bool(text).ok_or(BAD_BOOLEAN)
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
        assert_eq!(parse_compress_mode("gzip"), Ok(Codec::Gzip));
        assert_eq!(parse_compress_mode(" none"), Err(BAD_COMPRESS_MODE));
        assert_eq!(parse_compress_mode("zstd"), Err(BAD_COMPRESS_MODE));
        assert_eq!(parse_collect_mode("incr"), Ok(CollectMode::Incr));
        assert_eq!(parse_collect_mode("Daily"), Err(BAD_COLLECT_MODE));
        assert_eq!(parse_bool("y"), Ok(true));
        assert_eq!(parse_bool("n"), Ok(false));
        assert_eq!(parse_bool("yes"), Err(BAD_BOOLEAN));
    }

    #[test]
    fn level_9_on_all_cores() {
        let settings = compression(Codec::Bzip2);
        assert_eq!((settings.level, settings.threads), (9, 0));
        assert_eq!(compression(Codec::Gzip).level, 9);
        assert_eq!(Codec::Gzip.extension(), ".gz");
        assert_eq!(Codec::None.extension(), "");
    }

    #[test]
    fn the_item_wins_over_the_section() {
        let got = inherited(Some("bzip2"), Some("gzip"), parse_compress_mode, "none set");
        assert_eq!(got, Ok(Codec::Bzip2));
        let got = inherited(None, Some("gzip"), parse_compress_mode, "none set");
        assert_eq!(got, Ok(Codec::Gzip));
        let got = inherited::<Codec>(None, None, parse_compress_mode, "none set");
        assert_eq!(got, Err("none set".to_string()));
        let got = inherited(Some("zip"), Some("gzip"), parse_compress_mode, "none set");
        assert_eq!(got, Err(BAD_COMPRESS_MODE.to_string()));
    }
}
