//! Stationary CME solutions: a sparse LU solve on a (growing) projection, and the exact
//! product form of complex-balanced networks.

use faer::Mat;
use faer::linalg::solvers::Solve;
use faer::sparse::{SparseColMat, Triplet};
use nalgebra::{DMatrix, DVector};

use super::FspOptions;
use super::distribution::{Distribution, sum_compensated};
use super::generator::Generator;
use super::space::{StateSpace, bound_array, enumerate};
use crate::AsCompiled;
use crnkit_core::network::CompiledNetwork;
use crnkit_core::{Error, Result};

/// A stationary distribution and how well it is known.
#[derive(Debug, Clone)]
pub struct StationarySolution {
    /// π on the projection, normalised to Σ π = 1.
    pub distribution: Distribution,
    /// ‖A_R π‖₁ for the generator A_R of the projection with reflecting boundary: how well
    /// the linear system was solved.
    pub residual: f64,
    /// Probability of the states that have a transition leaving the projection (0 when the
    /// projection is the whole reachability class). The projection was grown until this is
    /// below the tolerance.
    pub boundary_mass: f64,
    /// Rate at which probability would leave the projection in the stationary state,
    /// Σ_x π_x · exit_x.
    pub outflow: f64,
    /// The per-species bounds of the final projection (`None`: never reached).
    pub bounds: Vec<Option<u32>>,
}

/// Solve A_R π = 0, Σ π = 1 on `space`, where A_R is the generator with transitions that
/// leave the projection removed (reflecting boundary, so columns sum to zero).
///
/// The singular system is made regular by pinning one state j: delete row and column j,
/// solve M q = −A_R[·, j] with faer's sparse LU (COLAMD ordering, partial pivoting), set
/// q_j = 1 and normalise. The pinned state is `pin` first. If the pinned state is
/// improbable, M is numerically singular and q is dominated by a multiple of its near-null
/// vector (the stationary distribution itself, of either sign): the solve is repeated
/// pinned at the largest |q_x| (at most four solves).
pub fn solve_on(generator: &Generator, pin: usize) -> Result<(Vec<f64>, f64)> {
    let n = generator.dim();
    if n == 1 {
        return Ok((vec![1.0], 0.0));
    }
    let exit = generator.exit_rates();
    let mut pin = pin;
    for attempt in 0..4 {
        let shift = |i: usize| if i > pin { i - 1 } else { i };
        let mut trip = Vec::with_capacity(generator.nnz());
        let mut rhs = Mat::<f64>::zeros(n - 1, 1);
        for y in 0..n {
            for (x, mut v) in generator.row(y) {
                if x == y {
                    v += exit[y];
                }
                if y == pin {
                    continue;
                }
                if x == pin {
                    rhs[(shift(y), 0)] -= v;
                } else {
                    trip.push(Triplet::new(shift(y), shift(x), v));
                }
            }
        }
        let m = SparseColMat::<usize, f64>::try_new_from_triplets(n - 1, n - 1, &trip).map_err(
            |e| Error::Numerical {
                what: "stationary LU",
                reason: format!("{e:?}"),
            },
        )?;
        let lu = m.sp_lu().map_err(|e| Error::Numerical {
            what: "stationary LU",
            reason: format!(
                "{e} (the chain on the projection is reducible: it has more than one closed class)"
            ),
        })?;
        lu.solve_in_place(rhs.as_mut());
        let mut p: Vec<f64> = (0..n)
            .map(|y| if y == pin { 1.0 } else { rhs[(shift(y), 0)] })
            .collect();
        // Pinned at an improbable state, M is numerically singular and the computed q is
        // dominated by a multiple (of either sign) of its near-null vector, which is the
        // stationary distribution itself: re-pin at the largest |q_x|.
        let finite = p.iter().all(|v| v.is_finite());
        let neg: f64 = p.iter().filter(|&&v| v < 0.0).map(|v| -v).sum();
        let z = sum_compensated(p.iter().map(|v| v.max(0.0)));
        let big = p.iter().map(|v| v.abs()).fold(0.0f64, f64::max);
        // (An overflowed entry is infinite: the bulk lies there.)
        let valid = finite && z > 0.0 && neg <= 1e-8 * z;
        let next = (0..n)
            .filter(|&y| !p[y].is_nan())
            .max_by(|&a, &b| p[a].abs().total_cmp(&p[b].abs()))
            .unwrap_or(0);
        let last = attempt == 3 || next == pin;
        if valid && (big <= 1e6 || last) {
            for v in &mut p {
                *v = v.max(0.0) / z;
            }
            let mut ap = vec![0.0; n];
            generator.mul_vec(&p, &mut ap);
            let residual = sum_compensated((0..n).map(|y| (ap[y] + exit[y] * p[y]).abs()));
            return Ok((p, residual));
        }
        if last {
            break;
        }
        pin = next;
    }
    Err(Error::Numerical {
        what: "stationary LU",
        reason:
            "no solution that is a probability vector (is the chain on the projection reducible?)"
                .into(),
    })
}

/// The stationary distribution on the reachability class of the initial state.
///
/// A finite class (a closed network, or one bounded by the user) of up to 50,000 states is
/// taken whole. Otherwise, species without a user bound are capped at max(2·x0, 32) and a
/// cap grows by half whenever more than tol/n of the stationary mass sits at it, until
/// the boundary mass is below the tolerance.
pub fn stationary(
    net: &(impl AsCompiled + ?Sized),
    opts: &FspOptions,
) -> Result<StationarySolution> {
    let net = &*net.as_compiled();
    opts.validate()?;
    let ns = net.num_species();
    let x0 = net.initial_state();
    let user = bound_array(&opts.bounds, ns);
    let mut bounds: Vec<u32> = (0..ns)
        .map(|i| {
            if opts.bounds.get(i).copied().flatten().is_some() || !opts.adaptive {
                user[i]
            } else {
                (2 * x0[i]).max(32).min(u64::from(u32::MAX - 2)) as u32
            }
        })
        .collect();
    // A finite class (closed network, or bounded by the user) of up to 50,000 states is
    // taken whole; otherwise the box grows.
    let mut whole = match enumerate(net, x0, &opts.bounds, opts.max_states.min(50_000)) {
        Ok(space) => {
            bounds.clone_from(&user);
            Some(space)
        }
        Err(Error::TooManyStates { .. }) => None,
        Err(e) => return Err(e),
    };
    loop {
        let b: Vec<Option<u32>> = bounds.iter().map(|&v| Some(v)).collect();
        let space = match whole.take() {
            Some(space) => space,
            None => enumerate(net, x0, &b, opts.max_states)?,
        };
        opts.progress.check_cancelled()?;
        let generator = Generator::build_bounded(net, &space, &bounds)?;
        let (p, residual) = solve_on(&generator, 0)?;
        let exit = generator.exit_rates();
        // Mass at each species' bound (only where states leave through it).
        let mut at_bound = vec![0.0; ns];
        let mut boundary = 0.0;
        let mut outflow = 0.0;
        for (x, s) in space.iter().enumerate() {
            if exit[x] > 0.0 {
                boundary += p[x];
                outflow += p[x] * exit[x];
                for i in 0..ns {
                    if s[i] == bounds[i] {
                        at_bound[i] += p[x];
                    }
                }
            }
        }
        let mut grew = false;
        if opts.adaptive && boundary > opts.tol {
            for i in 0..ns {
                let user_bound = opts.bounds.get(i).copied().flatten().is_some();
                if !user_bound && at_bound[i] > opts.tol / ns as f64 {
                    let nb = (u64::from(bounds[i]) * 3 / 2 + 8).min(u64::from(u32::MAX - 2));
                    grew |= nb as u32 != bounds[i];
                    bounds[i] = nb as u32;
                }
            }
        }
        if !grew {
            let reached = space.max_counts();
            return Ok(StationarySolution {
                distribution: Distribution::new(space, p),
                residual,
                boundary_mass: boundary,
                outflow,
                bounds: (0..ns)
                    .map(|i| (reached[i] >= bounds[i]).then_some(bounds[i]))
                    .collect(),
            });
        }
    }
}

/// The exact stationary distribution of a complex-balanced network on a set of states.
#[derive(Debug, Clone)]
pub struct ProductForm {
    /// λ_i: the complex-balanced equilibrium in counts (Ω·c_i); `None` for constant species.
    pub lambda: Vec<Option<f64>>,
    /// π(x) ∝ Π_i λ_i^(x_i) / x_i! on the given states, normalised over them.
    pub distribution: Distribution,
}

/// The complexes (non-constant species only) and the reaction graph between them, with
/// constant species' counts folded into the rate.
/// A complex: (species, coefficient) pairs.
type Complex = Vec<(u32, u32)>;

fn complex_graph(net: &CompiledNetwork) -> (Vec<Complex>, Vec<(usize, usize, f64)>) {
    let x0 = net.initial_state();
    let mut complexes: Vec<Vec<(u32, u32)>> = Vec::new();
    let mut edges = Vec::new();
    let id = |c: Vec<(u32, u32)>, complexes: &mut Vec<Vec<(u32, u32)>>| {
        if let Some(k) = complexes.iter().position(|d| *d == c) {
            k
        } else {
            complexes.push(c);
            complexes.len() - 1
        }
    };
    for r in 0..net.num_channels() {
        let (rs, rc) = net.reactants_of(r);
        let mut k = net.rate(r);
        let mut src = Vec::new();
        for (&i, &c) in rs.iter().zip(rc) {
            if net.is_constant(i as usize) {
                let x = x0[i as usize];
                for j in 0..u64::from(c) {
                    k *= x.saturating_sub(j) as f64;
                }
            } else {
                src.push((i, c));
            }
        }
        // Products = reactants + change, over non-constant species.
        let (cs, cd) = net.changes_of(r);
        let mut prod: std::collections::BTreeMap<u32, i64> =
            src.iter().map(|&(i, c)| (i, i64::from(c))).collect();
        for (&i, &d) in cs.iter().zip(cd) {
            *prod.entry(i).or_insert(0) += d;
        }
        let dst: Vec<(u32, u32)> = prod
            .into_iter()
            .filter(|&(i, c)| c > 0 && !net.is_constant(i as usize))
            .map(|(i, c)| (i, c as u32))
            .collect();
        src.sort_unstable();
        if src == dst || k == 0.0 {
            continue;
        }
        let a = id(src, &mut complexes);
        let b = id(dst, &mut complexes);
        edges.push((a, b, k));
    }
    (complexes, edges)
}

/// The product-form stationary distribution (Anderson, Craciun & Kurtz 2010) of a
/// complex-balanced network, normalised on `space` (e.g. its conservation class).
///
/// λ is found by linear algebra: in each linkage class ℓ (which must be strongly connected:
/// weak reversibility) the kernel vector ρ of the kinetic matrix (the Kirchhoff tree
/// constants) fixes the complex-balanced values up to a factor, λ^y = κ_ℓ ρ_y, i.e.
/// Σ_i y_i ln λ_i − ln κ_ℓ = ln ρ_y, a linear least-squares problem whose residual is zero
/// exactly when the network is complex balanced (Horn 1972; Craciun, Dickenstein,
/// Shiu & Sturmfels 2009). Detailed-balanced networks are a special case.
pub fn product_form(net: &CompiledNetwork, space: &StateSpace) -> Result<ProductForm> {
    net.require_mass_action("the product-form stationary distribution")?;
    let ns = net.num_species();
    let (complexes, edges) = complex_graph(net);
    let m = complexes.len();
    let classes = linkage_classes(m, &edges)?;
    let nclass = classes.iter().copied().max().map_or(0, |v| v + 1);
    let ln_rho = ln_tree_constants(m, &classes, nclass, &edges)?;
    // Unknowns: ln λ for the non-constant species, then ln κ per class.
    let dyn_species: Vec<usize> = (0..ns).filter(|&i| !net.is_constant(i)).collect();
    let sol = solve_ln_lambda(&complexes, &classes, nclass, &dyn_species, ln_rho)?;
    let mut lambda = vec![None; ns];
    for (k, &i) in dyn_species.iter().enumerate() {
        lambda[i] = Some(sol[k].exp());
    }
    let ln_lambda: Vec<f64> = (0..ns).map(|i| lambda[i].map_or(0.0, f64::ln)).collect();
    let logw: Vec<f64> = space
        .iter()
        .map(|s| {
            dyn_species
                .iter()
                .map(|&i| {
                    let x = u64::from(s[i]);
                    x as f64 * ln_lambda[i] - super::poisson::ln_factorial(x)
                })
                .sum::<f64>()
        })
        .collect();
    let top = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = logw.iter().map(|l| (l - top).exp()).collect();
    let z = sum_compensated(w.iter().copied());
    let p = w.iter().map(|v| v / z).collect();
    Ok(ProductForm {
        lambda,
        distribution: Distribution::new(space.clone(), p),
    })
}

/// The linkage class (undirected component, numbered in root order) of each of the `m`
/// complexes; an error unless every class is strongly connected (weak reversibility).
fn linkage_classes(m: usize, edges: &[(usize, usize, f64)]) -> Result<Vec<usize>> {
    let mut comp: Vec<usize> = (0..m).collect();
    fn find(c: &mut [usize], i: usize) -> usize {
        let mut i = i;
        while c[i] != i {
            c[i] = c[c[i]];
            i = c[i];
        }
        i
    }
    for &(a, b, _) in edges {
        let (ra, rb) = (find(&mut comp, a), find(&mut comp, b));
        comp[ra] = rb;
    }
    let mut reach = vec![vec![false; m]; m];
    for (i, r) in reach.iter_mut().enumerate() {
        r[i] = true;
    }
    for &(a, b, _) in edges {
        reach[a][b] = true;
    }
    #[allow(clippy::needless_range_loop)]
    for k in 0..m {
        for i in 0..m {
            if reach[i][k] {
                for j in 0..m {
                    if reach[k][j] {
                        reach[i][j] = true;
                    }
                }
            }
        }
    }
    for &(a, b, _) in edges {
        if !reach[b][a] {
            return Err(Error::Unsupported {
                feature: "the product form: the network is not weakly reversible, so it is not complex balanced".into(),
            });
        }
    }
    let mut roots: Vec<usize> = (0..m).map(|i| find(&mut comp, i)).collect();
    let mut uniq = roots.clone();
    uniq.sort_unstable();
    uniq.dedup();
    for r in &mut roots {
        *r = uniq.binary_search(r).expect("root");
    }
    Ok(roots)
}

/// ln ρ per complex: the kernel of the kinetic matrix of each linkage class (the
/// Kirchhoff tree constants), with ρ = 1 at the class's first complex.
fn ln_tree_constants(
    m: usize,
    classes: &[usize],
    nclass: usize,
    edges: &[(usize, usize, f64)],
) -> Result<Vec<f64>> {
    let mut ln_rho = vec![0.0; m];
    for l in 0..nclass {
        let members: Vec<usize> = (0..m).filter(|&i| classes[i] == l).collect();
        let k = members.len();
        if k == 1 {
            continue;
        }
        let pos = |i: usize| members.iter().position(|&j| j == i).expect("member");
        let mut kin = DMatrix::<f64>::zeros(k, k);
        for &(a, b, rate) in edges {
            if classes[a] == l {
                let (pa, pb) = (pos(a), pos(b));
                kin[(pb, pa)] += rate;
                kin[(pa, pa)] -= rate;
            }
        }
        // ρ_0 = 1; rows 1.. of K ρ = 0.
        let sub = kin.view((1, 1), (k - 1, k - 1)).into_owned();
        let rhs = -kin.view((1, 0), (k - 1, 1)).into_owned();
        let sol = sub.lu().solve(&rhs).ok_or_else(|| Error::Numerical {
            what: "product form",
            reason: "singular kinetic matrix".into(),
        })?;
        ln_rho[members[0]] = 0.0;
        for j in 1..k {
            let v = sol[(j - 1, 0)];
            if v.is_nan() || v <= 0.0 {
                return Err(Error::Numerical {
                    what: "product form",
                    reason: "non-positive tree constant".into(),
                });
            }
            ln_rho[members[j]] = v.ln();
        }
    }
    Ok(ln_rho)
}

/// The least-squares solution (ln λ of the dynamic species, then ln κ per class) of
/// Σ_i y_i ln λ_i − ln κ_ℓ = ln ρ_y; an error unless its residual vanishes.
fn solve_ln_lambda(
    complexes: &[Complex],
    classes: &[usize],
    nclass: usize,
    dyn_species: &[usize],
    ln_rho: Vec<f64>,
) -> Result<DVector<f64>> {
    let m = complexes.len();
    let nd = dyn_species.len();
    let mut a = DMatrix::<f64>::zeros(m, nd + nclass);
    for (c, cx) in complexes.iter().enumerate() {
        for &(i, y) in cx {
            let col = dyn_species
                .iter()
                .position(|&s| s == i as usize)
                .expect("dynamic");
            a[(c, col)] = f64::from(y);
        }
        a[(c, nd + classes[c])] = -1.0;
    }
    let b = DVector::from_vec(ln_rho);
    // No complex changes anything (every reaction only touches chemostats): λ = 1.
    let sol = if a.nrows() == 0 || a.ncols() == 0 {
        DVector::zeros(a.ncols())
    } else {
        a.clone()
            .svd(true, true)
            .solve(&b, 1e-12)
            .map_err(|e| Error::Numerical {
                what: "product form",
                reason: e.to_string(),
            })?
    };
    let resid = (&a * &sol - &b).norm();
    let scale = b.norm().max(1.0);
    if resid > 1e-8 * scale {
        return Err(Error::Unsupported {
            feature: format!(
                "the product form: the network is not complex balanced (tree-constant residual {resid:.3e})"
            ),
        });
    }
    Ok(sol)
}
