//! Long computations off the interpreter: a worker thread computes with the GIL released,
//! the calling thread waits in slices of [`SLICE`], checking for signals and forwarding
//! progress.
//!
//! On Ctrl-C (any exception raised by a signal handler) the waiting thread cancels the
//! computation's [`CancelToken`]; the library's loops check it between runs or steps and
//! return [`crnkit_core::Error::Cancelled`]; the worker is joined and the signal's
//! exception (`KeyboardInterrupt`) is raised. An exception raised by the progress callback
//! stops the computation the same way and is raised in its place.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crnkit_core::progress::{CancelToken, Progress, Reporter, Task, Unit};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

use crate::errors::to_py;

/// How long the calling thread waits between two checks for signals.
pub const SLICE: Duration = Duration::from_millis(10);

/// The latest report of the computation (one task at a time is shown).
#[derive(Default)]
struct Tracker {
    label: Mutex<String>,
    total: AtomicU64,
    position: Arc<AtomicU64>,
}

/// A task's reports: positions into the tracker.
struct Position(Arc<AtomicU64>);

impl Task for Position {
    fn set_position(&self, pos: u64) {
        self.0.store(pos, Ordering::Relaxed);
    }
    fn inc(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
}

impl Progress for Tracker {
    fn start(&self, label: &str, _unit: Unit, total: u64, position: u64) -> Box<dyn Task> {
        if let Ok(mut l) = self.label.lock() {
            label.clone_into(&mut l);
        }
        self.total.store(total, Ordering::Relaxed);
        self.position.store(position, Ordering::Relaxed);
        Box::new(Position(self.position.clone()))
    }
}

impl Tracker {
    /// Call `callback(label, done, total)` when the position moved since `last`.
    fn forward(&self, py: Python<'_>, callback: &Py<PyAny>, last: &mut (u64, u64)) -> PyResult<()> {
        let now = (
            self.position.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
        );
        if now == *last || now.1 == 0 {
            return Ok(());
        }
        *last = now;
        let label = self.label.lock().map(|l| l.clone()).unwrap_or_default();
        callback.call1(py, (label, now.0.min(now.1), now.1))?;
        Ok(())
    }
}

/// Run `f` on a worker thread with the GIL released; see the module notes. `f` gets the
/// [`Reporter`] to put in its configuration (it carries the cancellation token, and the
/// progress sink when `progress` is a callable).
pub fn detached<T, F>(py: Python<'_>, progress: Option<&Py<PyAny>>, f: F) -> PyResult<T>
where
    T: Send,
    F: FnOnce(&Reporter) -> crnkit_core::Result<T> + Send,
{
    let token = CancelToken::new();
    let tracker = progress.map(|_| Arc::new(Tracker::default()));
    let reporter = match &tracker {
        Some(t) => Reporter::shared(t.clone()),
        None => Reporter::none(),
    }
    .with_cancel(token.clone());
    let (out, stopped) = std::thread::scope(|s| {
        let (tx, rx) = mpsc::channel::<()>();
        let worker = s.spawn(move || {
            let out = f(&reporter);
            drop(tx);
            out
        });
        let stopped = wait(py, rx, &token, tracker.as_deref().zip(progress));
        (worker.join(), stopped)
    });
    if let Some(e) = stopped {
        return Err(e);
    }
    match out {
        Ok(result) => result.map_err(|e| to_py(py, &e)),
        Err(_) => Err(PyRuntimeError::new_err(
            "crnkit: the computation panicked (a bug: please report it)",
        )),
    }
}

/// Wait until the worker hangs up on `rx`; on a signal or a failing progress callback,
/// cancel `token`, keep waiting for the worker and return the exception.
fn wait(
    py: Python<'_>,
    rx: mpsc::Receiver<()>,
    token: &CancelToken,
    progress: Option<(&Tracker, &Py<PyAny>)>,
) -> Option<PyErr> {
    let mut rx = Some(rx);
    let mut stopped: Option<PyErr> = None;
    let mut last = (u64::MAX, u64::MAX);
    loop {
        let r = rx
            .take()
            .expect("the receiver is put back after every slice");
        let (r, got) = py.detach(move || {
            let got = r.recv_timeout(SLICE);
            (r, got)
        });
        rx = Some(r);
        if got != Err(RecvTimeoutError::Timeout) {
            break;
        }
        if stopped.is_some() {
            continue;
        }
        let checked = py.check_signals().and_then(|()| match progress {
            Some((tracker, callback)) => tracker.forward(py, callback, &mut last),
            None => Ok(()),
        });
        if let Err(e) = checked {
            token.cancel();
            stopped = Some(e);
        }
    }
    if stopped.is_none()
        && let Some((tracker, callback)) = progress
        && let Err(e) = tracker.forward(py, callback, &mut last)
    {
        return Some(e);
    }
    stopped
}
