//! The fully chemical learner: a compiler from (model, visible/hidden split, environment)
//! to one ordinary reaction network that learns by itself (Poole, Ouldridge &
//! Gopalkrishnan 2023, §3–4).
//!
//! # The learning network
//! - **Copies.** N free copies of the model ("vesicles") and N clamped copies; species S of
//!   copy c is `S_f<c>` (free) or `S_c<c>` (clamped).
//! - **Parameters are potential species** `P_S`, one per non-constant model species, shared
//!   by all copies, with concentration \[P\] = n_P / K, K = N·ω (ω = `p_volume`). Every model
//!   channel that consumes s molecules of S (net) is catalysed by s molecules of `P_S`, so
//!   its propensity is multiplied by \[P_S\]^s: the effective free energy of S becomes
//!   G_S + ln\[P_S\], and each copy stays detailed balanced at fixed \[P\].
//! - **Learning reactions** per parameter and copy, with rates chosen so that
//!   d\[P\]/dt = ε\[P\](⟨s⟩_free − ⟨q⟩_clamped) + δ(⟨q⟩ − \[P\]²⟨s⟩) (copy averages):
//!   `P + S_f → 2P + S_f` (ε), `2P + S_f → P + S_f` (δ), `P + S_c → S_c` (ε),
//!   `S_c → P + S_c` (δ). With δ = 0 this is gradient descent on D(Q‖P_G) in the log
//!   parameters ln\[P\] (integral feedback: zero error at the fixed point); with δ > 0 every
//!   learning reaction has a reverse, the cost is finite, and the fixed point is biased by
//!   the relative error |δ(1 − \[P\]²)/(\[P\](ε − δ\[P\]))|.
//! - **Clamping.** In a clamped copy the model reactions that change visible species are
//!   replaced by the environment's:
//!   - [`Environment::Poisson`]: fast ∅ ⇌ V (rates κ_c μ, κ_c): V is held at Poisson(μ);
//!   - [`Environment::Table`]: a token species `T<k>_c<c>` per clamped copy carries a data
//!     configuration v_k, hopping v_k → v_l at rate κ_env Q(v_l) (stationary law Q). Each
//!     model channel that moves the visible species towards v_k runs κ_c times faster in
//!     the presence of token k, its reverse slowed by e^(−λm) (m visible species changed): a
//!     potential λ per visible species holds the visible units at the token's
//!     configuration while the hidden species equilibrate, i.e. the copy samples
//!     Q(v)π(h|v) (clamping = conditioning). Visible species must be 0/1 (unit pairs).
//!
//! Every channel's reverse is known by construction, so the entropy produced along an
//! exact trajectory is split into learning, clamping, environment and model parts.

use std::collections::HashMap;

use super::{GenerativeModel, Target};
use crnkit_core::checkpoint::Checkpoint;
use crnkit_core::network::CompiledNetwork;
use crnkit_core::{Error, Network, Result};
use crnkit_sim::cme::ln_factorial;
use crnkit_sim::thermo::ReversePairs;

/// How the clamped copies are held at the data.
#[derive(Debug, Clone, PartialEq)]
pub enum Environment {
    /// Each visible species independently Poisson with these means (model order of
    /// [`GenerativeModel::visible_names`]), by fast birth–death reactions.
    Poisson(Vec<f64>),
    /// A probability table over visible configurations, presented by data tokens.
    Table(Target),
}

/// Settings of the chemical learner.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnerConfig {
    /// Learning rate ε of the learning reactions.
    pub epsilon: f64,
    /// Reverse rate δ of the learning reactions (0: irreversible, infinite cost).
    pub delta: f64,
    /// Number of free and of clamped copies N.
    pub copies: usize,
    /// ω: molecules of each parameter species per unit concentration per copy (K = Nω).
    pub p_volume: f64,
    /// Initial concentration \[P\] of every parameter species (1: start at the model's G).
    pub p0: f64,
    /// Per-parameter initial concentrations overriding `p0` (e.g. a small random
    /// perturbation that breaks the symmetry between hidden units).
    pub p_init: Option<Vec<f64>>,
    /// Clamping speed-up κ_c.
    pub clamp_rate: f64,
    /// Clamping potential λ per visible species (kT).
    pub clamp_strength: f64,
    /// Token hopping rate κ_env (table environments). Hops must be slow against the
    /// relaxation of the hidden species, or the clamped averages are biased towards the
    /// previous configuration (the bias shrinks in proportion to κ_env).
    pub token_rate: f64,
}

impl Default for LearnerConfig {
    fn default() -> Self {
        LearnerConfig {
            epsilon: 0.1,
            delta: 1.0 / 2048.0,
            copies: 100,
            p_volume: 100.0,
            p0: 1.0,
            p_init: None,
            clamp_rate: 100.0,
            clamp_strength: 12.0,
            token_rate: 0.05,
        }
    }
}

impl LearnerConfig {
    /// Check every setting, naming the first bad one.
    pub fn validate(&self) -> Result<()> {
        let pos = |name: &'static str, v: f64| -> Result<()> {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::InvalidSetting {
                    name,
                    value: v.to_string(),
                    reason: "must be a finite number > 0",
                })
            }
        };
        pos("epsilon", self.epsilon)?;
        pos("p_volume", self.p_volume)?;
        pos("p0", self.p0)?;
        pos("clamp_rate", self.clamp_rate)?;
        pos("clamp_strength", self.clamp_strength)?;
        pos("token_rate", self.token_rate)?;
        if !(self.delta.is_finite() && self.delta >= 0.0) {
            return Err(Error::InvalidSetting {
                name: "delta",
                value: self.delta.to_string(),
                reason: "must be a finite number >= 0",
            });
        }
        if let Some(v) = &self.p_init {
            for &x in v {
                pos("p_init", x)?;
            }
        }
        if self.copies == 0 {
            return Err(Error::InvalidSetting {
                name: "copies",
                value: "0".into(),
                reason: "at least one copy",
            });
        }
        Ok(())
    }

    /// Initial \[P\] of each of `n` parameters.
    pub fn initial_p(&self, n: usize) -> Result<Vec<f64>> {
        match &self.p_init {
            None => Ok(vec![self.p0; n]),
            Some(v) if v.len() == n => Ok(v.clone()),
            Some(v) => Err(Error::InvalidSetting {
                name: "p_init",
                value: format!("{} values", v.len()),
                reason: "one initial concentration per parameter (non-constant model species)",
            }),
        }
    }

    /// K = N·ω, parameter molecules per unit concentration.
    pub fn p_scale(&self) -> f64 {
        self.copies as f64 * self.p_volume
    }
}

/// What a channel of the learning machinery does (entropy is accounted per kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// A model reaction in a free or clamped copy.
    Model,
    /// A clamping reaction (fast, environment-driven) in a clamped copy.
    Clamping,
    /// A data token hopping between configurations.
    Environment,
    /// A learning reaction changing a parameter species.
    Learning,
}

impl ChannelKind {
    /// The kinds in the fixed order of [`EntropyAccounts`] (and of the curve's CSV columns).
    pub const ALL: [ChannelKind; 4] = [
        ChannelKind::Learning,
        ChannelKind::Clamping,
        ChannelKind::Environment,
        ChannelKind::Model,
    ];

    /// The kind's name: `learning`, `clamping`, `environment` or `model` (the CSV
    /// columns are `sigma_<name>`).
    pub fn name(self) -> &'static str {
        match self {
            ChannelKind::Learning => "learning",
            ChannelKind::Clamping => "clamping",
            ChannelKind::Environment => "environment",
            ChannelKind::Model => "model",
        }
    }
}

/// Entropy produced (k_B), one account per [`ChannelKind`] of reaction.
///
/// Iteration ([`EntropyAccounts::iter`], [`EntropyAccounts::to_array`]) is in the fixed
/// order learning, clamping, environment, model ([`ChannelKind::ALL`]); an account can also
/// be read by kind (`sigma[ChannelKind::Model]`).
///
/// ```
/// use crnkit_learn::{ChannelKind, EntropyAccounts};
///
/// let sigma = EntropyAccounts { learning: 3.0, model: 0.5, ..Default::default() };
/// assert_eq!(sigma.total(), 3.5);
/// assert_eq!(sigma[ChannelKind::Model], 0.5);
/// assert_eq!(sigma.to_array(), [3.0, 0.0, 0.0, 0.5]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EntropyAccounts {
    /// By the learning reactions (NaN when δ = 0: they have no reverse).
    pub learning: f64,
    /// By the clamping reactions of the clamped copies.
    pub clamping: f64,
    /// By the environment (data tokens hopping between configurations).
    pub environment: f64,
    /// By the model reactions of the free and clamped copies.
    pub model: f64,
}

impl EntropyAccounts {
    /// Every account set to `v`.
    pub fn splat(v: f64) -> EntropyAccounts {
        EntropyAccounts::from_array([v; 4])
    }

    /// The accounts from `[learning, clamping, environment, model]`.
    pub fn from_array(v: [f64; 4]) -> EntropyAccounts {
        let [learning, clamping, environment, model] = v;
        EntropyAccounts {
            learning,
            clamping,
            environment,
            model,
        }
    }

    /// `[learning, clamping, environment, model]`.
    pub fn to_array(&self) -> [f64; 4] {
        [self.learning, self.clamping, self.environment, self.model]
    }

    /// The accounts in the order learning, clamping, environment, model.
    pub fn iter(&self) -> std::array::IntoIter<f64, 4> {
        self.to_array().into_iter()
    }

    /// The kinds with their accounts, in the order of [`ChannelKind::ALL`].
    pub fn by_kind(&self) -> impl Iterator<Item = (ChannelKind, f64)> {
        ChannelKind::ALL.into_iter().zip(self.iter())
    }

    /// The sum of the accounts, added in the fixed order (NaN if one is NaN).
    pub fn total(&self) -> f64 {
        self.iter().sum()
    }

    /// `f` applied to every account.
    pub fn map(&self, f: impl FnMut(f64) -> f64) -> EntropyAccounts {
        EntropyAccounts::from_array(self.to_array().map(f))
    }
}

impl std::ops::Index<ChannelKind> for EntropyAccounts {
    type Output = f64;
    fn index(&self, kind: ChannelKind) -> &f64 {
        match kind {
            ChannelKind::Learning => &self.learning,
            ChannelKind::Clamping => &self.clamping,
            ChannelKind::Environment => &self.environment,
            ChannelKind::Model => &self.model,
        }
    }
}

impl std::ops::IndexMut<ChannelKind> for EntropyAccounts {
    fn index_mut(&mut self, kind: ChannelKind) -> &mut f64 {
        match kind {
            ChannelKind::Learning => &mut self.learning,
            ChannelKind::Clamping => &mut self.clamping,
            ChannelKind::Environment => &mut self.environment,
            ChannelKind::Model => &mut self.model,
        }
    }
}

/// Energy (kT) of one molecule-count of a copy species, e(x) in E(x) = Σ_j e_j(x_j) + …
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum SpeciesEnergy {
    /// Model species with parameter j: (G_j + ln[P_j] − ln Ω) x + ln x!.
    Model { param: usize },
    /// Poisson-clamped visible species: ln x! − x ln μ.
    Poisson { mu: f64 },
    /// Data token of configuration k: −x ln Q(v_k) (plus the clamping potential).
    Token { ln_q: f64 },
}

/// One channel of a copy.
#[derive(Debug, Clone)]
pub(crate) struct Channel {
    pub reactants: Vec<(usize, u32)>,
    pub changes: Vec<(usize, i64)>,
    /// Propensity at [P] = 1: coef · Π (x_i)_(ν_i).
    pub coef: f64,
    /// (parameter, exponent): the propensity is multiplied by Π [P_j]^e.
    pub p_exp: Vec<(usize, u32)>,
    pub reverse: usize,
    pub kind: ChannelKind,
}

/// A free or clamped copy of the model.
#[derive(Debug, Clone)]
pub(crate) struct CopyNet {
    pub names: Vec<String>,
    pub energy: Vec<SpeciesEnergy>,
    pub channels: Vec<Channel>,
    /// Copy indices of the visible species (model visible order).
    pub visible: Vec<usize>,
    /// (token species, its visible configuration) for table environments.
    pub tokens: Vec<(usize, Vec<u32>)>,
    /// λ (table environments; 0 otherwise).
    pub lambda: f64,
}

impl CopyNet {
    /// Put the data token of the state's visible configuration into clamped state `s`
    /// (nothing without tokens).
    pub fn place_token(&self, s: &mut [u32]) -> Result<()> {
        if self.tokens.is_empty() {
            return Ok(());
        }
        let vis: Vec<u32> = self.visible.iter().map(|&i| s[i]).collect();
        let t = self
            .tokens
            .iter()
            .find(|(_, v)| *v == vis)
            .map(|(t, _)| *t)
            .ok_or_else(|| Error::Numerical {
                what: "clamped copy",
                reason: format!(
                    "the visible configuration {vis:?} is outside the target's support"
                ),
            })?;
        s[t] = 1;
        Ok(())
    }

    pub fn propensity(&self, ch: usize, x: &[u32], p: &[f64]) -> f64 {
        let c = &self.channels[ch];
        let mut a = c.coef;
        for &(i, nu) in &c.reactants {
            let xi = x[i];
            if xi < nu {
                return 0.0;
            }
            for k in 0..nu {
                a *= f64::from(xi - k);
            }
        }
        for &(j, e) in &c.p_exp {
            a *= p[j].powi(e as i32);
        }
        a
    }

    /// E(x) at parameter concentrations `p` (kT), with G and ln Ω from `g0`, `ln_omega`.
    pub fn energy(&self, x: &[u32], g0: &[f64], p: &[f64], ln_omega: f64) -> f64 {
        let mut e = 0.0;
        for (j, (&xj, en)) in x.iter().zip(&self.energy).enumerate() {
            let v = f64::from(xj);
            e += match *en {
                SpeciesEnergy::Model { param } => {
                    (g0[param] + p[param].ln() - ln_omega) * v + ln_factorial(u64::from(xj))
                }
                SpeciesEnergy::Poisson { mu } => ln_factorial(u64::from(xj)) - v * mu.ln(),
                SpeciesEnergy::Token { ln_q } => {
                    if xj > 0 {
                        let cfg = self
                            .tokens
                            .iter()
                            .find(|(t, _)| *t == j)
                            .map_or(&[][..], |(_, c)| c.as_slice());
                        let ham: u32 = self
                            .visible
                            .iter()
                            .zip(cfg)
                            .map(|(&i, &w)| x[i].abs_diff(w))
                            .sum();
                        -v * ln_q + v * self.lambda * f64::from(ham)
                    } else {
                        0.0
                    }
                }
            };
        }
        e
    }
}

/// Initial states of the free and of the clamped copies.
type CopyStates = (Vec<Vec<u32>>, Vec<Vec<u32>>);

/// The compiled learner: the model, its target, the two copy networks and the settings.
#[derive(Debug, Clone)]
pub struct Learner {
    pub(crate) model: GenerativeModel,
    pub(crate) target: Target,
    pub(crate) environment: Environment,
    pub(crate) free: CopyNet,
    pub(crate) clamped: CopyNet,
    pub(crate) config: LearnerConfig,
    pub(crate) ln_omega: f64,
}

fn falling(count: u64, nu: u32) -> f64 {
    (0..u64::from(nu))
        .map(|k| count.saturating_sub(k) as f64)
        .product()
}

/// The model's channels as copy channels (copy species = the model's non-constant species
/// in parameter order; constant species folded into the coefficient).
fn model_channels(model: &GenerativeModel) -> Result<(CompiledNetwork, Vec<Channel>)> {
    let net = model.network();
    let compiled = net.compile();
    let pairs = ReversePairs::new(&compiled, &|r| net.reaction_name(r))?;
    let mut copy_index = vec![usize::MAX; compiled.num_species()];
    for (j, &i) in model.dynamic.iter().enumerate() {
        copy_index[i] = j;
    }
    let x0 = compiled.initial_state();
    let mut out = Vec::with_capacity(compiled.num_channels());
    for r in 0..compiled.num_channels() {
        let (rs, rc) = compiled.reactants_of(r);
        let mut coef = compiled.rate(r);
        let mut reactants = Vec::new();
        for (&i, &c) in rs.iter().zip(rc) {
            let i = i as usize;
            if compiled.is_constant(i) {
                coef *= falling(x0[i], c);
            } else {
                reactants.push((copy_index[i], c));
            }
        }
        let (cs, cd) = compiled.changes_of(r);
        let changes: Vec<(usize, i64)> = cs
            .iter()
            .zip(cd)
            .map(|(&i, &d)| (copy_index[i as usize], d))
            .collect();
        let p_exp = changes
            .iter()
            .filter(|&&(_, d)| d < 0)
            .map(|&(j, d)| (j, (-d) as u32))
            .collect();
        out.push(Channel {
            reactants,
            changes,
            coef,
            p_exp,
            reverse: pairs.reverse(r),
            kind: ChannelKind::Model,
        });
    }
    Ok((compiled, out))
}

/// The clamped copy before its environment is added: the model channels that leave the
/// visible species alone (reverses renumbered), with the model's species and energies.
fn unclamped_copy(channels: &[Channel], vis_copy: Vec<usize>, names: Vec<String>) -> CopyNet {
    let n = names.len();
    let changes_visible = |c: &Channel| c.changes.iter().any(|(j, _)| vis_copy.contains(j));
    // Keep the model channels that leave the visible species alone.
    let mut keep_index = vec![usize::MAX; channels.len()];
    let mut clamped_channels = Vec::new();
    for (r, c) in channels.iter().enumerate() {
        if !changes_visible(c) {
            keep_index[r] = clamped_channels.len();
            clamped_channels.push(c.clone());
        }
    }
    for c in clamped_channels.iter_mut() {
        c.reverse = keep_index[c.reverse];
    }
    let energy: Vec<SpeciesEnergy> = (0..n).map(|j| SpeciesEnergy::Model { param: j }).collect();
    CopyNet {
        names,
        energy,
        channels: clamped_channels,
        visible: vis_copy,
        tokens: Vec::new(),
        lambda: 0.0,
    }
}

/// Clamp the visible species of `clamped` to independent Poisson laws with means `mus`
/// (fast birth–death reactions); the target is their product over the model's visible
/// configurations.
fn clamp_poisson(
    model: &GenerativeModel,
    config: &LearnerConfig,
    clamped: &mut CopyNet,
    mus: &[f64],
) -> Result<Target> {
    if mus.len() != clamped.visible.len() || mus.iter().any(|m| !(m.is_finite() && *m > 0.0)) {
        return Err(Error::InvalidSetting {
            name: "environment means",
            value: format!("{mus:?}"),
            reason: "one finite mean > 0 per visible species",
        });
    }
    // Poisson clamping moves a visible count freely: no conservation law may
    // involve it (the clamped copy would leave the model's class).
    let laws = model.network().analyze()?.conservation.laws;
    for &i in &model.visible {
        if laws.iter().any(|l| l[i] != 0) {
            return Err(Error::Unsupported {
                feature: format!(
                    "a Poisson environment for `{}`, which a conservation law bounds (use a table environment)",
                    model.species[i]
                ),
            });
        }
    }
    for (&j, &mu) in clamped.visible.iter().zip(mus) {
        clamped.energy[j] = SpeciesEnergy::Poisson { mu };
        let k = clamped.channels.len();
        clamped.channels.push(Channel {
            reactants: vec![],
            changes: vec![(j, 1)],
            coef: config.clamp_rate * mu,
            p_exp: vec![],
            reverse: k + 1,
            kind: ChannelKind::Clamping,
        });
        clamped.channels.push(Channel {
            reactants: vec![(j, 1)],
            changes: vec![(j, -1)],
            coef: config.clamp_rate,
            p_exp: vec![],
            reverse: k,
            kind: ChannelKind::Clamping,
        });
    }
    // The target table: the product of Poisson laws over the model's visible
    // configurations (truncated to what the class can show).
    let rows: Vec<(Vec<u32>, f64)> = model
        .visible_states
        .iter()
        .map(|v| {
            let lw: f64 = v
                .iter()
                .zip(mus)
                .map(|(&x, &mu)| f64::from(x) * mu.ln() - mu - ln_factorial(u64::from(x)))
                .sum();
            (v.clone(), lw.exp())
        })
        .collect();
    // A cap below the target's bulk would learn a different law (and report D = 0 for a
    // cap of 0): refuse when the model cannot show the target.
    let covered: f64 = rows.iter().map(|r| r.1).sum();
    if covered.is_nan() || covered < 1.0 - MAX_TARGET_TRUNCATION {
        return Err(Error::InvalidSetting {
            name: "cap",
            value: format!(
                "{} (the model's configurations hold {covered:.6} of the target's mass)",
                model
                    .cap()
                    .map_or_else(|| "none".to_string(), |c| c.to_string())
            ),
            reason: "the target puts mass on counts the model cannot reach: raise the cap",
        });
    }
    model.target(&rows)
}

/// The largest share of a Poisson target's mass that may lie beyond the model's states.
pub const MAX_TARGET_TRUNCATION: f64 = 1e-6;

/// Clamp the visible species of `clamped` to the table `t`: one data token per
/// configuration of positive probability, token hops detailed balanced with respect to Q,
/// and token-catalysed copies of the model `channels` that move the visible species
/// towards the token's configuration.
fn clamp_table(
    model: &GenerativeModel,
    config: &LearnerConfig,
    clamped: &mut CopyNet,
    channels: &[Channel],
    t: &Target,
) -> Result<Target> {
    let t = model.target(
        &t.states
            .iter()
            .cloned()
            .zip(t.probabilities.iter().copied())
            .collect::<Vec<_>>(),
    )?;
    if let Some(v) = model
        .visible_states
        .iter()
        .find(|v| v.iter().any(|&c| c > 1))
    {
        return Err(Error::Unsupported {
            feature: format!(
                "a table environment needs visible species with counts 0 or 1 (unit pairs such as X0/X1); the class shows the visible configuration {v:?}; use a Poisson environment"
            ),
        });
    }
    clamped.lambda = config.clamp_strength;
    for (k, (v, &q)) in t.states.iter().zip(&t.probabilities).enumerate() {
        if q <= 0.0 {
            continue;
        }
        let s = clamped.names.len();
        clamped.names.push(format!("T{k}"));
        clamped.energy.push(SpeciesEnergy::Token { ln_q: q.ln() });
        clamped.tokens.push((s, v.clone()));
    }
    add_token_hops(config, clamped, &t);
    add_token_clamping(config, clamped, channels);
    Ok(t)
}

/// Token hops between every pair of data tokens, detailed balanced with respect to Q.
fn add_token_hops(config: &LearnerConfig, clamped: &mut CopyNet, t: &Target) {
    let qs: Vec<f64> = t
        .probabilities
        .iter()
        .copied()
        .filter(|&q| q > 0.0)
        .collect();
    let tokens = &clamped.tokens;
    for a in 0..tokens.len() {
        for b in (a + 1)..tokens.len() {
            let k = clamped.channels.len();
            let (ta, tb) = (tokens[a].0, tokens[b].0);
            clamped.channels.push(Channel {
                reactants: vec![(ta, 1)],
                changes: vec![(ta, -1), (tb, 1)],
                coef: config.token_rate * qs[b],
                p_exp: vec![],
                reverse: k + 1,
                kind: ChannelKind::Environment,
            });
            clamped.channels.push(Channel {
                reactants: vec![(tb, 1)],
                changes: vec![(tb, -1), (ta, 1)],
                coef: config.token_rate * qs[a],
                p_exp: vec![],
                reverse: k,
                kind: ChannelKind::Environment,
            });
        }
    }
}

/// Clamping: model `channels` that move the visible species towards v_k, catalysed by
/// token k (the reverse damped by exp(−λ m) for m visible changes).
fn add_token_clamping(config: &LearnerConfig, clamped: &mut CopyNet, channels: &[Channel]) {
    let (vis_copy, tokens, lambda) = (&clamped.visible, &clamped.tokens, clamped.lambda);
    for c in channels {
        let vis_changes: Vec<(usize, i64)> = c
            .changes
            .iter()
            .filter_map(|&(j, d)| vis_copy.iter().position(|&v| v == j).map(|pos| (pos, d)))
            .collect();
        if vis_changes.is_empty() {
            continue;
        }
        let m = vis_changes.len() as f64;
        for &(ts, ref v) in tokens {
            let toward = vis_changes
                .iter()
                .all(|&(pos, d)| (d == 1 && v[pos] == 1) || (d == -1 && v[pos] == 0));
            if !toward {
                continue;
            }
            let back = &channels[c.reverse];
            let k = clamped.channels.len();
            let with_token = |ch: &Channel| {
                let mut re = ch.reactants.clone();
                re.push((ts, 1));
                re
            };
            clamped.channels.push(Channel {
                reactants: with_token(c),
                changes: c.changes.clone(),
                coef: config.clamp_rate * c.coef,
                p_exp: c.p_exp.clone(),
                reverse: k + 1,
                kind: ChannelKind::Clamping,
            });
            clamped.channels.push(Channel {
                reactants: with_token(back),
                changes: back.changes.clone(),
                coef: config.clamp_rate * back.coef * (-lambda * m).exp(),
                p_exp: back.p_exp.clone(),
                reverse: k,
                kind: ChannelKind::Clamping,
            });
        }
    }
}

impl Learner {
    /// Compile the learner of `model` for `environment` with `config`.
    ///
    /// Errors: invalid settings; a Poisson environment with the wrong number of means or a
    /// mean ≤ 0; a table over configurations the model cannot show (see
    /// [`GenerativeModel::target`]); a table environment whose visible species are not all
    /// 0/1 on the class; clamped copies whose remaining reactions cannot equilibrate the
    /// hidden species at some configuration of the target.
    pub fn new(
        model: &GenerativeModel,
        environment: Environment,
        config: &LearnerConfig,
    ) -> Result<Learner> {
        config.validate()?;
        let (_, channels) = model_channels(model)?;
        let n = model.dynamic.len();
        let names: Vec<String> = model
            .dynamic
            .iter()
            .map(|&i| model.species[i].clone())
            .collect();
        let vis_copy: Vec<usize> = model
            .visible
            .iter()
            .map(|&i| model.dynamic.iter().position(|&d| d == i).unwrap_or(0))
            .collect();
        let free = CopyNet {
            names: names.clone(),
            energy: (0..n).map(|j| SpeciesEnergy::Model { param: j }).collect(),
            channels: channels.clone(),
            visible: vis_copy.clone(),
            tokens: Vec::new(),
            lambda: 0.0,
        };
        let mut clamped = unclamped_copy(&channels, vis_copy, names);
        let target = match &environment {
            Environment::Poisson(mus) => clamp_poisson(model, config, &mut clamped, mus)?,
            Environment::Table(t) => clamp_table(model, config, &mut clamped, &channels, t)?,
        };
        model.check_clamped_connectivity(&target)?;
        Ok(Learner {
            model: model.clone(),
            target,
            environment,
            free,
            clamped,
            config: config.clone(),
            ln_omega: model.network().volume().ln(),
        })
    }

    /// The target the clamped copies present (a Poisson environment gives the product of
    /// Poisson laws over the model's visible configurations).
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The settings.
    pub fn config(&self) -> &LearnerConfig {
        &self.config
    }

    /// The generative model being learned.
    pub fn model(&self) -> &GenerativeModel {
        &self.model
    }

    /// Parameter (model species) names.
    pub fn parameter_names(&self) -> Vec<&str> {
        self.model.parameter_names()
    }

    /// Effective free energies G_i + ln\[P_i\].
    pub fn effective_parameters(&self, p: &[f64]) -> Vec<f64> {
        self.model
            .initial
            .iter()
            .zip(p)
            .map(|(g, pi)| g + pi.ln())
            .collect()
    }

    /// Fails with [`Error::Irreversible`] naming the learning reactions when δ = 0 (their
    /// entropy production is infinite).
    pub fn require_finite_cost(&self) -> Result<()> {
        if self.config.delta > 0.0 {
            Ok(())
        } else {
            Err(Error::Irreversible {
                reactions: "the learning reactions P + S_f -> 2 P + S_f and P + S_c -> S_c (delta = 0: give delta > 0 for a finite cost)".into(),
            })
        }
    }

    /// Initial copy states for `copies` free and clamped copies: free copies drawn from
    /// π_G, clamped ones from Q(v)π_G(h|v) (stratified over the data), with the run's seed.
    fn initial_copies(&self, seed: u64) -> Result<CopyStates> {
        use rand::Rng as _;
        let g = self.effective_parameters(&self.config.initial_p(self.model.dynamic.len())?);
        let e = self.model.expectations(&self.target, &g)?;
        let cum = |w: &[f64]| -> Vec<f64> {
            let mut acc = 0.0;
            w.iter()
                .map(|v| {
                    acc += v;
                    acc
                })
                .collect()
        };
        let (cf, cc) = (cum(&e.stationary), cum(&e.clamped_law));
        let n = self.config.copies;
        let mut rng = crnkit_core::rng::stream(seed, u64::MAX);
        let project = |x: usize| -> Vec<u32> {
            let s = self.model.space.state(x);
            self.model.dynamic.iter().map(|&i| s[i]).collect()
        };
        let mut free = Vec::with_capacity(n);
        let mut clamped = Vec::with_capacity(n);
        for c in 0..n {
            let u: f64 = rng.random();
            free.push(project(crnkit_sim::thermo::path::draw(&cf, u)));
            // Stratified over the clamped law: copy c takes the quantile (c + u)/N.
            let u2: f64 = rng.random();
            let x = crnkit_sim::thermo::path::draw(&cc, (c as f64 + u2) / n as f64);
            let mut s = project(x);
            s.resize(self.clamped.names.len(), 0);
            self.clamped.place_token(&mut s)?;
            if let Environment::Poisson(mus) = &self.environment {
                // Visible counts from Poisson(μ) (the clamped law above is truncated to the
                // class; redraw exactly).
                for (&j, &mu) in self.clamped.visible.iter().zip(mus) {
                    s[j] = poisson(mu, &mut rng);
                }
            }
            clamped.push(s);
        }
        Ok((free, clamped))
    }

    /// The learning network with N copies as an ordinary crnkit network (one-way
    /// reactions; initial copy states drawn with `seed`), with the kind and reverse of
    /// every reaction (`usize::MAX` for an irreversible learning reaction when δ = 0).
    pub fn learning_network(&self, seed: u64) -> Result<LearningNetwork> {
        let cfg = &self.config;
        let n = cfg.copies;
        let k_scale = cfg.p_scale();
        let params: Vec<String> = self
            .parameter_names()
            .iter()
            .map(|s| format!("P_{s}"))
            .collect();
        let (free0, clamped0) = self.initial_copies(seed)?;
        let mut b = Network::builder();
        for (p, p0) in params.iter().zip(cfg.initial_p(params.len())?) {
            let count = (p0 * k_scale).round();
            if count > crnkit_core::network::MAX_COUNT as f64 || count < 1.0 {
                return Err(Error::InvalidSetting {
                    name: "p0 * copies * p_volume",
                    value: count.to_string(),
                    reason: "each initial parameter count must be between 1 and 2^53 - 1",
                });
            }
            b = b.species(p, count as u64);
        }
        let fname = |j: usize, c: usize| format!("{}_f{}", self.free.names[j], c + 1);
        let cname = |j: usize, c: usize| format!("{}_c{}", self.clamped.names[j], c + 1);
        for c in 0..n {
            for (j, &x) in free0[c].iter().enumerate() {
                b = b.species(&fname(j, c), u64::from(x));
            }
            for (j, &x) in clamped0[c].iter().enumerate() {
                b = b.species(&cname(j, c), u64::from(x));
            }
        }
        let mut out = LearningReactions {
            b,
            kinds: Vec::new(),
            reverse: Vec::new(),
        };
        self.add_copy_reactions(&mut out, &params, &fname, &cname);
        self.add_learning_reactions(&mut out, &params, &fname, &cname);
        let LearningReactions { b, kinds, reverse } = out;
        let network = b.build()?;
        Ok(LearningNetwork {
            network,
            kinds,
            reverse,
            params: (0..params.len()).collect(),
            free_species: (0..n)
                .map(|c| {
                    (0..self.free.names.len())
                        .map(|j| {
                            params.len()
                                + c * (self.free.names.len() + self.clamped.names.len())
                                + j
                        })
                        .collect()
                })
                .collect(),
            clamped_species: (0..n)
                .map(|c| {
                    (0..self.clamped.names.len())
                        .map(|j| {
                            params.len()
                                + c * (self.free.names.len() + self.clamped.names.len())
                                + self.free.names.len()
                                + j
                        })
                        .collect()
                })
                .collect(),
            p_scale: k_scale,
        })
    }

    /// The channels of every free and clamped copy, with the parameter species
    /// as catalysts of order `p_exp` (rates scaled by the parameter volume).
    fn add_copy_reactions(
        &self,
        out: &mut LearningReactions,
        params: &[String],
        fname: &dyn Fn(usize, usize) -> String,
        cname: &dyn Fn(usize, usize) -> String,
    ) {
        let k_scale = self.config.p_scale();
        let mut base = 0usize;
        for c in 0..self.config.copies {
            for (copy, name) in [(&self.free, fname), (&self.clamped, cname)] {
                for ch in &copy.channels {
                    let mut reac: Vec<(String, u32)> =
                        ch.reactants.iter().map(|&(j, v)| (name(j, c), v)).collect();
                    let mut prod_counts: HashMap<usize, i64> = ch
                        .reactants
                        .iter()
                        .map(|&(j, v)| (j, i64::from(v)))
                        .collect();
                    for &(j, d) in &ch.changes {
                        *prod_counts.entry(j).or_insert(0) += d;
                    }
                    let mut prod: Vec<(String, u32)> = prod_counts
                        .into_iter()
                        .filter(|&(_, v)| v > 0)
                        .map(|(j, v)| (name(j, c), v as u32))
                        .collect();
                    prod.sort();
                    let mut order = 0u32;
                    for &(j, e) in &ch.p_exp {
                        reac.push((params[j].clone(), e));
                        prod.push((params[j].clone(), e));
                        order += e;
                    }
                    let rate = ch.coef / k_scale.powi(order as i32);
                    out.add(reac, prod, rate, ch.kind, base + ch.reverse);
                }
                base += copy.channels.len();
            }
        }
    }

    /// The learning reactions P + S_f -> 2 P + S_f and P + S_c -> S_c of every copy and
    /// parameter, with their reverses when δ > 0.
    fn add_learning_reactions(
        &self,
        out: &mut LearningReactions,
        params: &[String],
        fname: &dyn Fn(usize, usize) -> String,
        cname: &dyn Fn(usize, usize) -> String,
    ) {
        let cfg = &self.config;
        let n = cfg.copies;
        let k_scale = cfg.p_scale();
        let (eps, delta) = (cfg.epsilon / n as f64, cfg.delta);
        for c in 0..n {
            for (j, p) in params.iter().enumerate() {
                let s = fname(j, c);
                let q = cname(j, c);
                let r0 = out.kinds.len();
                let rev = |k: usize| if delta > 0.0 { k } else { usize::MAX };
                out.add(
                    vec![(p.clone(), 1), (s.clone(), 1)],
                    vec![(p.clone(), 2), (s.clone(), 1)],
                    eps,
                    ChannelKind::Learning,
                    rev(r0 + 1),
                );
                if delta > 0.0 {
                    out.add(
                        vec![(p.clone(), 2), (s.clone(), 1)],
                        vec![(p.clone(), 1), (s.clone(), 1)],
                        delta / (n as f64 * k_scale),
                        ChannelKind::Learning,
                        r0,
                    );
                }
                let r1 = out.kinds.len();
                out.add(
                    vec![(p.clone(), 1), (q.clone(), 1)],
                    vec![(q.clone(), 1)],
                    eps,
                    ChannelKind::Learning,
                    rev(r1 + 1),
                );
                if delta > 0.0 {
                    out.add(
                        vec![(q.clone(), 1)],
                        vec![(p.clone(), 1), (q.clone(), 1)],
                        delta * k_scale / n as f64,
                        ChannelKind::Learning,
                        r1,
                    );
                }
            }
        }
    }
}

use crnkit_core::NetworkBuilder;

/// The learning network's builder with the kind and reverse of every reaction so far.
struct LearningReactions {
    b: NetworkBuilder,
    kinds: Vec<ChannelKind>,
    reverse: Vec<usize>,
}

impl LearningReactions {
    /// Add the one-way reaction `reac -> prod` at `rate`, of `kind`, with reverse `rev`.
    fn add(
        &mut self,
        reac: Vec<(String, u32)>,
        prod: Vec<(String, u32)>,
        rate: f64,
        kind: ChannelKind,
        rev: usize,
    ) {
        self.kinds.push(kind);
        self.reverse.push(rev);
        let r: Vec<(&str, u32)> = reac.iter().map(|(s, c)| (s.as_str(), *c)).collect();
        let p: Vec<(&str, u32)> = prod.iter().map(|(s, c)| (s.as_str(), *c)).collect();
        self.b = std::mem::take(&mut self.b).reaction(&r, &p, rate);
    }
}

/// The learning network and its bookkeeping.
#[derive(Debug, Clone)]
pub struct LearningNetwork {
    /// The network (one-way reactions; reaction r is channel r).
    pub network: Network,
    /// Kind of every reaction.
    pub kinds: Vec<ChannelKind>,
    /// Reverse reaction of every reaction (`usize::MAX`: none).
    pub reverse: Vec<usize>,
    /// Species index of each parameter species.
    pub params: Vec<usize>,
    /// Species indices of each free copy (per model parameter).
    pub free_species: Vec<Vec<usize>>,
    /// Species indices of each clamped copy (model species, then tokens).
    pub clamped_species: Vec<Vec<usize>>,
    /// K: parameter molecules per unit concentration.
    pub p_scale: f64,
}

/// A Poisson(μ) draw by inversion (small μ) or the PTRS transformed rejection (Hörmann
/// 1993) for μ ≥ 10.
pub(crate) fn poisson(mu: f64, rng: &mut crnkit_core::rng::Rng) -> u32 {
    use rand::Rng as _;
    if mu < 10.0 {
        let mut k = 0u32;
        let mut p = (-mu).exp();
        let mut s = p;
        let u: f64 = rng.random();
        while u > s && k < 10_000 {
            k += 1;
            p *= mu / f64::from(k);
            s += p;
        }
        return k;
    }
    let slam = mu.sqrt();
    let loglam = mu.ln();
    let b = 0.931 + 2.53 * slam;
    let a = -0.059 + 0.02483 * b;
    let inv_alpha = 1.1239 + 1.1328 / (b - 3.4);
    let vr = 0.9277 - 3.6224 / (b - 2.0);
    loop {
        let u: f64 = rng.random::<f64>() - 0.5;
        let v: f64 = rng.random();
        let us = 0.5 - u.abs();
        let k = ((2.0 * a / us + b) * u + mu + 0.43).floor();
        if us >= 0.07 && v <= vr {
            return k as u32;
        }
        if k < 0.0 || (us < 0.013 && v > us) {
            continue;
        }
        if (v * inv_alpha / (a / (us * us) + b)).ln() <= -mu + k * loglam - ln_factorial(k as u64) {
            return k as u32;
        }
    }
}

/// JSON has no infinities or NaN: the accounts are stored as the bit patterns of
/// `[learning, clamping, environment, model]` (the checkpoint's form).
mod bits_accounts {
    use super::EntropyAccounts;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &EntropyAccounts, s: S) -> Result<S::Ok, S::Error> {
        v.to_array().map(f64::to_bits).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<EntropyAccounts, D::Error> {
        let v = Vec::<u64>::deserialize(d)?;
        let v: [u64; 4] = v
            .try_into()
            .map_err(|_| serde::de::Error::custom("wrong number of values"))?;
        Ok(EntropyAccounts::from_array(v.map(f64::from_bits)))
    }
}

/// One output time of a learning run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CurvePoint {
    /// Time.
    pub time: f64,
    /// D(Q‖P_G) at the effective parameters G + ln\[P\] (nats).
    #[serde(with = "bit")]
    pub kl: f64,
    /// Parameter concentrations \[P_i\].
    pub p: Vec<f64>,
    /// Mean count per free copy of each model species.
    pub free: Vec<f64>,
    /// Mean count per clamped copy of each model species.
    pub clamped: Vec<f64>,
    /// Entropy produced per copy so far (k_B) by learning, clamping, environment and
    /// model reactions (NaN when not accounted; +∞ after a jump whose reverse is
    /// impossible). Per copy of the model, not divided by the parameter volume ω
    /// (`p_volume`): the learning account grows in proportion to ω (the guide's study
    /// figures quote it per unit ω).
    #[serde(with = "bits_accounts")]
    pub sigma: EntropyAccounts,
}

mod bits_rows {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[[f64; 2]], s: S) -> Result<S::Ok, S::Error> {
        v.iter()
            .map(|r| [r[0].to_bits(), r[1].to_bits()])
            .collect::<Vec<[u64; 2]>>()
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[f64; 2]>, D::Error> {
        Ok(Vec::<[u64; 2]>::deserialize(d)?
            .into_iter()
            .map(|r| [f64::from_bits(r[0]), f64::from_bits(r[1])])
            .collect())
    }
}

mod bit {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        v.to_bits().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(f64::from_bits(u64::deserialize(d)?))
    }
}

/// A learning curve: the state of the learner on a time grid.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LearningCurve {
    /// How it was computed (`ssa`, `limit`).
    pub method: String,
    /// Parameter (model species) names.
    pub names: Vec<String>,
    /// Initial free energies G (the effective ones are G + ln\[P\]).
    pub g0: Vec<f64>,
    /// The points.
    pub points: Vec<CurvePoint>,
    /// Energy balance residual W − ΔF − Σ of the free and the clamped copy per point
    /// (large-ensemble limit only; empty for exact simulation).
    #[serde(default, with = "bits_rows")]
    pub balance: Vec<[f64; 2]>,
}

impl LearningCurve {
    /// Effective free energies at point `k`.
    pub fn effective(&self, k: usize) -> Vec<f64> {
        self.g0
            .iter()
            .zip(&self.points[k].p)
            .map(|(g, p)| g + p.ln())
            .collect()
    }

    /// CSV: `time,kl,entropy_produced,sigma_learning,sigma_clamping,sigma_environment,
    /// sigma_model`, then `G_<S>`, `P_<S>`, `free_<S>`, `clamped_<S>` per model species.
    pub fn to_csv(&self) -> String {
        let mut s = String::from(
            "time,kl,entropy_produced,sigma_learning,sigma_clamping,sigma_environment,sigma_model",
        );
        for prefix in ["G", "P", "free", "clamped"] {
            for n in &self.names {
                s.push_str(&format!(",{prefix}_{n}"));
            }
        }
        s.push('\n');
        for (k, pt) in self.points.iter().enumerate() {
            s.push_str(&format!("{},{},{}", pt.time, pt.kl, pt.sigma.total()));
            for v in pt
                .sigma
                .iter()
                .chain(self.effective(k))
                .chain(pt.p.iter().copied())
                .chain(pt.free.iter().copied())
                .chain(pt.clamped.iter().copied())
            {
                s.push_str(&format!(",{v}"));
            }
            s.push('\n');
        }
        s
    }
}

/// Time grid, seed and bookkeeping of a learning run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// End time.
    pub until: f64,
    /// Output interval.
    pub every: f64,
    /// Master seed (SSA: chunk k between output times uses stream (seed, k)).
    pub seed: u64,
    /// Where progress reports go (nowhere by default).
    pub progress: crnkit_core::progress::Reporter,
    /// Checkpoint file, rewritten atomically after every output time; an existing one
    /// from the same run is resumed.
    pub checkpoint: Option<std::path::PathBuf>,
    /// Stop once this time is reached (the checkpoint then holds the run so far; running
    /// again without it finishes the run exactly as if it had not stopped).
    pub stop_after: Option<f64>,
}

impl RunConfig {
    /// A grid to `until` every `every`, seeded, quiet, without a checkpoint.
    pub fn new(until: f64, every: f64, seed: u64) -> RunConfig {
        RunConfig {
            until,
            every,
            seed,
            progress: crnkit_core::progress::Reporter::none(),
            checkpoint: None,
            stop_after: None,
        }
    }
}

impl Default for RunConfig {
    /// t = 0..100 every 1 with seed 1, quiet, without a checkpoint (the job file's defaults).
    fn default() -> Self {
        RunConfig::new(100.0, 1.0, 1)
    }
}

/// The resumable state of a learning run, kept in the one checkpoint format
/// (`crnkit_core::checkpoint`, job `learn`).
#[derive(serde::Serialize, serde::Deserialize)]
struct LearnState {
    /// Bit patterns of the state (exact, and JSON cannot hold infinities).
    state: Vec<u64>,
    curve: LearningCurve,
}

fn checkpoint_of(path: &std::path::Path, fingerprint: &str) -> Result<Checkpoint> {
    Checkpoint::new(path, "learn", &fingerprint)
}

/// What a run resuming from a checkpoint needs of it: checked before anything is indexed,
/// so that a checkpoint that parses but does not fit the run is refused by name.
pub(crate) struct Resumable<'a> {
    /// Length of the saved state.
    pub state_len: usize,
    /// The run's output times: the curve must be a non-empty prefix of them (`None`: times
    /// strictly increasing).
    pub grid: Option<&'a [f64]>,
    /// Parameter names of the learner (the curve's `names`).
    pub names: Vec<String>,
    /// The state's first `whole` entries are counts (whole, non-negative, finite).
    pub whole: usize,
}

impl Resumable<'_> {
    fn check(&self, state: &[f64], curve: &LearningCurve) -> std::result::Result<(), &'static str> {
        if state.len() != self.state_len {
            return Err("the checkpoint's state has the wrong length for this learner");
        }
        if state[..self.whole]
            .iter()
            .any(|v| !(v.is_finite() && *v >= 0.0 && v.fract() == 0.0))
        {
            return Err("the checkpoint's state holds a count that is not a whole number ≥ 0");
        }
        if state.iter().any(|v| v.is_nan()) {
            return Err("the checkpoint's state holds NaN");
        }
        if curve.names != self.names || curve.g0.len() != self.names.len() {
            return Err("the checkpoint's curve is for other parameters");
        }
        let Some(first) = curve.points.first() else {
            return Err("the checkpoint's curve has no points");
        };
        let n = self.names.len();
        let (nf, nc) = (first.free.len(), first.clamped.len());
        for (k, pt) in curve.points.iter().enumerate() {
            if pt.p.len() != n || pt.free.len() != nf || pt.clamped.len() != nc {
                return Err("the checkpoint's curve has points of different lengths");
            }
            if !pt.time.is_finite() || (k > 0 && pt.time <= curve.points[k - 1].time) {
                return Err("the checkpoint's curve does not run forward in time");
            }
        }
        if let Some(grid) = self.grid {
            let fits = curve.points.len() <= grid.len()
                && curve.points.iter().zip(grid).all(|(pt, &t)| pt.time == t);
            if !fits {
                return Err("the checkpoint's curve is not on this run's output times");
            }
        }
        if !curve.balance.is_empty() && curve.balance.len() != curve.points.len() {
            return Err("the checkpoint's energy balance does not match its curve");
        }
        Ok(())
    }
}

pub(crate) fn load_checkpoint(
    run: &RunConfig,
    fingerprint: &str,
    expect: &Resumable<'_>,
) -> Result<Option<(Vec<f64>, LearningCurve)>> {
    let Some(path) = &run.checkpoint else {
        return Ok(None);
    };
    let Some(c) = checkpoint_of(path, fingerprint)?.load::<LearnState>()? else {
        return Ok(None);
    };
    let state: Vec<f64> = c.state.into_iter().map(f64::from_bits).collect();
    expect
        .check(&state, &c.curve)
        .map_err(|reason| Error::InvalidSetting {
            name: "checkpoint",
            value: path.display().to_string(),
            reason,
        })?;
    Ok(Some((state, c.curve)))
}

pub(crate) fn save_checkpoint(
    run: &RunConfig,
    fingerprint: &str,
    state: &[f64],
    curve: &LearningCurve,
) -> Result<()> {
    if let Some(path) = &run.checkpoint {
        let c = LearnState {
            state: state.iter().map(|v| v.to_bits()).collect(),
            curve: curve.clone(),
        };
        checkpoint_of(path, fingerprint)?.save(&c, &[])?;
    }
    Ok(())
}

pub(crate) fn grid_of(run: &RunConfig) -> Result<Vec<f64>> {
    Ok(crnkit_sim::ssa::TimeGrid::new(run.until, run.every)?
        .times()
        .to_vec())
}

struct EntropyRecorder<'a> {
    net: &'a CompiledNetwork,
    kinds: &'a [ChannelKind],
    reverse: &'a [usize],
    before: Vec<u64>,
    sigma: EntropyAccounts,
}

impl crnkit_sim::ssa::Recorder for EntropyRecorder<'_> {
    const EVENTS: bool = true;
    fn next_sample(&self) -> f64 {
        f64::INFINITY
    }
    fn sample(&mut self, _x: &[u64]) {}
    fn event(&mut self, _t: f64, r: usize, x: &[u64]) {
        let rev = self.reverse[r];
        if rev == usize::MAX {
            return;
        }
        self.sigma[self.kinds[r]] +=
            crnkit_sim::thermo::path::jump_medium_entropy(self.net, r, rev, x, &mut self.before);
    }
}

impl Learner {
    /// What resuming a run on `grid` needs of a checkpoint (see [`Resumable`]).
    pub(crate) fn resumable<'a>(
        &self,
        state_len: usize,
        grid: &'a [f64],
        whole: usize,
    ) -> Resumable<'a> {
        Resumable {
            state_len,
            grid: Some(grid),
            names: self
                .parameter_names()
                .iter()
                .map(|s| s.to_string())
                .collect(),
            whole,
        }
    }

    pub(crate) fn point(
        &self,
        time: f64,
        p: Vec<f64>,
        free: Vec<f64>,
        clamped: Vec<f64>,
        sigma: EntropyAccounts,
    ) -> Result<CurvePoint> {
        let g = self.effective_parameters(&p);
        let kl = if g.iter().all(|v| v.is_finite()) {
            self.model.objective(&self.target, &g)?.0
        } else {
            f64::NAN
        };
        Ok(CurvePoint {
            time,
            kl,
            p,
            free,
            clamped,
            sigma,
        })
    }

    pub(crate) fn fingerprint(&self, run: &RunConfig, method: &str) -> String {
        format!(
            "{method}|{:?}|{:?}|{:?}|{}|{}|{}|{}",
            self.config,
            self.environment,
            self.model.initial,
            run.until,
            run.every,
            run.seed,
            self.model.network().to_crn_string()
        )
    }

    /// Simulate the learning network exactly (SSA with the parameters as molecules) and
    /// return its learning curve. Chunk k (between output times k and k+1) uses
    /// `rng::stream(seed, k)`, so a run resumed from its checkpoint is bit-identical to
    /// an uninterrupted one. The entropy produced is the medium entropy Σ ln(a_r/a_r̄)
    /// over the jumps, per copy, by kind (learning: NaN when δ = 0).
    pub fn run_ssa(&self, run: &RunConfig) -> Result<LearningCurve> {
        use crnkit_sim::ssa::{AnySimulator, Method, Simulator};
        let grid = grid_of(run)?;
        let ln = self.learning_network(run.seed)?;
        let compiled = ln.network.compile();
        let k_scale = ln.p_scale;
        let n = self.config.copies as f64;
        let observe = |x: &[u64], sigma: EntropyAccounts, t: f64| -> Result<CurvePoint> {
            let p: Vec<f64> = ln.params.iter().map(|&i| x[i] as f64 / k_scale).collect();
            let np = p.len();
            let mut free = vec![0.0; np];
            let mut clamped = vec![0.0; np];
            for (f, c) in ln.free_species.iter().zip(&ln.clamped_species) {
                for j in 0..np {
                    free[j] += x[f[j]] as f64 / n;
                    clamped[j] += x[c[j]] as f64 / n;
                }
            }
            let mut s = sigma.map(|v| v / n);
            if self.config.delta == 0.0 {
                s.learning = f64::NAN;
            }
            self.point(t, p, free, clamped, s)
        };
        let fp = self.fingerprint(run, "ssa");
        let m = compiled.num_species();
        let expect = self.resumable(m + 4, &grid, m);
        let (mut x, mut sigma, mut curve) = match load_checkpoint(run, &fp, &expect)? {
            Some((state, curve)) => {
                let x: Vec<u64> = state[..m].iter().map(|&v| v as u64).collect();
                let sigma = EntropyAccounts::from_array([
                    state[m],
                    state[m + 1],
                    state[m + 2],
                    state[m + 3],
                ]);
                (x, sigma, curve)
            }
            None => {
                let x = compiled.initial_state().to_vec();
                let sigma = EntropyAccounts::default();
                let curve = LearningCurve {
                    method: "ssa".into(),
                    names: self
                        .parameter_names()
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                    g0: self.model.initial.clone(),
                    points: vec![observe(&x, sigma, grid[0])?],
                    balance: Vec::new(),
                };
                (x, sigma, curve)
            }
        };
        let mut sim = AnySimulator::new(&compiled, Method::Auto)?;
        let bar = run.progress.start_horizon("learning (SSA)", run.until);
        for k in curve.points.len()..grid.len() {
            let (t0, t1) = (grid[k - 1], grid[k]);
            if run.stop_after.is_some_and(|s| t0 >= s) {
                break;
            }
            run.progress.check_cancelled()?;
            sim.reset(&x, t0)?;
            let mut rec = EntropyRecorder {
                net: &compiled,
                kinds: &ln.kinds,
                reverse: &ln.reverse,
                before: vec![0; x.len()],
                sigma,
            };
            let mut rng = crnkit_core::rng::stream(run.seed, k as u64);
            sim.advance_until(t1, &mut rng, &mut rec)?;
            sigma = rec.sigma;
            x = sim.state().to_vec();
            curve.points.push(observe(&x, sigma, t1)?);
            if run.checkpoint.is_some() {
                let mut state: Vec<f64> = x.iter().map(|&v| v as f64).collect();
                state.extend(sigma.iter());
                save_checkpoint(run, &fp, &state, &curve)?;
            }
            if let Some(b) = &bar {
                b.set_position((1000.0 * t1 / run.until) as u64);
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        Ok(curve)
    }
}
