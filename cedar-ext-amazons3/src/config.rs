//! The `<amazons3>` section: reading, the original's rules and messages, and the settings.
//!
//! ```xml
//! <amazons3>
//!   <warn_midnite>N</warn_midnite>               <!-- Y: warn when yesterday or tomorrow is used -->
//!   <s3_bucket>example.com-backup/staging</s3_bucket> <!-- required: BUCKET[/PREFIX] -->
//!   <encrypt>gpg --batch --yes -e -r 'Backup' -o '${output}' '${input}'</encrypt>
//!   <full_size_limit>10 GB</full_size_limit>      <!-- optional: refuse a larger full day -->
//!   <incr_size_limit>2 GB</incr_size_limit>       <!-- optional: refuse a larger other day -->
//!   <!-- cback only: -->
//!   <endpoint>http://127.0.0.1:9000</endpoint>    <!-- S3-compatible store; else AWS_ENDPOINT_URL -->
//!   <region>eu-west-1</region>                    <!-- else AWS_REGION, the profile, us-east-1 -->
//!   <encrypt_mode>age</encrypt_mode>              <!-- with <recipient>: age, natively -->
//!   <recipient>age1...</recipient>                <!-- repeated -->
//!   <part_size>16 MB</part_size>                  <!-- multipart part size (default 8 MB) -->
//! </amazons3>
//! ```

use serde::Deserialize;

use cedar_core::{parse_recipients, Recipients};

/// The element name of the section under `<cb_config>`.
pub const SECTION: &str = "amazons3";

/// The smallest part S3 accepts (but for the last one).
pub const MIN_PART: u64 = 5 << 20;
/// The largest part S3 accepts.
pub const MAX_PART: u64 = 5 << 30;
/// The part size when none is configured: the aws program's 8 MiB.
pub const DEFAULT_PART: u64 = 8 << 20;

/// The `<amazons3>` section as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct AmazonS3Section {
    #[serde(default)]
    pub warn_midnite: Option<String>,
    #[serde(default)]
    pub s3_bucket: Option<String>,
    #[serde(default)]
    pub encrypt: Option<String>,
    #[serde(default)]
    pub full_size_limit: Option<String>,
    #[serde(default)]
    pub incr_size_limit: Option<String>,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub encrypt_mode: Option<String>,
    #[serde(default, rename = "recipient")]
    pub recipients: Vec<String>,
    #[serde(default)]
    pub part_size: Option<String>,
}

/// How files are encrypted on their way to the bucket.
#[derive(Debug, Clone)]
pub enum Encryption {
    None,
    /// The original's `<encrypt>` command line, run through `su` as the backup user, with
    /// `${input}` and `${output}` replaced.
    Command(String),
    /// age, natively (cback only).
    Age(Recipients),
}

/// What a run uses.
#[derive(Debug, Clone)]
pub struct Settings {
    pub warn_midnite: bool,
    /// `s3_bucket` exactly as configured.
    pub s3_bucket: String,
    pub encryption: Encryption,
    pub full_size_limit: Option<f64>,
    pub incr_size_limit: Option<f64>,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub part_size: u64,
}

impl Settings {
    /// Checks `section` (`None` when absent): values first, in document order, then the
    /// section's rules, as the original; the first problem is the error.
    pub fn from_section(section: Option<&AmazonS3Section>) -> Result<Settings, String> {
        let section = section.ok_or("AmazonS3 section is required.")?;
        let warn_midnite = match section.warn_midnite.as_deref() {
            None => false,
            Some(text) => cedar_core::parse_yes_no(text).ok_or_else(|| {
                format!("Boolean values must be one of ['Y', 'y', 'N', 'n']. (<warn_midnite> is [{text}])")
            })?,
        };
        let quantity = |value: &Option<String>, element: &str| -> Result<Option<f64>, String> {
            value
                .as_deref()
                .map(|text| {
                    cedar_core::parse_bytes(text)
                        .map_err(|e| format!("{e} (<amazons3><{element}> is [{text}])"))
                })
                .transpose()
        };
        let full_size_limit = quantity(&section.full_size_limit, "full_size_limit")?;
        let incr_size_limit = quantity(&section.incr_size_limit, "incr_size_limit")?;
        let part_size = match quantity(&section.part_size, "part_size")? {
            None => DEFAULT_PART,
            Some(bytes) => {
                let bytes = bytes.trunc() as u64;
                if !(MIN_PART..=MAX_PART).contains(&bytes) {
                    return Err(format!(
                        "<amazons3><part_size> must be between 5 MB and 5 GB, the part sizes S3 accepts; it is {bytes} bytes"
                    ));
                }
                bytes
            }
        };
        let s3_bucket = section
            .s3_bucket
            .as_deref()
            .filter(|b| !b.is_empty())
            .ok_or("AmazonS3 s3Bucket must be set.")?
            .to_string();
        let encryption = match (section.encrypt_mode.as_deref(), &section.encrypt) {
            (None, None) => Encryption::None,
            (None, Some(command)) => {
                if !command.contains("${input}") || !command.contains("${output}") {
                    tracing::warn!("The <amazons3><encrypt> command does not contain both ${{input}} and ${{output}}.");
                }
                Encryption::Command(command.clone())
            }
            (Some("age"), None) => Encryption::Age(
                parse_recipients(&section.recipients)
                    .map_err(|e| format!("<amazons3><recipient>: {e}"))?,
            ),
            (Some("age"), Some(_)) => {
                return Err("<amazons3> has both an <encrypt> command and <encrypt_mode>age; keep one of them".to_string())
            }
            (Some(other), _) => {
                return Err(format!(
                    "<amazons3><encrypt_mode> must be age (the <encrypt> command covers gpg); it is [{other}]"
                ))
            }
        };
        if !section.recipients.is_empty() && !matches!(encryption, Encryption::Age(_)) {
            return Err("<amazons3><recipient> needs <encrypt_mode>age</encrypt_mode>; add it or remove the recipients".to_string());
        }
        let endpoint = section
            .endpoint
            .as_deref()
            .map(|e| check_endpoint(e).map(|_| e.trim().to_string()))
            .transpose()?;
        Ok(Settings {
            warn_midnite,
            s3_bucket,
            encryption,
            full_size_limit,
            incr_size_limit,
            endpoint,
            region: section.region.as_deref().map(|r| r.trim().to_string()),
            part_size,
        })
    }

    /// The bucket: `s3_bucket` up to its first `/`.
    pub fn bucket(&self) -> &str {
        self.s3_bucket
            .split_once('/')
            .map_or(self.s3_bucket.as_str(), |(b, _)| b)
    }

    /// The prefix: `s3_bucket` after its first `/`, possibly empty.
    pub fn prefix(&self) -> &str {
        self.s3_bucket.split_once('/').map_or("", |(_, p)| p)
    }
}

/// An endpoint must be an http or https URL.
pub fn check_endpoint(text: &str) -> Result<(), String> {
    let t = text.trim();
    let rest = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .ok_or_else(|| format!("the S3 endpoint [{t}] must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("the S3 endpoint [{t}] names no host"));
    }
    Ok(())
}

impl cedar_core::ExtensionSection for AmazonS3Section {
    const NAME: &'static str = SECTION;
    type Settings = Settings;

    fn settings(section: Option<&AmazonS3Section>) -> Result<Settings, Vec<String>> {
        Settings::from_section(section).map_err(|message| vec![message])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(bucket: Option<&str>) -> AmazonS3Section {
        AmazonS3Section {
            s3_bucket: bucket.map(str::to_string),
            ..Default::default()
        }
    }

    fn problem(s: Option<&AmazonS3Section>) -> String {
        Settings::from_section(s).unwrap_err()
    }

    #[test]
    fn the_original_rules_and_messages() {
        assert_eq!(problem(None), "AmazonS3 section is required.");
        assert_eq!(
            problem(Some(&section(None))),
            "AmazonS3 s3Bucket must be set."
        );
        assert_eq!(
            problem(Some(&section(Some("")))),
            "AmazonS3 s3Bucket must be set."
        );
        let mut s = section(Some("b"));
        s.warn_midnite = Some("yes".into());
        assert!(
            problem(Some(&s)).starts_with("Boolean values must be one of ['Y', 'y', 'N', 'n'].")
        );
        let mut s = section(Some("b"));
        s.full_size_limit = Some("1 TB".into());
        assert!(problem(Some(&s)).starts_with("Quantity must be interpretable as a float"));
        let mut s = section(Some("b"));
        s.incr_size_limit = Some("-5".into());
        assert!(problem(Some(&s)).starts_with("Quantity cannot be negative."));
        // A bad value is reported before a missing bucket, as the original reads values first.
        let mut s = section(None);
        s.warn_midnite = Some("x".into());
        assert!(problem(Some(&s)).starts_with("Boolean values"));
    }

    #[test]
    fn bucket_prefix_and_cback_elements() {
        let mut s = section(Some("example.com-backup/staging/"));
        s.warn_midnite = Some("y".into());
        s.full_size_limit = Some("0".into());
        s.endpoint = Some("http://127.0.0.1:9000".into());
        let settings = Settings::from_section(Some(&s)).unwrap();
        assert!(settings.warn_midnite);
        assert_eq!(settings.bucket(), "example.com-backup");
        assert_eq!(settings.prefix(), "staging/");
        assert_eq!(settings.full_size_limit, Some(0.0));
        assert_eq!(settings.part_size, DEFAULT_PART);
        let bare = Settings::from_section(Some(&section(Some("bucket")))).unwrap();
        assert_eq!((bare.bucket(), bare.prefix()), ("bucket", ""));

        let mut s = section(Some("b"));
        s.endpoint = Some("127.0.0.1:9000".into());
        assert!(problem(Some(&s)).contains("http://"));
        let mut s = section(Some("b"));
        s.part_size = Some("1 MB".into());
        assert!(problem(Some(&s)).contains("between 5 MB and 5 GB"));
        let mut s = section(Some("b"));
        s.encrypt_mode = Some("age".into());
        assert!(problem(Some(&s)).contains("at least one <recipient>"));
        s.recipients = vec![age::x25519::Identity::generate().to_public().to_string()];
        assert!(matches!(
            Settings::from_section(Some(&s)).unwrap().encryption,
            Encryption::Age(_)
        ));
        s.encrypt = Some("gpg -o ${output} ${input}".into());
        assert!(problem(Some(&s)).contains("keep one of them"));
        let mut s = section(Some("b"));
        s.recipients = vec!["age1x".into()];
        assert!(problem(Some(&s)).contains("needs <encrypt_mode>age"));
    }
}
