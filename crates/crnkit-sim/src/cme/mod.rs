//! The chemical master equation: finite state projection with a certified error,
//! transient solutions by uniformization, stationary solutions by sparse LU and the
//! product form.
//!
//! The CME dp/dt = A p has A_{yx} = a_r(x) for y = x + S_r and A_{xx} = −Σ_r a_r(x)
//! (propensities as in [`crnkit_core::network`]). A finite state projection (FSP) keeps a finite
//! set X_J of states; probability flowing out of X_J is lost, so the projected solution is
//! an elementwise under-estimate and ‖p_true − p_J‖₁ = 1 − Σ p_J (Munsky & Khammash 2006,
//! "The finite state projection algorithm for the solution of the chemical master
//! equation", J. Chem. Phys. 124, 044104).
//!
//! * [`enumerate`]: the states reachable from x0 within optional per-species bounds.
//! * [`Generator`]: A on a projection, sparse, built in parallel.
//! * [`solve_transient`] / [`solve_transient_with`]: p(t) on a time grid to an L1
//!   tolerance, with the projection grown (and shrunk) adaptively.
//! * [`stationary`]: A π = 0, Σ π = 1 by sparse LU, growing the projection of open
//!   networks until the mass at its boundary is below the tolerance.
//! * [`product_form`]: the exact π of complex-balanced networks (Anderson, Craciun &
//!   Kurtz 2010).

mod distribution;
mod generator;
mod poisson;
mod space;
mod stationary;
mod transient;

pub use distribution::Distribution;
pub use generator::Generator;
pub use poisson::ln_factorial;
pub use space::{StateSpace, enumerate};
pub(crate) use space::{propensity_u32, step_unbounded};
pub use stationary::{ProductForm, StationarySolution, product_form, solve_on, stationary};
pub use transient::{
    Snapshot, TransientSolution, solve_transient, solve_transient_from, solve_transient_with,
};

use crnkit_core::progress::Reporter;
use crnkit_core::{Error, Result};

/// Settings of a CME solve.
#[derive(Debug, Clone)]
pub struct FspOptions {
    /// L1 tolerance of the whole solution (transient: at the final time; stationary: mass
    /// at the projection's boundary). Default 1e-8.
    pub tol: f64,
    /// Largest projection allowed; exceeding it is [`Error::TooManyStates`]. Default 10^7.
    pub max_states: usize,
    /// Largest amount of work a transient solve may do, in generator entries touched
    /// (non-zeros times matrix–vector products); a solve whose work so far plus the work
    /// its remaining time needs on the present projection exceeds it stops early with
    /// [`Error::WorkLimit`]. Default [`DEFAULT_MAX_WORK`].
    pub max_work: f64,
    /// Optional upper bound per species (indexed like the network's species).
    pub bounds: Vec<Option<u32>>,
    /// Grow and shrink the projection to meet the tolerance (default). When false, the
    /// projection is the whole reachable set within `bounds`, fixed for the solve.
    pub adaptive: bool,
    /// Where progress reports go (nowhere by default).
    pub progress: Reporter,
}

impl Default for FspOptions {
    fn default() -> Self {
        FspOptions {
            tol: 1e-8,
            max_states: 10_000_000,
            max_work: DEFAULT_MAX_WORK,
            bounds: Vec::new(),
            adaptive: true,
            progress: Reporter::none(),
        }
    }
}

/// The default work limit of a transient solve: 10^11 generator entries touched, one to
/// two minutes on one core (docs/cme.md, "Work limit").
pub const DEFAULT_MAX_WORK: f64 = 1e11;

/// The smallest L1 tolerance a solve accepts: double-precision rounding of a sum of
/// probabilities is of order 1e-16 per term, so a bound below 1e-15 cannot be certified.
pub const MIN_TOL: f64 = 1e-15;

impl FspOptions {
    /// Check the settings.
    pub fn validate(&self) -> Result<()> {
        if !(self.tol >= MIN_TOL && self.tol < 1.0) {
            return Err(Error::InvalidSetting {
                name: "tol",
                value: self.tol.to_string(),
                reason: "the tolerance must be in [1e-15, 1): below 1e-15 the rounding of \
                         the probabilities themselves exceeds it",
            });
        }
        if self.max_states == 0 {
            return Err(Error::InvalidSetting {
                name: "max_states",
                value: "0".into(),
                reason: "at least one state is needed",
            });
        }
        if self.max_work.is_nan() || self.max_work <= 0.0 {
            return Err(Error::InvalidSetting {
                name: "max_work",
                value: self.max_work.to_string(),
                reason: "the work limit must be a positive number",
            });
        }
        Ok(())
    }
}

/// Work done by a solve.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SolveStats {
    /// Sparse matrix–vector products.
    pub matvecs: usize,
    /// Generator entries touched by them (non-zeros plus diagonal, summed over products).
    pub work: f64,
    /// Accepted time steps.
    pub steps: usize,
    /// Steps redone after the projection grew.
    pub rejected_steps: usize,
    /// Times the projection grew.
    pub expansions: usize,
    /// Times it shrank.
    pub shrinks: usize,
    /// Generator builds.
    pub builds: usize,
    /// Largest projection used.
    pub max_states: usize,
    /// Total omitted Poisson mass (bound).
    pub poisson_omitted: f64,
}
