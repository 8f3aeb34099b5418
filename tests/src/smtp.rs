//! A mail sink on loopback: a minimal SMTP server (RFC 5321's EHLO/HELO, MAIL, RCPT, DATA, RSET,
//! NOOP, QUIT; no TLS, no AUTH) that keeps every message it is given, for the tests of what
//! cback mails through a real sendmail-compatible client (msmtp). Started once per test binary
//! ([`shared`]); each test finds its own message by a word only it uses.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// One message as the sink received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    /// The envelope sender (`MAIL FROM`).
    pub from: String,
    /// The envelope recipients (`RCPT TO`).
    pub to: Vec<String>,
    /// Headers and body, dot-unstuffed, lines ending in `\n`.
    pub data: String,
}

/// The running sink.
#[derive(Debug)]
pub struct SmtpSink {
    pub port: u16,
    mails: Mutex<Vec<Mail>>,
}

static SHARED: OnceLock<&'static SmtpSink> = OnceLock::new();

/// The sink of this test binary, started on first use on 127.0.0.1 at a free port.
pub fn shared() -> &'static SmtpSink {
    SHARED.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the SMTP sink on loopback");
        let sink: &'static SmtpSink = Box::leak(Box::new(SmtpSink {
            port: listener.local_addr().unwrap().port(),
            mails: Mutex::new(Vec::new()),
        }));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let _ = sink.serve(stream);
                });
            }
        });
        sink
    })
}

impl SmtpSink {
    /// Waits up to `timeout` for a message whose data contains `needle`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> Option<Mail> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(mail) = self.find(needle) {
                return Some(mail);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every message received so far whose data contains `needle`.
    pub fn all(&self, needle: &str) -> Vec<Mail> {
        let mails = self.mails.lock().unwrap_or_else(|e| e.into_inner());
        mails
            .iter()
            .filter(|m| m.data.contains(needle))
            .cloned()
            .collect()
    }

    fn find(&self, needle: &str) -> Option<Mail> {
        self.all(needle).into_iter().next()
    }

    fn serve(&self, stream: TcpStream) -> std::io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        let mut out = stream.try_clone()?;
        let mut reader = BufReader::new(stream);
        out.write_all(b"220 cback-test-sink ESMTP\r\n")?;
        let (mut from, mut to) = (String::new(), Vec::new());
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_string();
            let verb = command
                .split([' ', ':'])
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            match verb.as_str() {
                "EHLO" => out.write_all(b"250-cback-test-sink\r\n250 8BITMIME\r\n")?,
                "HELO" | "NOOP" => out.write_all(b"250 OK\r\n")?,
                "MAIL" => {
                    from = address(&command);
                    to.clear();
                    out.write_all(b"250 OK\r\n")?;
                }
                "RCPT" => {
                    to.push(address(&command));
                    out.write_all(b"250 OK\r\n")?;
                }
                "DATA" => {
                    out.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
                    let mut data = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line)? == 0 {
                            return Ok(());
                        }
                        let text = line.trim_end_matches(['\r', '\n']);
                        if text == "." {
                            break;
                        }
                        data.push_str(text.strip_prefix('.').unwrap_or(text));
                        data.push('\n');
                    }
                    self.mails
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(Mail {
                            from: from.clone(),
                            to: to.clone(),
                            data,
                        });
                    out.write_all(b"250 OK queued\r\n")?;
                }
                "RSET" => {
                    from.clear();
                    to.clear();
                    out.write_all(b"250 OK\r\n")?;
                }
                "QUIT" => {
                    out.write_all(b"221 bye\r\n")?;
                    return Ok(());
                }
                _ => out.write_all(b"502 command not implemented\r\n")?,
            }
        }
    }
}

/// The address of `MAIL FROM:<a@b> SIZE=…` or `RCPT TO:<a@b>`.
fn address(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sink_keeps_a_message_given_over_smtp() {
        let sink = shared();
        let stream = TcpStream::connect(("127.0.0.1", sink.port)).unwrap();
        let mut out = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut reply = || {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            line
        };
        assert!(reply().starts_with("220"));
        for (command, code) in [
            ("HELO me\r\n", "250"),
            ("MAIL FROM:<a@example.org>\r\n", "250"),
            ("RCPT TO:<b@example.org>\r\n", "250"),
            ("DATA\r\n", "354"),
            ("Subject: sink-self-test\r\n\r\n..dotted\r\n.\r\n", "250"),
            ("QUIT\r\n", "221"),
        ] {
            out.write_all(command.as_bytes()).unwrap();
            assert!(reply().starts_with(code), "{command}");
        }
        let mail = sink
            .wait_for("sink-self-test", Duration::from_secs(5))
            .unwrap();
        assert_eq!(mail.from, "a@example.org");
        assert_eq!(mail.to, ["b@example.org"]);
        assert_eq!(mail.data, "Subject: sink-self-test\n\n.dotted\n");
    }
}
