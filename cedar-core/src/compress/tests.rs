use std::io::{Read, Write};

use super::compressor::GZIP_BLOCK;
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

/// The collect action's data: pseudo-random bytes among repeated letters.
fn archive_sample(len: usize) -> Vec<u8> {
    let mut x: u32 = 12345;
    (0..len)
        .map(|i| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            if i % 7 == 0 {
                (x >> 24) as u8
            } else {
                b'a' + (i % 13) as u8
            }
        })
        .collect()
}

fn archive(codec: Codec, data: &[u8]) -> Vec<u8> {
    let mut settings = Settings::new(codec);
    settings.threads = 2;
    settings.framing = Framing::Archive;
    let mut c = Compressor::new(Vec::new(), settings).unwrap();
    c.write_all(data).unwrap();
    let (out, totals) = c.finish().unwrap();
    assert_eq!(totals.raw, data.len() as u64);
    assert_eq!(totals.compressed, out.len() as u64);
    out
}

#[test]
fn archive_gzip_round_trips_through_a_standard_decoder() {
    for len in [0, 10, (1 << 20) - 1, 1 << 20, 3 * (1 << 20) + 17] {
        let data = archive_sample(len);
        let out = archive(Codec::Gzip, &data);
        // One member: a single-member reader gets everything.
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, data, "len {len}");
    }
}

#[test]
fn archive_gzip_is_the_blocks_deflated_in_order() {
    let data = archive_sample(3 * GZIP_BLOCK + 17);
    let mut want = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    for block in data.chunks(GZIP_BLOCK) {
        let mut c = flate2::Compress::new(flate2::Compression::new(6), false);
        let mut out = Vec::with_capacity(2 * block.len() + 1024);
        c.compress_vec(block, &mut out, flate2::FlushCompress::Sync)
            .unwrap();
        assert_eq!(c.total_in() as usize, block.len());
        want.extend_from_slice(&out);
    }
    want.extend_from_slice(&[0x03, 0x00]);
    want.extend_from_slice(&crc32fast::hash(&data).to_le_bytes());
    want.extend_from_slice(&(data.len() as u32).to_le_bytes());
    assert!(archive(Codec::Gzip, &data) == want);
}

#[test]
fn archive_bzip2_round_trips_as_concatenated_streams() {
    let data = archive_sample(2_000_000);
    let out = archive(Codec::Bzip2, &data);
    let mut back = Vec::new();
    bzip2::read::MultiBzDecoder::new(&out[..])
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, data);
    // Three streams: two of 850 000 bytes and the rest.
    let streams = out.windows(4).filter(|w| w == b"BZh9").count();
    assert!(streams >= 3, "{streams} streams");
}

#[test]
fn codecs_parse_by_name() {
    for name in Codec::NAMES {
        assert_eq!(Codec::parse(name).map(Codec::name), Some(name));
    }
    assert_eq!(Codec::parse(" gzip"), None);
    assert_eq!(Codec::parse("GZIP"), None);
}
