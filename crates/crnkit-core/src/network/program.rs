//! Compiled expressions and conditions over a state: parameters folded to numbers, species
//! names resolved to indices, the clock to [`Code::Time`].

use std::collections::HashMap;

use super::event::{CmpOp, Condition, Event, TIME};
use super::expr::{apply_bin as bin, apply_func as call};
use super::{BinOp, Expr, Func};
use crate::error::{Error, Result};

/// A compiled arithmetic expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Code {
    /// A number (parameters are folded in).
    Const(f64),
    /// The count of the species with this index.
    Species(u32),
    /// The clock.
    Time,
    /// Negation.
    Neg(Box<Code>),
    /// A binary operation.
    Bin(BinOp, Box<Code>, Box<Code>),
    /// A function call.
    Call(Func, Vec<Code>),
}

/// Names an expression may use: species (by index), parameters (by value), and the clock
/// where allowed.
pub(crate) struct Scope<'a> {
    pub species: &'a HashMap<&'a str, usize>,
    pub params: &'a dyn Fn(&str) -> Option<f64>,
    /// Where the expression is, for errors (e.g. "the propensity of reaction r1").
    pub context: String,
    pub allow_time: bool,
}

impl Code {
    /// Compile `e` in `scope`, folding constant subexpressions.
    pub(crate) fn compile(e: &Expr, scope: &Scope<'_>) -> Result<Code> {
        Ok(match e {
            Expr::Num(v) => Code::Const(*v),
            Expr::Var(name) => {
                if let Some(&i) = scope.species.get(name.as_str()) {
                    Code::Species(i as u32)
                } else if let Some(v) = (scope.params)(name) {
                    Code::Const(v)
                } else if name == TIME {
                    if !scope.allow_time {
                        return Err(Error::Unsupported {
                            feature: format!(
                                "`time` in {} (only event triggers and assignments may use \
                                 the clock)",
                                scope.context
                            ),
                        });
                    }
                    Code::Time
                } else {
                    return Err(Error::UnknownParameter {
                        name: name.clone(),
                        hint: format!(" (in {})", scope.context),
                    });
                }
            }
            Expr::Neg(a) => match Code::compile(a, scope)? {
                Code::Const(v) => Code::Const(-v),
                c => Code::Neg(Box::new(c)),
            },
            Expr::Bin(op, a, b) => {
                let (a, b) = (Code::compile(a, scope)?, Code::compile(b, scope)?);
                match (&a, &b) {
                    (Code::Const(x), Code::Const(y)) => Code::Const(bin(*op, *x, *y)),
                    _ => Code::Bin(*op, Box::new(a), Box::new(b)),
                }
            }
            Expr::Call(f, args) => {
                let args = args
                    .iter()
                    .map(|a| Code::compile(a, scope))
                    .collect::<Result<Vec<Code>>>()?;
                if args.iter().all(|a| matches!(a, Code::Const(_))) {
                    let vals: Vec<f64> = args
                        .iter()
                        .map(|a| if let Code::Const(v) = a { *v } else { 0.0 })
                        .collect();
                    Code::Const(call(*f, &vals))
                } else {
                    Code::Call(*f, args)
                }
            }
        })
    }

    /// Does the code read the clock?
    pub fn uses_time(&self) -> bool {
        match self {
            Code::Time => true,
            Code::Const(_) | Code::Species(_) => false,
            Code::Neg(a) => a.uses_time(),
            Code::Bin(_, a, b) => a.uses_time() || b.uses_time(),
            Code::Call(_, args) => args.iter().any(Code::uses_time),
        }
    }

    /// The species the code reads, appended to `out` (unsorted, may repeat).
    pub fn species(&self, out: &mut Vec<u32>) {
        match self {
            Code::Species(i) => out.push(*i),
            Code::Const(_) | Code::Time => {}
            Code::Neg(a) => a.species(out),
            Code::Bin(_, a, b) => {
                a.species(out);
                b.species(out);
            }
            Code::Call(_, args) => args.iter().for_each(|a| a.species(out)),
        }
    }

    /// Value in state `x` at time `t`.
    pub fn eval(&self, x: &[u64], t: f64) -> f64 {
        match self {
            Code::Const(v) => *v,
            Code::Species(i) => x[*i as usize] as f64,
            Code::Time => t,
            Code::Neg(a) => -a.eval(x, t),
            Code::Bin(op, a, b) => bin(*op, a.eval(x, t), b.eval(x, t)),
            Code::Call(f, args) => match args.as_slice() {
                [a] => call(*f, &[a.eval(x, t)]),
                [a, b] => call(*f, &[a.eval(x, t), b.eval(x, t)]),
                _ => {
                    let v: Vec<f64> = args.iter().map(|a| a.eval(x, t)).collect();
                    call(*f, &v)
                }
            },
        }
    }

    /// An enclosure [lo, hi] of the value over all states with lo_x ≤ x ≤ hi_x (interval
    /// arithmetic, Moore 1966; outward-safe for the operations used). Not finite where it
    /// cannot be bounded (e.g. a division by an interval containing 0).
    pub fn bounds(&self, lo: &[u64], hi: &[u64]) -> (f64, f64) {
        match self {
            Code::Const(v) => (*v, *v),
            Code::Species(i) => (lo[*i as usize] as f64, hi[*i as usize] as f64),
            Code::Time => (f64::NEG_INFINITY, f64::INFINITY),
            Code::Neg(a) => {
                let (l, h) = a.bounds(lo, hi);
                (-h, -l)
            }
            Code::Bin(op, a, b) => {
                let (al, ah) = a.bounds(lo, hi);
                let (bl, bh) = b.bounds(lo, hi);
                match op {
                    BinOp::Add => (al + bl, ah + bh),
                    BinOp::Sub => (al - bh, ah - bl),
                    BinOp::Mul => hull(&[al * bl, al * bh, ah * bl, ah * bh]),
                    BinOp::Div => {
                        if bl > 0.0 || bh < 0.0 {
                            hull(&[al / bl, al / bh, ah / bl, ah / bh])
                        } else {
                            (f64::NEG_INFINITY, f64::INFINITY)
                        }
                    }
                    BinOp::Pow => pow_bounds((al, ah), (bl, bh)),
                }
            }
            Code::Call(f, args) => {
                let iv: Vec<(f64, f64)> = args.iter().map(|a| a.bounds(lo, hi)).collect();
                let (l, h) = iv.first().copied().unwrap_or((f64::NAN, f64::NAN));
                match f {
                    Func::Exp => (l.exp(), h.exp()),
                    Func::Ln => (l.ln(), h.ln()),
                    Func::Log10 => (l.log10(), h.log10()),
                    Func::Log2 => (l.log2(), h.log2()),
                    Func::Sqrt => (l.sqrt(), h.sqrt()),
                    Func::Abs => {
                        if l >= 0.0 {
                            (l, h)
                        } else if h <= 0.0 {
                            (-h, -l)
                        } else {
                            (0.0, (-l).max(h))
                        }
                    }
                    Func::Pow => pow_bounds((l, h), iv.get(1).copied().unwrap_or((l, h))),
                    Func::Min => iv.iter().fold((f64::INFINITY, f64::INFINITY), |acc, v| {
                        (acc.0.min(v.0), acc.1.min(v.1))
                    }),
                    Func::Max => iv
                        .iter()
                        .fold((f64::NEG_INFINITY, f64::NEG_INFINITY), |acc, v| {
                            (acc.0.max(v.0), acc.1.max(v.1))
                        }),
                }
            }
        }
    }
}

fn hull(v: &[f64]) -> (f64, f64) {
    if v.iter().any(|x| x.is_nan()) {
        return (f64::NEG_INFINITY, f64::INFINITY);
    }
    (
        v.iter().copied().fold(f64::INFINITY, f64::min),
        v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// Bounds of a^b: exact for a constant integer exponent, monotone cases for a ≥ 0,
/// unbounded otherwise.
fn pow_bounds((al, ah): (f64, f64), (bl, bh): (f64, f64)) -> (f64, f64) {
    if bl == bh && bl.fract() == 0.0 {
        let n = bl;
        if n >= 0.0 && (n as i64) % 2 == 0 && al < 0.0 && ah > 0.0 {
            return (0.0, al.abs().max(ah).powf(n));
        }
        if n < 0.0 && al <= 0.0 && ah >= 0.0 {
            return (f64::NEG_INFINITY, f64::INFINITY);
        }
        return hull(&[al.powf(n), ah.powf(n)]);
    }
    if al >= 0.0 {
        return hull(&[al.powf(bl), al.powf(bh), ah.powf(bl), ah.powf(bh)]);
    }
    (f64::NEG_INFINITY, f64::INFINITY)
}

/// A compiled condition. Comparisons of the clock with a constant are [`Test::Clock`]:
/// `after = true` is t ≥ c, `after = false` is t < c (right-continuous in t).
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Always true or always false.
    Const(bool),
    /// A comparison of two expressions.
    Cmp(CmpOp, Code, Code),
    /// A comparison of the clock with a constant.
    Clock {
        /// t ≥ `at` (true) or t < `at` (false).
        after: bool,
        /// The instant.
        at: f64,
    },
    /// Negation.
    Not(Box<Test>),
    /// All of.
    And(Vec<Test>),
    /// Any of.
    Or(Vec<Test>),
    /// An odd number of.
    Xor(Vec<Test>),
}

impl Test {
    /// Compile a trigger; `time` only in direct comparisons with a state-free expression.
    pub(crate) fn compile(c: &Condition, scope: &Scope<'_>) -> Result<Test> {
        let all = |cs: &[Condition]| -> Result<Vec<Test>> {
            cs.iter().map(|c| Test::compile(c, scope)).collect()
        };
        Ok(match c {
            Condition::Const(b) => Test::Const(*b),
            Condition::Not(c) => Test::Not(Box::new(Test::compile(c, scope)?)),
            Condition::And(cs) => Test::And(all(cs)?),
            Condition::Or(cs) => Test::Or(all(cs)?),
            Condition::Xor(cs) => Test::Xor(all(cs)?),
            Condition::Cmp(op, a, b) => {
                let (a, b) = (Code::compile(a, scope)?, Code::compile(b, scope)?);
                let clock = |op: CmpOp, other: &Code| -> Result<Test> {
                    let at = match other {
                        Code::Const(v) if v.is_finite() => *v,
                        _ => return Err(clock_error(scope)),
                    };
                    Ok(match op {
                        CmpOp::Gt | CmpOp::Ge => Test::Clock { after: true, at },
                        CmpOp::Lt | CmpOp::Le => Test::Clock { after: false, at },
                        CmpOp::Eq | CmpOp::Ne => {
                            return Err(Error::Unsupported {
                                feature: format!(
                                    "`time {} ...` in {} (compare the clock with <, <=, > or >=)",
                                    op.symbol(),
                                    scope.context
                                ),
                            });
                        }
                    })
                };
                match (&a, &b) {
                    (Code::Time, other) => clock(*op, other)?,
                    (other, Code::Time) => clock(op.mirrored(), other)?,
                    _ if a.uses_time() || b.uses_time() => return Err(clock_error(scope)),
                    _ => Test::Cmp(*op, a, b),
                }
            }
        })
    }

    /// Value in state `x` at time `t` (clock comparisons right-continuous).
    pub fn eval(&self, x: &[u64], t: f64) -> bool {
        match self {
            Test::Const(b) => *b,
            Test::Cmp(op, a, b) => op.holds(a.eval(x, t), b.eval(x, t)),
            Test::Clock { after, at } => (t >= *at) == *after,
            Test::Not(c) => !c.eval(x, t),
            Test::And(cs) => cs.iter().all(|c| c.eval(x, t)),
            Test::Or(cs) => cs.iter().any(|c| c.eval(x, t)),
            Test::Xor(cs) => cs.iter().filter(|c| c.eval(x, t)).count() % 2 == 1,
        }
    }

    /// The instants at which a clock comparison changes value, appended to `out`.
    pub fn clock_times(&self, out: &mut Vec<f64>) {
        match self {
            Test::Clock { at, .. } => out.push(*at),
            Test::Not(c) => c.clock_times(out),
            Test::And(cs) | Test::Or(cs) | Test::Xor(cs) => {
                cs.iter().for_each(|c| c.clock_times(out));
            }
            Test::Const(_) | Test::Cmp(..) => {}
        }
    }

    /// Does the value depend on the state?
    pub fn reads_state(&self) -> bool {
        match self {
            Test::Cmp(..) => true,
            Test::Const(_) | Test::Clock { .. } => false,
            Test::Not(c) => c.reads_state(),
            Test::And(cs) | Test::Or(cs) | Test::Xor(cs) => cs.iter().any(Test::reads_state),
        }
    }
}

fn clock_error(scope: &Scope<'_>) -> Error {
    Error::Unsupported {
        feature: format!(
            "the use of `time` in {} (the clock may only be compared directly with an \
             expression of parameters, e.g. `time >= t1`)",
            scope.context
        ),
    }
}

/// One compiled event.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledEvent {
    /// The event's name.
    pub name: String,
    /// When it fires (on a false-to-true transition).
    pub trigger: Test,
    /// Species index and the value assigned to it (all evaluated before any is applied).
    pub assign: Vec<(u32, Code)>,
    /// The trigger's value before time 0.
    pub initial_value: bool,
    /// The trigger reads the state (not only the clock).
    pub reads_state: bool,
}

/// All events of a network, compiled.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Events {
    /// The events in declaration order.
    pub events: Vec<CompiledEvent>,
    /// Sorted distinct instants at which some trigger's clock comparison changes.
    pub times: Vec<f64>,
    /// Some trigger reads the state (so triggers are checked after every reaction).
    pub any_state: bool,
}

impl Events {
    /// Compile events.
    pub(crate) fn compile(
        events: &[Event],
        species: &HashMap<&str, usize>,
        params: &dyn Fn(&str) -> Option<f64>,
    ) -> Result<Events> {
        let mut out = Events::default();
        for ev in events {
            let scope = Scope {
                species,
                params,
                context: format!("the trigger of event `{}`", ev.name),
                allow_time: true,
            };
            let trigger = Test::compile(&ev.trigger, &scope)?;
            trigger.clock_times(&mut out.times);
            let mut assign = Vec::with_capacity(ev.assignments.len());
            for (i, e) in &ev.assignments {
                let scope = Scope {
                    context: format!("an assignment of event `{}`", ev.name),
                    ..scope
                };
                assign.push((*i as u32, Code::compile(e, &scope)?));
            }
            out.any_state |= trigger.reads_state();
            out.events.push(CompiledEvent {
                name: ev.name.clone(),
                reads_state: trigger.reads_state(),
                trigger,
                assign,
                initial_value: ev.initial_value,
            });
        }
        out.times.retain(|t| t.is_finite());
        out.times.sort_by(f64::total_cmp);
        out.times.dedup();
        Ok(out)
    }

    /// The first clock instant strictly after `t` (infinity if none).
    pub fn next_time_after(&self, t: f64) -> f64 {
        let k = self.times.partition_point(|&s| s <= t);
        self.times.get(k).copied().unwrap_or(f64::INFINITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope<'a>(
        species: &'a HashMap<&'a str, usize>,
        p: &'a dyn Fn(&str) -> Option<f64>,
    ) -> Scope<'a> {
        Scope {
            species,
            params: p,
            context: "a test".into(),
            allow_time: true,
        }
    }

    #[test]
    fn bounds_enclose_values() {
        let species: HashMap<&str, usize> = [("X", 0), ("Y", 1)].into_iter().collect();
        let p = |n: &str| (n == "k").then_some(0.5);
        let s = scope(&species, &p);
        for text in [
            "0.5 * k * (100 - 2 * X) * (99 - 2 * X)",
            "X^2 / (1 + Y)",
            "exp(-X / 10) + sqrt(Y)",
            "abs(X - Y) + min(X, Y) + max(X, 3)",
            "pow(X, 3) - Y^2",
        ] {
            let code = Code::compile(&Expr::parse(text).unwrap(), &s).unwrap();
            for (lo, hi) in [([3u64, 0], [9u64, 4]), ([0, 2], [0, 2]), ([40, 1], [60, 7])] {
                let (l, h) = code.bounds(&lo, &hi);
                for x in lo[0]..=hi[0] {
                    for y in lo[1]..=hi[1] {
                        let v = code.eval(&[x, y], 0.0);
                        assert!(l <= v && v <= h, "{text}: {v} not in [{l}, {h}]");
                    }
                }
            }
        }
    }

    #[test]
    fn clock_comparisons() {
        let species: HashMap<&str, usize> = [("X", 0)].into_iter().collect();
        let p = |n: &str| (n == "t1").then_some(25.0);
        let s = scope(&species, &p);
        let t = Test::compile(&Condition::parse("time > t1 && X < 5").unwrap(), &s).unwrap();
        assert!(!t.eval(&[1], 24.9));
        assert!(t.eval(&[1], 25.0));
        assert!(!t.eval(&[7], 26.0));
        let mut times = Vec::new();
        t.clock_times(&mut times);
        assert_eq!(times, vec![25.0]);
        let t = Test::compile(&Condition::parse("30 >= time").unwrap(), &s).unwrap();
        assert!(t.eval(&[0], 29.0) && !t.eval(&[0], 30.0));
        for bad in ["time > X", "2 * time > 5", "time == 5"] {
            let e = Test::compile(&Condition::parse(bad).unwrap(), &s).unwrap_err();
            assert!(matches!(e, Error::Unsupported { .. }), "{bad}: {e}");
        }
    }
}
