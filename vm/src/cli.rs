//! What `vmc` and `vmrun` share with their users: exit codes and the words
//! for a file that cannot be read, and reading a file through a size cap.
//! (Here, in the crate both tools' crates depend on, so that a host built
//! without the compiler has them too.)

use std::io::Read;
use std::path::Path;

/// Process exit codes of `vmc` and `vmrun` (see `spec/sandbox.md`).
pub mod exit {
    pub const OK: i32 = 0;
    pub const RUNTIME_ERROR: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const COMPILE_ERROR: i32 = 3;
    pub const INVALID_BYTECODE: i32 = 4;
    pub const IO_ERROR: i32 = 5;
    pub const MISSING_CAPABILITY: i32 = 6;
}

/// Reads the file at `path`, which may hold at most `limit` bytes. At most
/// `limit + 1` bytes are read, so a larger file, or an endless stream such
/// as `/dev/zero`, is an error (`FileTooLarge`, "larger than N bytes")
/// after bounded memory and time, never a read until memory runs out.
pub fn read_capped(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    // The size of a regular file is a good first guess; a stream says 0.
    let guess = file.metadata().map_or(0, |m| m.len()).min(limit as u64 + 1);
    let mut bytes = Vec::with_capacity(guess as usize);
    file.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// The error of a file over a size limit: its text is the whole reason.
pub fn too_large(limit: usize) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!("larger than {limit} bytes"),
    )
}

/// Why a file could not be read or written, in a user's words.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        std::io::ErrorKind::IsADirectory => "is a directory".into(),
        std::io::ErrorKind::InvalidData => "the file is not valid UTF-8".into(),
        _ => e.to_string(),
    }
}
