//! Reading single values the way the original reads them: booleans, integers and floats
//! written as text, comma-separated name lists, byte quantities.
//!
//! The original is written in Python, so an integer is whatever Python's `int()` accepts
//! (surrounding blanks, a sign, `_` between digits, any Unicode decimal digit) and a number is
//! whatever `float()` accepts (also `inf` and `nan`).

use serde::{Deserialize, Deserializer, Serializer};

/// The first code point of each run of ten Unicode decimal digits (general category Nd).
const DIGIT_ZEROS: [u32; 66] = [
    0x30, 0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66,
    0xDE6, 0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50,
    0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// The value of a Unicode decimal digit.
fn decimal_digit(c: char) -> Option<u8> {
    let cp = c as u32;
    DIGIT_ZEROS
        .iter()
        .find(|&&zero| cp >= zero && cp < zero + 10)
        .map(|&zero| (cp - zero) as u8)
}

/// Replaces Unicode decimal digits by ASCII ones and drops single `_` separators between
/// digits. `None` when an underscore is misplaced.
fn ascii_digits(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            let prev = i
                .checked_sub(1)
                .and_then(|j| chars.get(j))
                .and_then(|&p| decimal_digit(p));
            let next = chars.get(i + 1).and_then(|&n| decimal_digit(n));
            if prev.is_none() || next.is_none() {
                return None;
            }
            continue;
        }
        match decimal_digit(c) {
            Some(d) => out.push((b'0' + d) as char),
            None => out.push(c),
        }
    }
    Some(out)
}

/// Parses an integer as Python's `int()` does; values beyond `i64` saturate.
pub fn parse_int(text: &str) -> Option<i64> {
    let t = text.trim_matches(char::is_whitespace);
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || digits.starts_with('_') {
        return None;
    }
    let ascii = ascii_digits(digits)?;
    if ascii.is_empty() || !ascii.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Python integers are unbounded; beyond the range of i64 the value saturates, which keeps
    // every range check and ordering of realistic values.
    let value: i128 = ascii.parse().unwrap_or(i128::MAX);
    let value = if neg { -value } else { value };
    Some(value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// Parses a number as Python's `float()` does.
pub fn parse_float(text: &str) -> Option<f64> {
    let t = text.trim_matches(char::is_whitespace);
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    let lower = unsigned.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return t.parse::<f64>().ok();
    }
    if unsigned.starts_with('_') || unsigned.is_empty() {
        return None;
    }
    let ascii = ascii_digits(t)?;
    // Only digits, one optional point, and an optional exponent with digits.
    let body = ascii.strip_prefix(['+', '-']).unwrap_or(&ascii);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((a, b)) => (a, b),
        None => (mantissa, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int_part.is_empty() && frac_part.is_empty())
        || !all_digits(int_part)
        || !all_digits(frac_part)
    {
        return None;
    }
    if let Some(exp) = exponent {
        let exp = exp.strip_prefix(['+', '-']).unwrap_or(exp);
        if exp.is_empty() || !all_digits(exp) {
            return None;
        }
    }
    ascii.parse::<f64>().ok()
}

/// Reads a boolean: `Y`/`y` is true, `N`/`n` is false.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "Y" | "y" => Some(true),
        "N" | "n" => Some(false),
        _ => None,
    }
}

/// Splits a comma-separated list of names, dropping blanks around names and empty entries.
pub fn split_names(text: &str) -> Vec<String> {
    text.split(',')
        .map(|s| s.trim_matches(char::is_whitespace))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Writes a name list back. An empty list is written as `,`, which reads back as an empty
/// (but present) list.
pub fn join_names(names: &[String]) -> String {
    if names.is_empty() {
        ",".to_string()
    } else {
        names.join(", ")
    }
}

/// A byte quantity: a non-negative number with an optional `KB`, `MB` or `GB` unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ByteQuantity {
    pub quantity: f64,
    pub unit: ByteUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteUnit {
    Bytes,
    Kilobytes,
    Megabytes,
    Gigabytes,
}

impl ByteQuantity {
    /// Reads `text`: a value ending in `KB`, `MB` or `GB` has that unit and the number before
    /// it, anything else is a number of bytes. The number must be a non-negative float.
    pub fn parse(text: &str) -> Option<ByteQuantity> {
        let (number, unit) = if let Some(n) = text.strip_suffix("KB") {
            (n, ByteUnit::Kilobytes)
        } else if let Some(n) = text.strip_suffix("MB") {
            (n, ByteUnit::Megabytes)
        } else if let Some(n) = text.strip_suffix("GB") {
            (n, ByteUnit::Gigabytes)
        } else {
            (text, ByteUnit::Bytes)
        };
        let quantity = parse_float(number)?;
        (quantity >= 0.0).then_some(ByteQuantity { quantity, unit })
    }

    /// The quantity in bytes.
    pub fn bytes(&self) -> f64 {
        let factor = match self.unit {
            ByteUnit::Bytes => 1.0,
            ByteUnit::Kilobytes => 1024.0,
            ByteUnit::Megabytes => 1024.0 * 1024.0,
            ByteUnit::Gigabytes => 1024.0 * 1024.0 * 1024.0,
        };
        self.quantity * factor
    }
}

/// `#[serde(with = "comma_list")]` for a `Vec<String>` written as `a, b, c`.
pub(crate) mod comma_list {
    use super::*;

    pub fn serialize<S: Serializer>(names: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&join_names(names))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        Ok(split_names(&String::deserialize(d)?))
    }
}

/// `#[serde(with = "opt_comma_list")]` for an `Option<Vec<String>>` written as `a, b, c`.
pub(crate) mod opt_comma_list {
    use super::*;

    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(names: &Option<Vec<String>>, s: S) -> Result<S::Ok, S::Error> {
        match names {
            Some(n) => s.serialize_some(&join_names(n)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.map(|t| split_names(&t)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_like_python() {
        for (t, v) in [
            ("7", Some(7)),
            (" 7 ", Some(7)),
            ("\n7\n", Some(7)),
            ("+7", Some(7)),
            ("-0", Some(0)),
            ("-1", Some(-1)),
            ("1_0", Some(10)),
            ("\u{663}", Some(3)),
            ("\u{FF11}\u{FF12}", Some(12)),
            ("7.0", None),
            ("abc", None),
            ("", None),
            ("_1", None),
            ("1_", None),
            ("1__0", None),
            ("+", None),
            ("- 1", None),
            ("0x10", None),
            ("99999999999999999999", Some(i64::MAX)),
            ("-99999999999999999999", Some(i64::MIN)),
        ] {
            assert_eq!(parse_int(t), v, "{t:?}");
        }
    }

    #[test]
    fn floats_like_python() {
        for (t, ok) in [
            ("1.5", true),
            (" 1.5 ", true),
            ("inf", true),
            ("-Infinity", true),
            ("nan", true),
            ("1e2", true),
            (".5", true),
            ("5.", true),
            ("1_0.5", true),
            ("abc", false),
            ("", false),
            (".", false),
            ("e5", false),
            ("1e", false),
            ("1.5.5", false),
            ("0x1", false),
        ] {
            assert_eq!(parse_float(t).is_some(), ok, "{t:?}");
        }
        assert!(parse_float("nan").unwrap().is_nan());
    }

    #[test]
    fn names_split_and_join() {
        assert_eq!(split_names(" a , ,b,"), vec!["a", "b"]);
        assert_eq!(split_names(","), Vec::<String>::new());
        assert_eq!(split_names("c\td"), vec!["c\td"]);
        assert_eq!(split_names(&join_names(&[])), Vec::<String>::new());
    }

    #[test]
    fn byte_quantities() {
        assert_eq!(ByteQuantity::parse("2KB").unwrap().bytes(), 2048.0);
        assert_eq!(
            ByteQuantity::parse("1.5 MB").unwrap().unit,
            ByteUnit::Megabytes
        );
        assert_eq!(ByteQuantity::parse("10").unwrap().unit, ByteUnit::Bytes);
        assert!(ByteQuantity::parse("-1GB").is_none());
        assert!(ByteQuantity::parse("abc").is_none());
    }
}
