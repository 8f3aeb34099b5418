//! The HTTP side of [`super::Mode::HideChecksums`]: on the way from the server to the client,
//! the SHA-256 checksum a server echoes (the `x-amz-checksum-sha256` header, the
//! `<ChecksumSHA256>` element of an XML answer) is renamed to a name no client knows, with
//! the same length, so that lengths stay right without parsing the answers: the client sees
//! a server that echoes no checksum. Only for answers of S3 XML or without a body (uploads,
//! listings, HeadObject): an object's content read through it could be changed.

/// What is renamed, lower case, and what it becomes (of the same length).
const RENAMES: [(&[u8], &[u8]); 2] = [
    (b"x-amz-checksum-sha256", b"x-amz-stripped-sha256"),
    (b"checksumsha256", b"StrippedSHA256"),
];

/// One connection's renamer.
#[derive(Debug, Default)]
pub(super) struct Hider {
    /// The end of the last piece, held back: the start of a name that may go on in the next.
    held: Vec<u8>,
}

impl Hider {
    /// Takes the next piece from the server and gives what may go to the client now. A piece
    /// that ends inside a name that the next piece completes is held back up to that name:
    /// an S3 answer never ends with the start of one of them.
    pub(super) fn apply(&mut self, piece: &[u8]) -> Vec<u8> {
        let mut data = std::mem::take(&mut self.held);
        data.extend_from_slice(piece);
        let mut at = 0;
        while at < data.len() {
            for (from, to) in RENAMES {
                if data.len() - at >= from.len()
                    && data[at..at + from.len()].eq_ignore_ascii_case(from)
                {
                    data[at..at + from.len()].copy_from_slice(to);
                }
            }
            at += 1;
        }
        let keep = RENAMES
            .iter()
            .flat_map(|(from, _)| (1..from.len()).map(move |n| (from, n)))
            .filter(|(from, n)| {
                data.len() >= *n && data[data.len() - n..].eq_ignore_ascii_case(&from[..*n])
            })
            .map(|(_, n)| n)
            .max()
            .unwrap_or(0);
        self.held = data.split_off(data.len() - keep);
        data
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_renamed_across_pieces_and_lengths_stay() {
        let mut hider = Hider::default();
        let answer = b"HTTP/1.1 200 OK\r\nX-Amz-Checksum-SHA256: abc=\r\nContent-Length: 47\r\n\r\n<R><ChecksumSHA256>abc=</ChecksumSHA256></R>..";
        let mut out = Vec::new();
        for piece in answer.chunks(7) {
            out.extend(hider.apply(piece));
        }
        assert_eq!(out.len(), answer.len());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("x-amz-stripped-sha256: abc="), "{text}");
        assert!(
            text.contains("<StrippedSHA256>abc=</StrippedSHA256>"),
            "{text}"
        );
        assert!(!text.to_ascii_lowercase().contains("checksum"), "{text}");
    }
}
