//! Durable file writes, shared by every layer that writes results or checkpoints.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Write `bytes` to `path` atomically and durably: write a temporary file in the same
/// folder, fsync it, rename it over `path`, then fsync the folder so the rename itself
/// survives a crash. An interrupted run never leaves a half-written file: readers see the
/// old content or the new, nothing between.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("crnkit-fs-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("result.csv");
/// crnkit_core::fs::write_atomic(&path, b"time,X\n0,1\n")?;
/// assert_eq!(std::fs::read(&path)?, b"time,X\n0,1\n");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let written = std::fs::File::create(&tmp).and_then(|mut f| f.write_all(bytes));
    if let Err(source) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Io {
            path: path.display().to_string(),
            source,
        });
    }
    commit_atomic(&tmp, path)
}

/// Flush a folder's entries (the rename) to disk. Best effort: some platforms and file
/// systems cannot open or sync a folder, and the data itself is already synced.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The temporary name [`commit_atomic`] expects next to `path`: `.NAME.tmpPID` in the
/// same folder (a rename never crosses file systems).
pub fn temp_path(path: &Path) -> PathBuf {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    dir.join(format!(".{name}.tmp{}", std::process::id()))
}

/// Finish an atomic write that a writer of its own streamed into `tmp` (from
/// [`temp_path`]): fsync `tmp`, rename it over `path`, fsync the folder. On failure the
/// temporary file is removed.
pub fn commit_atomic(tmp: &Path, path: &Path) -> Result<()> {
    let result = std::fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .and_then(|()| std::fs::rename(tmp, path));
    if let Err(source) = result {
        let _ = std::fs::remove_file(tmp);
        return Err(Error::Io {
            path: path.display().to_string(),
            source,
        });
    }
    if let Some(dir) = path.parent() {
        sync_dir(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        });
    }
    Ok(())
}

/// The name of the lock file [`lock_folder`] keeps in a folder.
pub const LOCK_FILE: &str = ".crnkit.lock";

/// An exclusive hold on an output folder, released when dropped (or when the process ends,
/// however it ends: the operating system's file lock, so a killed run leaves no stale
/// lock).
#[derive(Debug)]
pub struct FolderLock {
    _file: std::fs::File,
}

/// Take the output folder `dir` (created if needed) for one run, recording `what` runs
/// there; a folder another live run holds is refused with [`Error::Locked`], naming the
/// holder.
///
/// ```
/// let dir = std::env::temp_dir().join(format!("crnkit-lock-doc-{}", std::process::id()));
/// let held = crnkit_core::fs::lock_folder(&dir, "learn job.toml")?;
/// let again = crnkit_core::fs::lock_folder(&dir, "learn other.toml").unwrap_err();
/// assert!(again.to_string().contains("learn job.toml"));
/// drop(held);
/// crnkit_core::fs::lock_folder(&dir, "learn other.toml")?;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn lock_folder(dir: &Path, what: &str) -> Result<FolderLock> {
    use std::io::{Read, Seek};
    let io = |source| Error::Io {
        path: dir.display().to_string(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let path = dir.join(LOCK_FILE);
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {
            let since = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let note = format!(
                "process {}, {what}, since unix time {since}",
                std::process::id()
            );
            file.set_len(0)
                .and_then(|()| file.rewind())
                .and_then(|()| file.write_all(note.as_bytes()))
                .and_then(|()| file.flush())
                .map_err(io)?;
            Ok(FolderLock { _file: file })
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            Err(Error::Locked {
                path: dir.display().to_string(),
                holder: if holder.is_empty() {
                    "a process that has just started".into()
                } else {
                    holder.chars().take(200).collect()
                },
            })
        }
        Err(std::fs::TryLockError::Error(source)) => Err(io(source)),
    }
}

/// Check before a long computation that [`write_atomic`] will be able to write `path`: its
/// folder exists and takes a new file (a temporary one, created and removed), and `path` is
/// not a folder.
///
/// ```
/// let missing = std::env::temp_dir().join("crnkit-no-such-folder/out.csv");
/// assert!(crnkit_core::fs::check_writable(&missing).is_err());
/// crnkit_core::fs::check_writable(&std::env::temp_dir().join("out.csv"))?;
/// # Ok::<(), crnkit_core::Error>(())
/// ```
pub fn check_writable(path: &Path) -> Result<()> {
    let fail = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    if path.is_dir() {
        return Err(fail(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a folder, not a file",
        )));
    }
    let tmp = temp_path(path);
    std::fs::File::create(&tmp).map_err(fail)?;
    let _ = std::fs::remove_file(&tmp);
    Ok(())
}
