use super::*;
use std::io::{BufReader, Read};

use crate::pickle::lexer::MAX_STRING;
use crate::pickle::text::for_each_code_point;
use crate::pickle::{write_dict, DictWriter};
use std::process::{Command, Stdio};

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

const PROTO0_SAMPLE: &[u8] = b"(dp0\nV/tmp/bb/src/excl/f\np1\nV094e\np2\nsV/tmp/new\\u000aline\np3\nV5954\np4\nsV/tmp/\xfcn\np5\ng2\ns.";
// pickle.dumps({'/a': 'x', '/b': 'x', '/\udcff': 'y'}, protocol=4)
const PROTO4_SAMPLE: &[u8] = b"\x80\x04\x95\x20\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x02/a\x94\x8c\x01x\x94\x8c\x02/b\x94h\x02\x8c\x04/\xed\xb3\xbf\x94\x8c\x01y\x94u.";
// pickle.dumps({'/a': 'x'}, protocol=2)
const PROTO2_SAMPLE: &[u8] = b"\x80\x02}q\x00X\x02\x00\x00\x00/aq\x01X\x01\x00\x00\x00xq\x02s.";

fn pair(k: &[u8], v: &[u8]) -> (Vec<u8>, Vec<u8>) {
    (k.to_vec(), v.to_vec())
}

/// All pairs of `data` through a spilling reader.
fn stream(data: &[u8]) -> Result<Pairs, PickleError> {
    let dir = tempfile::tempdir().unwrap();
    stream_in(data, dir.path())
}

fn stream_in(data: &[u8], dir: &Path) -> Result<Pairs, PickleError> {
    let mut reader = DictReader::new(data, dir);
    let mut out = Vec::new();
    while let Some(p) = reader.next_pair()? {
        out.push(p);
    }
    // Finished readers stay finished.
    assert!(reader.next_pair().unwrap().is_none());
    Ok(out)
}

/// The pairs read before the reader ended, and how it ended.
fn stream_partial(data: &[u8], dir: &Path) -> (Pairs, Result<(), PickleError>) {
    let mut reader = DictReader::new(data, dir);
    let mut out = Vec::new();
    loop {
        match reader.next_pair() {
            Ok(Some(p)) => out.push(p),
            Ok(None) => return (out, Ok(())),
            Err(err) => {
                assert!(matches!(reader.next_pair(), Err(PickleError::Failed)));
                return (out, Err(err));
            }
        }
    }
}

fn write_pairs(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut writer = DictWriter::new(Vec::new()).unwrap();
    for (k, v) in pairs {
        writer.push(k, v).unwrap();
    }
    writer.finish().unwrap()
}

/// The writer as it was before streaming, to check the bytes did not change.
fn old_write_dict(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    fn code_points(bytes: &[u8]) -> Vec<u32> {
        let mut out = Vec::new();
        for_each_code_point(bytes, |cp| out.push(cp));
        out
    }
    let mut out = b"(dp0\n".to_vec();
    let mut memo = 1usize;
    for (key, value) in entries {
        for text in [key, value] {
            out.push(b'V');
            for cp in code_points(text) {
                match cp {
                    0x00 | 0x0A | 0x0D | 0x1A | 0x5C => {
                        out.extend_from_slice(format!("\\u{cp:04x}").as_bytes());
                    }
                    0..=0xFF => out.push(cp as u8),
                    0x100..=0xFFFF => out.extend_from_slice(format!("\\u{cp:04x}").as_bytes()),
                    _ => out.extend_from_slice(format!("\\U{cp:08x}").as_bytes()),
                }
            }
            out.extend_from_slice(format!("\np{memo}\n").as_bytes());
            memo += 1;
        }
        out.push(b's');
    }
    out.push(b'.');
    out
}

fn odd_names() -> Pairs {
    vec![
        pair(b"/plain", b"aa"),
        pair(b"/new\nline\\back\r", b"bb"),
        pair(b"/nul\0sub\x1a", b"cc"),
        pair("/ünï€𝄞".as_bytes(), b"dd"),
        pair(b"/bad\xff\xfe", b"ee"),
        pair(b"/latin\xe9\xc3", b""),
        pair(b"", b"\\u0041"),
        pair(b"/plain", b"last"),
    ]
}

fn generated(n: usize) -> Pairs {
    (0..n)
        .map(|i| {
            let mut k = format!("/gen/{}/{}", i % 97, i).into_bytes();
            k.push(0x80 + (i % 128) as u8);
            k.extend_from_slice(if i % 3 == 0 { "é" } else { "𝄞\n\\" }.as_bytes());
            (k, format!("{:040x}", i as u64 * 2_654_435_761).into_bytes())
        })
        .collect()
}

/// A protocol 4 pickle as Python writes it: frames, MEMOIZE, SETITEMS batches of 1000.
fn protocol4(pairs: &[(Vec<u8>, Vec<u8>)], batch: usize) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &[u8]) {
        let mut enc = Vec::new();
        for_each_code_point(s, |cp| {
            // Surrogates are encoded like other code points (surrogatepass).
            let c = char::from_u32(cp);
            match c {
                Some(c) => enc.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                None => enc.extend_from_slice(&[
                    0xE0 | (cp >> 12) as u8,
                    0x80 | ((cp >> 6) & 0x3F) as u8,
                    0x80 | (cp & 0x3F) as u8,
                ]),
            }
        });
        if enc.len() < 256 {
            out.push(0x8c);
            out.push(enc.len() as u8);
        } else {
            out.push(b'X');
            out.extend_from_slice(&(enc.len() as u32).to_le_bytes());
        }
        out.extend_from_slice(&enc);
        out.push(0x94);
    }
    let mut out = b"\x80\x04".to_vec();
    let mut frame = b"}\x94".to_vec();
    for chunk in pairs.chunks(batch) {
        frame.push(b'(');
        for (k, v) in chunk {
            string(&mut frame, k);
            string(&mut frame, v);
        }
        frame.push(b'u');
        out.push(0x95);
        out.extend_from_slice(&(frame.len() as u64).to_le_bytes());
        out.append(&mut frame);
    }
    out.push(b'.');
    out
}

#[test]
fn reads_protocol_0_from_the_original() {
    let data = PROTO0_SAMPLE;
    let d = read_dict(data).unwrap();
    assert_eq!(d[&b"/tmp/bb/src/excl/f".to_vec()], b"094e");
    assert_eq!(d[&b"/tmp/new\nline".to_vec()], b"5954");
    assert_eq!(d[&"/tmp/\u{fc}n".as_bytes().to_vec()], b"094e");
}

#[test]
fn reads_binary_protocols() {
    let data = PROTO4_SAMPLE;
    let d = read_dict(data).unwrap();
    assert_eq!(d.len(), 3);
    assert_eq!(d[&b"/b".to_vec()], b"x");
    assert_eq!(d[&b"/\xff".to_vec()], b"y");
    assert_eq!(read_dict(PROTO2_SAMPLE).unwrap()[&b"/a".to_vec()], b"x");
}

#[test]
fn round_trips_odd_names() {
    let names = odd_names();
    let data = write_dict(names.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
    let back = read_dict(&data).unwrap();
    assert_eq!(back.len(), names.len() - 1);
    assert_eq!(back[&b"/plain".to_vec()], b"last");
    for (k, v) in &names[1..] {
        assert_eq!(&back[k], v);
    }
}

#[test]
fn without_a_memo_puts_are_skipped_and_a_get_asks_for_one() {
    let plain = write_dict([(&b"/a"[..], &b"1"[..]), (&b"/b"[..], &b"2"[..])]);
    let mut reader = DictReader::without_memo(&plain[..]);
    assert_eq!(
        reader.next_pair().unwrap(),
        Some((b"/a".to_vec(), b"1".to_vec()))
    );
    assert_eq!(
        reader.next_pair().unwrap(),
        Some((b"/b".to_vec(), b"2".to_vec()))
    );
    assert!(reader.next_pair().unwrap().is_none());
    let with_get: &[u8] = b"(dp0\nV/a\np1\nV094e\np2\nsV/b\np3\ng2\ns.";
    let mut reader = DictReader::without_memo(with_get);
    assert!(reader.next_pair().unwrap().is_some());
    let err = reader.next_pair().unwrap_err();
    assert!(
        matches!(err, PickleError::NeedsMemo { offset } if offset > 0),
        "{err:?}"
    );
}

#[test]
fn rejects_other_shapes() {
    assert!(read_dict(b"").is_err());
    assert!(read_dict(b"(lp0\n.").is_err());
    assert!(read_dict(b"\x80\x04K\x01.").is_err());
    for data in [
        &b""[..],
        b"(lp0\n.",
        b"\x80\x04K\x01.",
        b"}}.",
        b"}(Va\nd.",
        b"V\n.",
    ] {
        assert!(stream(data).is_err(), "{data:?}");
    }
    // STOP needs exactly the dict on the stack.
    assert!(matches!(stream(b"Va\n}."), Err(PickleError::Shape)));
    assert!(matches!(stream(b"}Va\n."), Err(PickleError::Shape)));
    // A get of the dict pushes it again, which is not a dict pickle.
    assert!(matches!(stream(b"}q\x00h\x00."), Err(PickleError::Shape)));
    // A pair set into something else than the dict.
    assert!(matches!(
        stream(b"}Va\nVb\nVc\ns."),
        Err(PickleError::Shape)
    ));
    assert!(matches!(stream(b"}(Va\n."), Err(PickleError::Shape)));
    assert!(matches!(
        stream(b"}K"),
        Err(PickleError::Opcode {
            opcode: b'K',
            offset: 1
        })
    ));
}

#[test]
fn streams_round_trip_of_odd_names() {
    let names = odd_names();
    let data = write_pairs(&names);
    assert_eq!(data, old_write_dict(&names));
    assert_eq!(
        data,
        write_dict(names.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))
    );
    assert_eq!(stream(&data).unwrap(), names);
}

#[test]
fn streams_round_trip_of_many_pairs() {
    let pairs = generated(100_000);
    let data = write_pairs(&pairs);
    assert_eq!(data, old_write_dict(&pairs));
    assert_eq!(stream(&data).unwrap(), pairs);
    // Through a buffered file reader too.
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&data).unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut reader = DictReader::new(BufReader::new(file), dir.path());
    let mut n = 0;
    while let Some((k, v)) = reader.next_pair().unwrap() {
        assert_eq!((&k, &v), (&pairs[n].0, &pairs[n].1));
        n += 1;
    }
    assert_eq!(n, pairs.len());
}

#[test]
fn streams_the_samples_with_the_memo_spilled() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        stream_in(PROTO0_SAMPLE, dir.path()).unwrap(),
        vec![
            pair(b"/tmp/bb/src/excl/f", b"094e"),
            pair(b"/tmp/new\nline", b"5954"),
            pair("/tmp/\u{fc}n".as_bytes(), b"094e"),
        ]
    );
    assert_eq!(
        stream_in(PROTO4_SAMPLE, dir.path()).unwrap(),
        vec![pair(b"/a", b"x"), pair(b"/b", b"x"), pair(b"/\xff", b"y")]
    );
    assert_eq!(
        stream_in(PROTO2_SAMPLE, dir.path()).unwrap(),
        vec![pair(b"/a", b"x")]
    );
    // The spill files are unnamed: nothing is left in the directory.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn memo_puts_out_of_order_and_overwritten() {
    // `a` at 0 (MEMOIZE), `b` at 1 (BINPUT), `c` at 5 (BINPUT, leaving a hole), `d` at 3
    // (MEMOIZE: three indices held), `b2` overwrites 1, `e` at 4 (MEMOIZE: four held).
    let data: &[u8] = b"\x80\x04}(\x8c\x01a\x94\x8c\x01bq\x01\x8c\x01cq\x05\x8c\x01d\x94\x8c\x02b2q\x01\x8c\x01e\x94h\x00h\x01h\x05h\x03h\x04\x8c\x01fu.";
    let want = vec![
        pair(b"a", b"b"),
        pair(b"c", b"d"),
        pair(b"b2", b"e"),
        pair(b"a", b"b2"),
        pair(b"c", b"d"),
        pair(b"e", b"f"),
    ];
    assert_eq!(stream(data).unwrap(), want);
    let from_memory: HashMap<_, _> = want.into_iter().collect();
    assert_eq!(read_dict(data).unwrap(), from_memory);
    // Gets of an index never put: in a hole, past the end, or with no memo at all.
    let hole = data.iter().rposition(|&b| b == b'h').unwrap() + 1;
    let mut bad = data.to_vec();
    bad[hole] = 2;
    assert!(matches!(stream(&bad), Err(PickleError::Shape)));
    assert!(matches!(read_dict(&bad), Err(PickleError::Shape)));
    assert!(matches!(
        stream(b"}(Va\nq\x05h\x03Vb\nu."),
        Err(PickleError::Shape)
    ));
    assert!(matches!(
        stream(b"}(Va\nq\x05h\x06Vb\nu."),
        Err(PickleError::Shape)
    ));
    assert!(matches!(stream(b"}(h\x00Vb\nu."), Err(PickleError::Shape)));
    assert!(matches!(stream(b"}(g7\nVb\nu."), Err(PickleError::Shape)));
    // Indices past 2^32 - 1 are malformed.
    assert!(matches!(
        stream(b"}p4294967296\n."),
        Err(PickleError::Shape)
    ));
    assert!(matches!(
        stream(b"}Va\ng4294967296\n."),
        Err(PickleError::Shape)
    ));
    assert!(matches!(stream(b"}px\n."), Err(PickleError::Shape)));
    // A put with nothing (or a mark) on top.
    assert!(matches!(stream(b"p0\n}."), Err(PickleError::Shape)));
    assert!(matches!(stream(b"}(p0\nu."), Err(PickleError::Shape)));
}

#[test]
fn spill_files_are_made_only_when_needed() {
    let missing = Path::new("/nonexistent/cback-pickle-spill");
    assert_eq!(
        stream_in(b"(Va\nVb\nd.", missing).unwrap(),
        vec![pair(b"a", b"b")]
    );
    assert_eq!(
        stream_in(b"(dVa\nVb\nsVc\nVd\ns.", missing).unwrap(),
        vec![pair(b"a", b"b"), pair(b"c", b"d")]
    );
    assert!(matches!(
        stream_in(PROTO0_SAMPLE, missing),
        Err(PickleError::Spill(_))
    ));
}

#[test]
fn reads_old_protocol_0_dict_form() {
    // `(` key value key value `d`: the pairs above the mark.
    let data = b"(Va\nVb\nVc\nVd\ndp0\nVe\nVf\ns.";
    assert_eq!(
        stream(data).unwrap(),
        vec![pair(b"a", b"b"), pair(b"c", b"d"), pair(b"e", b"f")]
    );
    assert!(matches!(stream(b"(Va\nd."), Err(PickleError::Shape)));
}

#[test]
fn batches_are_bounded() {
    // Python batches 1000 pairs; a batch of 1500 is fine.
    let pairs = generated(1500);
    let data = protocol4(&pairs, 1500);
    assert_eq!(stream(&data).unwrap(), pairs);
    // 2048 pairs are 4096 values, plus the dict and the mark: too many.
    let pairs = generated(2048);
    let data = protocol4(&pairs, 2048);
    assert!(matches!(stream(&data), Err(PickleError::TooLarge { .. })));
    let mut data = b"}(".to_vec();
    for _ in 0..5000 {
        data.extend_from_slice(b"\x8c\x01a");
    }
    data.extend_from_slice(b"u.");
    assert!(matches!(stream(&data), Err(PickleError::TooLarge { .. })));
    // Too many bytes: 65 strings of 1 MiB.
    let mut data = b"}(".to_vec();
    for _ in 0..65 {
        data.push(b'X');
        data.extend_from_slice(&(MAX_STRING as u32).to_le_bytes());
        data.resize(data.len() + MAX_STRING, b'a');
    }
    data.extend_from_slice(b"u.");
    assert!(matches!(stream(&data), Err(PickleError::TooLarge { .. })));
}

#[test]
fn long_strings_are_rejected_before_reading_them() {
    // Length fields far beyond the data: an error at once, not an allocation.
    assert!(matches!(
        stream(b"\x80\x04}(X\xff\xff\xff\xff"),
        Err(PickleError::TooLong { offset: 4 })
    ));
    assert!(matches!(
        stream(b"\x80\x04}(\x8d\xff\xff\xff\xff\xff\xff\xff\xff"),
        Err(PickleError::TooLong { offset: 4 })
    ));
    let mut data = b"}(X".to_vec();
    data.extend_from_slice(&(MAX_STRING as u32 + 1).to_le_bytes());
    assert!(matches!(
        stream(&data),
        Err(PickleError::TooLong { offset: 2 })
    ));
    // A string of exactly the limit is fine.
    let mut data = b"}X".to_vec();
    data.extend_from_slice(&(MAX_STRING as u32).to_le_bytes());
    data.resize(data.len() + MAX_STRING, b'k');
    data.extend_from_slice(b"\x8c\x01vs.");
    let got = stream(&data).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0.len(), MAX_STRING);
    // Lines: one longer than the limit, with or without its newline.
    for newline in [false, true] {
        let mut data = b"(dV".to_vec();
        data.resize(data.len() + MAX_STRING + 1, b'a');
        if newline {
            data.push(b'\n');
        }
        assert!(matches!(
            stream(&data),
            Err(PickleError::TooLong { offset: 2 })
        ));
    }
    let mut data = b"(dV".to_vec();
    data.resize(data.len() + MAX_STRING, b'a');
    data.extend_from_slice(b"\nVv\ns.");
    assert_eq!(stream(&data).unwrap()[0].0.len(), MAX_STRING);
}

#[test]
fn truncated_input_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let written = write_pairs(&odd_names());
    let python = protocol4(&generated(30), 7);
    for data in [
        PROTO0_SAMPLE,
        PROTO2_SAMPLE,
        PROTO4_SAMPLE,
        &written,
        &python,
    ] {
        let (all, end) = stream_partial(data, dir.path());
        end.unwrap();
        for len in 0..data.len() {
            let (got, end) = stream_partial(&data[..len], dir.path());
            assert!(end.is_err(), "prefix of {len} bytes ended cleanly");
            assert_eq!(got, all[..got.len()], "prefix of {len} bytes");
        }
    }
    // Data after STOP is not read.
    let mut data = PROTO2_SAMPLE.to_vec();
    data.extend_from_slice(b"garbage");
    assert_eq!(stream(&data).unwrap(), vec![pair(b"/a", b"x")]);
}

#[test]
fn io_errors_surface() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("boom"))
        }
    }
    let dir = tempfile::tempdir().unwrap();
    for len in [0, 10, 30, PROTO0_SAMPLE.len() - 1] {
        let input = BufReader::new(PROTO0_SAMPLE[..len].chain(Failing));
        let mut reader = DictReader::new(input, dir.path());
        let err = loop {
            match reader.next_pair() {
                Ok(Some(_)) => {}
                Ok(None) => panic!("ended cleanly"),
                Err(err) => break err,
            }
        };
        assert!(matches!(err, PickleError::Io(_)), "{err:?}");
        assert_eq!(err.to_string(), "cannot read the pickle data: boom");
    }
}

#[test]
fn reads_a_large_protocol_4_pickle_with_bounded_state() {
    let pairs = generated(200_000);
    let data = protocol4(&pairs, 1000);
    let dir = tempfile::tempdir().unwrap();
    let mut reader = DictReader::new(&data[..], dir.path());
    let mut n = 0;
    let mut most_pending = 0;
    while let Some((k, v)) = reader.next_pair().unwrap() {
        assert_eq!((&k, &v), (&pairs[n].0, &pairs[n].1));
        n += 1;
        most_pending = most_pending.max(reader.pending.len());
        // The state the reader holds does not grow with the number of pairs.
        assert!(reader.stack.capacity() <= MAX_STACK_VALUES);
        assert!(reader.pending.capacity() <= MAX_STACK_VALUES);
        assert!(reader.lexer.buffer_capacity() <= MAX_STRING + 1);
        if let Memo::Spill(spill) = &reader.memo {
            if let Some(files) = &spill.files {
                assert!(files.data.capacity() <= 8 * 1024);
                assert!(files.index.capacity() <= 8 * 1024);
            }
        } else {
            panic!("the memo is not spilled");
        }
    }
    assert_eq!(n, pairs.len());
    assert_eq!(most_pending, 999);
    assert!(format!("{reader:?}").starts_with("DictReader"));
}

fn python3() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import pickle"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: python3 with pickle is not available");
    }
    ok
}

/// Names with surrogate-escaped bytes, newlines, backslashes and non-BMP characters, and a
/// shared value object (so the pickler emits memo gets).
const PY_DICT: &str = r#"
import pickle, sys
names = [b'/plain', b'/new\nline', b'/back\\slash', b'/cr\r', b'/nul\x00', b'/sub\x1a',
         '/\u00fcn\u00ef\u20ac\U0001d11e'.encode(), b'/bad\xff\xfe', b'/latin\xe9', b'/mix\xc3\xa9\xff', b'']
for i in range(2500):
    names.append(b'/gen/%d/' % i + bytes([0x80 + i % 128]) + ('\u00e9' if i % 3 else '\U0001d11e').encode())
shared = 'shared-value'
d = {}
for i, n in enumerate(names):
    d[n.decode('utf-8', 'surrogateescape')] = shared if i % 7 == 0 else '%040x' % (i * 2654435761)
"#;

const PY_PRINT: &str = r#"
for k, v in d.items():
    print(k.encode('utf-8', 'surrogateescape').hex(), v.encode('utf-8', 'surrogateescape').hex())
"#;

fn parse_hex_lines(out: &[u8]) -> Pairs {
    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
    std::str::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| {
            let (k, v) = line.split_once(' ').unwrap();
            (unhex(k), unhex(v))
        })
        .collect()
}

fn python(script: &str, input: Vec<u8>) -> Vec<u8> {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "python3 failed");
    out.stdout
}

#[test]
fn reads_what_python_writes() {
    if !python3() {
        return;
    }
    let want = parse_hex_lines(&python(&format!("{PY_DICT}{PY_PRINT}"), Vec::new()));
    assert_eq!(want.len(), 2511);
    assert!(want.contains(&pair(b"/bad\xff\xfe", b"shared-value")));
    let dir = tempfile::tempdir().unwrap();
    for proto in [0, 2, 4, 5] {
        let data = python(
            &format!("{PY_DICT}\nsys.stdout.buffer.write(pickle.dumps(d, protocol={proto}))"),
            Vec::new(),
        );
        assert_eq!(
            stream_in(&data, dir.path()).unwrap(),
            want,
            "protocol {proto}"
        );
        let map: HashMap<_, _> = want.iter().cloned().collect();
        assert_eq!(read_dict(&data).unwrap(), map, "protocol {proto}");
    }
}

#[test]
fn python_reads_what_we_write() {
    if !python3() {
        return;
    }
    let mut pairs = odd_names();
    pairs.pop(); // Python keeps the first position of a repeated key.
    pairs.extend(generated(3000));
    let out = python(
        &format!("import pickle, sys\nd = pickle.load(sys.stdin.buffer)\n{PY_PRINT}"),
        write_pairs(&pairs),
    );
    assert_eq!(parse_hex_lines(&out), pairs);
}
