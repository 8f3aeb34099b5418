//! What a disc writer reports while it writes, for the store line on a terminal: the image's
//! size, once the writer has estimated it (the one `mkisofs -print-size` of the write), then
//! the bytes written so far, read from its progress lines (cdrecord's `Track 01: N of M MB
//! written`, growisofs' `N/M (P%)`) as they arrive.

/// Told a number of bytes (the image's size, or the bytes written so far).
pub type TellBytes = std::sync::Arc<dyn Fn(u64) + Send + Sync>;

/// Who is told what a write does: the image's size in bytes once the writer has estimated
/// it, before anything is written (`sized`), then the bytes written so far (`written`).
#[derive(Clone)]
pub struct WriteWatch {
    pub sized: TellBytes,
    pub written: TellBytes,
}

impl std::fmt::Debug for WriteWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteWatch")
    }
}

/// The observer of a writer's output that tells `written` the bytes of each progress line
/// `parse` reads.
pub fn progress_observer(
    written: TellBytes,
    parse: fn(&str) -> Option<u64>,
) -> cedar_core::OutputObserver {
    std::sync::Arc::new(move |line: &str| {
        if let Some(bytes) = parse(line) {
            written(bytes);
        }
    })
}

/// The bytes written of cdrecord's progress line, `Track 01:   12 of  300 MB written (fifo
/// 100%) [buf  99%]   4.0x.` (cdrecord's MB are MiB).
pub fn cdrecord_written(line: &str) -> Option<u64> {
    let rest = line.trim_start().strip_prefix("Track ")?;
    let (_, rest) = rest.split_once(':')?;
    let mut words = rest.split_whitespace();
    let done: u64 = words.next()?.parse().ok()?;
    (words.next()? == "of").then_some(())?;
    words.next()?.parse::<u64>().ok()?;
    (words.next()? == "MB").then_some(())?;
    Some(done << 20)
}

/// The bytes written of growisofs' progress line, `  1048576/4700372992 ( 0.0%) @0.7x,
/// remaining 5:06 RBU 100.0% UBU   2.1%`.
pub fn growisofs_written(line: &str) -> Option<u64> {
    let (done, rest) = line.trim_start().split_once('/')?;
    let done: u64 = done.parse().ok()?;
    let (total, rest) = rest.split_once(' ')?;
    total.parse::<u64>().ok()?;
    rest.trim_start().starts_with('(').then_some(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writers_progress_lines_give_the_bytes_written() {
        assert_eq!(
            cdrecord_written("Track 01:   12 of  300 MB written (fifo 100%) [buf  99%]   4.0x."),
            Some(12 << 20)
        );
        assert_eq!(
            cdrecord_written("Track 01: Total bytes read/written: 1/2"),
            None
        );
        assert_eq!(
            cdrecord_written("Starting to write CD/DVD at speed 4.0"),
            None
        );
        assert_eq!(
            growisofs_written("  1048576/4700372992 ( 0.0%) @0.7x, remaining 5:06 RBU 100.0%"),
            Some(1_048_576)
        );
        assert_eq!(
            growisofs_written("/dev/dvd: \"Current Write Speed\" is 4.1x"),
            None
        );
        assert_eq!(
            growisofs_written("Executing 'builtin_dd if=/dev/fd/0'"),
            None
        );
    }
}
