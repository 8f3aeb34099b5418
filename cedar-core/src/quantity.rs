//! Byte quantities of extension sections (`<size_limit>`, `<full_size_limit>`, ...), read and
//! shown the way the original does.
//!
//! A value is trimmed, then a final `KB`, `MB` or `GB` (upper case) makes the number before it
//! that many 1024-based units; anything else is bytes. The number is a float as Python's
//! `float()` reads it, and must not be negative. [`display_bytes`] writes a size 1024-based:
//! `N bytes` under 1024, then `kB`, `MB` or `GB` with two decimals.

use crate::config::values::{parse_float, ByteQuantity};

/// Why a quantity cannot be read. The messages are the original's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("Quantity must be interpretable as a float")]
    NotAFloat,
    #[error("Quantity cannot be negative.")]
    Negative,
}

/// Reads a byte quantity (see the module documentation); returns it in bytes.
pub fn parse_bytes(text: &str) -> Result<f64, QuantityError> {
    let trimmed = text.trim_matches(char::is_whitespace);
    if let Some(quantity) = ByteQuantity::parse(trimmed) {
        return Ok(quantity.bytes());
    }
    // Tell a negative number from something that is no number at all.
    let number = ["KB", "MB", "GB"]
        .iter()
        .find_map(|unit| trimmed.strip_suffix(unit))
        .unwrap_or(trimmed);
    match parse_float(number) {
        Some(value) if value < 0.0 => Err(QuantityError::Negative),
        _ => Err(QuantityError::NotAFloat),
    }
}

const KIB: f64 = 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// A size as the original's `displayBytes` writes it in log lines and messages: `N bytes`
/// (`%.0f`) under 1024, then `%.2f` `kB`, `MB` or `GB` (binary units). The unit is chosen by the
/// magnitude, so a negative size keeps its sign: `-650.00 MB`. The one byte-size formatter of
/// the workspace (collect, store, span, capacity and amazons3 log with it).
pub fn display_bytes(bytes: f64) -> String {
    let size = bytes.abs();
    if size < KIB {
        format!("{bytes:.0} bytes")
    } else if size < MIB {
        format!("{:.2} kB", bytes / KIB)
    } else if size < GIB {
        format!("{:.2} MB", bytes / MIB)
    } else {
        format!("{:.2} GB", bytes / GIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_as_the_original_reads_them() {
        assert_eq!(parse_bytes("1e3"), Ok(1000.0));
        assert_eq!(parse_bytes("0.75 KB"), Ok(768.0));
        assert_eq!(parse_bytes(" 1 KB "), Ok(1024.0));
        assert_eq!(parse_bytes("2MB"), Ok(2.0 * MIB));
        assert_eq!(parse_bytes("1GB"), Ok(GIB));
        assert_eq!(parse_bytes("67890.0"), Ok(67890.0));
        assert_eq!(parse_bytes("0"), Ok(0.0));
        assert_eq!(parse_bytes("1kb"), Err(QuantityError::NotAFloat));
        assert_eq!(parse_bytes("abc"), Err(QuantityError::NotAFloat));
        assert_eq!(parse_bytes("1 TB"), Err(QuantityError::NotAFloat));
        assert_eq!(parse_bytes(""), Err(QuantityError::NotAFloat));
        assert_eq!(parse_bytes("-5"), Err(QuantityError::Negative));
        assert_eq!(parse_bytes("-5 KB"), Err(QuantityError::Negative));
    }

    #[test]
    fn sizes_as_the_original_shows_them() {
        for (bytes, text) in [
            (0.0, "0 bytes"),
            (0.5, "0 bytes"),
            (768.0, "768 bytes"),
            (1000.0, "1000 bytes"),
            (1023.0, "1023 bytes"),
            (1024.0, "1.00 kB"),
            (3000.0, "2.93 kB"),
            (1_048_575.0, "1024.00 kB"),
            (1_048_576.0, "1.00 MB"),
            (20_000_000.0, "19.07 MB"),
            (GIB, "1.00 GB"),
            (1_099_511_627_776.0, "1024.00 GB"),
        ] {
            assert_eq!(display_bytes(bytes), text, "{bytes}");
        }
    }

    /// The table of the store action's log lines: negative sizes (space left over) keep their
    /// sign and take their unit from the magnitude.
    #[test]
    fn sizes_in_store_log_lines() {
        for (bytes, text) in [
            (0.0, "0 bytes"),
            (12.0, "12 bytes"),
            (1023.0, "1023 bytes"),
            (1024.0, "1.00 kB"),
            (1_048_575.0, "1024.00 kB"),
            (1_048_576.0, "1.00 MB"),
            (1_073_741_824.0, "1.00 GB"),
            (-681_574_400.0, "-650.00 MB"),
            (-5.0, "-5 bytes"),
            (4.4 * GIB, "4.40 GB"),
            (372_736.0, "364.00 kB"),
        ] {
            assert_eq!(display_bytes(bytes), text, "{bytes}");
        }
    }

    /// The table of the collect action's log lines (whole byte counts).
    #[test]
    fn sizes_in_collect_log_lines() {
        for (bytes, text) in [
            (0u64, "0 bytes"),
            (1023, "1023 bytes"),
            (1024, "1.00 kB"),
            (1536, "1.50 kB"),
            (1_048_575, "1024.00 kB"),
            (5_243_003, "5.00 MB"),
            (3_758_096_384, "3.50 GB"),
            (2_199_023_255_552, "2048.00 GB"),
        ] {
            assert_eq!(display_bytes(bytes as f64), text, "{bytes}");
        }
    }
}
