//! On-disk cache of teacher solutions, so that resuming or re-running a distillation does
//! not solve the teacher again.
//!
//! A cache file holds a key (JSON text naming everything the data depend on: crate
//! version, network, parameter box, initial box, teacher settings, design range and seed)
//! and the [`TeacherData`] in a compact little-endian binary form, followed by an FNV-1a
//! checksum of the data. A file whose key differs, or that is truncated or corrupt, is a
//! miss (the caller solves again and overwrites it); files are written to a temporary name
//! and renamed, so an interrupted write never leaves a half file under the real name.
//!
//! Layout: `b"CRNKTCH1"`, u64 key length, key bytes, payload, u64 checksum of the payload.
//! Payload: u64 species, u64 n + n × u32 caps, n bytes closed (0/1), u64 n + n × f64 times, u64 points, then per
//! point u64 n + n × f64 parameters, u64 n + n × u64 initial counts, u64 slices, and per
//! slice f64 time, u64 rows, rows × species × u32 states, rows × f64 probabilities, f64
//! outside, f64 dropped, f64 FSP error.

use crnkit_core::checkpoint::Fnv1a;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use super::teacher::{TeacherData, TeacherPoint, TeacherSlice};
use crnkit_core::{Error, Result};

const MAGIC: &[u8; 8] = b"CRNKTCH1";

/// What [`load`] found.
#[derive(Debug)]
pub enum Lookup {
    /// The file exists, its key matches and its data are intact.
    Hit(TeacherData),
    /// No file.
    Absent,
    /// The file was written for other settings.
    Stale,
    /// The file cannot be read back (the reason).
    Corrupt(String),
}

struct Sink<W: Write> {
    w: W,
    hash: Fnv1a,
}

impl<W: Write> Sink<W> {
    fn bytes(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.hash.update(b);
        self.w.write_all(b)
    }
    fn u64(&mut self, v: u64) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn f64(&mut self, v: f64) -> std::io::Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    fn len(&mut self, n: usize) -> std::io::Result<()> {
        self.u64(n as u64)
    }
}

/// Write `data` under `key` to `path` (atomically: temporary file, then rename).
pub fn store(path: &Path, key: &str, data: &TeacherData) -> Result<()> {
    let io = |source, p: &Path| Error::Io {
        path: p.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir).map_err(|e| io(e, dir))?;
    }
    let tmp = crnkit_core::fs::temp_path(path);
    let file = File::create(&tmp).map_err(|e| io(e, &tmp))?;
    let mut w = BufWriter::new(file);
    let head = (|| -> std::io::Result<()> {
        w.write_all(MAGIC)?;
        w.write_all(&(key.len() as u64).to_le_bytes())?;
        w.write_all(key.as_bytes())
    })();
    head.map_err(|e| io(e, &tmp))?;
    let mut s = Sink {
        w,
        hash: Fnv1a::new(),
    };
    write_payload(&mut s, data).map_err(|e| io(e, &tmp))?;
    let sum = s.hash.finish();
    let mut w = s.w;
    w.write_all(&sum.to_le_bytes()).map_err(|e| io(e, &tmp))?;
    let file = w.into_inner().map_err(|e| io(e.into_error(), &tmp))?;
    drop(file);
    crnkit_core::fs::commit_atomic(&tmp, path)
}

fn write_payload<W: Write>(s: &mut Sink<W>, d: &TeacherData) -> std::io::Result<()> {
    s.len(d.num_species)?;
    s.len(d.caps.len())?;
    for &c in &d.caps {
        s.bytes(&c.to_le_bytes())?;
    }
    let closed: Vec<u8> = (0..d.caps.len())
        .map(|i| u8::from(d.closed.get(i).copied().unwrap_or(false)))
        .collect();
    s.bytes(&closed)?;
    s.len(d.times.len())?;
    for &t in &d.times {
        s.f64(t)?;
    }
    s.len(d.points.len())?;
    for p in &d.points {
        s.len(p.params.len())?;
        for &v in &p.params {
            s.f64(v)?;
        }
        s.len(p.initial.len())?;
        for &v in &p.initial {
            s.u64(v)?;
        }
        s.len(p.slices.len())?;
        for sl in &p.slices {
            s.f64(sl.time)?;
            s.len(sl.probs.len())?;
            let mut buf = Vec::with_capacity(sl.states.len() * 4);
            for &x in &sl.states {
                buf.extend_from_slice(&x.to_le_bytes());
            }
            s.bytes(&buf)?;
            buf.clear();
            for &q in &sl.probs {
                buf.extend_from_slice(&q.to_le_bytes());
            }
            s.bytes(&buf)?;
            s.f64(sl.outside)?;
            s.f64(sl.dropped)?;
            s.f64(sl.fsp_error)?;
        }
    }
    Ok(())
}

/// Reader that hashes what it reads and refuses lengths the file cannot hold.
struct Source<R: Read> {
    r: R,
    hash: Fnv1a,
    left: u64,
}

impl<R: Read> Source<R> {
    fn bytes(&mut self, n: usize) -> std::result::Result<Vec<u8>, String> {
        if n as u64 > self.left {
            return Err(format!(
                "a length of {n} bytes exceeds the {} left",
                self.left
            ));
        }
        let mut b = vec![0u8; n];
        self.r
            .read_exact(&mut b)
            .map_err(|e| format!("truncated: {e}"))?;
        self.left -= n as u64;
        self.hash.update(&b);
        Ok(b)
    }
    fn u64(&mut self) -> std::result::Result<u64, String> {
        let b = self.bytes(8)?;
        Ok(u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
    }
    fn f64(&mut self) -> std::result::Result<f64, String> {
        Ok(f64::from_bits(self.u64()?))
    }
    /// A count of items of `size` bytes each, checked against what is left.
    fn len(&mut self, size: u64) -> std::result::Result<usize, String> {
        let n = self.u64()?;
        if n.saturating_mul(size.max(1)) > self.left {
            return Err(format!("a count of {n} items exceeds the file"));
        }
        usize::try_from(n).map_err(|_| format!("a count of {n} items exceeds memory"))
    }
    fn f64s(&mut self, n: usize) -> std::result::Result<Vec<f64>, String> {
        let b = self.bytes(n.checked_mul(8).ok_or("length overflow")?)?;
        Ok(b.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect())
    }
}

/// Read the cache at `path` if it was written under `key`.
pub fn load(path: &Path, key: &str) -> Lookup {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Lookup::Absent,
        Err(e) => return Lookup::Corrupt(e.to_string()),
    };
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut r = BufReader::new(file);
    let mut head = [0u8; 16];
    if r.read_exact(&mut head).is_err() || &head[..8] != MAGIC {
        return Lookup::Corrupt("not a teacher cache file".into());
    }
    let key_len = u64::from_le_bytes(head[8..].try_into().unwrap_or([0; 8]));
    if key_len != key.len() as u64 {
        return if key_len > size {
            Lookup::Corrupt("truncated key".into())
        } else {
            Lookup::Stale
        };
    }
    let mut stored = vec![0u8; key.len()];
    if r.read_exact(&mut stored).is_err() {
        return Lookup::Corrupt("truncated key".into());
    }
    if stored != key.as_bytes() {
        return Lookup::Stale;
    }
    let left = size.saturating_sub(16 + key_len);
    if left < 8 {
        return Lookup::Corrupt("no data".into());
    }
    let mut s = Source {
        r,
        hash: Fnv1a::new(),
        left: left - 8,
    };
    let data = match read_payload(&mut s) {
        Ok(d) => d,
        Err(e) => return Lookup::Corrupt(e),
    };
    let want = s.hash.finish();
    let mut tail = [0u8; 8];
    if s.left != 0 || s.r.read_exact(&mut tail).is_err() {
        return Lookup::Corrupt("trailing bytes or missing checksum".into());
    }
    if u64::from_le_bytes(tail) != want {
        return Lookup::Corrupt("checksum mismatch".into());
    }
    Lookup::Hit(data)
}

fn read_payload<R: Read>(s: &mut Source<R>) -> std::result::Result<TeacherData, String> {
    let num_species = s.len(0)?;
    let nc = s.len(4)?;
    if nc != num_species {
        return Err(format!("{nc} caps for {num_species} species"));
    }
    let caps = s
        .bytes(nc * 4)?
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
        .collect();
    let closed = s.bytes(nc)?.into_iter().map(|b| b == 1).collect();
    let nt = s.len(8)?;
    let times = s.f64s(nt)?;
    let np = s.len(24)?;
    let mut points = Vec::with_capacity(np);
    for _ in 0..np {
        let n = s.len(8)?;
        let params = s.f64s(n)?;
        let n = s.len(8)?;
        let mut initial = Vec::with_capacity(n);
        for _ in 0..n {
            initial.push(s.u64()?);
        }
        let nsl = s.len(40)?;
        let mut slices = Vec::with_capacity(nsl);
        for _ in 0..nsl {
            let time = s.f64()?;
            let rows = s.len(8 + 4 * num_species as u64)?;
            let states = s
                .bytes(rows * num_species * 4)?
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
                .collect();
            let probs = s.f64s(rows)?;
            slices.push(TeacherSlice {
                time,
                states,
                probs,
                outside: s.f64()?,
                dropped: s.f64()?,
                fsp_error: s.f64()?,
            });
        }
        points.push(TeacherPoint {
            params,
            initial,
            slices,
        });
    }
    Ok(TeacherData {
        num_species,
        caps,
        closed,
        times,
        points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TeacherData {
        TeacherData {
            num_species: 2,
            caps: vec![1, 7],
            closed: vec![true, false],
            times: vec![0.5, 1.0],
            points: vec![TeacherPoint {
                params: vec![0.25, 3.0],
                initial: vec![0, 4],
                slices: vec![
                    TeacherSlice {
                        time: 0.5,
                        states: vec![0, 3, 1, 7],
                        probs: vec![0.75, 0.25 - 1e-9],
                        outside: 1e-9,
                        dropped: 0.0,
                        fsp_error: 1e-10,
                    },
                    TeacherSlice {
                        time: 1.0,
                        states: vec![],
                        probs: vec![],
                        outside: 0.0,
                        dropped: 0.0,
                        fsp_error: 0.0,
                    },
                ],
            }],
        }
    }

    fn same(a: &TeacherData, b: &TeacherData) -> bool {
        serde_json::to_string(a).ok() == serde_json::to_string(b).ok()
    }

    #[test]
    fn round_trip_stale_and_corrupt() {
        let dir = std::env::temp_dir().join(format!("crnkit-cache-{}", std::process::id()));
        let path = dir.join("t.bin");
        let d = sample();
        assert!(matches!(load(&path, "k"), Lookup::Absent));
        store(&path, "k", &d).unwrap();
        match load(&path, "k") {
            Lookup::Hit(e) => assert!(same(&d, &e)),
            other => panic!("expected a hit, got {other:?}"),
        }
        assert!(matches!(load(&path, "other"), Lookup::Stale));
        assert!(matches!(load(&path, "j"), Lookup::Stale));
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        // Flip one bit inside a probability: the checksum catches it.
        bytes[n - 40] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(load(&path, "k"), Lookup::Corrupt(_)));
        // Truncate: never a panic, never a huge allocation.
        for cut in [0, 5, 17, 30, n / 2, n - 1] {
            std::fs::write(&path, &bytes[..cut]).unwrap();
            assert!(
                matches!(load(&path, "k"), Lookup::Corrupt(_)),
                "cut at {cut}"
            );
        }
        // A count field blown up to 2^60 is refused before allocating.
        let mut big = std::fs::read(&path).unwrap_or_default();
        big.clear();
        store(&path, "k", &d).unwrap();
        big.extend(std::fs::read(&path).unwrap());
        let at = 16 + 1; // first payload field (species count) after the one-byte key
        big[at..at + 8].copy_from_slice(&(1u64 << 60).to_le_bytes());
        std::fs::write(&path, &big).unwrap();
        assert!(matches!(load(&path, "k"), Lookup::Corrupt(_)));
        std::fs::remove_dir_all(&dir).ok();
    }
}
