//! The large-ensemble limit of the chemical learner (N → ∞ copies, K = Nω → ∞).
//!
//! Given the parameter concentrations \[P\](t) the copies are independent, so each copy's
//! law follows its own CME with \[P\]-dependent rates and the copy averages become
//! expectations; the parameters follow the deterministic rate equation
//!
//! d ln\[P_i\]/dt = ε(⟨s_i⟩ − ⟨q_i⟩) − δ\[P_i\]⟨s_i⟩ + δ⟨q_i⟩/\[P_i\].
//!
//! A copy is represented exactly in one of two ways:
//! - **CME**: its law on the reachable states (within the model's cap), with every
//!   transition and its reverse;
//! - **moments**: when every reaction is first order (∅ → S, S → ∅, S → S′) and the copy
//!   starts from a product-Poisson (or multinomial) law, the law stays product-form
//!   (Jahnke & Huisinga 2007) and the means obey the mass-action equations exactly; the
//!   Schnakenberg entropy production then equals its deterministic form.
//!
//! The joint system — ln\[P\], both copies and the running integrals of entropy produced
//! and work — is integrated by diffsol's BDF method with error control. Accounting per
//! copy (E the instantaneous energy, π ∝ e^(−E) the law at frozen \[P\]):
//!
//! - σ = Σ_pairs (J⁺ − J⁻) ln(J⁺/J⁻) ≥ 0, split into model, clamping and environment pairs;
//! - work Ẇ = Σ_x p_x ∂E/∂t + Σ_pairs (J⁺ − J⁻) A with A = ln(a⁺/a⁻) + E(y) − E(x) the
//!   non-conservative affinity (zero for every pair except the data tokens' hops);
//! - balance W = ΔF + Σ with F = Σ p (E + ln p) (checked at every output time);
//! - learning reactions, per copy: ω Σ_i [J^S ln(ε/(δ\[P\])) + J^Q ln(ε\[P\]/δ)] with
//!   J^S = \[P\]⟨s⟩(ε − δ\[P\]) and J^Q = ⟨q⟩(ε\[P\] − δ).

use std::collections::HashMap;
use std::sync::Arc;

use diffsol::{NalgebraLU, NalgebraMat, OdeBuilder, OdeSolverMethod};

use super::chemical::{
    CopyNet, CurvePoint, EntropyAccounts, Learner, LearningCurve, RunConfig, SpeciesEnergy,
    grid_of, load_checkpoint, save_checkpoint,
};
use crnkit_core::progress::Reporter;
use crnkit_core::{Error, Result};

/// How the copies are represented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LimitMode {
    /// Moments when exact (first-order copies, no data tokens), else the CME.
    #[default]
    Auto,
    /// Always the CME on the reachable states.
    Cme,
}

/// Accumulators filled by a copy's right-hand side.
#[derive(Default, Clone, Copy)]
struct Acc {
    sigma: EntropyAccounts,
    wnc: f64,
}

fn ep(a: f64, b: f64) -> f64 {
    // Flows below 1e-200 (far tails, denormals) change σ by less than 1e-197 and make
    // the integrand rough for the Newton iterations; they are left out.
    if a > 1e-200 && b > 1e-200 {
        (a - b) * (a / b).ln()
    } else {
        0.0
    }
}

#[derive(Debug, Clone)]
struct CmeCopy {
    states: Vec<Vec<u32>>,
    from: Vec<u32>,
    to: Vec<u32>,
    base: Vec<f64>,
    ch: Vec<u32>,
    rev: Vec<u32>,
    affinity: Vec<f64>,
    init: Vec<f64>,
}

#[derive(Debug, Clone)]
struct MomentCopy {
    eps0: Vec<f64>,
    affinity: Vec<f64>,
    init: Vec<f64>,
}

#[derive(Debug, Clone)]
enum Rep {
    Cme(CmeCopy),
    Moments(MomentCopy),
}

#[derive(Debug, Clone)]
struct CopySystem {
    net: CopyNet,
    rep: Rep,
    g0: Vec<f64>,
    ln_omega: f64,
}

impl CopySystem {
    fn dim(&self) -> usize {
        match &self.rep {
            Rep::Cme(c) => c.states.len(),
            Rep::Moments(m) => m.init.len(),
        }
    }

    fn init(&self) -> &[f64] {
        match &self.rep {
            Rep::Cme(c) => &c.init,
            Rep::Moments(m) => &m.init,
        }
    }

    fn channel_factors(&self, p: &[f64]) -> Vec<f64> {
        self.net
            .channels
            .iter()
            .map(|c| c.p_exp.iter().map(|&(j, e)| p[j].powi(e as i32)).product())
            .collect()
    }

    /// dy for this copy and the entropy/work rates.
    fn rhs(&self, p: &[f64], y: &[f64], dy: &mut [f64], acc: &mut Acc) {
        let pf = self.channel_factors(p);
        dy.iter_mut().for_each(|v| *v = 0.0);
        match &self.rep {
            Rep::Cme(c) => {
                let flow: Vec<f64> = (0..c.from.len())
                    .map(|t| c.base[t] * pf[c.ch[t] as usize] * y[c.from[t] as usize])
                    .collect();
                for t in 0..flow.len() {
                    dy[c.from[t] as usize] -= flow[t];
                    dy[c.to[t] as usize] += flow[t];
                }
                for t in 0..flow.len() {
                    let r = c.rev[t] as usize;
                    if (c.ch[t] as usize) < (c.ch[r] as usize) || (c.ch[t] == c.ch[r] && t < r) {
                        let (a, b) = (flow[t], flow[r]);
                        let kind = self.net.channels[c.ch[t] as usize].kind;
                        acc.sigma[kind] += ep(a, b);
                        acc.wnc += (a - b) * c.affinity[t];
                    }
                }
            }
            Rep::Moments(m) => {
                let flux: Vec<f64> = self
                    .net
                    .channels
                    .iter()
                    .zip(&pf)
                    .map(|(ch, f)| {
                        ch.coef
                            * f
                            * ch.reactants
                                .iter()
                                .map(|&(i, _)| y[i].max(0.0))
                                .product::<f64>()
                    })
                    .collect();
                for (ch, j) in self.net.channels.iter().zip(&flux) {
                    for &(i, d) in &ch.changes {
                        dy[i] += d as f64 * j;
                    }
                }
                for (r, ch) in self.net.channels.iter().enumerate() {
                    if r < ch.reverse {
                        let (a, b) = (flux[r], flux[ch.reverse]);
                        acc.sigma[ch.kind] += ep(a, b);
                        acc.wnc += (a - b) * m.affinity[r];
                    }
                }
            }
        }
    }

    /// Mean count per copy of each model species (the first `np` copy species).
    fn means(&self, y: &[f64], np: usize) -> Vec<f64> {
        match &self.rep {
            Rep::Cme(c) => {
                let mut m = vec![0.0; np];
                for (x, &q) in c.states.iter().zip(y) {
                    for j in 0..np {
                        m[j] += q * f64::from(x[j]);
                    }
                }
                m
            }
            Rep::Moments(_) => y[..np].to_vec(),
        }
    }

    /// Σ_j ⟨x_j⟩ ∂E/∂ln[P_j] · d ln[P_j]/dt: the work rate of the moving parameters.
    fn drive(&self, means: &[f64], du: &[f64]) -> f64 {
        self.net
            .energy
            .iter()
            .enumerate()
            .filter_map(|(j, e)| match e {
                SpeciesEnergy::Model { param } => Some(means[j] * du[*param]),
                _ => None,
            })
            .sum()
    }

    /// F = Σ p (E + ln p) at parameters `p`.
    fn free_energy(&self, p: &[f64], y: &[f64]) -> f64 {
        match &self.rep {
            Rep::Cme(c) => c
                .states
                .iter()
                .zip(y)
                .filter(|(_, q)| **q > 0.0)
                .map(|(x, &q)| q * (self.net.energy(x, &self.g0, p, self.ln_omega) + q.ln()))
                .sum(),
            Rep::Moments(m) => y
                .iter()
                .enumerate()
                .filter(|(_, v)| **v > 0.0)
                .map(|(j, &v)| {
                    let shift = match self.net.energy[j] {
                        SpeciesEnergy::Model { param } => p[param].ln(),
                        _ => 0.0,
                    };
                    v * (m.eps0[j] + shift + v.ln() - 1.0)
                })
                .sum(),
        }
    }
}

fn first_order(net: &CopyNet) -> bool {
    net.tokens.is_empty()
        && net.channels.iter().all(|c| {
            let reac: u32 = c.reactants.iter().map(|&(_, v)| v).sum();
            let mut prod: HashMap<usize, i64> = c
                .reactants
                .iter()
                .map(|&(j, v)| (j, i64::from(v)))
                .collect();
            for &(j, d) in &c.changes {
                *prod.entry(j).or_insert(0) += d;
            }
            reac <= 1 && prod.values().sum::<i64>() <= 1
        })
}

fn build_cme(
    net: &CopyNet,
    init: &[(Vec<u32>, f64)],
    cap: Option<u32>,
    np: usize,
    max_states: usize,
    g0: &[f64],
    ln_omega: f64,
) -> Result<CmeCopy> {
    let ones = vec![1.0; np];
    let mut index: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut states: Vec<Vec<u32>> = Vec::new();
    for (x, _) in init {
        if !index.contains_key(x) {
            index.insert(x.clone(), states.len());
            states.push(x.clone());
        }
    }
    let mut k = 0;
    let (mut from, mut to, mut base, mut ch) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    while k < states.len() {
        let x = states[k].clone();
        for (r, c) in net.channels.iter().enumerate() {
            let a = net.propensity(r, &x, &ones);
            if a <= 0.0 {
                continue;
            }
            let mut y = x.clone();
            let mut inside = true;
            for &(j, d) in &c.changes {
                let v = i64::from(y[j]) + d;
                if v < 0 || (j < np && cap.is_some_and(|m| v > i64::from(m))) {
                    inside = false;
                    break;
                }
                y[j] = v as u32;
            }
            if !inside {
                continue;
            }
            let t = match index.get(&y) {
                Some(&t) => t,
                None => {
                    if states.len() >= max_states {
                        return Err(Error::TooManyStates {
                            limit: max_states,
                            context: "the large-ensemble limit of a copy".into(),
                        });
                    }
                    index.insert(y.clone(), states.len());
                    states.push(y);
                    states.len() - 1
                }
            };
            from.push(k as u32);
            to.push(t as u32);
            base.push(a);
            ch.push(r as u32);
        }
        k += 1;
    }
    let by: HashMap<(u32, u32), usize> = from
        .iter()
        .zip(&ch)
        .enumerate()
        .map(|(t, (&f, &c))| ((f, c), t))
        .collect();
    let energy: Vec<f64> = states
        .iter()
        .map(|x| net.energy(x, g0, &ones, ln_omega))
        .collect();
    let mut rev = Vec::with_capacity(from.len());
    let mut affinity = Vec::with_capacity(from.len());
    for t in 0..from.len() {
        let back = net.channels[ch[t] as usize].reverse as u32;
        let r = *by.get(&(to[t], back)).ok_or_else(|| Error::Numerical {
            what: "large-ensemble limit",
            reason: format!(
                "channel {} has no reverse transition from state {:?}",
                ch[t], states[to[t] as usize]
            ),
        })?;
        rev.push(r as u32);
        affinity.push((base[t] / base[r]).ln() + energy[to[t] as usize] - energy[from[t] as usize]);
    }
    let mut p0 = vec![0.0; states.len()];
    for (x, q) in init {
        p0[index[x]] += q;
    }
    Ok(CmeCopy {
        states,
        from,
        to,
        base,
        ch,
        rev,
        affinity,
        init: p0,
    })
}

fn build_moments(net: &CopyNet, init: Vec<f64>, g0: &[f64], ln_omega: f64) -> MomentCopy {
    let eps0: Vec<f64> = net
        .energy
        .iter()
        .map(|e| match *e {
            SpeciesEnergy::Model { param } => g0[param] - ln_omega,
            SpeciesEnergy::Poisson { mu } => -mu.ln(),
            SpeciesEnergy::Token { ln_q } => -ln_q,
        })
        .collect();
    let affinity = net
        .channels
        .iter()
        .map(|c| {
            let back = &net.channels[c.reverse];
            (c.coef / back.coef).ln()
                + c.changes
                    .iter()
                    .map(|&(i, d)| d as f64 * eps0[i])
                    .sum::<f64>()
        })
        .collect();
    MomentCopy {
        eps0,
        affinity,
        init,
    }
}

/// The whole limit system.
#[derive(Debug, Clone)]
struct System {
    np: usize,
    eps: f64,
    delta: f64,
    omega: f64,
    free: CopySystem,
    clamped: CopySystem,
}

const QUAD: usize = 7;

impl System {
    fn dim(&self) -> usize {
        self.np + self.free.dim() + self.clamped.dim() + QUAD
    }

    fn split<'a>(&self, y: &'a [f64]) -> (&'a [f64], &'a [f64], &'a [f64]) {
        let (u, rest) = y.split_at(self.np);
        let (f, rest) = rest.split_at(self.free.dim());
        let (c, _) = rest.split_at(self.clamped.dim());
        (u, f, c)
    }

    fn rhs(&self, y: &[f64], dy: &mut [f64]) {
        let np = self.np;
        let (u, yf, yc) = self.split(y);
        let p: Vec<f64> = u.iter().map(|v| v.exp()).collect();
        let mf = self.free.means(yf, np);
        let mc = self.clamped.means(yc, np);
        let (du, rest) = dy.split_at_mut(np);
        let (df, rest) = rest.split_at_mut(self.free.dim());
        let (dc, dq) = rest.split_at_mut(self.clamped.dim());
        let (eps, delta) = (self.eps, self.delta);
        let mut learn = 0.0;
        for j in 0..np {
            let (s, q, pj) = (mf[j], mc[j], p[j]);
            du[j] = eps * (s - q) - delta * pj * s + delta * q / pj;
            if delta > 0.0 {
                let js = pj * s * (eps - delta * pj);
                let jq = q * (eps * pj - delta);
                learn += js * (eps / (delta * pj)).ln() + jq * (eps * pj / delta).ln();
            }
        }
        let mut af = Acc::default();
        let mut ac = Acc::default();
        self.free.rhs(&p, yf, df, &mut af);
        self.clamped.rhs(&p, yc, dc, &mut ac);
        dq[0] = self.omega * learn;
        dq[1] = af.sigma.clamping + ac.sigma.clamping;
        dq[2] = af.sigma.environment + ac.sigma.environment;
        dq[3] = af.sigma.model + ac.sigma.model;
        dq[4] = self.free.drive(&mf, du) + af.wnc;
        let mc_all = match &self.clamped.rep {
            Rep::Cme(_) => self.clamped.means(yc, self.clamped.net.names.len()),
            Rep::Moments(_) => yc.to_vec(),
        };
        dq[5] = self.clamped.drive(&mc_all, du) + ac.wnc;
        dq[6] = af.sigma.total();
    }
}

impl Learner {
    /// The large-ensemble limit of the learner (see the module docs): the learning curve
    /// on the run's grid, with the energy balance of each copy (W − ΔF − Σ, free and
    /// clamped) at every output time in [`LearningCurve::balance`]. Copies start at
    /// π_G (free) and Q(v)π_G(h|v) (clamped); `max_states` bounds each copy's CME.
    pub fn run_limit(
        &self,
        run: &RunConfig,
        mode: LimitMode,
        max_states: usize,
    ) -> Result<LearningCurve> {
        let grid = grid_of(run)?;
        let np = self.model.dynamic.len();
        let p_init = self.config.initial_p(np)?;
        let (sys, moments) = self.limit_system(&p_init, mode, max_states)?;
        let sys = Arc::new(sys);
        let g0 = self.model.initial.clone();
        let dim = sys.dim();
        let mut y0: Vec<f64> = p_init.iter().map(|p| p.ln()).collect();
        y0.extend_from_slice(sys.free.init());
        y0.extend_from_slice(sys.clamped.init());
        y0.extend_from_slice(&[0.0; QUAD]);
        let method = if moments {
            "limit-moments"
        } else {
            "limit-cme"
        };
        let observe = |y: &[f64], t: f64, f0: [f64; 2]| self.limit_point(&sys, y, t, f0);
        let (yf0, yc0) = (sys.free.init(), sys.clamped.init());
        let f0 = [
            sys.free.free_energy(&p_init, yf0),
            sys.clamped.free_energy(&p_init, yc0),
        ];
        let fp = self.fingerprint(run, method);
        let expect = self.resumable(dim, &grid, 0);
        let (mut y, mut curve) = match load_checkpoint(run, &fp, &expect)? {
            Some((state, curve)) => (state, curve),
            None => {
                let (pt, bal) = observe(&y0, grid[0], f0)?;
                let curve = LearningCurve {
                    method: method.into(),
                    names: self
                        .parameter_names()
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                    g0: g0.clone(),
                    points: vec![pt],
                    balance: vec![bal],
                };
                (y0.clone(), curve)
            }
        };
        let bar = run.progress.start_horizon("learning (limit)", run.until);
        const BLOCK: usize = 50;
        while curve.points.len() < grid.len() {
            let k0 = curve.points.len() - 1;
            if run.stop_after.is_some_and(|s| grid[k0] >= s) {
                break;
            }
            run.progress.check_cancelled()?;
            let k1 = (k0 + BLOCK).min(grid.len() - 1);
            let t0 = grid[k0];
            let times: Vec<f64> = grid[k0 + 1..=k1].iter().map(|t| t - t0).collect();
            let ys = integrate_block(&sys, &y, &times, &run.progress)?;
            for (i, yk) in ys.into_iter().enumerate() {
                let (pt, bal) = observe(&yk, grid[k0 + 1 + i], f0)?;
                curve.points.push(pt);
                curve.balance.push(bal);
                y = yk;
            }
            save_checkpoint(run, &fp, &y, &curve)?;
            if let Some(b) = &bar {
                b.set_position((1000.0 * grid[k1] / run.until) as u64);
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        Ok(curve)
    }

    /// The limit system of both copies from the parameters `p_init`: moment equations when
    /// `mode` allows and both copies are first order (the `bool`), else each copy's CME.
    fn limit_system(
        &self,
        p_init: &[f64],
        mode: LimitMode,
        max_states: usize,
    ) -> Result<(System, bool)> {
        let np = self.model.dynamic.len();
        let e = self
            .model
            .expectations(&self.target, &self.effective_parameters(p_init))?;
        let project = |x: usize, len: usize| -> Vec<u32> {
            let s = self.model.space.state(x);
            let mut v: Vec<u32> = self.model.dynamic.iter().map(|&i| s[i]).collect();
            v.resize(len, 0);
            v
        };
        let moments =
            mode == LimitMode::Auto && first_order(&self.free) && first_order(&self.clamped);
        let cap = self.model.cap;
        let g0 = self.model.initial.clone();
        let cme = |net: &CopyNet, init: &[(Vec<u32>, f64)]| {
            build_cme(net, init, cap, np, max_states, &g0, self.ln_omega)
        };
        let free_rep = if moments {
            Rep::Moments(build_moments(
                &self.free,
                e.free.clone(),
                &g0,
                self.ln_omega,
            ))
        } else {
            let init: Vec<(Vec<u32>, f64)> = e
                .stationary
                .iter()
                .enumerate()
                .filter(|(_, q)| **q > 0.0)
                .map(|(x, &q)| (project(x, np), q))
                .collect();
            Rep::Cme(cme(&self.free, &init)?)
        };
        let nc = self.clamped.names.len();
        let clamped_rep = if moments {
            let mut m = e.clamped.clone();
            if let super::Environment::Poisson(mus) = &self.environment {
                for (&j, &mu) in self.clamped.visible.iter().zip(mus) {
                    m[j] = mu;
                }
            }
            Rep::Moments(build_moments(&self.clamped, m, &g0, self.ln_omega))
        } else {
            let mut init: Vec<(Vec<u32>, f64)> = Vec::new();
            for (x, &q) in e.clamped_law.iter().enumerate() {
                if q <= 0.0 {
                    continue;
                }
                let mut s = project(x, nc);
                self.clamped.place_token(&mut s)?;
                init.push((s, q));
            }
            Rep::Cme(cme(&self.clamped, &init)?)
        };
        let sys = System {
            np,
            eps: self.config.epsilon,
            delta: self.config.delta,
            omega: self.config.p_volume,
            free: CopySystem {
                net: self.free.clone(),
                rep: free_rep,
                g0: g0.clone(),
                ln_omega: self.ln_omega,
            },
            clamped: CopySystem {
                net: self.clamped.clone(),
                rep: clamped_rep,
                g0: g0.clone(),
                ln_omega: self.ln_omega,
            },
        };
        Ok((sys, moments))
    }

    /// The curve point at time `t` of the limit state `y`, with each copy's energy balance
    /// W − ΔF − Σ relative to the initial free energies `f0`.
    fn limit_point(
        &self,
        sys: &System,
        y: &[f64],
        t: f64,
        f0: [f64; 2],
    ) -> Result<(CurvePoint, [f64; 2])> {
        let np = self.model.dynamic.len();
        let dim = sys.dim();
        let (u, yf, yc) = sys.split(y);
        let p: Vec<f64> = u.iter().map(|v| v.exp()).collect();
        let q = &y[dim - QUAD..];
        let mut sigma = EntropyAccounts::from_array([q[0], q[1], q[2], q[3]]);
        if self.config.delta == 0.0 {
            sigma.learning = f64::NAN;
        }
        let ff = sys.free.free_energy(&p, yf);
        let fc = sys.clamped.free_energy(&p, yc);
        let sig_c = q[1] + q[2] + q[3] - q[6];
        let bal = [q[4] - (ff - f0[0]) - q[6], q[5] - (fc - f0[1]) - sig_c];
        let pt = self.point(
            t,
            p,
            sys.free.means(yf, np),
            sys.clamped.means(yc, np),
            sigma,
        )?;
        Ok((pt, bal))
    }
}

/// Integrate the system from `y0` to each of `times` (relative, increasing) with BDF.
fn integrate_block(
    sys: &Arc<System>,
    y0: &[f64],
    times: &[f64],
    cancel: &Reporter,
) -> Result<Vec<Vec<f64>>> {
    let n = sys.dim();
    let (s1, s2) = (Arc::clone(sys), Arc::clone(sys));
    // Once cancelled, the right-hand side turns NaN and the solver stops at its next step.
    let stop = cancel.clone();
    let y0v = y0.to_vec();
    let problem = OdeBuilder::<NalgebraMat<f64>>::new()
        .rtol(1e-10)
        .atol(vec![1e-12; n])
        .rhs_implicit(
            move |x: &[f64], _p: &[f64], _t: f64, y: &mut [f64]| {
                if stop.is_cancelled() {
                    y.fill(f64::NAN);
                } else {
                    s1.rhs(x, y);
                }
            },
            move |x: &[f64], _p: &[f64], _t: f64, v: &[f64], y: &mut [f64]| {
                // Forward difference of the right-hand side along v.
                let norm_v = v.iter().fold(0.0f64, |m, a| m.max(a.abs()));
                if norm_v == 0.0 {
                    y.iter_mut().for_each(|a| *a = 0.0);
                    return;
                }
                // Step scaled by the components along v only (the running integrals are
                // large and do not enter the right-hand side).
                let norm_x = x
                    .iter()
                    .zip(v)
                    .filter(|(_, b)| **b != 0.0)
                    .fold(1.0f64, |m, (a, _)| m.max(a.abs()));
                let h = 1e-8 * norm_x / norm_v;
                let xh: Vec<f64> = x.iter().zip(v).map(|(a, b)| a + h * b).collect();
                let mut f0 = vec![0.0; x.len()];
                s2.rhs(x, &mut f0);
                s2.rhs(&xh, y);
                for (a, b) in y.iter_mut().zip(&f0) {
                    *a = (*a - b) / h;
                }
            },
        )
        .init(
            move |_p: &[f64], _t: f64, y: &mut [f64]| y.copy_from_slice(&y0v),
            n,
        )
        .build()
        .map_err(|e| Error::Numerical {
            what: "learning limit setup",
            reason: e.to_string(),
        })?;
    let mut solver = problem
        .bdf::<NalgebraLU<f64>>()
        .map_err(|e| Error::Numerical {
            what: "learning limit solver",
            reason: e.to_string(),
        })?;
    let (ys, _) = solver.solve_dense(times).map_err(|e| {
        cancel.cancelled_or(Error::Numerical {
            what: "learning limit integration",
            reason: e.to_string(),
        })
    })?;
    Ok((0..times.len())
        .map(|k| (0..n).map(|i| ys[(i, k)]).collect())
        .collect())
}
