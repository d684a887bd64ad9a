//! Entropy production and free energy over time as series, one type per method, with the
//! CSV that `crnkit thermo` writes.

use std::fmt::Write as _;

use super::cme_entropy::ThermoSeries;

/// What [`super::thermo`] returns: the series of the method asked for.
#[derive(Debug, Clone)]
pub enum Thermo {
    /// From the CME (exact σ, S, F and per-reaction σ; the FSP error).
    Cme(ThermoSeries),
    /// Ensemble means along SSA paths.
    Ssa(SsaThermo),
    /// The deterministic limit.
    Ode(OdeThermo),
}

/// Path entropies of an SSA ensemble on a grid (units k_B; rates per unit time).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SsaThermo {
    /// Output times.
    pub times: Vec<f64>,
    /// d⟨Δs_tot⟩/dt by finite differences (NaN at the first time).
    pub entropy_production_rate: Vec<f64>,
    /// F relative to the stationary law, from the FSP (NaN where it cannot be computed).
    pub free_energy: Vec<f64>,
    /// Mean and sd of the total entropy produced, Δs_tot.
    pub total_entropy: Vec<(f64, f64)>,
    /// Mean and sd of the medium entropy, Δs_m.
    pub medium_entropy: Vec<(f64, f64)>,
    /// Mean and sd of exp(−Δs_tot) (1 by the integral fluctuation theorem).
    pub exp_minus_total_entropy: Vec<(f64, f64)>,
}

/// The deterministic limit's thermodynamics on a grid.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OdeThermo {
    /// Species names (the columns of `amounts`).
    pub species: Vec<String>,
    /// Output times.
    pub times: Vec<f64>,
    /// σ(x(t)).
    pub entropy_production_rate: Vec<f64>,
    /// ∫₀ᵗ σ dt (trapezoidal on the grid).
    pub total_entropy_produced: Vec<f64>,
    /// Σ_i [x_i ln(x_i / x*_i) − x_i + x*_i] relative to the steady state x*.
    pub free_energy: Vec<f64>,
    /// Amounts per time, one entry per species.
    pub amounts: Vec<Vec<f64>>,
}

impl Thermo {
    /// Output times.
    pub fn times(&self) -> &[f64] {
        match self {
            Thermo::Cme(s) => &s.times,
            Thermo::Ssa(s) => &s.times,
            Thermo::Ode(s) => &s.times,
        }
    }

    /// Entropy production rate σ per time.
    pub fn entropy_production_rate(&self) -> Vec<f64> {
        match self {
            Thermo::Cme(s) => s.values.iter().map(|v| v.entropy_production).collect(),
            Thermo::Ssa(s) => s.entropy_production_rate.clone(),
            Thermo::Ode(s) => s.entropy_production_rate.clone(),
        }
    }

    /// Entropy produced since time 0.
    pub fn total_entropy_produced(&self) -> Vec<f64> {
        match self {
            Thermo::Cme(s) => s.total_entropy_produced.clone(),
            Thermo::Ssa(s) => s.total_entropy.iter().map(|m| m.0).collect(),
            Thermo::Ode(s) => s.total_entropy_produced.clone(),
        }
    }

    /// Free energy relative to the stationary state (NaN where it cannot be computed).
    pub fn free_energy(&self) -> Vec<f64> {
        match self {
            Thermo::Cme(s) => s
                .values
                .iter()
                .map(|v| v.free_energy.unwrap_or(f64::NAN))
                .collect(),
            Thermo::Ssa(s) => s.free_energy.clone(),
            Thermo::Ode(s) => s.free_energy.clone(),
        }
    }

    /// The table `crnkit thermo` writes (see [`super::thermo_table`] for its columns).
    pub fn to_csv(&self) -> String {
        match self {
            Thermo::Cme(s) => s.to_csv(),
            Thermo::Ssa(s) => s.to_csv(),
            Thermo::Ode(s) => s.to_csv(),
        }
    }
}

impl SsaThermo {
    /// `time,entropy_production_rate,total_entropy_produced,free_energy,total_entropy-sd,
    /// medium_entropy-mean,medium_entropy-sd,exp_minus_total_entropy-mean,
    /// exp_minus_total_entropy-sd`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "time,entropy_production_rate,total_entropy_produced,free_energy,total_entropy-sd,medium_entropy-mean,medium_entropy-sd,exp_minus_total_entropy-mean,exp_minus_total_entropy-sd\n",
        );
        for (k, t) in self.times.iter().enumerate() {
            let (rate, f) = (self.entropy_production_rate[k], self.free_energy[k]);
            let (tot, med, exp) = (
                self.total_entropy[k],
                self.medium_entropy[k],
                self.exp_minus_total_entropy[k],
            );
            let _ = writeln!(
                out,
                "{t},{rate},{},{f},{},{},{},{},{}",
                tot.0, tot.1, med.0, med.1, exp.0, exp.1
            );
        }
        out
    }
}

impl OdeThermo {
    /// `time,entropy_production_rate,total_entropy_produced,free_energy,<S1>,<S2>,...`.
    pub fn to_csv(&self) -> String {
        let mut out =
            String::from("time,entropy_production_rate,total_entropy_produced,free_energy");
        for s in &self.species {
            let _ = write!(out, ",{s}");
        }
        out.push('\n');
        for (k, t) in self.times.iter().enumerate() {
            let _ = write!(
                out,
                "{t},{},{},{}",
                self.entropy_production_rate[k],
                self.total_entropy_produced[k],
                self.free_energy[k]
            );
            for v in &self.amounts[k] {
                let _ = write!(out, ",{v}");
            }
            out.push('\n');
        }
        out
    }
}
