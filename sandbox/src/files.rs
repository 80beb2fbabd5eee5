//! Opening files whose names come from someone the host does not trust (a
//! guest's `fs` calls, the program path on vmrun's command line) in a way
//! that cannot hang the host or exhaust its memory.
//!
//! Only regular files are opened for their contents: a FIFO, a device or a
//! socket can block forever or never end. The type is checked on the path
//! first, so that a device is not opened (opening some has side effects),
//! and again on the open handle, so that a path swapped for something else
//! in between is still refused (a device swapped in is then opened, but
//! never read or written). The open itself never
//! waits: opening a FIFO blocks until its other end is opened, so files are
//! opened non-blocking (which changes nothing for a regular file). Reads
//! stop one byte past a size cap, so an endless or growing file costs at
//! most the cap.

use crate::Error;
use cap_std::fs::{Dir, File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Why a file's contents could not be had.
#[derive(Debug)]
pub(crate) enum FileError {
    Io(io::Error),
    IsDir,
    /// A FIFO, a device, a socket: anything but a file or directory.
    NotRegular,
    /// Larger than the cap: its size when the file says, `None` when it
    /// grew past the cap while being read.
    TooLarge(Option<u64>),
}

impl From<io::Error> for FileError {
    fn from(e: io::Error) -> FileError {
        FileError::Io(e)
    }
}

/// Refuses anything but a regular file.
fn regular(is_file: bool, is_dir: bool) -> Result<(), FileError> {
    match (is_file, is_dir) {
        (true, _) => Ok(()),
        (_, true) => Err(FileError::IsDir),
        _ => Err(FileError::NotRegular),
    }
}

/// Makes `opts` open without waiting for a FIFO's other end (O_NONBLOCK
/// on Unix, nothing elsewhere).
fn no_wait(opts: &mut OpenOptions) -> &mut OpenOptions {
    use cap_fs_ext::OpenOptionsSyncExt;
    opts.nonblock(true)
}

/// Reads an open file whole if it is a regular file of at most `limit`
/// bytes.
fn read_capped(file: &mut File, limit: u64) -> Result<Vec<u8>, FileError> {
    let meta = file.metadata()?;
    regular(meta.is_file(), meta.is_dir())?;
    if meta.len() > limit {
        return Err(FileError::TooLarge(Some(meta.len())));
    }
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(FileError::TooLarge(None));
    }
    Ok(bytes)
}

/// Reads `path` inside `dir` (a capability), as `fs.read` does.
pub(crate) fn read_in(dir: &Dir, path: &Path, limit: u64) -> Result<Vec<u8>, FileError> {
    let meta = dir.metadata(path)?;
    regular(meta.is_file(), meta.is_dir())?;
    let mut opts = OpenOptions::new();
    opts.read(true);
    let mut file = dir.open_with(path, no_wait(&mut opts))?;
    read_capped(&mut file, limit)
}

/// Opens `path` inside `dir` for writing, creating it if it is missing and
/// truncating it unless `append`; only ever a regular file.
pub(crate) fn open_for_write(dir: &Dir, path: &Path, append: bool) -> Result<File, FileError> {
    match dir.metadata(path) {
        Ok(meta) => regular(meta.is_file(), meta.is_dir())?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let mut opts = OpenOptions::new();
    opts.write(true).create(true);
    if append {
        opts.append(true);
    } else {
        opts.truncate(true);
    }
    let file = match dir.open_with(path, no_wait(&mut opts)) {
        Ok(f) => f,
        // Opening a FIFO without a reader, or a socket, fails (ENXIO): one
        // put there since the check above is named for what it is.
        Err(e) => {
            if let Ok(meta) = dir.metadata(path) {
                regular(meta.is_file(), meta.is_dir())?;
            }
            return Err(e.into());
        }
    };
    let meta = file.metadata()?;
    regular(meta.is_file(), meta.is_dir())?;
    Ok(file)
}

/// Reads a `.bc` file named by the host's user (ambient authority: the
/// host's own, not a guest's), within the loader's size limit.
pub(crate) fn read_bytecode(path: &Path) -> Result<Vec<u8>, Error> {
    use tern_vm::format::{limits::MAX_FILE_BYTES, LoadError};
    let read = || -> Result<Vec<u8>, FileError> {
        let meta = std::fs::metadata(path)?;
        regular(meta.is_file(), meta.is_dir())?;
        let mut opts = OpenOptions::new();
        opts.read(true);
        let mut file =
            File::open_ambient_with(path, no_wait(&mut opts), cap_std::ambient_authority())?;
        read_capped(&mut file, MAX_FILE_BYTES as u64)
    };
    read().map_err(|e| {
        let why = match e {
            // The loader's own words for a file over its limit, said
            // before the file is read rather than after.
            FileError::TooLarge(size) => {
                let e = LoadError(match size {
                    Some(n) => {
                        format!("file is {n} bytes, more than the limit of {MAX_FILE_BYTES}")
                    }
                    None => format!("file is more than the limit of {MAX_FILE_BYTES} bytes"),
                });
                return Error::InvalidBytecode(format!("{}: {e}", path.display()));
            }
            FileError::Io(e) => crate::io_reason(&e),
            FileError::IsDir => "is a directory".into(),
            FileError::NotRegular => "not a regular file".into(),
        };
        Error::Io(format!("cannot read {}: {why}", path.display()))
    })
}
