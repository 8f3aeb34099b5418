//! No input document makes `cback` panic: thousands of generated and mutated documents go
//! through `cback --dry-run`, and every run must end cleanly with exit 0 or 4.

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use cback_tests::{cb3_data, workspace_root};

/// A small deterministic generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const FRAGMENTS: &[&str] = &[
    "<cb_config>",
    "</cb_config>",
    "<options>",
    "</options>",
    "<collect>",
    "</collect>",
    "<dir>",
    "</dir>",
    "<peer>",
    "</peer>",
    "<extensions>",
    "<action>",
    "</action>",
    "<order_mode>dependency</order_mode>",
    "<index>-1</index>",
    "<index>99999999999999999999</index>",
    "<depends><run_before>collect,,stage</run_before></depends>",
    "<managed>Y</managed>",
    "<retain_days>abc</retain_days>",
    "<link_depth>-3</link_depth>",
    "<dereference>Y</dereference>",
    "<pattern>(</pattern>",
    "<pattern>.*[</pattern>",
    "&amp;",
    "&bogus;",
    "<![CDATA[x]]>",
    "<!-- c -->",
    "<?pi x?>",
    "\u{0}",
    "\u{feff}",
    "é",
    "\"",
    "'",
    "<",
    ">",
    "&",
    "<a b='1'>",
    "<starting_day>funday</starting_day>",
    "<type>remote</type>",
    "<type>local</type>",
    "<name></name>",
    "<name>UPPER</name>",
    "<module>a..b</module>",
    "<media_type>dvd+r</media_type>",
];

fn seeds() -> Vec<String> {
    let mut docs = Vec::new();
    // The samples and cback's own test documents; the original's when they are there.
    let mut dirs = vec![
        workspace_root().join("config-samples"),
        workspace_root().join("cedar-core/src/config/fixtures"),
        workspace_root().join("tests/data/postgresql"),
    ];
    dirs.extend(cb3_data());
    for dir in dirs {
        let entries = fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let mut paths: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            let text = fs::read_to_string(&path);
            docs.push(text.unwrap_or_else(|e| panic!("{}: {e}", path.display())));
        }
    }
    docs.push(
        "<cb_config><options><starting_day>monday</starting_day><working_dir>/tmp</working_dir>\
         <backup_user>root</backup_user><backup_group>root</backup_group>\
         <rcp_command>scp</rcp_command></options><purge><dir><abs_path>/tmp</abs_path>\
         <retain_days>1</retain_days></dir></purge></cb_config>"
            .to_string(),
    );
    docs
}

fn mutate(rng: &mut Rng, doc: &str) -> String {
    let mut chars: Vec<char> = doc.chars().collect();
    for _ in 0..=rng.below(4) {
        let at = rng.below(chars.len() + 1);
        match rng.below(6) {
            0 if !chars.is_empty() => {
                let end = (at + rng.below(40)).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            1 => {
                let frag = FRAGMENTS[rng.below(FRAGMENTS.len())];
                chars.splice(at..at, frag.chars());
            }
            2 if !chars.is_empty() => {
                let start = rng.below(chars.len());
                let end = (start + rng.below(200)).min(chars.len());
                let copy: Vec<char> = chars[start..end].to_vec();
                chars.splice(at..at, copy);
            }
            3 => chars.truncate(at),
            4 if !chars.is_empty() => {
                let i = rng.below(chars.len());
                chars[i] = char::from(b' ' + (rng.below(95) as u8));
            }
            _ => {
                let frag = FRAGMENTS[rng.below(FRAGMENTS.len())];
                chars.splice(at..at, frag.chars());
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn no_document_makes_cback_panic() {
    let seeds = seeds();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fuzz.conf");
    let action_lists: &[&[&str]] = &[
        &["collect"],
        &["validate"],
        &["all"],
        &["collect", "postgresql"],
        &["purge", "stage", "collect"],
        &["--managed", "all"],
        &["--managed-only", "collect", "purge"],
    ];
    let mut rng = Rng(0x5eed_cafe_f00d_u64);
    let mut outcomes = [0usize; 2];
    let runs = 3000;
    for i in 0..runs {
        let seed = &seeds[rng.below(seeds.len())];
        let doc = if i % 10 == 0 {
            seed.clone()
        } else {
            mutate(&mut rng, seed)
        };
        fs::write(&path, doc.as_bytes()).unwrap();
        let actions = action_lists[rng.below(action_lists.len())];
        let out = Command::new(crate::BIN.cback_path())
            .arg("--config")
            .arg(&path)
            .arg("--dry-run")
            .args(actions)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code();
        assert!(
            matches!(code, Some(0) | Some(4)) && !stderr.contains("panicked"),
            "run {i} ({actions:?}) ended with {:?}\nstderr: {stderr}\ndocument:\n{doc}",
            out.status
        );
        outcomes[usize::from(code == Some(4))] += 1;
    }
    // Both outcomes must occur, or the generator is not exercising the parser.
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "outcomes {outcomes:?}");
    eprintln!(
        "{runs} documents: {} accepted, {} rejected",
        outcomes[0], outcomes[1]
    );
}
