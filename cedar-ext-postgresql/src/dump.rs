//! Running one dump command: [`cedar_core::stream`] does the work (standard output streamed,
//! standard error drained and kept, the process group stopped on an interrupt); this module
//! says its failures as failures of a dump.

use std::io::Write;
use std::path::Path;

use cedar_core::stream::StreamError;
pub use cedar_core::stream::{StreamCommand as DumpCommand, READ_BUFFER, STDERR_TAIL_LINES};

use crate::error::DumpError;

/// Runs `cmd`, copying its standard output into `out` (see [`cedar_core::stream::run`]).
pub fn run<W: Write>(
    cmd: &DumpCommand,
    out: &mut W,
    out_path: &Path,
    interrupted: &(dyn Fn() -> bool + Sync),
) -> Result<(), DumpError> {
    cedar_core::stream::run(cmd, out, out_path, interrupted).map_err(DumpError::from)
}

/// [`run`], calling `progress` with the size of every piece of output; returns the number of
/// bytes the command wrote.
pub fn stream<W: Write>(
    cmd: &DumpCommand,
    out: &mut W,
    out_path: &Path,
    interrupted: &(dyn Fn() -> bool + Sync),
    progress: &dyn Fn(u64),
) -> Result<u64, DumpError> {
    cedar_core::stream::stream(cmd, out, out_path, interrupted, progress).map_err(DumpError::from)
}

impl From<StreamError> for DumpError {
    fn from(err: StreamError) -> Self {
        match err {
            StreamError::Spawn {
                program,
                command_name,
                source,
            } => DumpError::Spawn {
                program,
                command_name,
                source,
            },
            StreamError::Exit {
                program,
                status,
                stderr_tail,
            } => DumpError::Exit {
                program,
                status,
                stderr_tail,
            },
            StreamError::ReadOutput { program, source } => {
                DumpError::ReadOutput { program, source }
            }
            StreamError::Write { path, source } => DumpError::Write { path, source },
            StreamError::Interrupted => DumpError::Interrupted,
        }
    }
}
