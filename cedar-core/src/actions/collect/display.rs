//! Byte counts as the original logs them: `53 bytes`, `1.50 kB`, `5.00 MB`, `3.50 GB`.

pub fn display_bytes(bytes: u64) -> String {
    crate::actions::store::media::display_bytes(bytes as f64)
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
