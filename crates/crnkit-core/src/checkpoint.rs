//! The one checkpoint format of every long job (chemical learning, sampled learning,
//! surrogate training): a run killed at any moment resumes from its last checkpoint, and a
//! checkpoint written by another job or with other settings is refused by name.
//!
//! A checkpoint is one JSON envelope, written atomically with [`write_atomic`]:
//!
//! ```json
//! {"format": "crnkit-checkpoint", "version": 1, "job": "learn", "fingerprint": "…",
//!  "generation": 7, "files": [{"role": "weights.safetensors", "name": "…", "bytes": 230416,
//!  "fnv1a64": "…"}], "state": { … }}
//! ```
//!
//! - `job` names the kind of run; `fingerprint` is a hash of every setting that changes the
//!   result ([`fingerprint`]): resuming under another job or other settings is an error.
//! - `state` is the job's own resumable state (any `serde` type).
//! - `files` are side files too large or too binary for JSON (network weights). Each save
//!   writes them under names of a new generation ([`Checkpoint::staged`]), then commits the
//!   envelope, then removes the previous generation's files: the envelope is the commit
//!   point, so a kill between any two writes leaves the last committed checkpoint whole.
//!   Their size and FNV-1a checksum are recorded and checked on load.
//!
//! ```
//! use crnkit_core::checkpoint::Checkpoint;
//!
//! let dir = std::env::temp_dir().join(format!("crnkit-cp-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("checkpoint.json");
//! let settings = ("my job", 42_u64, 0.5_f64);
//! let mut cp = Checkpoint::new(&path, "example", &settings)?;
//! assert_eq!(cp.load::<Vec<u64>>()?, None); // nothing to resume yet
//! std::fs::write(cp.staged("blob.bin"), b"side data")?;
//! cp.save(&vec![1_u64, 2, 3], &["blob.bin"])?;
//!
//! // A later run with the same settings resumes; the side file is checked.
//! let mut again = Checkpoint::new(&path, "example", &settings)?;
//! assert_eq!(again.load::<Vec<u64>>()?, Some(vec![1, 2, 3]));
//! assert_eq!(std::fs::read(again.file("blob.bin").unwrap())?, b"side data");
//!
//! // Other settings: refused by name.
//! let mut other = Checkpoint::new(&path, "example", &("my job", 43_u64, 0.5_f64))?;
//! assert!(other.load::<Vec<u64>>().unwrap_err().to_string().contains("other settings"));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fs::write_atomic;

/// The `format` field of every checkpoint.
pub const FORMAT: &str = "crnkit-checkpoint";
/// The version of the envelope this build writes and reads.
pub const VERSION: u32 = 1;

/// FNV-1a, 64 bit: a fast checksum for detecting damaged files (not a cryptographic hash).
///
/// ```
/// let mut h = crnkit_core::checkpoint::Fnv1a::new();
/// h.update(b"a");
/// assert_eq!(h.finish(), 0xaf63_dc4c_8601_ec8c);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

impl Fnv1a {
    /// The empty hash.
    pub fn new() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
    /// Add `bytes`.
    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// The hash so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

/// The fingerprint of a job's settings: the FNV-1a hash of their JSON form, as 16 hex
/// digits. Any change to a setting changes it (floats are written exactly by serde_json).
///
/// ```
/// use crnkit_core::checkpoint::fingerprint;
/// assert_eq!(fingerprint(&(1, "a"))?, fingerprint(&(1, "a"))?);
/// assert_ne!(fingerprint(&(1, "a"))?, fingerprint(&(2, "a"))?);
/// # Ok::<(), crnkit_core::Error>(())
/// ```
pub fn fingerprint(settings: &impl Serialize) -> Result<String> {
    let json = serde_json::to_vec(settings).map_err(|e| Error::Numerical {
        what: "checkpoint fingerprint",
        reason: e.to_string(),
    })?;
    let mut h = Fnv1a::new();
    h.update(&json);
    Ok(format!("{:016x}", h.finish()))
}

/// A side file recorded in the envelope.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct SideFile {
    role: String,
    name: String,
    bytes: u64,
    fnv1a64: String,
}

#[derive(Serialize)]
struct EnvelopeOut<'a, S> {
    format: &'a str,
    version: u32,
    job: &'a str,
    fingerprint: &'a str,
    generation: u64,
    files: &'a [SideFile],
    state: &'a S,
}

#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
    job: String,
    fingerprint: String,
    generation: u64,
    #[serde(default)]
    files: Vec<SideFile>,
}

#[derive(Deserialize)]
struct EnvelopeIn<S> {
    state: S,
}

/// A job's checkpoint at one path: load it to resume, save it as the job goes, remove it
/// when the job is done. See the [module documentation](self) for the format.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    path: PathBuf,
    job: String,
    fingerprint: String,
    generation: u64,
    files: Vec<SideFile>,
}

impl Checkpoint {
    /// The checkpoint of job kind `job` at `path`, for a run with these `settings` (every
    /// setting that changes the result; see [`fingerprint`]).
    pub fn new(path: impl Into<PathBuf>, job: &str, settings: &impl Serialize) -> Result<Self> {
        Ok(Self::with_fingerprint(path, job, fingerprint(settings)?))
    }

    /// As [`Checkpoint::new`] with a fingerprint computed by the caller.
    pub fn with_fingerprint(path: impl Into<PathBuf>, job: &str, fingerprint: String) -> Self {
        Checkpoint {
            path: path.into(),
            job: job.to_string(),
            fingerprint,
            generation: 0,
            files: Vec::new(),
        }
    }

    /// The envelope's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings' fingerprint.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn invalid(&self, reason: &'static str) -> Error {
        Error::InvalidSetting {
            name: "checkpoint",
            value: self.path.display().to_string(),
            reason,
        }
    }

    fn folder(&self) -> PathBuf {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn side_name(&self, generation: u64, role: &str) -> String {
        let stem = self
            .path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "checkpoint".into());
        format!("{stem}.{generation}.{role}")
    }

    /// Where the next [`save`](Checkpoint::save) expects its side file `role` (e.g.
    /// `"weights.safetensors"`): a name of the next generation in the envelope's folder.
    /// Write the file there (atomically or not: it counts only once the envelope commits).
    pub fn staged(&self, role: &str) -> PathBuf {
        self.folder()
            .join(self.side_name(self.generation + 1, role))
    }

    /// The committed side file `role` of the checkpoint last loaded or saved.
    pub fn file(&self, role: &str) -> Option<PathBuf> {
        self.files
            .iter()
            .find(|f| f.role == role)
            .map(|f| self.folder().join(&f.name))
    }

    /// Read the checkpoint: `None` when there is none; an error naming the problem when
    /// the file is truncated or damaged, is not a checkpoint, was written by another job or
    /// another version, belongs to other settings, or a side file is missing or damaged.
    pub fn load<S: DeserializeOwned>(&mut self) -> Result<Option<S>> {
        if !self.path.exists() {
            return Ok(None);
        }
        let text = std::fs::read(&self.path).map_err(|source| Error::Io {
            path: self.path.display().to_string(),
            source,
        })?;
        let header: Header = serde_json::from_slice(&text).map_err(|e| {
            self.invalid(if e.is_eof() {
                "the checkpoint file is truncated"
            } else {
                "the file is not a crnkit checkpoint"
            })
        })?;
        self.check_header(&header)?;
        for f in &header.files {
            self.check_side_file(f)?;
        }
        let env: EnvelopeIn<S> = serde_json::from_slice(&text)
            .map_err(|_| self.invalid("the checkpoint's state does not match this job"))?;
        self.generation = header.generation;
        self.files = header.files;
        Ok(Some(env.state))
    }

    fn check_header(&self, h: &Header) -> Result<()> {
        if h.format != FORMAT {
            return Err(self.invalid("the file is not a crnkit checkpoint"));
        }
        if h.version != VERSION {
            return Err(self.invalid(
                "the checkpoint was written by another version of crnkit (remove it to start again)",
            ));
        }
        if h.job != self.job {
            return Err(self.invalid("the checkpoint belongs to another kind of job"));
        }
        if h.fingerprint != self.fingerprint {
            return Err(self.invalid(
                "the checkpoint belongs to a run with other settings (remove it or change the path)",
            ));
        }
        Ok(())
    }

    fn check_side_file(&self, f: &SideFile) -> Result<()> {
        if !plain_name(&f.name) {
            return Err(self.invalid("a file of the checkpoint is damaged"));
        }
        let path = self.folder().join(&f.name);
        let bytes = std::fs::read(&path)
            .map_err(|_| self.invalid("a file of the checkpoint is missing"))?;
        if bytes.len() as u64 != f.bytes || checksum(&bytes) != f.fnv1a64 {
            return Err(self.invalid("a file of the checkpoint is damaged"));
        }
        Ok(())
    }

    /// Commit a new checkpoint: `state`, and the side files `roles` written beforehand to
    /// [`staged`](Checkpoint::staged) paths. The envelope is written atomically and durably;
    /// only then are the previous generation's side files removed.
    pub fn save<S: Serialize>(&mut self, state: &S, roles: &[&str]) -> Result<()> {
        let generation = self.generation + 1;
        let mut files = Vec::with_capacity(roles.len());
        for role in roles {
            let name = self.side_name(generation, role);
            let path = self.folder().join(&name);
            let bytes = std::fs::read(&path).map_err(|source| Error::Io {
                path: path.display().to_string(),
                source,
            })?;
            files.push(SideFile {
                role: (*role).to_string(),
                name,
                bytes: bytes.len() as u64,
                fnv1a64: checksum(&bytes),
            });
        }
        let env = EnvelopeOut {
            format: FORMAT,
            version: VERSION,
            job: &self.job,
            fingerprint: &self.fingerprint,
            generation,
            files: &files,
            state,
        };
        let text = serde_json::to_vec_pretty(&env).map_err(|e| Error::Numerical {
            what: "checkpoint",
            reason: e.to_string(),
        })?;
        write_atomic(&self.path, &text)?;
        let old = std::mem::replace(&mut self.files, files);
        self.generation = generation;
        for f in old {
            if !self.files.iter().any(|n| n.name == f.name) {
                let _ = std::fs::remove_file(self.folder().join(&f.name));
            }
        }
        Ok(())
    }

    /// Remove the checkpoint at this path and its side files, whatever job or settings
    /// wrote it (a finished job leaves none behind; a fresh start discards the old one).
    pub fn remove(&mut self) -> Result<()> {
        let mut files = std::mem::take(&mut self.files);
        if let Ok(text) = std::fs::read(&self.path)
            && let Ok(h) = serde_json::from_slice::<Header>(&text)
        {
            files.extend(h.files);
        }
        self.generation = 0;
        for f in files {
            // Only names of this checkpoint's own pattern, never a path elsewhere.
            if plain_name(&f.name) {
                let _ = std::fs::remove_file(self.folder().join(&f.name));
            }
        }
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::Io {
                path: self.path.display().to_string(),
                source,
            }),
        }
    }
}

/// A side file's name is a plain name in the envelope's folder, never a path elsewhere.
fn plain_name(name: &str) -> bool {
    !name.contains(['/', '\\']) && name != ".."
}

fn checksum(bytes: &[u8]) -> String {
    let mut h = Fnv1a::new();
    h.update(bytes);
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("crnkit-cp-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn reason(e: Error) -> String {
        match e {
            Error::InvalidSetting { reason, .. } => reason.to_string(),
            other => panic!("unexpected error {other}"),
        }
    }

    /// Checkpoints store floats as JSON numbers: every f64 must read back to the same bits
    /// (serde_json's `float_roundtrip`; without it about 1 in 10^4 values came back 1 ulp
    /// off, and a resumed run differed from an uninterrupted one).
    #[test]
    fn floats_round_trip_through_json_bit_for_bit() {
        use rand::Rng as _;
        let mut rng = crate::rng::stream(7, 0);
        let mut bad = 0;
        for k in 0..200_000 {
            let x = if k % 2 == 0 {
                f64::from_bits(rng.random::<u64>())
            } else {
                rng.random::<f64>() * 10f64.powi(rng.random_range(-30..30))
            };
            if !x.is_finite() {
                continue;
            }
            let text = serde_json::to_string(&x).unwrap();
            let back: f64 = serde_json::from_str(&text).unwrap();
            bad += usize::from(back.to_bits() != x.to_bits());
        }
        assert_eq!(bad, 0, "{bad} floats changed through JSON");
    }

    #[test]
    fn generations_replace_side_files_and_survive_a_kill_between_writes() {
        let d = dir("gen");
        let path = d.join("cp.json");
        let mut cp = Checkpoint::new(&path, "job", &1).unwrap();
        std::fs::write(cp.staged("w.bin"), b"one").unwrap();
        cp.save(&1_u32, &["w.bin"]).unwrap();
        // A kill after the next side file is written but before its envelope commits:
        // the committed checkpoint is still the first one, whole.
        std::fs::write(cp.staged("w.bin"), b"two, not committed").unwrap();
        let mut again = Checkpoint::new(&path, "job", &1).unwrap();
        assert_eq!(again.load::<u32>().unwrap(), Some(1));
        assert_eq!(std::fs::read(again.file("w.bin").unwrap()).unwrap(), b"one");
        // The next commit replaces generation 1's file.
        std::fs::write(again.staged("w.bin"), b"two").unwrap();
        again.save(&2_u32, &["w.bin"]).unwrap();
        let names: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.contains(&"cp.1.w.bin".to_string()), "{names:?}");
        assert!(names.contains(&"cp.2.w.bin".to_string()), "{names:?}");
        again.remove().unwrap();
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
    }

    #[test]
    fn refusals_are_named() {
        let d = dir("refuse");
        let path = d.join("cp.json");
        let mut cp = Checkpoint::new(&path, "job", &"a").unwrap();
        std::fs::write(cp.staged("w.bin"), b"weights").unwrap();
        cp.save(&vec![1.5_f64], &["w.bin"]).unwrap();
        let load = |job: &str, s: &str| Checkpoint::new(&path, job, &s).unwrap().load::<Vec<f64>>();
        assert!(reason(load("job", "b").unwrap_err()).contains("other settings"));
        assert!(reason(load("other", "a").unwrap_err()).contains("another kind of job"));
        // Wrong state type.
        let wrong = Checkpoint::new(&path, "job", &"a")
            .unwrap()
            .load::<String>();
        assert!(reason(wrong.unwrap_err()).contains("does not match"));
        // A damaged side file.
        let side = d.join("cp.1.w.bin");
        std::fs::write(&side, b"weightz").unwrap();
        assert!(reason(load("job", "a").unwrap_err()).contains("damaged"));
        std::fs::remove_file(&side).unwrap();
        assert!(reason(load("job", "a").unwrap_err()).contains("missing"));
        // A truncated envelope, and a file that is not a checkpoint.
        let text = std::fs::read(&path).unwrap();
        std::fs::write(&path, &text[..text.len() / 2]).unwrap();
        assert!(reason(load("job", "a").unwrap_err()).contains("truncated"));
        std::fs::write(&path, b"{\"epoch\": 3}").unwrap();
        assert!(reason(load("job", "a").unwrap_err()).contains("not a crnkit checkpoint"));
        let v2 = String::from_utf8(text)
            .unwrap()
            .replace("\"version\": 1", "\"version\": 2");
        std::fs::write(&path, v2).unwrap();
        assert!(reason(load("job", "a").unwrap_err()).contains("another version"));
    }
}
