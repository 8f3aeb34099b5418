//! One tar member's header blocks in GNU format.

/// Size of a tar block.
pub const BLOCK: usize = 512;
/// Archives are padded to a multiple of this (20 blocks), as tar and `tarfile` do.
pub const RECORD: usize = 20 * BLOCK;

const NAME_LEN: usize = 100;
const GNU_MAGIC: &[u8; 8] = b"ustar  \0";
const LONG_LINK_NAME: &[u8] = b"././@LongLink";

/// The fields of a member header.
#[derive(Debug, Clone, Copy)]
pub struct HeaderFields<'a> {
    /// Member name, without the leading `/`.
    pub name: &'a [u8],
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub mtime: i64,
    /// `b'0'` file, `b'1'` hard link, `b'2'` soft link.
    pub typeflag: u8,
    pub linkname: &'a [u8],
    pub uname: &'a [u8],
    pub gname: &'a [u8],
}

/// Writes `value` into `field` as zero-padded octal ending in NUL, or in GNU base-256 when it
/// does not fit (negative or too large).
fn put_number(field: &mut [u8], value: i128) {
    let digits = field.len() - 1;
    let limit = 8i128.pow(digits as u32);
    if (0..limit).contains(&value) {
        let text = format!("{value:0digits$o}");
        field[..digits].copy_from_slice(text.as_bytes());
        field[digits] = 0;
    } else {
        let mut v = value;
        for byte in field.iter_mut().rev() {
            *byte = (v & 0xff) as u8;
            v >>= 8;
        }
        field[0] = if value < 0 { 0xff } else { 0x80 };
    }
}

fn put_text(field: &mut [u8], text: &[u8]) {
    let n = text.len().min(field.len());
    field[..n].copy_from_slice(&text[..n]);
}

fn header_block(fields: &HeaderFields<'_>) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    put_text(&mut b[0..100], fields.name);
    put_number(&mut b[100..108], i128::from(fields.mode & 0o7777));
    put_number(&mut b[108..116], i128::from(fields.uid));
    put_number(&mut b[116..124], i128::from(fields.gid));
    put_number(&mut b[124..136], i128::from(fields.size));
    put_number(&mut b[136..148], i128::from(fields.mtime));
    b[156] = fields.typeflag;
    put_text(&mut b[157..257], fields.linkname);
    b[257..265].copy_from_slice(GNU_MAGIC);
    put_text(&mut b[265..297], fields.uname);
    put_text(&mut b[297..329], fields.gname);
    put_number(&mut b[329..337], 0);
    put_number(&mut b[337..345], 0);
    b[148..156].copy_from_slice(b"        ");
    let sum: u32 = b.iter().map(|&x| u32::from(x)).sum();
    let text = format!("{sum:06o}\0 ");
    b[148..156].copy_from_slice(text.as_bytes());
    b
}

fn long_record(out: &mut Vec<u8>, typeflag: u8, text: &[u8]) {
    let fields = HeaderFields {
        name: LONG_LINK_NAME,
        mode: 0,
        uid: 0,
        gid: 0,
        size: text.len() as u64 + 1,
        mtime: 0,
        typeflag,
        linkname: b"",
        uname: b"",
        gname: b"",
    };
    out.extend_from_slice(&header_block(&fields));
    out.extend_from_slice(text);
    out.push(0);
    pad_to_block(out);
}

/// Pads `out` with NULs to a whole number of blocks.
pub(crate) fn pad_to_block(out: &mut Vec<u8>) {
    let rem = out.len() % BLOCK;
    if rem != 0 {
        out.resize(out.len() + BLOCK - rem, 0);
    }
}

/// Appends the header blocks of one member to `out`: a GNU long-name record (`L`) when the
/// name exceeds 100 bytes, a long-link record (`K`) when the link target does, then the header.
pub fn encode_member(out: &mut Vec<u8>, fields: &HeaderFields<'_>) {
    if fields.name.len() > NAME_LEN {
        long_record(out, b'L', fields.name);
    }
    if fields.linkname.len() > NAME_LEN {
        long_record(out, b'K', fields.linkname);
    }
    out.extend_from_slice(&header_block(fields));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(name: &'a [u8], linkname: &'a [u8]) -> HeaderFields<'a> {
        HeaderFields {
            name,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            size: 6,
            mtime: 1_704_888_000,
            typeflag: b'0',
            linkname,
            uname: b"root",
            gname: b"root",
        }
    }

    #[test]
    fn short_member_is_one_block_with_valid_checksum() {
        let mut out = Vec::new();
        encode_member(&mut out, &fields(b"tmp/a.txt", b""));
        assert_eq!(out.len(), BLOCK);
        assert_eq!(&out[100..108], b"0000644\0");
        assert_eq!(&out[124..136], b"00000000006\0");
        assert_eq!(&out[257..265], b"ustar  \0");
        let stored = std::str::from_utf8(&out[148..154]).unwrap();
        let mut copy = out.clone();
        copy[148..156].copy_from_slice(b"        ");
        let sum: u32 = copy.iter().map(|&x| u32::from(x)).sum();
        assert_eq!(u32::from_str_radix(stored, 8).unwrap(), sum);
    }

    #[test]
    fn long_names_get_gnu_records() {
        let name = vec![b'n'; 150];
        let target = vec![b't'; 120];
        let mut out = Vec::new();
        encode_member(&mut out, &fields(&name, &target));
        // L header + 1 data block, K header + 1 data block, the header.
        assert_eq!(out.len(), 5 * BLOCK);
        assert_eq!(out[156], b'L');
        assert_eq!(&out[0..13], b"././@LongLink");
        assert_eq!(&out[BLOCK..BLOCK + 150], &name[..]);
        assert_eq!(out[2 * BLOCK + 156], b'K');
        let exactly_100 = vec![b'x'; 100];
        let mut out = Vec::new();
        encode_member(&mut out, &fields(&exactly_100, b""));
        assert_eq!(out.len(), BLOCK);
    }

    #[test]
    fn big_and_negative_numbers_use_base_256() {
        let mut field = [0u8; 12];
        put_number(&mut field, 10 * 1024 * 1024 * 1024);
        assert_eq!(field[0], 0x80);
        assert_eq!(&field[7..], &[0x02, 0x80, 0x00, 0x00, 0x00]);
        put_number(&mut field, -1);
        assert!(field.iter().all(|&b| b == 0xff));
    }
}
