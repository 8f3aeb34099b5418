//! Values quoted in messages, cut to a readable length.
//!
//! A configuration value, a name or a command's output can be arbitrarily long (a 10 MB
//! `<starting_day>`); an error message or log line that quotes it in full is useless and can
//! fill a disk. Every message that quotes such text goes through [`clip`].

use std::fmt;

/// How many characters of a value a message shows.
pub const MAX_QUOTED_CHARS: usize = 200;

/// `text` for a message: its first [`MAX_QUOTED_CHARS`] characters, followed by `…` and the
/// full length when it is longer.
pub fn clip(text: &str) -> Clipped<'_> {
    Clipped(text)
}

/// The [`Display`](fmt::Display) of [`clip`].
#[derive(Debug, Clone, Copy)]
pub struct Clipped<'a>(&'a str);

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(MAX_QUOTED_CHARS) {
            None => f.write_str(self.0),
            Some((cut, _)) => write!(f, "{}… ({} bytes in all)", &self.0[..cut], self.0.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_shown_whole() {
        assert_eq!(clip("daily").to_string(), "daily");
        let exact = "é".repeat(MAX_QUOTED_CHARS);
        assert_eq!(clip(&exact).to_string(), exact);
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_QUOTED_CHARS + 1);
        let shown = clip(&long).to_string();
        assert_eq!(
            shown,
            format!(
                "{}… ({} bytes in all)",
                "é".repeat(MAX_QUOTED_CHARS),
                long.len()
            )
        );
        let huge = "x".repeat(10_000_000);
        assert!(clip(&huge).to_string().len() < 260);
    }
}
