//! An error with its chain of causes on one line, for the log and the final report.

/// `error`'s message followed by each cause's (`: cause`), leaving out a cause whose text the
/// message already holds (many messages quote their cause).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot stage peer [a]")]
    struct Outer(#[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot stage peer [a]: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn causes_follow_unless_already_quoted() {
        let io = || std::io::Error::other("disk full");
        assert_eq!(chain(&Outer(io())), "cannot stage peer [a]: disk full");
        assert_eq!(chain(&Quoting(io())), "cannot stage peer [a]: disk full");
    }
}
