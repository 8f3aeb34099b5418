//! Writes the values of the extensions' state files as the original writes them (protocol 0).

use super::text::push_escaped;

/// `n` as Python pickles an int with protocol 0: `I<n>\n.`, or `L<n>L\n.` beyond 32 bits.
pub fn int_pickle(n: i64) -> Vec<u8> {
    if i32::try_from(n).is_ok() {
        format!("I{n}\n.").into_bytes()
    } else {
        format!("L{n}L\n.").into_bytes()
    }
}

/// A naive datetime of 10 `state` bytes as Python 3 pickles it with protocol 0: the bytes as
/// Latin-1 text through `_codecs.encode`, in raw-unicode-escape with pickle's five escapes.
pub fn datetime_pickle(state: &[u8; 10]) -> Vec<u8> {
    let mut out = b"cdatetime\ndatetime\np0\n(c_codecs\nencode\np1\n(V".to_vec();
    for &byte in state {
        push_escaped(&mut out, u32::from(byte));
    }
    out.extend_from_slice(b"\np2\nVlatin1\np3\ntp4\nRp5\ntp6\nRp7\n.");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle::load_int;

    #[test]
    fn ints_are_written_as_python_writes_them() {
        assert_eq!(int_pickle(5), b"I5\n.");
        assert_eq!(int_pickle(2147483647), b"I2147483647\n.");
        assert_eq!(int_pickle(2147483648), b"L2147483648L\n.");
        assert_eq!(load_int(&int_pickle(1 << 40)).unwrap(), 1 << 40);
    }
}
