//! An error with its chain of causes on one line, for the log and the final report: the one
//! formatter every crate and binary uses.

/// `error`'s message followed by each cause's (`: cause`), leaving out a cause whose text the
/// line already holds (many messages quote their cause, and a wrapper often repeats the
/// message of what it wraps).
pub fn chain(error: &dyn std::error::Error) -> String {
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

    #[derive(Debug, thiserror::Error)]
    #[error("the dump of database [shop] failed")]
    struct Top(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot write /x")]
    struct Middle(#[source] Quoting);

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Transparent(#[source] std::io::Error);

    #[test]
    fn every_cause_in_order() {
        let error = Top(Middle(Quoting(std::io::Error::other("disk full"))));
        assert_eq!(
            chain(&error),
            "the dump of database [shop] failed: cannot write /x: cannot stage peer [a]: disk full"
        );
    }

    #[test]
    fn a_cause_repeating_the_message_is_left_out() {
        let error = Transparent(std::io::Error::other("connection refused"));
        assert_eq!(chain(&error), "connection refused");
        assert_eq!(chain(&std::io::Error::other("plain")), "plain");
    }

    #[test]
    fn causes_follow_unless_already_quoted() {
        let io = || std::io::Error::other("disk full");
        assert_eq!(chain(&Outer(io())), "cannot stage peer [a]: disk full");
        assert_eq!(chain(&Quoting(io())), "cannot stage peer [a]: disk full");
    }
}
