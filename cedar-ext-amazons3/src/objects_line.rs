//! The progress line of objects sent to a bucket, one for the amazons3 action and for
//! `cback-amazons3-sync`: the objects and bytes sent of the run's total, the rate, the time
//! left and the objects being sent. Each object's bytes are counted as its requests are sent
//! (a large file's part by part) and settled to its stored size once it is stored, so that no
//! byte counts twice. Drawn only on a terminal ([`Progress`]); counted either way.

use cedar_core::{Progress, ProgressBar, ProgressMeasure, ProgressTally};

use crate::upload::Sent;

/// The line of one run's objects.
#[derive(Debug)]
pub(crate) struct ObjectsLine {
    bar: ProgressBar,
}

impl ObjectsLine {
    /// A line named `label` on `progress`, for objects of `sizes` bytes.
    pub(crate) fn start(
        progress: &Progress,
        label: &str,
        sizes: impl ExactSizeIterator<Item = u64>,
    ) -> ObjectsLine {
        let objects = sizes.len() as u64;
        let bytes = sizes.sum();
        ObjectsLine {
            bar: progress.start(
                ProgressMeasure::items(label, "objects", "sent").of(Some(objects), Some(bytes)),
            ),
        }
    }

    /// Sends the object `name` with `send`, which tells the bytes of each request as it is
    /// sent; `name` is shown while it is being sent, and what the reports left out (an
    /// encrypted file's bytes) is counted once it is stored.
    pub(crate) fn send<E>(
        &self,
        name: &str,
        send: impl FnOnce(&dyn Fn(u64)) -> Result<Sent, E>,
    ) -> Result<Sent, E> {
        self.bar.begin(name);
        let tally = ProgressTally::default();
        let sent = send(&|n| tally.add(&self.bar, n));
        self.bar.end(name);
        if let Ok(sent) = &sent {
            tally.settle(&self.bar, sent.bytes);
        }
        sent
    }

    /// One more object stored (its bytes were counted as they were sent).
    pub(crate) fn stored(&self) {
        self.bar.add_item(0);
    }

    /// The summary line of what was sent: `Uploaded 3 objects, 292.98 kB in 0.4 s (…/s).`
    fn summary(&self) -> String {
        self.bar.summary("Uploaded")
    }

    /// Ends the line with its summary, and logs that as the run's summary line.
    pub(crate) fn conclude(&self) {
        self.bar.conclude(&self.summary());
    }

    /// Ends the line with its summary, on the screen only (a tool whose log has its own
    /// summary line).
    pub(crate) fn finish(&self) {
        self.bar.finish(&self.summary());
    }

    /// The objects and bytes counted so far.
    #[cfg(test)]
    fn counted(&self) -> (u64, u64) {
        (self.bar.items(), self.bar.bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(bytes: u64) -> Sent {
        Sent {
            key: "k".into(),
            bytes,
            checksum: String::new(),
            full: String::new(),
            part_size: None,
            confirmed: false,
        }
    }

    #[test]
    fn each_objects_bytes_count_once_whether_reported_or_settled() {
        let line = ObjectsLine::start(&Progress::hidden(), "sync", [10u64, 20, 30].into_iter());
        // Reported request by request, then stored at the size reported.
        let first = line.send("a", |told| -> Result<Sent, ()> {
            told(4);
            told(6);
            Ok(sent(10))
        });
        assert_eq!(first.unwrap().bytes, 10);
        line.stored();
        assert_eq!(line.counted(), (1, 10));
        // Nothing reported (an encrypted file): counted once stored.
        line.send("b", |_| -> Result<Sent, ()> { Ok(sent(25)) })
            .unwrap();
        line.stored();
        assert_eq!(line.counted(), (2, 35));
        // A failed object: what was sent counts, no object does.
        let failed = line.send("c", |told| -> Result<Sent, &str> {
            told(3);
            Err("refused")
        });
        assert_eq!(failed.unwrap_err(), "refused");
        assert_eq!(line.counted(), (2, 38));
        assert!(line
            .summary()
            .starts_with("Uploaded 2 objects, 38 bytes in "));
    }
}
