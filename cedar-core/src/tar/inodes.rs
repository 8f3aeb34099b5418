//! Hard-link bookkeeping with bounded memory: `(dev, ino)` → the member name of the first
//! member of a multiply-linked file.
//!
//! Small maps (most trees have few hard links) live in a `HashMap`. Once the map would hold
//! more than its threshold of entries (or of name bytes), everything moves to two unnamed
//! temporary files: an open-addressing hash table of fixed-size slots with linear probing, and
//! an append-only file of names. From then on memory stays bounded (a 1 MiB direct-mapped
//! cache of slot pages, the name buffer, a chunk buffer while the table grows) however many
//! hard links the tree has; the temporary files disappear when the map is dropped.
//!
//! Slot layout (32 bytes, little endian): dev u64, ino u64, name offset u64, name length u32,
//! used marker u8, 3 bytes of padding. The slot index is the top bits of a splitmix64-style
//! mix of (dev, ino), so that doubling the table maps old slot `i` to about `2i`: streaming
//! the old table in order then writes the new one nearly sequentially through the page cache.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Entries kept in memory before the map moves to disk.
pub const DEFAULT_THRESHOLD: usize = 32_768;
/// Name bytes allowed in memory per entry of the threshold (bounds trees of long paths).
const NAME_BYTES_PER_ENTRY: usize = 256;
/// Bytes of one slot of the on-disk table.
const SLOT: usize = 32;
/// Bytes of one cached page of the slot file (16 slots: probes at a load factor of at most
/// 0.5 are short, and big tables are read at random, so small reads beat 4 KiB ones).
const PAGE: usize = 512;
const SLOTS_PER_PAGE: u64 = (PAGE / SLOT) as u64;
/// Pages of the slot file kept in memory (1 MiB).
const CACHE_PAGES: usize = 2048;
/// Smallest table, in slots (a power of two, at least a page).
const MIN_CAPACITY: u64 = 1024;
const NAMES_BUFFER: usize = 64 * 1024;
/// Bytes of the old table read at a time while growing.
const GROW_CHUNK: usize = 64 * 1024;
const USED: u8 = 1;

/// `(dev, ino)` → name bytes; in memory up to a threshold, then in temporary files.
///
/// Every operation that touches the temporary files can fail with an `io::Error`. A failure
/// while the map is still in memory (e.g. the temporary directory does not exist) leaves the
/// map as it was; a failure of the on-disk table makes every later call fail too.
pub struct InodeMap {
    threshold: usize,
    name_budget: usize,
    dir: PathBuf,
    state: State,
}

enum State {
    Memory {
        map: HashMap<(u64, u64), Vec<u8>>,
        name_bytes: usize,
    },
    Disk(DiskTable),
    /// The on-disk table failed; it was dropped.
    Broken,
}

impl fmt::Debug for InodeMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Memory { .. } => "memory",
            State::Disk(_) => "disk",
            State::Broken => "broken",
        };
        f.debug_struct("InodeMap")
            .field("threshold", &self.threshold)
            .field("dir", &self.dir)
            .field("state", &state)
            .field("len", &self.len())
            .finish()
    }
}

impl Default for InodeMap {
    fn default() -> Self {
        InodeMap::new()
    }
}

fn broken() -> io::Error {
    io::Error::other("the hard-link table failed earlier")
}

impl InodeMap {
    /// A map that moves to `std::env::temp_dir()` beyond [`DEFAULT_THRESHOLD`] entries.
    pub fn new() -> Self {
        InodeMap::with_threshold(DEFAULT_THRESHOLD, std::env::temp_dir())
    }

    /// A map that moves to unnamed temporary files in `dir` beyond [`DEFAULT_THRESHOLD`]
    /// entries.
    pub fn in_dir(dir: impl Into<PathBuf>) -> Self {
        InodeMap::with_threshold(DEFAULT_THRESHOLD, dir)
    }

    /// A map that keeps at most `threshold` entries (and `threshold × 256` name bytes) in
    /// memory, then moves to unnamed temporary files in `dir`. `dir` is only used then.
    pub fn with_threshold(threshold: usize, dir: impl Into<PathBuf>) -> Self {
        InodeMap {
            threshold,
            name_budget: threshold.saturating_mul(NAME_BYTES_PER_ENTRY),
            dir: dir.into(),
            state: State::Memory {
                map: HashMap::new(),
                name_bytes: 0,
            },
        }
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        match &self.state {
            State::Memory { map, .. } => map.len(),
            State::Disk(table) => usize::try_from(table.len).unwrap_or(usize::MAX),
            State::Broken => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the map has moved to its temporary files.
    pub fn on_disk(&self) -> bool {
        matches!(self.state, State::Disk(_))
    }

    /// The name stored for `(dev, ino)`.
    pub fn get(&mut self, dev: u64, ino: u64) -> io::Result<Option<Vec<u8>>> {
        match &mut self.state {
            State::Memory { map, .. } => Ok(map.get(&(dev, ino)).cloned()),
            State::Disk(table) => match table.get(dev, ino) {
                Ok(found) => Ok(found),
                Err(err) => {
                    self.state = State::Broken;
                    Err(err)
                }
            },
            State::Broken => Err(broken()),
        }
    }

    /// Stores `name` for `(dev, ino)`, replacing any earlier name.
    pub fn insert(&mut self, dev: u64, ino: u64, name: &[u8]) -> io::Result<()> {
        match &mut self.state {
            State::Memory { map, name_bytes } => {
                let old = map.get(&(dev, ino)).map(Vec::len);
                let len = map.len() + usize::from(old.is_none());
                let bytes = (*name_bytes - old.unwrap_or(0)).saturating_add(name.len());
                if len <= self.threshold && bytes <= self.name_budget {
                    map.insert((dev, ino), name.to_vec());
                    *name_bytes = bytes;
                    return Ok(());
                }
                // Build the whole table before switching, so that a failure leaves the
                // in-memory map intact.
                let mut table = DiskTable::from_memory(&self.dir, map)?;
                table.insert(&self.dir, dev, ino, name)?;
                self.state = State::Disk(table);
                Ok(())
            }
            State::Disk(table) => match table.insert(&self.dir, dev, ino, name) {
                Ok(()) => Ok(()),
                Err(err) => {
                    self.state = State::Broken;
                    Err(err)
                }
            },
            State::Broken => Err(broken()),
        }
    }

    /// Slots of the on-disk table, if the map is on disk.
    #[cfg(test)]
    fn disk_capacity(&self) -> Option<u64> {
        match &self.state {
            State::Disk(table) => Some(table.slots.capacity),
            _ => None,
        }
    }
}

/// splitmix64's finalizer.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn hash(dev: u64, ino: u64) -> u64 {
    mix(ino ^ mix(dev.wrapping_add(0x9e37_79b9_7f4a_7c15)))
}

fn too_big() -> io::Error {
    io::Error::other("the hard-link table is too large")
}

/// Tells the kernel the slot file is read at random. Besides sparing useless readahead, this
/// matters for writes: readahead fills the page cache with large folios, and on ext4 (Linux
/// 6.x) every small write into a large folio walks all its buffer heads; measured 11 µs per
/// insert with readahead, 2 µs without. Only advice: failures are ignored.
#[cfg(target_os = "linux")]
fn advise_random(file: &File) {
    use std::os::fd::AsRawFd;
    let _ = nix::fcntl::posix_fadvise(
        file.as_raw_fd(),
        0,
        0,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_RANDOM,
    );
}

#[cfg(not(target_os = "linux"))]
fn advise_random(_file: &File) {}

/// One used slot of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    dev: u64,
    ino: u64,
    off: u64,
    len: u32,
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

impl Slot {
    fn encode(&self) -> [u8; SLOT] {
        let mut b = [0u8; SLOT];
        b[0..8].copy_from_slice(&self.dev.to_le_bytes());
        b[8..16].copy_from_slice(&self.ino.to_le_bytes());
        b[16..24].copy_from_slice(&self.off.to_le_bytes());
        b[24..28].copy_from_slice(&self.len.to_le_bytes());
        b[28] = USED;
        b
    }

    /// The slot in `bytes` (`SLOT` long), `None` when unused.
    fn decode(bytes: &[u8]) -> Option<Slot> {
        if bytes[28] != USED {
            return None;
        }
        let mut len = [0u8; 4];
        len.copy_from_slice(&bytes[24..28]);
        Some(Slot {
            dev: u64_at(bytes, 0),
            ino: u64_at(bytes, 8),
            off: u64_at(bytes, 16),
            len: u32::from_le_bytes(len),
        })
    }
}

/// One page of the cache.
struct Line {
    page: Option<u64>,
    dirty: bool,
    data: Vec<u8>,
}

/// Where a key is, or where it would go.
enum Probe {
    Found(u64, Slot),
    Vacant(u64),
}

/// The slot file with its direct-mapped page cache.
///
/// While a table is built (spill, growth) slots are written in about slot order and the
/// cache is write-back; afterwards single slots are written through (a 32-byte write instead
/// of a whole page per random insert).
struct SlotFile {
    file: File,
    /// Slots; a power of two, at least `MIN_CAPACITY`.
    capacity: u64,
    /// `64 - log2(capacity)`: the home slot of a hash is `hash >> shift`.
    shift: u32,
    lines: Vec<Line>,
    write_back: bool,
}

/// An unnamed temporary file in `dir`; the error names the directory (the working_dir).
fn scratch_file(dir: &Path) -> io::Result<std::fs::File> {
    tempfile::tempfile_in(dir).map_err(|err| {
        io::Error::new(
            err.kind(),
            format!(
                "cannot create the hard-link table (more than {DEFAULT_THRESHOLD} hard-linked \
                 files) in {}: {err}; check that the working_dir exists and is writable",
                dir.display()
            ),
        )
    })
}

impl SlotFile {
    fn create(dir: &Path, capacity: u64) -> io::Result<SlotFile> {
        debug_assert!(capacity.is_power_of_two() && capacity >= MIN_CAPACITY);
        let bytes = capacity.checked_mul(SLOT as u64).ok_or_else(too_big)?;
        let file = scratch_file(dir)?;
        file.set_len(bytes)?;
        advise_random(&file);
        let pages = capacity / SLOTS_PER_PAGE;
        let lines = (0..pages.min(CACHE_PAGES as u64))
            .map(|_| Line {
                page: None,
                dirty: false,
                data: Vec::new(),
            })
            .collect();
        Ok(SlotFile {
            file,
            capacity,
            shift: 64 - capacity.trailing_zeros(),
            lines,
            write_back: true,
        })
    }

    fn home(&self, hash: u64) -> u64 {
        hash >> self.shift
    }

    /// The cache line holding slot `idx` (loaded), and the slot's offset in it.
    fn line(&mut self, idx: u64) -> io::Result<(&mut Line, usize)> {
        let page = idx / SLOTS_PER_PAGE;
        let at = (idx % SLOTS_PER_PAGE) as usize * SLOT;
        let count = self.lines.len() as u64;
        let line = &mut self.lines[(page % count) as usize];
        if line.page != Some(page) {
            if line.data.is_empty() {
                line.data = vec![0; PAGE];
            }
            if let (Some(old), true) = (line.page, line.dirty) {
                self.file.write_all_at(&line.data, old * PAGE as u64)?;
                line.dirty = false;
            }
            line.page = None;
            self.file
                .read_exact_at(&mut line.data, page * PAGE as u64)?;
            line.page = Some(page);
        }
        Ok((line, at))
    }

    fn get(&mut self, idx: u64) -> io::Result<Option<Slot>> {
        let (line, at) = self.line(idx)?;
        Ok(Slot::decode(&line.data[at..at + SLOT]))
    }

    /// Stores `slot` at `idx`, whose page was just probed.
    fn set(&mut self, idx: u64, slot: &Slot) -> io::Result<()> {
        let bytes = slot.encode();
        let write_back = self.write_back;
        if !write_back {
            self.file.write_all_at(&bytes, idx * SLOT as u64)?;
        }
        let (line, at) = self.line(idx)?;
        line.data[at..at + SLOT].copy_from_slice(&bytes);
        line.dirty |= write_back;
        Ok(())
    }

    /// Writes every dirty page back and switches to writing single slots through.
    fn finish_building(&mut self) -> io::Result<()> {
        self.flush()?;
        self.write_back = false;
        Ok(())
    }

    /// Writes every dirty page back.
    fn flush(&mut self) -> io::Result<()> {
        for line in &mut self.lines {
            if let (Some(page), true) = (line.page, line.dirty) {
                self.file.write_all_at(&line.data, page * PAGE as u64)?;
                line.dirty = false;
            }
        }
        Ok(())
    }

    fn probe(&mut self, dev: u64, ino: u64) -> io::Result<Probe> {
        let mask = self.capacity - 1;
        let mut idx = self.home(hash(dev, ino));
        for _ in 0..self.capacity {
            match self.get(idx)? {
                None => return Ok(Probe::Vacant(idx)),
                Some(slot) if slot.dev == dev && slot.ino == ino => {
                    return Ok(Probe::Found(idx, slot))
                }
                Some(_) => idx = (idx + 1) & mask,
            }
        }
        Err(io::Error::other("the hard-link table is full"))
    }

    /// Stores `slot`, whose key is known to be absent, in the first free slot from its home.
    fn place(&mut self, slot: &Slot) -> io::Result<()> {
        let mask = self.capacity - 1;
        let mut idx = self.home(hash(slot.dev, slot.ino));
        for _ in 0..self.capacity {
            if self.get(idx)?.is_none() {
                return self.set(idx, slot);
            }
            idx = (idx + 1) & mask;
        }
        Err(io::Error::other("the hard-link table is full"))
    }
}

/// The on-disk table: slots plus the append-only names.
struct DiskTable {
    slots: SlotFile,
    /// Used slots.
    len: u64,
    names: BufWriter<File>,
    /// Bytes appended to `names` (written or still buffered).
    names_len: u64,
}

/// Slots for `n` keys at a load factor of at most 0.5.
fn capacity_for(n: u64) -> io::Result<u64> {
    let wanted = n
        .checked_mul(2)
        .and_then(u64::checked_next_power_of_two)
        .ok_or_else(too_big)?;
    Ok(wanted.max(MIN_CAPACITY))
}

impl DiskTable {
    /// A table holding the entries of `map`, written in slot order.
    fn from_memory(dir: &Path, map: &HashMap<(u64, u64), Vec<u8>>) -> io::Result<DiskTable> {
        let names = scratch_file(dir)?;
        let slots = SlotFile::create(dir, capacity_for(map.len() as u64 + 1)?)?;
        let mut table = DiskTable {
            slots,
            len: 0,
            names: BufWriter::with_capacity(NAMES_BUFFER, names),
            names_len: 0,
        };
        let mut entries: Vec<(u64, &(u64, u64), &Vec<u8>)> = map
            .iter()
            .map(|(key, name)| (hash(key.0, key.1), key, name))
            .collect();
        entries.sort_unstable_by_key(|entry| entry.0);
        for (_, &(dev, ino), name) in entries {
            let len = name_len(name)?;
            let off = table.append_name(name)?;
            table.slots.place(&Slot { dev, ino, off, len })?;
            table.len += 1;
        }
        table.slots.finish_building()?;
        Ok(table)
    }

    fn append_name(&mut self, name: &[u8]) -> io::Result<u64> {
        let off = self.names_len;
        self.names.write_all(name)?;
        self.names_len += name.len() as u64;
        Ok(off)
    }

    fn read_name(&mut self, slot: &Slot) -> io::Result<Vec<u8>> {
        let mut name = vec![0; slot.len as usize];
        let durable = self.names_len - self.names.buffer().len() as u64;
        if slot.off + u64::from(slot.len) > durable {
            self.names.flush()?;
        }
        self.names.get_ref().read_exact_at(&mut name, slot.off)?;
        Ok(name)
    }

    fn get(&mut self, dev: u64, ino: u64) -> io::Result<Option<Vec<u8>>> {
        match self.slots.probe(dev, ino)? {
            Probe::Vacant(_) => Ok(None),
            Probe::Found(_, slot) => self.read_name(&slot).map(Some),
        }
    }

    fn insert(&mut self, dir: &Path, dev: u64, ino: u64, name: &[u8]) -> io::Result<()> {
        let len = name_len(name)?;
        let mut probe = self.slots.probe(dev, ino)?;
        if matches!(probe, Probe::Vacant(_)) && (self.len + 1) * 2 > self.slots.capacity {
            self.grow(dir)?;
            probe = self.slots.probe(dev, ino)?;
        }
        let off = self.append_name(name)?;
        let slot = Slot { dev, ino, off, len };
        match probe {
            Probe::Found(idx, _) => self.slots.set(idx, &slot),
            Probe::Vacant(idx) => {
                self.slots.set(idx, &slot)?;
                self.len += 1;
                Ok(())
            }
        }
    }

    /// Doubles the table, streaming the old slot file into a new one.
    fn grow(&mut self, dir: &Path) -> io::Result<()> {
        let capacity = self.slots.capacity.checked_mul(2).ok_or_else(too_big)?;
        self.slots.flush()?;
        let mut grown = SlotFile::create(dir, capacity)?;
        let total = self.slots.capacity * SLOT as u64;
        let mut chunk = vec![0u8; GROW_CHUNK];
        let mut pos = 0;
        while pos < total {
            let n = (total - pos).min(GROW_CHUNK as u64) as usize;
            self.slots.file.read_exact_at(&mut chunk[..n], pos)?;
            for bytes in chunk[..n].chunks_exact(SLOT) {
                if let Some(slot) = Slot::decode(bytes) {
                    grown.place(&slot)?;
                }
            }
            pos += n as u64;
        }
        grown.finish_building()?;
        self.slots = grown;
        Ok(())
    }
}

fn name_len(name: &[u8]) -> io::Result<u32> {
    u32::try_from(name.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "member name too long"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// splitmix64 as a deterministic PRNG.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            mix(self.0)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn name(&mut self) -> Vec<u8> {
            let len = self.below(48) as usize;
            (0..len).map(|_| b'a' + self.below(26) as u8).collect()
        }
    }

    fn check_all(map: &mut InodeMap, model: &HashMap<(u64, u64), Vec<u8>>, rng: &mut Rng) {
        assert_eq!(map.len(), model.len());
        for (&(dev, ino), name) in model {
            assert_eq!(map.get(dev, ino).unwrap().as_ref(), Some(name));
        }
        for _ in 0..10_000 {
            let (dev, ino) = (rng.below(4), rng.next() | (1 << 63));
            assert_eq!(map.get(dev, ino).unwrap(), model.get(&(dev, ino)).cloned());
        }
    }

    #[test]
    fn matches_a_hashmap_model_across_spill_and_grows() {
        let dir = tempfile::tempdir().unwrap();
        let mut map = InodeMap::with_threshold(16, dir.path());
        let mut model: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
        let mut rng = Rng(42);
        let mut capacities = Vec::new();
        let mut replaced = 0;
        for i in 0..100_000u64 {
            // A small ino range so that about a fifth of the inserts replace.
            let (dev, ino) = (rng.below(4), rng.below(100_000));
            let name = rng.name();
            replaced += usize::from(model.contains_key(&(dev, ino)));
            map.insert(dev, ino, &name).unwrap();
            model.insert((dev, ino), name);
            assert_eq!(map.len(), model.len());
            if let Some(cap) = map.disk_capacity() {
                if capacities.last() != Some(&cap) {
                    capacities.push(cap);
                }
            }
            if i % 997 == 0 {
                let (dev, ino) = (rng.below(4), rng.below(100_000));
                assert_eq!(map.get(dev, ino).unwrap(), model.get(&(dev, ino)).cloned());
            }
        }
        assert!(map.on_disk());
        assert!(replaced > 10_000, "{replaced}");
        assert!(capacities.len() >= 5, "{capacities:?}");
        assert!(capacities.windows(2).all(|w| w[1] == 2 * w[0]));
        check_all(&mut map, &model, &mut rng);
        // Replacing every key once more, then everything reads back.
        let keys: Vec<(u64, u64)> = model.keys().copied().collect();
        for key in keys {
            let name = rng.name();
            map.insert(key.0, key.1, &name).unwrap();
            model.insert(key, name);
        }
        check_all(&mut map, &model, &mut rng);
    }

    #[test]
    fn spills_after_the_threshold_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut map = InodeMap::with_threshold(3, dir.path());
        for ino in 0..3 {
            map.insert(1, ino, b"x").unwrap();
        }
        map.insert(1, 2, b"replaced").unwrap();
        assert!(!map.on_disk());
        map.insert(2, 0, b"fourth").unwrap();
        assert!(map.on_disk());
        assert_eq!(map.len(), 4);
        assert_eq!(map.get(1, 2).unwrap().as_deref(), Some(&b"replaced"[..]));
        assert_eq!(map.get(2, 0).unwrap().as_deref(), Some(&b"fourth"[..]));
        assert_eq!(map.get(1, 0).unwrap().as_deref(), Some(&b"x"[..]));
        assert_eq!(map.get(2, 1).unwrap(), None);
        map.insert(2, 1, b"").unwrap();
        assert_eq!(map.get(2, 1).unwrap().as_deref(), Some(&b""[..]));
    }

    #[test]
    fn spills_on_name_bytes_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut map = InodeMap::with_threshold(2, dir.path());
        map.insert(0, 0, &[b'a'; 2 * NAME_BYTES_PER_ENTRY]).unwrap();
        assert!(!map.on_disk());
        map.insert(0, 1, b"b").unwrap();
        assert!(map.on_disk());
        assert_eq!(
            map.get(0, 0).unwrap().as_deref(),
            Some(&[b'a'; 2 * NAME_BYTES_PER_ENTRY][..])
        );
    }

    #[test]
    fn missing_temp_dir_is_an_error_and_keeps_the_map() {
        let dir = tempfile::tempdir().unwrap();
        let mut map = InodeMap::with_threshold(1, dir.path().join("missing"));
        map.insert(5, 6, b"first").unwrap();
        assert!(map.insert(5, 7, b"second").is_err());
        assert!(!map.on_disk());
        assert_eq!(map.len(), 1);
        assert_eq!(map.get(5, 6).unwrap().as_deref(), Some(&b"first"[..]));
        assert_eq!(map.get(5, 7).unwrap(), None);
    }

    /// `cargo test --release -p cedar-core --lib inodes::tests::timing -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn timing_one_million_keys() {
        const N: u64 = 1_000_000;
        let dir = tempfile::tempdir().unwrap();
        for (label, threshold) in [("memory", usize::MAX), ("disk", 0)] {
            let mut map = InodeMap::with_threshold(threshold, dir.path());
            let mut rng = Rng(7);
            let keys: Vec<(u64, u64)> = (0..N).map(|_| (rng.below(8), rng.next())).collect();
            let name = b"srv/backup/daily.0/home/user/some/directory/file.txt";
            let start = Instant::now();
            for &(dev, ino) in &keys {
                assert_eq!(map.get(dev, ino).unwrap(), None);
                map.insert(dev, ino, name).unwrap();
            }
            let inserted = start.elapsed();
            let start = Instant::now();
            for &(dev, ino) in &keys {
                assert!(map.get(dev, ino).unwrap().is_some());
            }
            let got = start.elapsed();
            println!(
                "{label}: get-miss+insert {N} keys {inserted:?} ({:.2} µs/key), \
                 get {N} hits {got:?} ({:.2} µs/key), table slots {:?}",
                inserted.as_secs_f64() * 1e6 / N as f64,
                got.as_secs_f64() * 1e6 / N as f64,
                map.disk_capacity()
            );
        }
    }
}
