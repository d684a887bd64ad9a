//! Entropy production and free energy over time as series, one type per method (their CSV
//! is `crnkit_io::results`).

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
    /// Names of the reaction pairs (the columns of `reaction_entropy_production`).
    pub reactions: Vec<String>,
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
    /// σ per time and reaction pair (Σ over pairs = `entropy_production_rate`).
    pub reaction_entropy_production: Vec<Vec<f64>>,
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

    /// Names of the reaction pairs with a σ of their own (empty for SSA paths, which
    /// resolve no reactions).
    pub fn reactions(&self) -> &[String] {
        match self {
            Thermo::Cme(s) => &s.pair_names,
            Thermo::Ssa(_) => &[],
            Thermo::Ode(s) => &s.reactions,
        }
    }

    /// σ of the reaction pair called `name` (a reaction's label, or its equation) at every
    /// time; an error for a name that is not in [`Thermo::reactions`].
    ///
    /// ```
    /// use crnkit_core::Network;
    /// use crnkit_sim::thermo::{ThermoConfig, ThermoMethod, thermo};
    ///
    /// let net = Network::from_crn_str("species: A = 10, B = 0\nflip: A <-> B @ 1, 2", "ab.crn")?;
    /// for method in [ThermoMethod::Cme, ThermoMethod::Ode] {
    ///     let th = thermo(&net, &ThermoConfig { until: 2.0, method, ..Default::default() })?;
    ///     assert_eq!(th.reactions(), ["flip"]);
    ///     // One pair: its σ is the whole σ.
    ///     assert_eq!(th.reaction_entropy_production("flip")?, th.entropy_production_rate());
    /// }
    /// # Ok::<(), crnkit_core::Error>(())
    /// ```
    pub fn reaction_entropy_production(&self, name: &str) -> crnkit_core::Result<Vec<f64>> {
        let j = super::pair_index(self.reactions(), name)?;
        Ok(match self {
            Thermo::Cme(s) => s.values.iter().map(|v| v.per_pair[j].1).collect(),
            Thermo::Ode(s) => s.reaction_entropy_production.iter().map(|v| v[j]).collect(),
            Thermo::Ssa(_) => Vec::new(),
        })
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
}
