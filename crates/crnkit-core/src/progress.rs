//! Progress reports from long computations, with no terminal behind them.
//!
//! Library code reports through a [`Reporter`] carried in its configuration; it is silent by
//! default. An application plugs in a sink: the `crnkit` command line draws terminal bars, a
//! notebook front end could forward the reports to a callback. Reports never change a result:
//! every [`Reporter`] compares equal to every other.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::sync::Arc;
//! use crnkit_core::progress::{Progress, Reporter, Task, Unit};
//!
//! struct Count(Arc<AtomicU64>);
//! impl Task for Count {
//!     fn set_position(&self, pos: u64) { self.0.store(pos, Ordering::Relaxed); }
//!     fn inc(&self, n: u64) { self.0.fetch_add(n, Ordering::Relaxed); }
//! }
//! struct Counter(Arc<AtomicU64>);
//! impl Progress for Counter {
//!     fn start(&self, _label: &str, _unit: Unit, _total: u64, _at: u64) -> Box<dyn Task> {
//!         Box::new(Count(self.0.clone()))
//!     }
//! }
//!
//! let seen = Arc::new(AtomicU64::new(0));
//! let reporter = Reporter::new(Counter(seen.clone()));
//! let task = reporter.start("runs", Unit::Runs, 10, 0).unwrap();
//! task.inc(3);
//! task.inc(4);
//! assert_eq!(seen.load(Ordering::Relaxed), 7);
//! assert!(Reporter::none().start("runs", Unit::Runs, 10, 0).is_none());
//! ```
//!
//! A [`Reporter`] may also carry a [`CancelToken`]: a front end (the Python package on
//! Ctrl-C) cancels it from another thread, and the long loops (SSA ensembles between
//! runs, CME and path-entropy solves between steps) then stop with
//! [`Error::Cancelled`](crate::Error::Cancelled) at their next check
//! ([`Reporter::check_cancelled`]). Without a token nothing is ever cancelled.
//!
//! ```
//! use crnkit_core::progress::{CancelToken, Reporter};
//!
//! let token = CancelToken::new();
//! let reporter = Reporter::none().with_cancel(token.clone());
//! assert!(reporter.check_cancelled().is_ok());
//! token.cancel();
//! assert!(matches!(reporter.check_cancelled(), Err(crnkit_core::Error::Cancelled)));
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a task's steps count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Independent runs of an ensemble.
    Runs,
    /// Training epochs.
    Epochs,
    /// Thousandths of a time horizon (integrations, learning runs).
    Permille,
    /// Points of a parameter sweep.
    Points,
}

/// A sink for progress reports: one [`Task`] per long computation.
pub trait Progress: Send + Sync {
    /// A task begins: `label` says what it does; it has `total` steps of `unit`, `position` of
    /// them already done (a resumed run).
    fn start(&self, label: &str, unit: Unit, total: u64, position: u64) -> Box<dyn Task>;
}

/// The reports of one running task. Methods take `&self`: parallel workers share a task.
pub trait Task: Send + Sync {
    /// `pos` steps are done.
    fn set_position(&self, pos: u64);
    /// `n` more steps are done.
    fn inc(&self, n: u64);
    /// A short status line (a loss, an error estimate).
    fn set_message(&self, _msg: String) {}
    /// The task ended; its display (if any) goes away.
    fn finish_and_clear(&self) {}
}

/// A shared flag that asks running computations to stop; clones share the flag.
#[derive(Clone, Default, Debug)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// A token not (yet) cancelled.
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Ask every computation that carries this token to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`CancelToken::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// An optional progress sink, as carried in configurations; [`Reporter::none`] (the default)
/// reports nothing. It may also carry a [`CancelToken`] ([`Reporter::with_cancel`]).
#[derive(Clone, Default)]
pub struct Reporter {
    sink: Option<Arc<dyn Progress>>,
    cancel: Option<CancelToken>,
}

impl Reporter {
    /// Reports nothing.
    pub fn none() -> Reporter {
        Reporter::default()
    }

    /// Reports to `sink`.
    pub fn new(sink: impl Progress + 'static) -> Reporter {
        Reporter::shared(Arc::new(sink))
    }

    /// Reports to a shared sink.
    pub fn shared(sink: Arc<dyn Progress>) -> Reporter {
        Reporter {
            sink: Some(sink),
            cancel: None,
        }
    }

    /// The same reports, and computations stop when `token` is cancelled.
    pub fn with_cancel(mut self, token: CancelToken) -> Reporter {
        self.cancel = Some(token);
        self
    }

    /// Whether this reporter's cancellation token (if any) was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelToken::is_cancelled)
    }

    /// [`Error::Cancelled`](crate::Error::Cancelled) once the token was cancelled: long loops
    /// call this between steps.
    pub fn check_cancelled(&self) -> crate::Result<()> {
        if self.is_cancelled() {
            Err(crate::Error::Cancelled)
        } else {
            Ok(())
        }
    }

    /// [`Error::Cancelled`](crate::Error::Cancelled) once the token was cancelled, else
    /// `error`: the error of a computation that may have failed because it was cancelled
    /// (an integrator whose right-hand side turned NaN).
    pub fn cancelled_or(&self, error: crate::Error) -> crate::Error {
        if self.is_cancelled() {
            crate::Error::Cancelled
        } else {
            error
        }
    }

    /// Whether reports go anywhere.
    pub fn is_active(&self) -> bool {
        self.sink.is_some()
    }

    /// Start a task (none when nothing listens).
    pub fn start(
        &self,
        label: &str,
        unit: Unit,
        total: u64,
        position: u64,
    ) -> Option<Box<dyn Task>> {
        self.sink
            .as_ref()
            .map(|p| p.start(label, unit, total, position))
    }

    /// Start a task over the time interval [0, `horizon`], counted in thousandths (none when
    /// nothing listens or the horizon is empty).
    pub fn start_horizon(&self, label: &str, horizon: f64) -> Option<Box<dyn Task>> {
        if horizon > 0.0 {
            self.start(label, Unit::Permille, 1000, 0)
        } else {
            None
        }
    }
}

impl fmt::Debug for Reporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_active() {
            "Reporter(active)"
        } else {
            "Reporter(none)"
        })
    }
}

/// Reporters never distinguish results: any two compare equal (with or without a
/// cancellation token: a cancelled computation returns no result).
impl PartialEq for Reporter {
    fn eq(&self, _other: &Reporter) -> bool {
        true
    }
}
