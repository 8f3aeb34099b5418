//! Python pickles, as the original keeps its state in them: the digest files of the collect
//! action (a `{path: sha1-hex}` dict, read with [`DictReader`], written with [`DictWriter`])
//! and the extensions' state files (one `int` or naive `datetime`, read with [`load`]).
//!
//! Both readers interpret the opcodes of the one lexer (`lexer.rs`), which reads every opcode
//! with its argument (`opcode.rs` names them), and fail with the one [`PickleError`].

mod dict_reader;
mod dict_writer;
mod error;
mod lexer;
mod opcode;
mod text;
mod value;
mod value_writer;

pub use dict_reader::{read_dict, DictReader};
pub use dict_writer::{write_dict, DictWriter};
pub use error::PickleError;
pub use value::{load_datetime, load_int, MAX_PICKLE};
pub use value_writer::{datetime_pickle, int_pickle};
