//! Reading archives back: the members of an archive, for tests of the writers.

use super::BLOCK;

/// A NUL-terminated header field.
fn field(bytes: &[u8]) -> Vec<u8> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes[..end].to_vec()
}

/// (name, typeflag, link name) of every member, GNU long names resolved.
pub fn members(tar: &[u8]) -> Vec<(Vec<u8>, u8, Vec<u8>)> {
    let mut out = Vec::new();
    let (mut long_name, mut long_link) = (None, None);
    let mut pos = 0;
    while pos + BLOCK <= tar.len() {
        let h = &tar[pos..pos + BLOCK];
        if h.iter().all(|&b| b == 0) {
            break;
        }
        let size = std::str::from_utf8(&field(&h[124..136]))
            .unwrap()
            .to_owned();
        let size = usize::from_str_radix(size.trim(), 8).unwrap();
        let data = &tar[pos + BLOCK..pos + BLOCK + size];
        pos += BLOCK + size.div_ceil(BLOCK) * BLOCK;
        match h[156] {
            b'L' => long_name = Some(field(data)),
            b'K' => long_link = Some(field(data)),
            typeflag => out.push((
                long_name.take().unwrap_or_else(|| field(&h[0..100])),
                typeflag,
                long_link.take().unwrap_or_else(|| field(&h[157..257])),
            )),
        }
    }
    out
}
