//! The sweep layer's error: a bad description, a point that failed, and every way a set of
//! shard files can be wrong (missing, duplicated, foreign, damaged).

use std::fmt;

/// `Result` with the sweep layer's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// Every error of `crnkit-sweep`. Settings are named by their place in the sweep
/// description (`points.parameters[1].n`, `time.every`), never by a command-line option.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error of the model layers: the network file, a parameter value it refuses, an
    /// atomic write that failed.
    #[error(transparent)]
    Model(#[from] crnkit_core::Error),
    /// The sweep description is not valid TOML or does not have the expected fields
    /// (the toml crate's message has the line, column and a snippet).
    #[error("{file}: invalid sweep description: {message}")]
    Description {
        /// The sweep file (or `<string>`).
        file: String,
        /// What the parser said.
        message: String,
    },
    /// A setting of the sweep description is out of range or inconsistent.
    #[error("invalid sweep setting {name} = {value}: {reason}")]
    InvalidSetting {
        /// Where in the description, e.g. `points.parameters[0].hi`.
        name: String,
        /// The value given.
        value: String,
        /// What is required.
        reason: String,
    },
    /// The sweep (or one point of it) would need more memory or disk than allowed.
    #[error("{what} needs {bytes} bytes, more than the limit of {limit} bytes (`max_bytes`)")]
    TooLarge {
        /// What was sized, e.g. `the whole table (10000000 points × 11 times × 9 columns)`.
        what: String,
        /// The estimate.
        bytes: u128,
        /// The limit.
        limit: u64,
    },
    /// A shard designation is not `i/N` with 0 ≤ i < N.
    #[error("invalid shard `{value}`: {reason}")]
    InvalidShard {
        /// What was given.
        value: String,
        /// What is required.
        reason: &'static str,
    },
    /// Computing one point failed.
    #[error("point {point}: {source}")]
    Point {
        /// The point index.
        point: u64,
        /// The solver's error.
        source: Box<crnkit_core::Error>,
    },
    /// Arrow or Parquet failed while writing a file.
    #[error("{path}: cannot write Parquet: {source}")]
    Write {
        /// The file.
        path: String,
        /// The Parquet (or Arrow) error.
        source: parquet::errors::ParquetError,
    },
    /// No shard files were found.
    #[error("{dir}: no shard files (shard-I-of-N.parquet)")]
    NoShards {
        /// The folder searched.
        dir: String,
    },
    /// Points of the sweep are covered by no shard file.
    #[error("missing shard(s) of sweep {hash}: {missing}")]
    MissingShard {
        /// The sweep hash.
        hash: String,
        /// The missing shards and their points, e.g. `shard 3 of 7 (points 42..56)`.
        missing: String,
    },
    /// Two shard files cover the same points.
    #[error("duplicated shard: {first} and {second} both cover points {points}")]
    DuplicateShard {
        /// One file.
        first: String,
        /// The other file.
        second: String,
        /// The points both cover.
        points: String,
    },
    /// A shard file belongs to another sweep (another hash) or another format or crnkit
    /// version.
    #[error("foreign shard {path}: {reason}")]
    ForeignShard {
        /// The file.
        path: String,
        /// How it differs, e.g. `sweep hash 0123… (expected 4567…)`.
        reason: String,
    },
    /// A shard file is truncated, unreadable, not a sweep file, or its data does not match
    /// its checksum.
    #[error("damaged shard {path}: {reason}")]
    DamagedShard {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
        /// The reader's error, where there was one.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Error {
    /// An [`Error::InvalidSetting`].
    pub(crate) fn setting(
        name: impl Into<String>,
        value: impl fmt::Display,
        reason: impl Into<String>,
    ) -> Error {
        Error::InvalidSetting {
            name: name.into(),
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// An [`Error::DamagedShard`] with the reader's error as its source.
    pub(crate) fn damaged(
        path: &std::path::Path,
        reason: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Error {
        Error::DamagedShard {
            path: path.display().to_string(),
            reason: reason.into(),
            source,
        }
    }

    /// The model layers' error inside, if any (directly or for a point).
    pub fn model(&self) -> Option<&crnkit_core::Error> {
        match self {
            Error::Model(e) => Some(e),
            Error::Point { source, .. } => Some(source),
            _ => None,
        }
    }
}
