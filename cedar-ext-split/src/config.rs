//! The `<split>` section: reading, the original's rules and messages, and the settings.
//!
//! ```xml
//! <split>
//!   <size_limit>250 MB</size_limit>  <!-- required: files strictly larger are split -->
//!   <split_size>100 MB</split_size>  <!-- required: the size of each part -->
//! </split>
//! ```
//!
//! Both are byte quantities ([`cedar_core::parse_bytes`]): `KB`, `MB`, `GB` (1024-based) or bytes.

use serde::Deserialize;

/// The element name of the section under `<cb_config>`.
pub const SECTION: &str = "split";

/// The `<split>` section as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SplitSection {
    #[serde(default)]
    pub size_limit: Option<String>,
    #[serde(default)]
    pub split_size: Option<String>,
}

/// What a run uses, in bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Files strictly larger than this are split.
    pub size_limit: f64,
    /// The part size as configured; the parts hold its whole bytes.
    pub split_size: f64,
}

impl Settings {
    /// Checks `section` (`None` when absent); the first problem is the error, in the
    /// original's words.
    pub fn from_section(section: Option<&SplitSection>) -> Result<Settings, String> {
        let section = section.ok_or("Split section is required.")?;
        let quantity = |value: &Option<String>, missing: &str, element: &str| {
            let text = value.as_deref().ok_or_else(|| missing.to_string())?;
            cedar_core::parse_bytes(text)
                .map_err(|e| format!("{e} (<split><{element}> is [{text}])"))
        };
        let size_limit = quantity(&section.size_limit, "Size limit must be set.", "size_limit")?;
        let split_size = quantity(&section.split_size, "Split size must be set.", "split_size")?;
        Ok(Settings {
            size_limit,
            split_size,
        })
    }

    /// The part size in whole bytes, as split is given it (`--bytes=N`).
    pub fn part_bytes(&self) -> u64 {
        self.split_size.trunc() as u64
    }
}

impl cedar_core::ExtensionSection for SplitSection {
    const NAME: &'static str = SECTION;
    type Settings = Settings;

    fn settings(section: Option<&SplitSection>) -> Result<Settings, Vec<String>> {
        Settings::from_section(section).map_err(|message| vec![message])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(limit: Option<&str>, size: Option<&str>) -> SplitSection {
        SplitSection {
            size_limit: limit.map(str::to_string),
            split_size: size.map(str::to_string),
        }
    }

    #[test]
    fn the_original_rules_and_messages() {
        let problem = |s: Option<&SplitSection>| Settings::from_section(s).unwrap_err();
        assert_eq!(problem(None), "Split section is required.");
        assert_eq!(
            problem(Some(&section(None, Some("1 MB")))),
            "Size limit must be set."
        );
        assert_eq!(
            problem(Some(&section(Some("1 MB"), None))),
            "Split size must be set."
        );
        assert!(problem(Some(&section(Some("1kb"), Some("1"))))
            .starts_with("Quantity must be interpretable as a float"));
        assert!(problem(Some(&section(Some("1"), Some("-5"))))
            .starts_with("Quantity cannot be negative."));
        let ok = Settings::from_section(Some(&section(Some("250 MB"), Some("0.75 KB")))).unwrap();
        assert_eq!(ok.size_limit, 250.0 * 1024.0 * 1024.0);
        assert_eq!(ok.part_bytes(), 768);
        let ok = Settings::from_section(Some(&section(Some("1e3"), Some("67890.0")))).unwrap();
        assert_eq!(ok.part_bytes(), 67890);
    }
}
