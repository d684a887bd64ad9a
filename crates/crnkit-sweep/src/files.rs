//! Sweep files: Parquet (zstd) tables with their sweep's hash, shard, point range and data
//! checksum in the key-value metadata; written atomically, read back with checks.

use std::fs::File;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::sweep::Sweep;
use crate::table::{Checksum, Column, ColumnKind, Layout, Table};
use crnkit_core::progress::Reporter;

/// The `crnkit.format` of every sweep file.
pub const FORMAT: &str = "crnkit-sweep";
/// The version of the file layout this build writes and reads (`crnkit.format_version`).
pub const FORMAT_VERSION: u32 = 1;
/// Rows per Parquet row group: fixed, so that the same rows give the same bytes however
/// they were computed or sharded.
pub const ROW_GROUP_ROWS: usize = 65_536;

/// Shard `index` of `count` (0-based: Slurm's `--array=0-(N-1)` gives
/// `$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`). Shard i holds the contiguous points
/// ⌊i·P/N⌋ .. ⌊(i+1)·P/N⌋ of a sweep of P points.
///
/// ```
/// use crnkit_sweep::Shard;
///
/// let s: Shard = "2/3".parse()?;
/// assert_eq!(s.points(10), 6..10);
/// assert_eq!(s.file_name(), "shard-2-of-3.parquet");
/// assert!("3/3".parse::<Shard>().is_err() && "1".parse::<Shard>().is_err());
/// # Ok::<(), crnkit_sweep::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index, below `count`.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// Shard `index` of `count`, checked.
    pub fn new(index: u64, count: u64) -> Result<Shard> {
        if count == 0 {
            return Err(Error::InvalidShard {
                value: format!("{index}/{count}"),
                reason: "there is at least one shard",
            });
        }
        if index >= count {
            return Err(Error::InvalidShard {
                value: format!("{index}/{count}"),
                reason: "shards are numbered from 0 to N − 1",
            });
        }
        Ok(Shard { index, count })
    }

    /// The whole sweep as one shard.
    pub fn whole() -> Shard {
        Shard { index: 0, count: 1 }
    }

    /// The points of this shard in a sweep of `total` points.
    pub fn points(&self, total: u64) -> Range<u64> {
        let at = |i: u64| (u128::from(total) * u128::from(i) / u128::from(self.count)) as u64;
        at(self.index)..at(self.index + 1)
    }

    /// `shard-I-of-N.parquet`.
    pub fn file_name(&self) -> String {
        format!("shard-{}-of-{}.parquet", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = Error;
    fn from_str(s: &str) -> Result<Shard> {
        let bad = |reason| Error::InvalidShard {
            value: s.to_string(),
            reason,
        };
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| bad("expected I/N, e.g. 0/10"))?;
        let i = i
            .trim()
            .parse()
            .map_err(|_| bad("I is not a whole number"))?;
        let n = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        Shard::new(i, n)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a sweep file says about itself: its key-value metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct FileInfo {
    /// The file.
    pub path: PathBuf,
    /// `crnkit.sweep_hash`.
    pub sweep_hash: String,
    /// `crnkit.sweep`: the canonical description (JSON) the hash is taken of.
    pub sweep: String,
    /// `crnkit.shard` (`0/1` for a whole or merged sweep).
    pub shard: Shard,
    /// `crnkit.points`: the points held, `a..b`.
    pub points: Range<u64>,
    /// `crnkit.total_points`: the sweep's points.
    pub total_points: u64,
    /// `crnkit.times`: rows per point.
    pub times: u64,
    /// `crnkit.rows`.
    pub rows: u64,
    /// `crnkit.checksum`: `fnv1a64:` and 16 hex digits ([`Checksum`]).
    pub checksum: String,
    /// `crnkit.format_version`.
    pub format_version: u32,
    /// `crnkit.version`: the crnkit that wrote it.
    pub crnkit_version: String,
}

/// The Arrow schema of a layout (no nulls).
fn schema(layout: &Layout) -> SchemaRef {
    let fields: Vec<Field> = layout
        .names()
        .iter()
        .zip(layout.kinds())
        .map(|(n, k)| {
            let t = match k {
                ColumnKind::U64 => DataType::UInt64,
                ColumnKind::F64 => DataType::Float64,
            };
            Field::new(n, t, false)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Streams blocks of rows into a Parquet file in fixed row groups, then commits it
/// atomically; dropped before [`FileWriter::finish`], it removes its temporary file.
pub(crate) struct FileWriter {
    path: PathBuf,
    tmp: PathBuf,
    writer: Option<ArrowWriter<File>>,
    schema: SchemaRef,
    buf: Table,
    checksum: Checksum,
    rows: u64,
}

impl FileWriter {
    pub(crate) fn new(path: &Path, layout: &Layout) -> Result<FileWriter> {
        let tmp = crnkit_core::fs::temp_path(path);
        let io = |source| crnkit_core::Error::Io {
            path: path.display().to_string(),
            source,
        };
        let file = File::create(&tmp).map_err(io)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .build();
        let schema = schema(layout);
        let mut w = FileWriter {
            path: path.to_path_buf(),
            tmp,
            writer: None,
            schema: schema.clone(),
            buf: layout.empty_table(),
            checksum: Checksum::new(layout.len()),
            rows: 0,
        };
        w.writer = Some(ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| w.err(e))?);
        Ok(w)
    }

    fn err(&self, source: parquet::errors::ParquetError) -> Error {
        Error::Write {
            path: self.path.display().to_string(),
            source,
        }
    }

    /// Add rows; full row groups are written.
    pub(crate) fn push(&mut self, mut block: Table) -> Result<()> {
        self.checksum.update(&block);
        self.rows += block.rows() as u64;
        self.buf.append(&mut block);
        while self.buf.rows() >= ROW_GROUP_ROWS {
            let group = self.buf.split_front(ROW_GROUP_ROWS);
            self.write_group(group)?;
        }
        Ok(())
    }

    fn write_group(&mut self, group: Table) -> Result<()> {
        if group.rows() == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = group
            .into_columns()
            .into_iter()
            .map(|c| -> ArrayRef {
                match c {
                    Column::U64(v) => Arc::new(UInt64Array::from(v)),
                    Column::F64(v) => Arc::new(Float64Array::from(v)),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| self.err(parquet::errors::ParquetError::from(e)))?;
        let w = self.writer.as_mut().expect("open until finished");
        let r = w.write(&batch).and_then(|()| w.flush());
        r.map_err(|e| self.err(e))
    }

    /// Write the rest, the metadata (with the checksum and row count), and commit.
    pub(crate) fn finish(mut self, meta: Vec<(&str, String)>) -> Result<()> {
        let rest = self.buf.split_front(self.buf.rows());
        self.write_group(rest)?;
        let checksum = self.checksum.finish(self.buf.layout());
        let rows = self.rows.to_string();
        let mut w = self.writer.take().expect("open until finished");
        let all = meta
            .into_iter()
            .chain([("crnkit.rows", rows), ("crnkit.checksum", checksum)]);
        for (k, v) in all {
            w.append_key_value_metadata(KeyValue::new(k.to_string(), v));
        }
        w.close().map_err(|e| self.err(e))?;
        crnkit_core::fs::commit_atomic(&self.tmp, &self.path)?;
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            drop(self.writer.take());
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The metadata of a file of `sweep`'s points `points` as shard `shard`.
pub(crate) fn metadata(
    sweep_hash: &str,
    canonical: &str,
    shard: Shard,
    points: &Range<u64>,
    total: u64,
    times: usize,
) -> Vec<(&'static str, String)> {
    vec![
        ("crnkit.format", FORMAT.to_string()),
        ("crnkit.format_version", FORMAT_VERSION.to_string()),
        ("crnkit.version", env!("CARGO_PKG_VERSION").to_string()),
        ("crnkit.sweep_hash", sweep_hash.to_string()),
        ("crnkit.sweep", canonical.to_string()),
        ("crnkit.shard", shard.to_string()),
        ("crnkit.points", format!("{}..{}", points.start, points.end)),
        ("crnkit.total_points", total.to_string()),
        ("crnkit.times", times.to_string()),
    ]
}

impl Sweep {
    /// Compute shard `shard` and write it to `dir/shard-I-of-N.parquet` (atomically: a
    /// re-run overwrites whole, a killed run leaves no partial file). Returns the path.
    pub fn write_shard(&self, dir: &Path, shard: Shard, progress: &Reporter) -> Result<PathBuf> {
        let path = dir.join(shard.file_name());
        self.write_file(&path, shard, progress)?;
        Ok(path)
    }

    /// Compute every point and write one file, `0/1` — byte for byte what
    /// [`merge`](crate::merge()) makes of any set of shards.
    pub fn write_all(&self, path: &Path, progress: &Reporter) -> Result<()> {
        self.write_file(path, Shard::whole(), progress)
    }

    fn write_file(&self, path: &Path, shard: Shard, progress: &Reporter) -> Result<()> {
        let range = shard.points(self.points());
        let mut w = FileWriter::new(path, &self.layout)?;
        self.compute_blocks(range.clone(), progress, |block| w.push(block))?;
        w.finish(metadata(
            &self.hash,
            &self.canonical,
            shard,
            &range,
            self.points(),
            self.grid.len(),
        ))
    }

    /// Whether `dir` already holds shard `shard` of this sweep, complete and undamaged
    /// (its hash, point range and checksum checked), so that a re-run can skip it.
    pub fn shard_done(&self, dir: &Path, shard: Shard) -> bool {
        let path = dir.join(shard.file_name());
        path.exists()
            && read_table(&path).is_ok_and(|(info, _)| {
                info.sweep_hash == self.hash
                    && info.shard == shard
                    && info.points == shard.points(self.points())
            })
    }
}

/// Open a sweep file and read its metadata (the footer only).
fn open(path: &Path) -> Result<(FileInfo, ParquetRecordBatchReaderBuilder<File>)> {
    let file = File::open(path).map_err(|source| crnkit_core::Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| Error::damaged(path, "not a readable Parquet file", Some(Box::new(e))))?;
    let kv = builder.metadata().file_metadata().key_value_metadata();
    let get = |key: &str| -> Result<String> {
        kv.and_then(|kv| kv.iter().find(|e| e.key == key))
            .and_then(|e| e.value.clone())
            .ok_or_else(|| {
                Error::damaged(
                    path,
                    format!("no `{key}` in its metadata (not a crnkit sweep file?)"),
                    None,
                )
            })
    };
    let num = |key: &str| -> Result<u64> {
        get(key)?
            .parse()
            .map_err(|_| Error::damaged(path, format!("`{key}` is not a number"), None))
    };
    if get("crnkit.format")? != FORMAT {
        return Err(Error::damaged(path, "not a crnkit sweep file", None));
    }
    let points = get("crnkit.points")?;
    let points = points
        .split_once("..")
        .and_then(|(a, b)| Some(a.parse().ok()?..b.parse().ok()?))
        .ok_or_else(|| Error::damaged(path, format!("bad point range `{points}`"), None))?;
    let total_points = num("crnkit.total_points")?;
    if points.start > points.end || points.end > total_points {
        return Err(Error::damaged(
            path,
            format!("points {points:?} outside 0..{total_points}"),
            None,
        ));
    }
    let info = FileInfo {
        path: path.to_path_buf(),
        sweep_hash: get("crnkit.sweep_hash")?,
        sweep: get("crnkit.sweep")?,
        shard: get("crnkit.shard")?
            .parse()
            .map_err(|e| Error::damaged(path, "bad shard", Some(Box::new(e))))?,
        points,
        total_points,
        times: num("crnkit.times")?,
        rows: num("crnkit.rows")?,
        checksum: get("crnkit.checksum")?,
        format_version: num("crnkit.format_version")? as u32,
        crnkit_version: get("crnkit.version")?,
    };
    Ok((info, builder))
}

/// Read a sweep file's metadata (the footer only; the data is not checked).
pub fn read_info(path: &Path) -> Result<FileInfo> {
    Ok(open(path)?.0)
}

/// The layout of a file's Arrow schema.
fn layout_of(path: &Path, schema: &Schema) -> Result<Layout> {
    let mut layout = Layout::default();
    for f in schema.fields() {
        let kind = match f.data_type() {
            DataType::UInt64 => ColumnKind::U64,
            DataType::Float64 => ColumnKind::F64,
            t => {
                return Err(Error::damaged(
                    path,
                    format!("column `{}` has type {t}", f.name()),
                    None,
                ));
            }
        };
        layout.push(f.name(), kind);
    }
    Ok(layout)
}

/// Read a file's rows in blocks, handing each to `sink`, and check them against the
/// metadata: row count, point range, checksum.
pub(crate) fn stream(
    path: &Path,
    mut sink: impl FnMut(Table) -> Result<()>,
) -> Result<(FileInfo, Layout)> {
    let (info, builder) = open(path)?;
    if info.format_version != FORMAT_VERSION {
        return Err(Error::ForeignShard {
            path: path.display().to_string(),
            reason: format!(
                "format version {} (this crnkit reads {FORMAT_VERSION})",
                info.format_version
            ),
        });
    }
    let layout = layout_of(path, builder.schema())?;
    let reader = builder
        .with_batch_size(ROW_GROUP_ROWS)
        .build()
        .map_err(|e| Error::damaged(path, "unreadable data", Some(Box::new(e))))?;
    let mut checksum = Checksum::new(layout.len());
    let (mut rows, t) = (0u64, info.times.max(1));
    for batch in reader {
        let batch =
            batch.map_err(|e| Error::damaged(path, "unreadable data", Some(Box::new(e))))?;
        let table = table_of(path, &layout, &batch)?;
        let points = table
            .column("point")
            .and_then(Column::as_u64)
            .unwrap_or(&[]);
        let row = |k: usize| rows + k as u64;
        if points
            .iter()
            .enumerate()
            .any(|(k, &p)| p != info.points.start + row(k) / t)
        {
            return Err(Error::damaged(
                path,
                "the point column is not the file's point range",
                None,
            ));
        }
        rows += table.rows() as u64;
        checksum.update(&table);
        sink(table)?;
    }
    let expected = (info.points.end - info.points.start).checked_mul(info.times);
    if rows != info.rows || Some(rows) != expected {
        return Err(Error::damaged(
            path,
            format!(
                "{rows} rows, expected {} × {} (and {} by its metadata)",
                info.points.end - info.points.start,
                info.times,
                info.rows
            ),
            None,
        ));
    }
    if checksum.finish(&layout) != info.checksum {
        return Err(Error::damaged(
            path,
            "the data does not match its checksum",
            None,
        ));
    }
    Ok((info, layout))
}

/// One record batch as a table.
fn table_of(path: &Path, layout: &Layout, batch: &RecordBatch) -> Result<Table> {
    let mut columns = Vec::with_capacity(layout.len());
    for (a, kind) in batch.columns().iter().zip(layout.kinds()) {
        if a.null_count() > 0 {
            return Err(Error::damaged(path, "null values", None));
        }
        let c = match kind {
            ColumnKind::U64 => a
                .as_any()
                .downcast_ref::<UInt64Array>()
                .map(|v| Column::U64(v.values().to_vec())),
            ColumnKind::F64 => a
                .as_any()
                .downcast_ref::<Float64Array>()
                .map(|v| Column::F64(v.values().to_vec())),
        };
        columns.push(c.ok_or_else(|| Error::damaged(path, "a column of another type", None))?);
    }
    Ok(Table::from_columns(layout.clone(), columns))
}

/// Read a whole sweep file, checked (row count, point order, checksum).
///
/// ```
/// use crnkit_sweep::{Sweep, read_table};
///
/// let dir = std::env::temp_dir().join(format!("crnkit-sweep-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let sweep = Sweep::from_toml_str(
///     "network = 'builtin:birth_death'\ntime = { until = 2, every = 1 }\n\
///      points = { kind = 'halton', n = 3, parameters = [{ name = 'lambda', lo = 1, hi = 9, scale = 'log' }] }\n\
///      [ode]",
///     &dir,
///     "doc.toml",
/// )?;
/// let path = dir.join("sweep.parquet");
/// sweep.write_all(&path, &Default::default())?;
/// let (info, table) = read_table(&path)?;
/// assert_eq!((info.sweep_hash.as_str(), table.rows()), (sweep.hash(), 3 * 3));
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_table(path: &Path) -> Result<(FileInfo, Table)> {
    let mut all: Option<Table> = None;
    let (info, layout) = stream(path, |mut t| {
        match &mut all {
            Some(a) => a.append(&mut t),
            None => all = Some(t),
        }
        Ok(())
    })?;
    Ok((info, all.unwrap_or_else(|| layout.empty_table())))
}
