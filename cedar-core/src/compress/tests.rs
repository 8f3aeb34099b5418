use std::io::{Read, Write};

use super::*;

/// Compressible but not trivial data: pseudo-random words.
fn sample(len: usize) -> Vec<u8> {
    let words: [&[u8]; 8] = [
        b"INSERT ",
        b"INTO ",
        b"accounts ",
        b"VALUES ",
        b"(42, ",
        b"'abc'",
        b");\n",
        b"\t\\N\n",
    ];
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(words[(x % 8) as usize]);
        out.extend_from_slice(format!("{}", x % 100_000).as_bytes());
    }
    out.truncate(len);
    out
}

fn roundtrip(codec: Codec, threads: usize, data: &[u8]) -> (Vec<u8>, Totals) {
    let mut settings = Settings::new(codec);
    settings.threads = threads;
    let mut c = Compressor::new(Vec::new(), settings).unwrap();
    // Odd-sized writes cross block boundaries.
    for chunk in data.chunks(7919) {
        c.write_all(chunk).unwrap();
    }
    let (out, totals) = c.finish().unwrap();
    assert_eq!(totals.raw, data.len() as u64);
    assert_eq!(totals.compressed, out.len() as u64);
    check_members(codec, &out, &totals, data);
    let mut back = Vec::new();
    match codec {
        Codec::None => back = out.clone(),
        Codec::Gzip => {
            flate2::read::MultiGzDecoder::new(&out[..])
                .read_to_end(&mut back)
                .unwrap();
        }
        Codec::Bzip2 => {
            bzip2::read::MultiBzDecoder::new(&out[..])
                .read_to_end(&mut back)
                .unwrap();
        }
        Codec::Zstd => {
            zstd::stream::read::Decoder::new(&out[..])
                .unwrap()
                .read_to_end(&mut back)
                .unwrap();
        }
    }
    (back, totals)
}

/// The member map covers the output exactly, and each member decompresses on its own to its
/// block.
fn check_members(codec: Codec, out: &[u8], totals: &Totals, data: &[u8]) {
    if !matches!(codec, Codec::Gzip | Codec::Bzip2) {
        assert!(totals.members.is_empty(), "{codec:?}");
        return;
    }
    assert!(!totals.members.is_empty(), "{codec:?}");
    assert_eq!(
        totals.members.iter().map(|m| m.compressed).sum::<u64>(),
        totals.compressed
    );
    assert_eq!(
        totals.members.iter().map(|m| m.raw).sum::<u64>(),
        totals.raw
    );
    let (mut at, mut raw_at) = (0usize, 0usize);
    for member in &totals.members {
        let bytes = &out[at..at + member.compressed as usize];
        let mut back = Vec::new();
        match codec {
            Codec::Gzip => flate2::read::GzDecoder::new(bytes)
                .read_to_end(&mut back)
                .unwrap(),
            _ => bzip2::read::BzDecoder::new(bytes)
                .read_to_end(&mut back)
                .unwrap(),
        };
        assert_eq!(back.len() as u64, member.raw);
        assert!(back == data[raw_at..raw_at + back.len()], "{codec:?}");
        at += member.compressed as usize;
        raw_at += back.len();
    }
}

#[test]
fn every_codec_round_trips_across_blocks() {
    let data = sample(3 * GZIP_BLOCK + 12345);
    for codec in [Codec::None, Codec::Gzip, Codec::Bzip2, Codec::Zstd] {
        for threads in [1, 3] {
            let (back, totals) = roundtrip(codec, threads, &data);
            assert!(
                back == data,
                "{codec:?} with {threads} threads changed the data"
            );
            if codec != Codec::None {
                assert!(totals.compressed < totals.raw / 2, "{codec:?}: {totals:?}");
            }
        }
    }
}

#[test]
fn empty_stream_is_valid() {
    for codec in [Codec::None, Codec::Gzip, Codec::Bzip2, Codec::Zstd] {
        let (back, _) = roundtrip(codec, 2, &[]);
        assert!(back.is_empty());
    }
}

#[test]
fn gzip_members_are_independent() {
    let data = sample(2 * GZIP_BLOCK + 1);
    let mut settings = Settings::new(Codec::Gzip);
    settings.threads = 2;
    let mut c = Compressor::new(Vec::new(), settings).unwrap();
    c.write_all(&data).unwrap();
    let (out, _) = c.finish().unwrap();
    // A single-member reader stops after the first block.
    let mut first = Vec::new();
    flate2::read::GzDecoder::new(&out[..])
        .read_to_end(&mut first)
        .unwrap();
    assert_eq!(first.len(), GZIP_BLOCK);
}

/// A writer that fails after `limit` bytes, like a full disk.
struct Full {
    written: usize,
    limit: usize,
}

impl Write for Full {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.written + buf.len() > self.limit {
            return Err(std::io::Error::from_raw_os_error(28)); // ENOSPC
        }
        self.written += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_write_error_surfaces_and_stops_the_producer() {
    let data = sample(8 * GZIP_BLOCK);
    for codec in [Codec::Gzip, Codec::Bzip2, Codec::None, Codec::Zstd] {
        let mut settings = Settings::new(codec);
        settings.threads = 2;
        let mut c = Compressor::new(
            Full {
                written: 0,
                limit: 10_000,
            },
            settings,
        )
        .unwrap();
        let mut result = Ok(());
        for chunk in data.chunks(65536) {
            result = c.write_all(chunk);
            if result.is_err() {
                break;
            }
        }
        let err = match result {
            Err(e) => e,
            Ok(()) => c.finish().err().expect("a full disk must fail"),
        };
        assert_eq!(
            err.raw_os_error().or(Some(28)),
            Some(28),
            "{codec:?}: {err}"
        );
        assert!(
            err.kind() == std::io::ErrorKind::StorageFull || err.raw_os_error() == Some(28),
            "{codec:?}: {err:?}"
        );
    }
}

/// Decompresses with the real command-line tool, if it is installed.
fn with_tool(tool: &str, compressed: &[u8]) -> Option<Vec<u8>> {
    let mut child = std::process::Command::new(tool)
        .arg("-dc")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let input = compressed.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().ok()?;
    feeder.join().ok()?.ok()?;
    assert!(out.status.success(), "{tool} -dc failed");
    Some(out.stdout)
}

#[test]
fn standard_tools_read_the_whole_file() {
    let data = sample(2 * GZIP_BLOCK + 777);
    let mut checked = 0;
    for (codec, tool) in [
        (Codec::Gzip, "gzip"),
        (Codec::Bzip2, "bzip2"),
        (Codec::Zstd, "zstd"),
    ] {
        let mut settings = Settings::new(codec);
        settings.threads = 2;
        let mut c = Compressor::new(Vec::new(), settings).unwrap();
        c.write_all(&data).unwrap();
        let (out, _) = c.finish().unwrap();
        match with_tool(tool, &out) {
            Some(back) => {
                assert!(back == data, "{tool} read different data");
                checked += 1;
            }
            None if std::env::var_os("CEDAR_REQUIRE_POSTGRES").is_some() => {
                panic!("{tool} is not installed; .ci/run installs it")
            }
            None => eprintln!("skipping the {tool} check: {tool} is not installed"),
        }
    }
    eprintln!("{checked} standard tools checked");
}
