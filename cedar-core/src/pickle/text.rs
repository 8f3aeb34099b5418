//! Python's text in pickles: protocol 0's `raw-unicode-escape` lines, read and written, and
//! file names as Python sees them (UTF-8, each undecodable byte a lone surrogate
//! U+DC80..U+DCFF).

use super::PickleError;

/// Python's `raw-unicode-escape`: `\uXXXX` and `\UXXXXXXXX` are escapes, every other byte is
/// the Latin-1 code point; each code point is handed to `f`.
pub fn raw_unicode_escape(line: &[u8], mut f: impl FnMut(u32)) -> Result<(), PickleError> {
    let mut i = 0;
    while i < line.len() {
        let digits = match (line[i], line.get(i + 1)) {
            (b'\\', Some(b'u')) => 4,
            (b'\\', Some(b'U')) => 8,
            (byte, _) => {
                f(u32::from(byte));
                i += 1;
                continue;
            }
        };
        let cp = line
            .get(i + 2..i + 2 + digits)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or(PickleError::Escape)?;
        f(cp);
        i += 2 + digits;
    }
    Ok(())
}

/// Appends code point `cp` to a protocol 0 `raw-unicode-escape` line, with the characters
/// pickle escapes (NUL, newline, carriage return, ^Z, backslash).
pub fn push_escaped(out: &mut Vec<u8>, cp: u32) {
    match cp {
        0x00 | 0x0A | 0x0D | 0x1A | 0x5C => push_escape(out, cp, 4),
        0..=0xFF => out.push(cp as u8),
        0x100..=0xFFFF => push_escape(out, cp, 4),
        _ => push_escape(out, cp, 8),
    }
}

/// Appends `\uXXXX` (`digits` 4) or `\UXXXXXXXX` (`digits` 8), lowercase as Python writes.
fn push_escape(out: &mut Vec<u8>, cp: u32, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'\\');
    out.push(if digits == 4 { b'u' } else { b'U' });
    for i in (0..digits).rev() {
        out.push(HEX[((cp >> (4 * i)) & 0xF) as usize]);
    }
}

/// Appends the file-name bytes of code point `cp` (a lone surrogate U+DC80..U+DCFF is the raw
/// byte it escapes).
pub fn push_file_name_char(out: &mut Vec<u8>, cp: u32) {
    if (0xDC80..=0xDCFF).contains(&cp) {
        out.push((cp - 0xDC00) as u8);
    } else if let Some(c) = char::from_u32(cp) {
        let mut buf = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    } else {
        out.extend_from_slice("\u{FFFD}".as_bytes());
    }
}

/// The file-name bytes of UTF-8 with encoded surrogates allowed (Python's `surrogatepass`).
pub fn file_name_of_utf8(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        // An encoded surrogate: ED A0..BF xx.
        if data[i] == 0xED && i + 2 < data.len() && (0xA0..=0xBF).contains(&data[i + 1]) {
            let cp = (u32::from(data[i] & 0x0F) << 12)
                | (u32::from(data[i + 1] & 0x3F) << 6)
                | u32::from(data[i + 2] & 0x3F);
            push_file_name_char(&mut out, cp);
            i += 3;
        } else {
            out.push(data[i]);
            i += 1;
        }
    }
    out
}

/// Python's view of a file name: UTF-8, with each undecodable byte as a lone surrogate.
pub fn for_each_code_point(bytes: &[u8], mut f: impl FnMut(u32)) {
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                s.chars().for_each(|c| f(u32::from(c)));
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                std::str::from_utf8(good)
                    .unwrap_or_default()
                    .chars()
                    .for_each(|c| f(u32::from(c)));
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                bad[..n].iter().for_each(|&b| f(0xDC00 + u32::from(b)));
                rest = &bad[n..];
            }
        }
    }
}
