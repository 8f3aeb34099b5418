//! `cback-dist DIR`: writes what the Debian package installs that is generated from the
//! command line: `DIR/man/cback.1` and `DIR/completions/{cback,_cback,cback.fish}`. Used by
//! `scripts/build-deb.sh`; not installed.

use std::path::PathBuf;
use std::process::ExitCode;

use cedar_cli::{completion, man_page, SHELLS};

fn main() -> ExitCode {
    cedar_cli::link_registrations();
    let Some(dir) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: cback-dist DIR");
        return ExitCode::from(2);
    };
    let write = |rel: &str, bytes: Vec<u8>| -> std::io::Result<()> {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("a relative path with a folder"))?;
        std::fs::write(&path, bytes)
    };
    let mut result = write("man/cback.1", man_page());
    for (shell, file) in SHELLS {
        result = result.and_then(|()| write(&format!("completions/{file}"), completion(shell)));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cback-dist: cannot write into {}: {e}", dir.display());
            ExitCode::FAILURE
        }
    }
}
