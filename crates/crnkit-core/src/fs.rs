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
