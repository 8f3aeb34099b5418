//! How the binaries word a fatal error.

/// An error with its chain of causes ([`cedar_core::error_chain`]); with `--stack`, also its
/// debug form.
pub fn report(error: &(dyn std::error::Error + 'static), stack: bool) -> String {
    let mut text = cedar_core::error_chain(error);
    if stack {
        text.push_str(&format!("\n{error:#?}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stack_follows_the_chain_only_when_asked() {
        let error = std::io::Error::other("disk full");
        assert_eq!(report(&error, false), "disk full");
        let with_stack = report(&error, true);
        assert!(with_stack.starts_with("disk full\n"), "{with_stack}");
        assert!(with_stack.contains("Custom"), "{with_stack}");
    }
}
