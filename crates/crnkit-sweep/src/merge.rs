//! Merging shard files into one: completeness first (every point once, one sweep), then
//! the data, checked against each shard's checksum as it is copied.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::files::{FileInfo, FileWriter, Shard, metadata, read_info, stream};

/// What [`merge`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct MergeReport {
    /// The merged file.
    pub out: PathBuf,
    /// The shard files merged, in point order.
    pub shards: Vec<PathBuf>,
    /// The sweep's hash.
    pub sweep_hash: String,
    /// Points in the merged file.
    pub points: u64,
    /// Rows in the merged file.
    pub rows: u64,
}

/// The shard files in `dir`: `shard-*.parquet`, by name.
pub fn shard_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let io = |source| crnkit_core::Error::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("shard-") && name.ends_with(".parquet") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Merge the shard files of `dir` (`shard-*.parquet`) into `out`, atomically.
///
/// Refused, by name, before anything is written: no shards ([`Error::NoShards`]); a file
/// that is not a readable sweep file ([`Error::DamagedShard`]); a file of another sweep
/// (another hash than `expected_hash`, or than most files when it is `None`), another
/// format or crnkit version ([`Error::ForeignShard`]); two files covering the same points
/// ([`Error::DuplicateShard`]); points that no file covers ([`Error::MissingShard`]).
/// Then each shard's rows are copied with their count, order and checksum checked
/// ([`Error::DamagedShard`]; the output is then not written). The merged file holds the
/// sweep as shard `0/1` and is byte for byte what `Sweep::write_all` writes.
pub fn merge(dir: &Path, out: &Path, expected_hash: Option<&str>) -> Result<MergeReport> {
    let files = shard_files(dir)?;
    let out_abs = std::path::absolute(out).ok();
    let infos = files
        .iter()
        .filter(|f| std::path::absolute(f).ok() != out_abs)
        .map(|f| read_info(f))
        .collect::<Result<Vec<FileInfo>>>()?;
    let Some(first) = infos.first() else {
        return Err(Error::NoShards {
            dir: dir.display().to_string(),
        });
    };
    let hash = match expected_hash {
        Some(h) => h.to_string(),
        None => majority(&infos, |i| i.sweep_hash.clone()).unwrap_or_default(),
    };
    let version = majority(&infos, |i| i.crnkit_version.clone()).unwrap_or_default();
    for info in &infos {
        check_same(info, &hash, &version, first)?;
    }
    let mut ordered: Vec<&FileInfo> = infos.iter().filter(|i| !i.points.is_empty()).collect();
    ordered.sort_by_key(|i| (i.points.start, i.points.end));
    check_tiling(&ordered, &infos, first.total_points, &hash)?;

    let mut writer: Option<FileWriter> = None;
    let mut rows = 0u64;
    for info in &ordered {
        stream(&info.path, |table| {
            if writer.is_none() {
                writer = Some(FileWriter::new(out, table.layout())?);
            }
            rows += table.rows() as u64;
            writer.as_mut().map_or(Ok(()), |w| w.push(table))
        })?;
    }
    let writer = match writer {
        Some(w) => w,
        None => {
            // No rows at all: the layout of any shard file.
            let (_, layout) = stream(&first.path, |_| Ok(()))?;
            FileWriter::new(out, &layout)?
        }
    };
    let all = 0..first.total_points;
    writer.finish(metadata(
        &hash,
        &first.sweep,
        Shard::whole(),
        &all,
        first.total_points,
        first.times as usize,
    ))?;
    Ok(MergeReport {
        out: out.to_path_buf(),
        shards: ordered.iter().map(|i| i.path.clone()).collect(),
        sweep_hash: hash,
        points: first.total_points,
        rows,
    })
}

/// The most frequent value of `key` (ties: the first file's).
fn majority(infos: &[FileInfo], key: impl Fn(&FileInfo) -> String) -> Option<String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for i in infos {
        *counts.entry(key(i)).or_default() += 1;
    }
    let best = counts.values().copied().max()?;
    infos.iter().map(&key).find(|k| counts[k] == best)
}

/// A shard of the same sweep, written by the same crnkit.
fn check_same(info: &FileInfo, hash: &str, version: &str, first: &FileInfo) -> Result<()> {
    let foreign = |reason: String| Error::ForeignShard {
        path: info.path.display().to_string(),
        reason,
    };
    if info.sweep_hash != hash {
        return Err(foreign(format!(
            "sweep hash {} (expected {hash}: another sweep)",
            info.sweep_hash
        )));
    }
    if info.crnkit_version != version {
        return Err(foreign(format!(
            "written by crnkit {} (the others by {version})",
            info.crnkit_version
        )));
    }
    if (info.total_points, info.times) != (first.total_points, first.times) {
        return Err(Error::damaged(
            &info.path,
            format!(
                "{} points × {} times, but {} says {} × {}",
                info.total_points,
                info.times,
                first.path.display(),
                first.total_points,
                first.times
            ),
            None,
        ));
    }
    if info.points.end > info.total_points || info.points.start > info.points.end {
        return Err(Error::damaged(
            &info.path,
            format!("points {:?} outside 0..{}", info.points, info.total_points),
            None,
        ));
    }
    Ok(())
}

/// Every point covered exactly once by the (sorted, non-empty) shards.
fn check_tiling(ordered: &[&FileInfo], all: &[FileInfo], total: u64, hash: &str) -> Result<()> {
    let mut gaps = Vec::new();
    let mut cursor = 0u64;
    let mut last: Option<&FileInfo> = None;
    for info in ordered {
        if info.points.start < cursor {
            let prev = last.expect("a cursor past 0 has a previous shard");
            let both = info.points.start..cursor.min(info.points.end);
            return Err(Error::DuplicateShard {
                first: prev.path.display().to_string(),
                second: info.path.display().to_string(),
                points: format!("{}..{}", both.start, both.end),
            });
        }
        if info.points.start > cursor {
            gaps.push(cursor..info.points.start);
        }
        cursor = info.points.end;
        last = Some(info);
    }
    if cursor < total {
        gaps.push(cursor..total);
    }
    if gaps.is_empty() {
        return Ok(());
    }
    Err(Error::MissingShard {
        hash: hash.to_string(),
        missing: describe_gaps(&gaps, all, total),
    })
}

/// The missing points, as shards of the split the files use when they agree on one.
fn describe_gaps(gaps: &[Range<u64>], all: &[FileInfo], total: u64) -> String {
    let n = all[0].shard.count;
    let mut parts = Vec::new();
    if all.iter().all(|i| i.shard.count == n) {
        for i in 0..n {
            let r = Shard { index: i, count: n }.points(total);
            if !r.is_empty() && gaps.iter().any(|g| g.start <= r.start && r.end <= g.end) {
                parts.push(format!("shard {i} of {n} (points {}..{})", r.start, r.end));
            }
        }
    }
    if parts.is_empty() {
        parts = gaps
            .iter()
            .map(|g| format!("points {}..{}", g.start, g.end))
            .collect();
    }
    parts.join(", ")
}
