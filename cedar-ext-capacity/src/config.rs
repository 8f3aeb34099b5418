//! The `<capacity>` section: `max_percentage` (a number from 0 to 100) or `min_bytes` (a
//! byte quantity such as `500 MB`), exactly one of them. Checked when the action runs, as in
//! the original.

use cedar_core::{clip_text, parse_float, ByteQuantity};
use serde::Deserialize;

/// The element name of the section under `<cb_config>`.
pub const SECTION: &str = "capacity";

/// The section as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct CapacitySection {
    #[serde(default)]
    pub max_percentage: Option<String>,
    #[serde(default)]
    pub min_bytes: Option<String>,
}

/// The limit the disc is held to.
#[derive(Debug, Clone, PartialEq)]
pub enum Limit {
    /// At most this much of the disc used, in percent; `text` as written.
    MaxPercentage { percent: f64, text: String },
    /// At least this many bytes left.
    MinBytes { bytes: f64 },
}

/// Why the section cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    #[error("Capacity section is required: the capacity action needs a <capacity> section with <max_percentage> or <min_bytes>; add one")]
    Missing,
    #[error(
        "<capacity> must hold <max_percentage> or <min_bytes>, but not both; remove one of them"
    )]
    Both,
    #[error("<capacity> must hold <max_percentage> (such as 95.5) or <min_bytes> (such as 500 MB); add one")]
    Neither,
    #[error("<capacity><max_percentage>: `{}` is not a number from 0 to 100 (Percentage must be a positive value from 0.0 to 100.0); write one such as 95.5", clip_text(.0))]
    Percentage(String),
    #[error("<capacity><min_bytes>: `{}` is not a byte quantity; write a number with an optional KB, MB or GB, such as 500 MB", clip_text(.0))]
    Bytes(String),
}

impl CapacitySection {
    /// The limit, checked.
    pub fn limit(&self) -> Result<Limit, CapacityError> {
        match (&self.max_percentage, &self.min_bytes) {
            (Some(_), Some(_)) => Err(CapacityError::Both),
            (None, None) => Err(CapacityError::Neither),
            (Some(text), None) => parse_float(text)
                .filter(|p| (0.0..=100.0).contains(p))
                .map(|percent| Limit::MaxPercentage {
                    percent,
                    text: text.clone(),
                })
                .ok_or_else(|| CapacityError::Percentage(text.clone())),
            (None, Some(text)) => ByteQuantity::parse(text)
                .map(|q| Limit::MinBytes { bytes: q.bytes() })
                .ok_or_else(|| CapacityError::Bytes(text.clone())),
        }
    }
}

/// The section's one rule is its limit (see [`CapacitySection::limit`]).
impl cedar_core::ExtensionSection for CapacitySection {
    const NAME: &'static str = SECTION;
    type Settings = Limit;

    fn settings(section: Option<&CapacitySection>) -> Result<Limit, Vec<String>> {
        section
            .ok_or(CapacityError::Missing)
            .and_then(CapacitySection::limit)
            .map_err(|err| vec![err.to_string()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(max: Option<&str>, min: Option<&str>) -> CapacitySection {
        CapacitySection {
            max_percentage: max.map(str::to_string),
            min_bytes: min.map(str::to_string),
        }
    }

    #[test]
    fn limits() {
        assert_eq!(
            section(Some("95.5"), None).limit().unwrap(),
            Limit::MaxPercentage {
                percent: 95.5,
                text: "95.5".into()
            }
        );
        assert_eq!(
            section(None, Some("500 MB")).limit().unwrap(),
            Limit::MinBytes {
                bytes: 500.0 * 1024.0 * 1024.0
            }
        );
        assert_eq!(
            section(None, Some("1.5GB")).limit().unwrap(),
            Limit::MinBytes {
                bytes: 1.5 * 1024.0 * 1024.0 * 1024.0
            }
        );
        for bad in ["-1", "100.5", "abc", ""] {
            assert!(matches!(
                section(Some(bad), None).limit(),
                Err(CapacityError::Percentage(_))
            ));
        }
        assert!(matches!(
            section(None, Some("lots")).limit(),
            Err(CapacityError::Bytes(_))
        ));
        assert!(matches!(
            section(Some("1"), Some("1")).limit(),
            Err(CapacityError::Both)
        ));
        assert!(matches!(
            section(None, None).limit(),
            Err(CapacityError::Neither)
        ));
    }
}
