//! Questions on the terminal. An empty answer takes the default; an answer starting with `y`
//! or `Y` is yes and any other is no. The end of the input is an error, so that a script
//! that runs out of answers stops instead of looping.

use std::io::{BufRead, Write};

/// Why a question got no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("no answer to {question:?}: standard input ended; answer every question, or run cback-span on a terminal")]
    Eof { question: String },
    #[error("cannot talk to the terminal: {0}")]
    Io(#[from] std::io::Error),
}

/// Asks on `output` and reads answers from `input`.
#[derive(Debug)]
pub struct Asker<R, W> {
    input: R,
    pub output: W,
}

impl<R: BufRead, W: Write> Asker<R, W> {
    pub fn new(input: R, output: W) -> Asker<R, W> {
        Asker { input, output }
    }

    /// Prints `text` and a newline.
    pub fn say(&mut self, text: &str) -> Result<(), AskError> {
        writeln!(self.output, "{text}")?;
        self.output.flush()?;
        Ok(())
    }

    fn line(&mut self, prompt: &str) -> Result<String, AskError> {
        write!(self.output, "{prompt}")?;
        self.output.flush()?;
        let mut answer = String::new();
        if self.input.read_line(&mut answer)? == 0 {
            writeln!(self.output)?;
            return Err(AskError::Eof {
                question: prompt.trim().to_string(),
            });
        }
        Ok(answer.trim_end_matches(['\n', '\r']).to_string())
    }

    /// `QUESTION [Y/n]: ` (default yes).
    pub fn yes(&mut self, question: &str) -> Result<bool, AskError> {
        let answer = self.line(&format!("{question} [Y/n]: "))?;
        Ok(answer.is_empty() || answer.starts_with(['y', 'Y']))
    }

    /// `QUESTION [DEFAULT]: ` for a number in `range`, asked again until one is given.
    pub fn number(
        &mut self,
        question: &str,
        default: f64,
        range: std::ops::Range<f64>,
    ) -> Result<f64, AskError> {
        loop {
            let answer = self.line(&format!("{question} [{default:.2}]: "))?;
            if answer.is_empty() {
                return Ok(default);
            }
            match cedar_core::parse_float(&answer) {
                Some(v) if range.contains(&v) => return Ok(v),
                Some(_) => self.say(&format!(
                    "Enter a number from {} up to (not including) {}.",
                    range.start, range.end
                ))?,
                None => self.say("Enter a floating point number.")?,
            }
        }
    }

    /// `QUESTION [DEFAULT]: ` for one of `choices`, asked again until one is given.
    pub fn choice(
        &mut self,
        question: &str,
        choices: &[&str],
        default: &str,
    ) -> Result<String, AskError> {
        loop {
            let answer = self.line(&format!("{question} [{default}]: "))?;
            if answer.is_empty() {
                return Ok(default.to_string());
            }
            if choices.contains(&answer.as_str()) {
                return Ok(answer);
            }
            self.say(&format!("Choice must be one of: {}.", choices.join(", ")))?;
        }
    }

    /// Prints `message` and waits for a line.
    pub fn pause(&mut self, message: &str) -> Result<(), AskError> {
        self.say(message)?;
        self.line("Press return when ready.")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asker(input: &str) -> Asker<&[u8], Vec<u8>> {
        Asker::new(input.as_bytes(), Vec::new())
    }

    #[test]
    fn answers() {
        let mut a = asker("\ny\nYES\nn\n x\nx\n");
        assert!(a.yes("Continue?").unwrap());
        assert!(a.yes("Continue?").unwrap());
        assert!(a.yes("Continue?").unwrap());
        assert!(!a.yes("Continue?").unwrap());
        assert!(!a.yes("Continue?").unwrap());
        assert!(!a.yes("Continue?").unwrap());
        assert!(matches!(a.yes("Continue?"), Err(AskError::Eof { .. })));
        let out = String::from_utf8(a.output).unwrap();
        assert!(out.starts_with("Continue? [Y/n]: Continue? [Y/n]: "));
    }

    #[test]
    fn numbers_and_choices_ask_again() {
        let mut a = asker("abc\n150\n2.5\n\nfoo\nbest\n\n");
        assert_eq!(
            a.number("What cushion percentage?", 4.5, 0.0..100.0)
                .unwrap(),
            2.5
        );
        assert_eq!(
            a.number("What cushion percentage?", 4.5, 0.0..100.0)
                .unwrap(),
            4.5
        );
        let algorithms = ["first", "best", "worst", "alternate"];
        assert_eq!(
            a.choice("Which algorithm?", &algorithms, "worst").unwrap(),
            "best"
        );
        assert_eq!(
            a.choice("Which algorithm?", &algorithms, "worst").unwrap(),
            "worst"
        );
        let out = String::from_utf8(a.output).unwrap();
        assert!(out.contains("What cushion percentage? [4.50]: Enter a floating point number.\n"));
        assert!(out.contains("Enter a number from 0 up to (not including) 100.\n"));
        assert!(out.contains("Choice must be one of: first, best, worst, alternate.\n"));
    }
}
