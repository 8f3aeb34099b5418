//! Byte counts as the original logs them: `53 bytes`, `1.50 kB`, `5.00 MB`, `3.50 GB`.

pub fn display_bytes(bytes: u64) -> String {
    const KB: f64 = 1024.0;
    const MB: f64 = KB * 1024.0;
    const GB: f64 = MB * 1024.0;
    let b = bytes as f64;
    if b < KB {
        format!("{bytes} bytes")
    } else if b < MB {
        format!("{:.2} kB", b / KB)
    } else if b < GB {
        format!("{:.2} MB", b / MB)
    } else {
        format!("{:.2} GB", b / GB)
    }
}

#[cfg(test)]
mod tests {
    use super::display_bytes;

    #[test]
    fn matches_the_original() {
        assert_eq!(display_bytes(0), "0 bytes");
        assert_eq!(display_bytes(1023), "1023 bytes");
        assert_eq!(display_bytes(1024), "1.00 kB");
        assert_eq!(display_bytes(1536), "1.50 kB");
        assert_eq!(display_bytes(1_048_575), "1024.00 kB");
        assert_eq!(display_bytes(5_243_003), "5.00 MB");
        assert_eq!(display_bytes(3_758_096_384), "3.50 GB");
        assert_eq!(display_bytes(2_199_023_255_552), "2048.00 GB");
    }
}
