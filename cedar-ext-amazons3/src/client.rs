//! The S3 client: the AWS SDK for Rust (`aws-sdk-s3` with `aws-config`), driven from blocking
//! code through a single-threaded tokio runtime.
//!
//! Why this client (compared with `object_store`, measured in a scratch project on this 2-core
//! machine; see the commit that added it):
//! - credentials come from the standard chain the `aws` program uses: `AWS_*` variables, the
//!   profile files (`AWS_PROFILE`, `credential_process`, role assumption, web identity), the
//!   container and instance metadata services; `object_store` reads no profile file;
//! - object keys are used as they are (the original's keys may hold `//`, which
//!   `object_store`'s paths refuse);
//! - a part's body streams from a region of a file, so memory does not grow with the part
//!   size; `object_store` holds each part in memory;
//! - SHA-256 checksums per request and per part, a composite checksum on completion;
//! - built without its default TLS stack (aws-lc, a large C build) and without the SSO
//!   clients: rustls with ring instead.
//!
//! Endpoints and addressing follow the aws program: `<endpoint>`, else `AWS_ENDPOINT_URL_S3`,
//! `AWS_ENDPOINT_URL` or the profile's `endpoint_url`, and path-style requests whenever an
//! endpoint is set; the region from `<region>`, else `AWS_REGION` / `AWS_DEFAULT_REGION`, the
//! profile, the metadata service, else `us-east-1`. The profile files are the backup user's
//! (`HOME/.aws/config`, `HOME/.aws/credentials`), unless `AWS_CONFIG_FILE` /
//! `AWS_SHARED_CREDENTIALS_FILE` name others.
//!
//! No secret reaches a log line or a message: errors carry the service's error code and
//! message and the connector's cause, never a request's headers.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{
    ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier,
};
use cedar_core::error_chain;

/// Where to connect and whose configuration to read.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `<endpoint>`: overrides every other source.
    pub endpoint: Option<String>,
    /// `<region>`: overrides every other source.
    pub region: Option<String>,
    /// The home directory whose `.aws/` files are read (the backup user's).
    pub home: Option<PathBuf>,
}

/// One object as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    /// Last modification, seconds since the epoch.
    pub modified: Option<i64>,
}

/// A listed object of `size` bytes with no modification time (for the unit tests).
#[cfg(test)]
pub(crate) fn listed(key: &str, size: u64) -> Listed {
    Listed {
        key: key.to_string(),
        size,
        modified: None,
    }
}

/// One unfinished multipart upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    pub key: String,
    pub upload_id: String,
}

/// A failed S3 request.
#[derive(Debug, thiserror::Error)]
#[error("{operation} {target} at {endpoint} failed: {detail}{}", hint(*kind))]
pub struct S3Error {
    pub operation: &'static str,
    /// `s3://bucket/key` or `s3://bucket`.
    pub target: String,
    pub endpoint: String,
    pub detail: String,
    pub kind: ErrorKind,
}

/// What kind of failure, for the advice given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The server could not be reached or the connection broke.
    Unreachable,
    /// The credentials were refused, or none were found.
    Credentials,
    /// The bucket does not exist.
    NoBucket,
    /// The server says the data it received does not match its checksum.
    Checksum,
    /// An interrupt (SIGINT, SIGTERM ...) stopped the request before it finished.
    Interrupted,
    /// The server does not implement the operation (`NotImplemented`, as S3-compatible
    /// servers answer for the parts of the API they leave out).
    Unsupported,
    /// The server kept asking to slow down (`503 SlowDown`) for longer than cback waits.
    Throttled,
    Other,
}

fn hint(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Unreachable => "; check that the S3 endpoint is reachable from this host (network, firewall, <endpoint> or AWS_ENDPOINT_URL)",
        ErrorKind::Credentials => "; check those credentials of the backup user (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, ~/.aws/credentials) and that they may write to the bucket",
        ErrorKind::NoBucket => "; create the bucket first (cback never creates one) or fix <s3_bucket>",
        ErrorKind::Checksum => "; the data was damaged on its way and the server refused it; run again",
        ErrorKind::Unsupported => "; this S3-compatible server does not implement the request",
        ErrorKind::Throttled => "; the server throttled the requests for longer than cback waits (see the waits logged above); run again later or ask the provider about the bucket's request rate",
        ErrorKind::Interrupted | ErrorKind::Other => "",
    }
}

/// The SHA-256 checksum of `data`, base64, as the `x-amz-checksum-sha256` header carries it.
pub fn checksum_b64(digest: &[u8]) -> String {
    aws_smithy_types::base64::encode(digest)
}

/// How often a request that sends data looks for an interrupt.
const INTERRUPT_POLL: Duration = Duration::from_millis(100);

/// A connected client for one bucket.
#[derive(Debug)]
pub struct S3 {
    runtime: std::sync::Arc<tokio::runtime::Runtime>,
    client: aws_sdk_s3::Client,
    bucket: String,
    endpoint: String,
    /// Where the credentials come from, for messages ([`credentials_source`]).
    credentials: String,
}

/// Where the standard credentials chain finds the credentials, as messages name it: the
/// environment, a web identity token, a profile of a profile file, else the metadata services.
/// Names files and variables only, never a key.
fn credentials_source(home: Option<&Path>) -> String {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("AWS_ACCESS_KEY_ID") {
        return "the environment (AWS_ACCESS_KEY_ID)".into();
    }
    if set("AWS_WEB_IDENTITY_TOKEN_FILE") {
        return "the web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".into();
    }
    let profile = std::env::var("AWS_PROFILE")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "default".into());
    let holds = |path: Option<PathBuf>, headers: &[String]| {
        let path = path?;
        let text = std::fs::read_to_string(&path).ok()?;
        text.lines()
            .any(|line| headers.iter().any(|h| line.trim() == h))
            .then_some(path)
    };
    let in_credentials = holds(
        profile_file("AWS_SHARED_CREDENTIALS_FILE", home, "credentials"),
        &[format!("[{profile}]")],
    );
    let in_config = || {
        holds(
            profile_file("AWS_CONFIG_FILE", home, "config"),
            &[format!("[profile {profile}]"), format!("[{profile}]")],
        )
    };
    match in_credentials.or_else(in_config) {
        Some(path) => format!("profile [{profile}] of {}", path.display()),
        None => format!(
            "the container or instance metadata service (no AWS_ACCESS_KEY_ID, and no profile [{profile}] in the profile files)"
        ),
    }
}

/// The profile file `env_name` names, else `HOME/.aws/default_name`.
fn profile_file(env_name: &str, home: Option<&Path>, default_name: &str) -> Option<PathBuf> {
    match std::env::var_os(env_name) {
        Some(path) if !path.is_empty() => {
            let path = PathBuf::from(path);
            // `~/` means the backup user's home, as it would for the aws program run by su.
            match (path.strip_prefix("~"), home) {
                (Ok(rest), Some(home)) => Some(home.join(rest)),
                _ => Some(path),
            }
        }
        _ => home.map(|h| h.join(".aws").join(default_name)),
    }
}

/// The endpoint in effect before the profile is read: `<endpoint>`, then the variables.
fn configured_endpoint(options: &ConnectOptions) -> Option<String> {
    options.endpoint.clone().or_else(|| {
        ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    })
}

impl S3 {
    /// Reads the configuration and credentials sources and builds a client for `bucket`.
    /// Nothing is sent yet.
    pub fn connect(options: &ConnectOptions, bucket: &str) -> Result<S3, S3Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| S3Error {
                operation: "starting the S3 client for",
                target: format!("s3://{bucket}"),
                endpoint: "-".into(),
                detail: e.to_string(),
                kind: ErrorKind::Other,
            })?;
        let home = options.home.as_deref();
        #[allow(deprecated)]
        let files = {
            use aws_config::profile::profile_file::{ProfileFileKind, ProfileFiles};
            // Only files that exist: a missing one is normal, not worth the SDK's warning.
            let mut builder = ProfileFiles::builder();
            let mut any = false;
            if let Some(path) =
                profile_file("AWS_CONFIG_FILE", home, "config").filter(|p| p.is_file())
            {
                builder = builder.with_file(ProfileFileKind::Config, path);
                any = true;
            }
            if let Some(path) = profile_file("AWS_SHARED_CREDENTIALS_FILE", home, "credentials")
                .filter(|p| p.is_file())
            {
                builder = builder.with_file(ProfileFileKind::Credentials, path);
                any = true;
            }
            if !any {
                builder = builder.with_contents(ProfileFileKind::Config, "");
            }
            builder.build()
        };
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(120))
            .build();
        let retries = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(4)
            .with_initial_backoff(Duration::from_millis(200));
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http)
            .profile_files(files)
            .timeout_config(timeouts)
            .retry_config(retries)
            .request_checksum_calculation(
                aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired,
            )
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            );
        if let Some(endpoint) = &options.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(region) = &options.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let mut shared = runtime.block_on(loader.load());
        if shared.region().is_none() {
            // As the aws program for S3: no region configured anywhere means us-east-1.
            shared = shared
                .to_builder()
                .region(aws_config::Region::from_static("us-east-1"))
                .build();
        }
        let endpoint =
            configured_endpoint(options).or_else(|| shared.endpoint_url().map(str::to_string));
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        if let Some(url) = &endpoint {
            config = config.endpoint_url(url).force_path_style(true);
        }
        let region_name = shared
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".into());
        Ok(S3 {
            runtime: std::sync::Arc::new(runtime),
            client: aws_sdk_s3::Client::from_conf(config.build()),
            bucket: bucket.to_string(),
            endpoint: endpoint.unwrap_or_else(|| format!("AWS S3 ({region_name})")),
            credentials: credentials_source(home),
        })
    }

    /// The bucket's name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The endpoint, for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Runs a request, but gives up on it (dropping its connection) as soon as an interrupt
    /// arrives: a part of several MiB on a slow link does not hold the run for minutes.
    fn interruptible<F: std::future::Future>(
        &self,
        operation: &'static str,
        key: Option<&str>,
        request: F,
    ) -> Result<F::Output, S3Error> {
        let interrupted = || S3Error {
            operation,
            target: self.target(key),
            endpoint: self.endpoint.clone(),
            detail: "interrupted".into(),
            kind: ErrorKind::Interrupted,
        };
        if cedar_core::interrupt_requested() {
            return Err(interrupted());
        }
        self.runtime.block_on(async {
            let mut request = std::pin::pin!(request);
            loop {
                match tokio::time::timeout(INTERRUPT_POLL, request.as_mut()).await {
                    Ok(output) => return Ok(output),
                    Err(_) if cedar_core::interrupt_requested() => return Err(interrupted()),
                    Err(_) => {}
                }
            }
        })
    }

    fn error<E>(
        &self,
        operation: &'static str,
        key: Option<&str>,
        err: SdkError<E, HttpResponse>,
    ) -> S3Error
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let target = self.target(key);
        let (mut detail, kind) = describe(&err);
        if kind == ErrorKind::Credentials {
            detail.push_str(&format!(
                "; the credentials from {} were refused or could not be used",
                self.credentials
            ));
        }
        S3Error {
            operation,
            target,
            endpoint: self.endpoint.clone(),
            detail,
            kind,
        }
    }

    /// Sends a request (`attempt` sends it once, and answers `Err` only for an interrupt or a
    /// body that cannot be read) and waits out throttling: an answer that asks to slow down is
    /// retried after a jittered, growing wait (see `throttle`), each wait logged, up to
    /// `throttle::MAX_TOTAL_WAIT`; every other error is returned at once, as the SDK's own
    /// retries left it. Every request goes through here.
    fn patiently<T, E>(
        &self,
        operation: &'static str,
        key: Option<&str>,
        mut attempt: impl FnMut() -> Result<Result<T, SdkError<E, HttpResponse>>, S3Error>,
    ) -> Result<T, S3Error>
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let mut waited = Duration::ZERO;
        let mut round = 0;
        loop {
            let err = match attempt()? {
                Ok(output) => {
                    if !waited.is_zero() {
                        tracing::warn!(
                            "{operation} {}: succeeded after waiting {:.1} s in total for the throttling server",
                            self.target(key),
                            waited.as_secs_f64()
                        );
                    }
                    return Ok(output);
                }
                Err(e) => self.error(operation, key, e),
            };
            if err.kind != ErrorKind::Throttled {
                return Err(err);
            }
            let Some(wait) = crate::throttle::next_wait(round, waited) else {
                let mut err = err;
                err.detail = format!(
                    "{} (still throttled after waiting {:.1} s in total)",
                    err.detail,
                    waited.as_secs_f64()
                );
                return Err(err);
            };
            tracing::warn!(
                "{operation} {}: the server asks to slow down ({}); waiting {:.1} s before trying again (waited {:.1} s so far)",
                self.target(key),
                err.detail,
                wait.as_secs_f64(),
                waited.as_secs_f64()
            );
            // Waits `wait`, but stops as soon as an interrupt arrives (the timer is made when
            // the runtime first polls it, inside its context).
            self.interruptible(operation, key, async { tokio::time::sleep(wait).await })?;
            waited += wait;
            round += 1;
        }
    }

    /// `s3://bucket/key`, or `s3://bucket` without a key.
    fn target(&self, key: Option<&str>) -> String {
        match key {
            Some(key) => format!("s3://{}/{key}", self.bucket),
            None => format!("s3://{}", self.bucket),
        }
    }

    /// Fails unless the bucket exists and the credentials may use it.
    pub fn check_bucket(&self) -> Result<(), S3Error> {
        self.patiently("checking bucket", None, || {
            Ok(self
                .runtime
                .block_on(self.client.head_bucket().bucket(&self.bucket).send()))
        })
        .map(drop)
        .map_err(|mut err| {
            if err.detail.contains("404") || err.detail.contains("NotFound") {
                err.kind = ErrorKind::NoBucket;
                err.detail = "the bucket does not exist".into();
            }
            err
        })
    }

    fn body(&self, path: &Path, offset: u64, length: u64) -> Result<ByteStream, S3Error> {
        self.runtime
            .block_on(
                ByteStream::read_from()
                    .path(path)
                    .offset(offset)
                    .length(Length::Exact(length))
                    .buffer_size(256 << 10)
                    .build(),
            )
            .map_err(|e| S3Error {
                operation: "reading",
                target: path.display().to_string(),
                endpoint: self.endpoint.clone(),
                detail: DisplayErrorContext(e).to_string(),
                kind: ErrorKind::Other,
            })
    }

    /// Stores `length` bytes of `path` from `offset` as `key` in one request, with their
    /// SHA-256 checksum (base64) for the server to check.
    pub fn put_file(
        &self,
        key: &str,
        path: &Path,
        offset: u64,
        length: u64,
        sha256: &str,
    ) -> Result<(), S3Error> {
        // A retry sends the region again: each attempt opens it anew.
        let output = self.patiently("uploading", Some(key), || {
            let body = self.body(path, offset, length)?;
            self.interruptible(
                "uploading",
                Some(key),
                self.client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .content_length(length as i64)
                    .checksum_algorithm(ChecksumAlgorithm::Sha256)
                    .checksum_sha256(sha256)
                    .body(body)
                    .send(),
            )
        })?;
        self.check_echo(key, sha256, output.checksum_sha256())
    }

    /// Stores a small object (a marker) from memory, with its SHA-256 checksum.
    pub fn put_small(&self, key: &str, data: &[u8]) -> Result<(), S3Error> {
        use sha2::Digest;
        let sha256 = checksum_b64(&sha2::Sha256::digest(data));
        let output = self.patiently("uploading", Some(key), || {
            Ok(self.runtime.block_on(
                self.client
                    .put_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .content_length(data.len() as i64)
                    .checksum_algorithm(ChecksumAlgorithm::Sha256)
                    .checksum_sha256(&sha256)
                    .body(ByteStream::from(data.to_vec()))
                    .send(),
            ))
        })?;
        self.check_echo(key, &sha256, output.checksum_sha256())
    }

    /// A server that echoes a checksum must echo ours.
    fn check_echo(&self, key: &str, sent: &str, echoed: Option<&str>) -> Result<(), S3Error> {
        match echoed {
            Some(echoed) if echoed != sent => Err(S3Error {
                operation: "uploading",
                target: format!("s3://{}/{key}", self.bucket),
                endpoint: self.endpoint.clone(),
                detail: format!("the server stored SHA-256 {echoed}, but {sent} was sent"),
                kind: ErrorKind::Checksum,
            }),
            _ => Ok(()),
        }
    }

    /// Starts a multipart upload of `key` with SHA-256 checksums; returns its id.
    pub fn create_multipart(&self, key: &str) -> Result<String, S3Error> {
        let output = self.patiently("starting the multipart upload of", Some(key), || {
            Ok(self.runtime.block_on(
                self.client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .checksum_algorithm(ChecksumAlgorithm::Sha256)
                    .send(),
            ))
        })?;
        output
            .upload_id()
            .map(str::to_string)
            .ok_or_else(|| S3Error {
                operation: "starting the multipart upload of",
                target: format!("s3://{}/{key}", self.bucket),
                endpoint: self.endpoint.clone(),
                detail: "the server returned no upload id".into(),
                kind: ErrorKind::Other,
            })
    }

    /// Sends part `number` (from 1): `length` bytes of `path` from `offset`.
    #[allow(clippy::too_many_arguments)]
    pub fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        path: &Path,
        offset: u64,
        length: u64,
        sha256: &str,
    ) -> Result<CompletedPart, S3Error> {
        // A retry sends the region again: each attempt opens it anew.
        let output = self.patiently("uploading a part of", Some(key), || {
            let body = self.body(path, offset, length)?;
            self.interruptible(
                "uploading a part of",
                Some(key),
                self.client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .part_number(number)
                    .content_length(length as i64)
                    .checksum_algorithm(ChecksumAlgorithm::Sha256)
                    .checksum_sha256(sha256)
                    .body(body)
                    .send(),
            )
        })?;
        self.check_echo(key, sha256, output.checksum_sha256())?;
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(output.e_tag().map(str::to_string))
            .checksum_sha256(sha256)
            .build())
    }

    /// Completes a multipart upload: the object appears under `key` only now.
    pub fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
    ) -> Result<(), S3Error> {
        self.patiently("completing the multipart upload of", Some(key), || {
            Ok(self.runtime.block_on(
                self.client
                    .complete_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts.clone()))
                            .build(),
                    )
                    .send(),
            ))
        })
        .map(drop)
    }

    /// `BUCKET/KEY` as the `x-amz-copy-source` header carries it: percent-encoded but for `/`.
    fn copy_source(&self, key: &str) -> String {
        let mut out = String::with_capacity(self.bucket.len() + key.len() + 1);
        for byte in self
            .bucket
            .bytes()
            .chain(std::iter::once(b'/'))
            .chain(key.bytes())
        {
            if byte.is_ascii_alphanumeric() || b"-_.~/".contains(&byte) {
                out.push(byte as char);
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }

    /// Names the source of a failed copy in its error.
    fn copy_error(&self, mut err: S3Error, source: &str) -> S3Error {
        err.detail = format!("(from s3://{}/{source}) {}", self.bucket, err.detail);
        err
    }

    /// Copies the object `source` of this bucket to `key` inside the server, in one request
    /// (up to 5 GiB), asking for a SHA-256 checksum of the copy; returns the checksum the
    /// server reports.
    pub fn copy_object(&self, source: &str, key: &str) -> Result<Option<String>, S3Error> {
        let output = self
            .patiently("copying to", Some(key), || {
                Ok(self.runtime.block_on(
                    self.client
                        .copy_object()
                        .bucket(&self.bucket)
                        .key(key)
                        .copy_source(self.copy_source(source))
                        .checksum_algorithm(ChecksumAlgorithm::Sha256)
                        .send(),
                ))
            })
            .map_err(|e| self.copy_error(e, source))?;
        Ok(output
            .copy_object_result()
            .and_then(|r| r.checksum_sha256())
            .map(str::to_string))
    }

    /// Copies bytes `first..=last` of the object `source` inside the server as part `number`
    /// (from 1) of the multipart upload `upload_id` of `key`.
    #[allow(clippy::too_many_arguments)]
    pub fn upload_part_copy(
        &self,
        key: &str,
        upload_id: &str,
        number: i32,
        source: &str,
        first: u64,
        last: u64,
    ) -> Result<CompletedPart, S3Error> {
        let output = self
            .patiently("copying a part to", Some(key), || {
                Ok(self.runtime.block_on(
                    self.client
                        .upload_part_copy()
                        .bucket(&self.bucket)
                        .key(key)
                        .upload_id(upload_id)
                        .part_number(number)
                        .copy_source(self.copy_source(source))
                        .copy_source_range(format!("bytes={first}-{last}"))
                        .send(),
                ))
            })
            .map_err(|e| self.copy_error(e, source))?;
        let result = output.copy_part_result();
        Ok(CompletedPart::builder()
            .part_number(number)
            .set_e_tag(result.and_then(|r| r.e_tag()).map(str::to_string))
            .set_checksum_sha256(result.and_then(|r| r.checksum_sha256()).map(str::to_string))
            .build())
    }

    /// Aborts a multipart upload, so that none of its parts stays stored (and billed).
    pub fn abort(&self, key: &str, upload_id: &str) -> Result<(), S3Error> {
        self.patiently("aborting the multipart upload of", Some(key), || {
            Ok(self.runtime.block_on(
                self.client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .send(),
            ))
        })
        .map(drop)
    }

    /// The SHA-256 checksum the server keeps for `key` (`BASE64`, or `BASE64-N` for an
    /// object of N parts), when it keeps one.
    pub fn stored_checksum(&self, key: &str) -> Result<Option<String>, S3Error> {
        let output = self.patiently("checking", Some(key), || {
            Ok(self.runtime.block_on(
                self.client
                    .head_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
                    .send(),
            ))
        })?;
        Ok(output.checksum_sha256().map(str::to_string))
    }

    /// Every object whose key starts with `prefix`, in key order.
    pub fn list(&self, prefix: &str) -> Result<Vec<Listed>, S3Error> {
        let mut listed = Vec::new();
        self.list_pages(prefix, None, |output| {
            for object in output.contents() {
                if let Some(key) = object.key() {
                    listed.push(Listed {
                        key: key.to_string(),
                        size: object.size().unwrap_or(0).max(0) as u64,
                        modified: object.last_modified().map(|t| t.secs()),
                    });
                }
            }
        })?;
        Ok(listed)
    }

    /// The "directories" right below `prefix` (which ends with `/` or is empty): the common
    /// prefixes of a listing with delimiter `/`, each without `prefix` and the final `/`.
    pub fn list_dirs(&self, prefix: &str) -> Result<Vec<String>, S3Error> {
        let mut dirs = Vec::new();
        self.list_pages(prefix, Some("/"), |output| {
            for common in output.common_prefixes() {
                if let Some(dir) = common
                    .prefix()
                    .and_then(|p| p.strip_prefix(prefix))
                    .and_then(|p| p.strip_suffix('/'))
                {
                    dirs.push(dir.to_string());
                }
            }
        })?;
        Ok(dirs)
    }

    /// Lists `prefix` (ListObjectsV2, with `delimiter` when given) page by page, following the
    /// continuation token, and hands each page to `page`.
    fn list_pages(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
        mut page: impl FnMut(&aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output),
    ) -> Result<(), S3Error> {
        let mut token: Option<String> = None;
        loop {
            let output = self.patiently("listing", Some(prefix), || {
                Ok(self.runtime.block_on(
                    self.client
                        .list_objects_v2()
                        .bucket(&self.bucket)
                        .prefix(prefix)
                        .set_delimiter(delimiter.map(str::to_string))
                        .set_continuation_token(token.take())
                        .send(),
                ))
            })?;
            page(&output);
            match output.next_continuation_token() {
                Some(next) if output.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok(()),
            }
        }
    }

    /// `key`'s content as it arrives (GetObject), read in the pieces the connection delivers:
    /// memory stays bounded whatever the object's size.
    pub fn get(&self, key: &str) -> Result<ObjectReader, S3Error> {
        let output = self.patiently("reading", Some(key), || {
            Ok(self.runtime.block_on(
                self.client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send(),
            ))
        })?;
        Ok(ObjectReader {
            runtime: self.runtime.clone(),
            body: output.body,
            piece: Vec::new(),
            at: 0,
            target: format!("s3://{}/{key}", self.bucket),
        })
    }

    /// The unfinished multipart uploads of keys starting with `prefix`.
    pub fn pending_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>, S3Error> {
        let mut pending = Vec::new();
        let mut key_marker: Option<String> = None;
        let mut id_marker: Option<String> = None;
        loop {
            let output =
                self.patiently("listing the unfinished uploads of", Some(prefix), || {
                    Ok(self.runtime.block_on(
                        self.client
                            .list_multipart_uploads()
                            .bucket(&self.bucket)
                            .prefix(prefix)
                            .set_key_marker(key_marker.take())
                            .set_upload_id_marker(id_marker.take())
                            .send(),
                    ))
                })?;
            for upload in output.uploads() {
                if let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) {
                    pending.push(PendingUpload {
                        key: key.to_string(),
                        upload_id: id.to_string(),
                    });
                }
            }
            if output.is_truncated() == Some(true) {
                key_marker = output.next_key_marker().map(str::to_string);
                id_marker = output.next_upload_id_marker().map(str::to_string);
                if key_marker.is_none() {
                    break;
                }
            } else {
                break;
            }
        }
        Ok(pending)
    }

    /// Removes `keys` (up to 1000 per request); every one must be removed.
    pub fn delete(&self, keys: &[String]) -> Result<(), S3Error> {
        for chunk in keys.chunks(1000) {
            let objects = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| S3Error {
                    operation: "removing stale objects from",
                    target: format!("s3://{}", self.bucket),
                    endpoint: self.endpoint.clone(),
                    detail: e.to_string(),
                    kind: ErrorKind::Other,
                })?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| S3Error {
                    operation: "removing stale objects from",
                    target: format!("s3://{}", self.bucket),
                    endpoint: self.endpoint.clone(),
                    detail: e.to_string(),
                    kind: ErrorKind::Other,
                })?;
            let output = self.patiently(
                "removing stale objects from",
                chunk.first().map(String::as_str),
                || {
                    Ok(self.runtime.block_on(
                        self.client
                            .delete_objects()
                            .bucket(&self.bucket)
                            .delete(delete.clone())
                            .checksum_algorithm(ChecksumAlgorithm::Sha256)
                            .send(),
                    ))
                },
            )?;
            if let Some(failed) = output.errors().first() {
                return Err(S3Error {
                    operation: "removing",
                    target: format!("s3://{}/{}", self.bucket, failed.key().unwrap_or_default()),
                    endpoint: self.endpoint.clone(),
                    detail: format!(
                        "{}: {}",
                        failed.code().unwrap_or("error"),
                        failed.message().unwrap_or_default()
                    ),
                    kind: ErrorKind::Other,
                });
            }
        }
        Ok(())
    }
}

/// An object's content as a blocking [`std::io::Read`]: each piece the connection delivers is
/// awaited on the client's runtime and handed out.
pub struct ObjectReader {
    runtime: std::sync::Arc<tokio::runtime::Runtime>,
    body: ByteStream,
    piece: Vec<u8>,
    at: usize,
    target: String,
}

impl std::fmt::Debug for ObjectReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectReader")
            .field("target", &self.target)
            .finish()
    }
}

impl std::io::Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.piece.len() {
            match self.runtime.block_on(self.body.try_next()) {
                Ok(Some(bytes)) => {
                    self.piece.clear();
                    self.piece.extend_from_slice(&bytes);
                    self.at = 0;
                }
                Ok(None) => return Ok(0),
                Err(e) => {
                    return Err(std::io::Error::other(format!(
                        "reading {} broke off: {}",
                        self.target,
                        error_chain(&e)
                    )))
                }
            }
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// A failure in words, and its kind.
/// What an HTTP status of an S3 answer means, in a few words.
fn status_meaning(status: u16) -> &'static str {
    match status {
        400 => "bad request",
        401 | 403 => "access denied",
        404 => "not found",
        409 => "conflict",
        500 => "internal server error",
        503 => "service unavailable",
        _ => "the request was refused",
    }
}

fn describe<E>(err: &SdkError<E, HttpResponse>) -> (String, ErrorKind)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("error");
            let message = e.message().unwrap_or_default();
            let kind = match code {
                "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "AccessDenied"
                | "ExpiredToken"
                | "InvalidToken"
                | "InvalidClientTokenId" => ErrorKind::Credentials,
                "NoSuchBucket" => ErrorKind::NoBucket,
                "BadDigest" | "InvalidDigest" | "XAmzContentSHA256Mismatch" => ErrorKind::Checksum,
                "NotImplemented" => ErrorKind::Unsupported,
                _ => ErrorKind::Other,
            };
            let status = service.raw().status().as_u16();
            let kind =
                if kind == ErrorKind::Other && crate::throttle::is_throttling(e.code(), status) {
                    ErrorKind::Throttled
                } else {
                    kind
                };
            let kind = if kind == ErrorKind::Other && (status == 401 || status == 403) {
                ErrorKind::Credentials
            } else {
                kind
            };
            // An answer without a body (to HEAD, or from a proxy) has neither code nor message:
            // say what its status means rather than dump the SDK's structures.
            let detail = match (e.code(), message.is_empty()) {
                (_, false) => format!("{code}: {message}"),
                (Some(code), true) => format!("{code} (HTTP {status})"),
                (None, true) => format!("{} (HTTP {status})", status_meaning(status)),
            };
            (detail, kind)
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            let text = error_chain(err);
            let kind = if text.contains("credential") {
                ErrorKind::Credentials
            } else {
                ErrorKind::Unreachable
            };
            (text, kind)
        }
        _ => {
            let text = error_chain(err);
            let kind = if text.contains("credential") {
                ErrorKind::Credentials
            } else {
                ErrorKind::Other
            };
            (text, kind)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_files_are_the_backup_users_unless_named() {
        let home = Path::new("/home/backup");
        // Only this test reads these variables in this process.
        std::env::remove_var("CBACK_TEST_UNSET");
        assert_eq!(
            profile_file("CBACK_TEST_UNSET", Some(home), "config"),
            Some(PathBuf::from("/home/backup/.aws/config"))
        );
        std::env::set_var("CBACK_TEST_FILE", "~/elsewhere/creds");
        assert_eq!(
            profile_file("CBACK_TEST_FILE", Some(home), "credentials"),
            Some(PathBuf::from("/home/backup/elsewhere/creds"))
        );
        std::env::set_var("CBACK_TEST_FILE", "/etc/aws/creds");
        assert_eq!(
            profile_file("CBACK_TEST_FILE", Some(home), "credentials"),
            Some(PathBuf::from("/etc/aws/creds"))
        );
        assert_eq!(profile_file("CBACK_TEST_UNSET", None, "config"), None);
    }
}
