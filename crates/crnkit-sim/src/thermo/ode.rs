//! The deterministic (large-volume) limit: mass-action ODEs, their Jacobian, a stiff
//! integrator, steady states and the deterministic entropy production.
//!
//! The state is the count-scale amount x = Ω c (molecules, real-valued). Channel r has the
//! flux J_r(x) = c_r Π_i x_i^(ν_ir) with the volume-folded constant c_r = k_r Ω^(1−|ν_r|),
//! so dx/dt = Σ_r S_r J_r(x); in concentrations this is the usual dc/dt = Σ_r S_r k_r Π c^ν.
//! Constant species (chemostats) keep their amount.

use diffsol::{NalgebraLU, NalgebraMat, OdeBuilder, OdeSolverMethod};
use nalgebra::DMatrix;

use super::{ReversePairs, flux_term};
use crate::ssa::TimeGrid;
use crnkit_core::network::CompiledNetwork;
use crnkit_core::progress::Reporter;
use crnkit_core::{Error, Result};

/// One channel in the form the ODE needs.
#[derive(Debug, Clone)]
struct Channel {
    rate: f64,
    reactants: Vec<(usize, i32)>,
    changes: Vec<(usize, f64)>,
}

/// Mass-action kinetics of a compiled network in count scale.
#[derive(Debug, Clone)]
pub struct MassAction {
    n: usize,
    channels: Vec<Channel>,
}

impl MassAction {
    /// The kinetics of `net`.
    pub fn new(net: &CompiledNetwork) -> MassAction {
        let channels = (0..net.num_channels())
            .map(|r| {
                let (rs, rc) = net.reactants_of(r);
                let (cs, cd) = net.changes_of(r);
                Channel {
                    rate: net.rate(r),
                    reactants: rs
                        .iter()
                        .zip(rc)
                        .map(|(&i, &c)| (i as usize, c as i32))
                        .collect(),
                    changes: cs
                        .iter()
                        .zip(cd)
                        .map(|(&i, &d)| (i as usize, d as f64))
                        .collect(),
                }
            })
            .collect();
        MassAction {
            n: net.num_species(),
            channels,
        }
    }

    /// Number of species.
    pub fn dim(&self) -> usize {
        self.n
    }

    /// J_r(x) = c_r Π x_i^(ν_ir) for every channel.
    pub fn fluxes(&self, x: &[f64], out: &mut [f64]) {
        for (o, ch) in out.iter_mut().zip(&self.channels) {
            let mut j = ch.rate;
            for &(i, nu) in &ch.reactants {
                j *= x[i].max(0.0).powi(nu);
            }
            *o = j;
        }
    }

    /// dx/dt = Σ_r S_r J_r(x).
    pub fn rhs(&self, x: &[f64], dx: &mut [f64]) {
        dx.iter_mut().for_each(|v| *v = 0.0);
        for ch in &self.channels {
            let mut j = ch.rate;
            for &(i, nu) in &ch.reactants {
                j *= x[i].max(0.0).powi(nu);
            }
            for &(i, d) in &ch.changes {
                dx[i] += d * j;
            }
        }
    }

    /// ∂J_r/∂x_i = c_r ν_ir x_i^(ν_ir − 1) Π_{j≠i} x_j^(ν_jr).
    fn flux_gradient(&self, ch: &Channel, x: &[f64], mut f: impl FnMut(usize, f64)) {
        for (k, &(i, nu)) in ch.reactants.iter().enumerate() {
            let mut g = ch.rate * f64::from(nu) * x[i].max(0.0).powi(nu - 1);
            for (kk, &(j, nuj)) in ch.reactants.iter().enumerate() {
                if kk != k {
                    g *= x[j].max(0.0).powi(nuj);
                }
            }
            f(i, g);
        }
    }

    /// The Jacobian–vector product (∂f/∂x) v.
    pub fn jac_vec(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|o| *o = 0.0);
        for ch in &self.channels {
            let mut dj = 0.0;
            self.flux_gradient(ch, x, |i, g| dj += g * v[i]);
            for &(i, d) in &ch.changes {
                out[i] += d * dj;
            }
        }
    }

    /// The Jacobian ∂f/∂x as a dense matrix.
    pub fn jacobian(&self, x: &[f64]) -> DMatrix<f64> {
        let mut m = DMatrix::zeros(self.n, self.n);
        for ch in &self.channels {
            self.flux_gradient(ch, x, |i, g| {
                for &(k, d) in &ch.changes {
                    m[(k, i)] += d * g;
                }
            });
        }
        m
    }

    /// Deterministic entropy production σ(x) = Σ_pairs (J⁺ − J⁻) ln(J⁺/J⁻) ≥ 0 (k_B per
    /// unit time, extensive), and its value per pair (indexed by the pair's forward
    /// channel). A pair with one flux zero and the other positive produces +∞.
    pub fn entropy_production(&self, pairs: &ReversePairs, x: &[f64]) -> (f64, Vec<(usize, f64)>) {
        let mut j = vec![0.0; self.channels.len()];
        self.fluxes(x, &mut j);
        let mut total = 0.0;
        let mut per = Vec::new();
        for r in pairs.forward_channels() {
            let (a, b) = (j[r], j[pairs.reverse(r)]);
            let s = flux_term(a, b);
            total += s;
            per.push((r, s));
        }
        (total, per)
    }
}

/// An ODE solution on a time grid.
#[derive(Debug, Clone)]
pub struct OdeSolution {
    /// Species names.
    pub species: Vec<String>,
    /// Output times.
    pub times: Vec<f64>,
    /// Amounts (count scale) per time.
    pub states: Vec<Vec<f64>>,
    /// Observable names (BioNetGen groups, `.crn` observables).
    pub observables: Vec<String>,
    /// Observable values per time (weighted sums of the amounts).
    pub observable_values: Vec<Vec<f64>>,
}

/// Integrate dx/dt = f(x) from `x0` over `grid` with diffsol's BDF method (variable order,
/// error control with relative tolerance `rtol` and absolute `atol`; Newton iterations
/// with an LU of the Jacobian built from [`MassAction::jac_vec`]).
pub fn integrate(
    net: &CompiledNetwork,
    x0: &[f64],
    grid: &TimeGrid,
    rtol: f64,
    atol: f64,
) -> Result<OdeSolution> {
    integrate_cancellable(net, x0, grid, rtol, atol, &Reporter::none())
}

/// [`integrate`] that stops with [`Error::Cancelled`] soon after `progress`'s cancellation
/// token is cancelled (the right-hand side turns NaN, so the integrator gives up at its
/// next step). Without a token it is [`integrate`], to the bit.
pub fn integrate_cancellable(
    net: &CompiledNetwork,
    x0: &[f64],
    grid: &TimeGrid,
    rtol: f64,
    atol: f64,
    progress: &Reporter,
) -> Result<OdeSolution> {
    net.require_mass_action("the mass-action rate equations")?;
    if !(rtol > 0.0 && atol > 0.0) {
        return Err(Error::InvalidSetting {
            name: "tolerance",
            value: format!("rtol {rtol}, atol {atol}"),
            reason: "ODE tolerances must be > 0",
        });
    }
    let ma = MassAction::new(net);
    let n = ma.dim();
    let times = grid.times().to_vec();
    let mut states = Vec::with_capacity(times.len());
    states.push(x0.to_vec());
    if times.len() > 1 {
        let x0v = x0.to_vec();
        let m1 = ma.clone();
        let m2 = ma.clone();
        let stop = progress.clone();
        let problem = OdeBuilder::<NalgebraMat<f64>>::new()
            .rtol(rtol)
            .atol(vec![atol; n])
            .rhs_implicit(
                move |x: &[f64], _p: &[f64], _t: f64, y: &mut [f64]| {
                    if stop.is_cancelled() {
                        y.fill(f64::NAN);
                    } else {
                        m1.rhs(x, y);
                    }
                },
                move |x: &[f64], _p: &[f64], _t: f64, v: &[f64], y: &mut [f64]| m2.jac_vec(x, v, y),
            )
            .init(
                move |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(&x0v),
                n,
            )
            .build()
            .map_err(|e| Error::Numerical {
                what: "ODE setup",
                reason: e.to_string(),
            })?;
        let mut solver = problem
            .bdf::<NalgebraLU<f64>>()
            .map_err(|e| Error::Numerical {
                what: "ODE solver",
                reason: e.to_string(),
            })?;
        let (ys, _) = solver.solve_dense(&times[1..]).map_err(|e| {
            progress.cancelled_or(Error::Numerical {
                what: "ODE integration",
                reason: e.to_string(),
            })
        })?;
        progress.check_cancelled()?;
        for k in 0..times.len() - 1 {
            states.push((0..n).map(|i| ys[(i, k)]).collect());
        }
    }
    let observable_values = states
        .iter()
        .map(|x| {
            (0..net.observable_names().len())
                .map(|k| net.observable_amount(k, x))
                .collect()
        })
        .collect();
    Ok(OdeSolution {
        species: net.species_names().to_vec(),
        times,
        states,
        observables: net.observable_names().to_vec(),
        observable_values,
    })
}

/// A steady state reached from `x0`: integrate until ‖f(x)‖∞ ≤ 1e-10 · (1 + ‖x‖∞), then
/// polish with Newton steps on the dynamic species (least squares, since conservation laws
/// make the Jacobian singular; the step stays in the stoichiometric class).
pub fn steady_state(net: &CompiledNetwork, x0: &[f64]) -> Result<Vec<f64>> {
    net.require_mass_action("the mass-action steady state")?;
    let ma = MassAction::new(net);
    let n = ma.dim();
    let dynamic: Vec<usize> = (0..n).filter(|&i| !net.is_constant(i)).collect();
    let mut x = x0.to_vec();
    let mut horizon = 10.0;
    let mut f = vec![0.0; n];
    for _ in 0..12 {
        let grid = TimeGrid::from_times(vec![0.0, horizon])?;
        let sol = integrate(net, &x, &grid, 1e-10, 1e-12)?;
        x = sol.states[1].clone();
        ma.rhs(&x, &mut f);
        let scale = 1.0 + x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if f.iter().fold(0.0f64, |a, v| a.max(v.abs())) <= 1e-6 * scale {
            break;
        }
        horizon *= 4.0;
    }
    for _ in 0..20 {
        ma.rhs(&x, &mut f);
        let scale = 1.0 + x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        if f.iter().fold(0.0f64, |a, v| a.max(v.abs())) <= 1e-13 * scale {
            break;
        }
        // Newton on the dynamic species only: a chemostat is held, whatever the least
        // squares step would do with it.
        let jac = ma
            .jacobian(&x)
            .select_rows(&dynamic)
            .select_columns(&dynamic);
        let rhs = -nalgebra::DVector::from_iterator(dynamic.len(), dynamic.iter().map(|&i| f[i]));
        let step = jac
            .svd(true, true)
            .solve(&rhs, 1e-12)
            .map_err(|e| Error::Numerical {
                what: "steady state",
                reason: e.to_string(),
            })?;
        for (k, &i) in dynamic.iter().enumerate() {
            x[i] = (x[i] + step[k]).max(0.0);
        }
    }
    Ok(x)
}
