//! What `vmc` and `vmrun` share with their users: exit codes and the words
//! for a file that cannot be read. (`vmrun` lives in the sandbox crate,
//! which depends on this one, so the one definition is here.)

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
