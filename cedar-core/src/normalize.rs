//! The original's normalized name of a path, used for archive and digest file names.

/// `/usr/include` → `usr-include`, `/home/a b` → `home-a_b`, `/` → `_`.
pub fn normalize_name(path: &str) -> String {
    if path == "/" {
        return "_".to_string();
    }
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    let mut out = String::with_capacity(trimmed.len());
    for (i, c) in trimmed.chars().enumerate() {
        let mapped = match c {
            '.' if i == 0 => '_',
            '/' => '-',
            ':' => '_',
            c if c.is_whitespace() => '_',
            c => c,
        };
        out.push(mapped);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize_name;

    #[test]
    fn examples_of_the_spec() {
        assert_eq!(normalize_name("/usr/include"), "usr-include");
        assert_eq!(normalize_name("/home/a b"), "home-a_b");
        assert_eq!(normalize_name("/"), "_");
        assert_eq!(normalize_name("/tmp/bb/src/a.txt"), "tmp-bb-src-a.txt");
        assert_eq!(normalize_name("/.hidden/x:y\tz"), "_hidden-x_y_z");
        assert_eq!(
            normalize_name("/tmp/bb/src/tmpd.tmp"),
            "tmp-bb-src-tmpd.tmp"
        );
    }
}
