//! The HTTP side of [`super::Mode::FlipAfter`]: follows the requests on one client-to-server
//! connection (head, then a body of `Content-Length` bytes, then the next request) and
//! changes one byte of each body that is long enough, in place, so that every length stays.

/// Where a connection is.
#[derive(Debug)]
enum State {
    /// Reading a request head; what was read of it so far.
    Head(Vec<u8>),
    /// Inside a body: bytes of it already passed, bytes still to come.
    Body { passed: u64, left: u64 },
    /// A body whose end cannot be told (chunked, or a head that could not be read): nothing
    /// more on this connection is changed.
    Lost,
}

/// One connection's request parser.
#[derive(Debug)]
pub(super) struct Flipper {
    state: State,
}

impl Default for Flipper {
    fn default() -> Self {
        Flipper {
            state: State::Head(Vec::new()),
        }
    }
}

/// The body length a request head declares: `Some(0)` without one, `None` when it cannot be
/// told.
fn body_length(head: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(head).ok()?;
    let mut length = Some(0);
    for line in text.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim().to_ascii_lowercase();
        if name == "transfer-encoding" {
            return None;
        }
        if name == "content-length" {
            length = value.trim().parse().ok();
        }
    }
    length
}

impl Flipper {
    /// Changes, in `data` (the next bytes the client sent), the body byte at offset `at` of
    /// every request whose body is longer than `at`; returns how many bytes it changed.
    pub(super) fn apply(&mut self, data: &mut [u8], at: u64) -> u64 {
        let mut flipped = 0;
        let mut i = 0;
        while i < data.len() {
            match &mut self.state {
                State::Lost => return flipped,
                State::Head(head) => {
                    head.push(data[i]);
                    i += 1;
                    if head.ends_with(b"\r\n\r\n") {
                        self.state = match body_length(head) {
                            None => State::Lost,
                            Some(0) => State::Head(Vec::new()),
                            Some(left) => State::Body { passed: 0, left },
                        };
                    } else if head.len() > 64 << 10 {
                        self.state = State::Lost;
                    }
                }
                State::Body { passed, left } => {
                    let n = (*left).min((data.len() - i) as u64);
                    if at >= *passed && at < *passed + n {
                        data[i + (at - *passed) as usize] ^= 0xff;
                        flipped += 1;
                    }
                    *passed += n;
                    *left -= n;
                    i += n as usize;
                    if *left == 0 {
                        self.state = State::Head(Vec::new());
                    }
                }
            }
        }
        flipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_byte_of_each_long_enough_body_changes_whatever_the_reads() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"PUT /b/k HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789");
        stream.extend_from_slice(b"GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
        stream.extend_from_slice(b"PUT /b/s HTTP/1.1\r\ncontent-length: 3\r\n\r\nabc");
        stream.extend_from_slice(b"PUT /b/l HTTP/1.1\r\nContent-Length: 6\r\n\r\nABCDEF");
        let mut expected = stream.clone();
        let first = expected
            .windows(10)
            .position(|w| w == b"0123456789")
            .unwrap();
        expected[first + 4] ^= 0xff;
        let last = expected.windows(6).position(|w| w == b"ABCDEF").unwrap();
        expected[last + 4] ^= 0xff;
        for chunk in [1, 3, 7, stream.len()] {
            let mut data = stream.clone();
            let mut flipper = Flipper::default();
            let flipped: u64 = data
                .chunks_mut(chunk)
                .map(|piece| flipper.apply(piece, 4))
                .sum();
            assert_eq!(flipped, 2, "reads of {chunk} bytes");
            assert_eq!(data, expected, "reads of {chunk} bytes");
        }
    }

    #[test]
    fn a_chunked_body_is_left_alone() {
        let mut data =
            b"PUT /b/k HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
                .to_vec();
        let before = data.clone();
        assert_eq!(Flipper::default().apply(&mut data, 1), 0);
        assert_eq!(data, before);
    }
}
