//! SBML import (Level 2 versions 1–5, Level 3 versions 1–2, core) for exact stochastic
//! simulation, and export (Level 3 Version 2).
//!
//! What is read: compartments (sizes), species (initial amount, or initial concentration
//! × compartment size; `hasOnlySubstanceUnits` decides whether a species symbol in math is
//! an amount or a concentration; boundary or constant species become constant species),
//! global parameters, function definitions (inlined at every call), reactions with
//! stoichiometries and kinetic laws in MathML with local parameters, assignment rules that
//! define a species as an integer combination of others (they become observables, and math
//! that uses them sees the rule's expression), and events without delays.
//!
//! **The kinetic law is the propensity.** crnkit's mass-action channels have the
//! falling-factorial form a(x) = c · Π_i (x_i)_(ν_i) over the reactants. A kinetic law of
//! exactly this form becomes such a channel (so the mass-action fast paths and analyses stay
//! available): c is read off at one state and the law is then
//! checked at several others, including states where a reactant count is below its
//! stoichiometry (where the propensity must vanish). When the law is a product of the
//! falling factorials and species-free factors whose value is c, those factors are the
//! rate as written (`k1*P*(P-1)/2` for 2P → P2 becomes the rate `k1 / 2`, and `k1` stays a
//! parameter); otherwise the rate is the number c. Boundary and constant species stay on
//! the reaction's sides when the law is mass action in them, and are left out where it is
//! not. A law of any other form (a Hill function, `k*P^2`,
//! `0.5*k1*(100-2*P2)*(99-2*P2)`) becomes a *general propensity law* of the reaction: the
//! expression itself, with species as molecule counts (a species whose symbol is a
//! concentration becomes count / size), local parameters and compartment sizes as numbers,
//! global parameters as network parameters of the same name (unless a mass-action rate has
//! folded the parameter into a number: then it is that number everywhere), and
//! assignment-rule variables replaced by their expressions. A law that uses `time` is
//! refused by name.
//!
//! **Reversible reactions** carry one law, a net rate. When it is mass action both ways,
//! c_f · Π (x)_ν − c_r · Π (x)_μ (written `kf*A - kr*B`, or in concentrations
//! `C*(kf*A*E - kr*B*E)`), it becomes a reversible pair with those two rates: found from
//! the law's `forward − reverse` parts when it is written so, else from states where one
//! direction vanishes (or two states solved together), then checked at others. A one-way law
//! (c_r = 0) is an irreversible channel; any other net law is refused by name.
//!
//! **Initial assignments** are evaluated once, before the run, in the order their
//! dependencies need: parameters and compartment sizes first, then species (a value assigned
//! to a species is a concentration unless it has only substance units). A parameter assigned
//! from earlier parameters stays an expression of them. Cycles are refused by name.
//!
//! **Events** become [`crnkit_core::network::EventSpec`]s: the trigger's relational (`lt`, `leq`,
//! `gt`, `geq`, `eq`, `neq`; chains `lt a b c` mean a < b ∧ b < c), logical (`and`, `or`,
//! `xor`, `not`) and constant (`true`, `false`) MathML becomes a
//! [`Condition`], each event assignment of a species an
//! assignment (a concentration value is multiplied by the compartment size). The Level 3
//! trigger attribute `initialValue` is kept (Level 2 behaves as `true`); `persistent` and
//! `useValuesFromTriggerTime` make no difference without a delay and are accepted. Refused
//! by name: `<delay>`, `<priority>`, events without a trigger, assignments to parameters,
//! compartments, boundary or constant species and assignment-rule variables.
//!
//! Everything else that changes the dynamics — rate and algebraic rules, delays, `fast`
//! reactions, constraints, packages — is refused with an error naming the element and its
//! id and giving its line and column, never ignored.
//!
//! [`to_sbml_string`] writes SBML Level 3 Version 2 (the export; its conventions there).

mod write;

use std::cell::Cell;
use std::collections::{HashMap, HashSet};

use roxmltree::{Document, Node};

use crnkit_core::network::{
    Assignments, BinOp, CmpOp, Condition, EventSpec, Expr, Func, MAX_EXPR_DEPTH, Network,
    NetworkBuilder, NetworkSpec, ParameterSpec, TIME,
};
use crnkit_core::{Error, Result};

pub use write::to_sbml_string;

const MATHML: &str = "http://www.w3.org/1998/Math/MathML";

/// The name the `time` csymbol gets while math is read: not a valid SBML id, so it cannot
/// clash with one. Resolving names turns it into [`TIME`].
const CLOCK: &str = "#time";

/// Deepest nesting of function calls, and of assignment rules that use one another.
const MAX_DEPTH: usize = 64;

/// The largest expression (in nodes) that inlining a function call may produce.
pub const MAX_INLINED_NODES: usize = 100_000;

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    doc: &'a Document<'a>,
    /// Function definitions by id.
    funcs: HashMap<&'a str, Node<'a, 'a>>,
    /// Current nesting of inlined function calls.
    depth: Cell<usize>,
    /// Current nesting of MathML `<apply>` elements (see [`MAX_EXPR_DEPTH`]).
    nesting: Cell<usize>,
}

impl Ctx<'_> {
    /// Locate an error at `node`.
    fn at(&self, node: Node, e: Error) -> Error {
        let p = self.doc.text_pos_at(node.range().start);
        e.at(self.file, self.text, p.row as usize, p.col as usize)
    }

    /// Run `f` one MathML `<apply>` level deeper, refusing to pass [`MAX_EXPR_DEPTH`].
    fn nested<T>(&self, node: Node, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let level = self.nesting.get();
        if level >= MAX_EXPR_DEPTH {
            return Err(self.at(
                node,
                Error::TooDeep {
                    limit: MAX_EXPR_DEPTH,
                },
            ));
        }
        self.nesting.set(level + 1);
        let out = f();
        self.nesting.set(level);
        out
    }

    /// Refuse an expression deeper than [`MAX_EXPR_DEPTH`] (built at `node`).
    fn shallow(&self, node: Node, e: Expr) -> Result<Expr> {
        if e.depth() > MAX_EXPR_DEPTH {
            return Err(self.at(
                node,
                Error::TooDeep {
                    limit: MAX_EXPR_DEPTH,
                },
            ));
        }
        Ok(e)
    }

    fn unsupported(&self, node: Node, what: String) -> Error {
        self.at(node, Error::Unsupported { feature: what })
    }

    fn attr<'n>(&self, node: Node<'n, 'n>, name: &str) -> Result<&'n str> {
        node.attribute(name).ok_or_else(|| {
            self.at(
                node,
                Error::Syntax {
                    expected: format!("attribute `{name}` on <{}>", node.tag_name().name()),
                    found: "nothing".into(),
                },
            )
        })
    }

    fn number(&self, node: Node, name: &str, text: &str) -> Result<f64> {
        text.trim().parse::<f64>().map_err(|_| {
            self.at(
                node,
                Error::Syntax {
                    expected: format!("a number for `{name}`"),
                    found: format!("`{text}`"),
                },
            )
        })
    }
}

/// Add "in `what`" to an unsupported-feature error, keeping its location.
fn within(e: Error, what: &str) -> Error {
    match e {
        Error::Unsupported { feature } => Error::Unsupported {
            feature: format!("{feature} in {what}"),
        },
        Error::Parse {
            file,
            line,
            col,
            snippet,
            source,
        } => Error::Parse {
            file,
            line,
            col,
            snippet,
            source: Box::new(within(*source, what)),
        },
        other => other,
    }
}

fn element_children<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(|c| c.is_element())
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    element_children(node).find(|c| c.tag_name().name() == name)
}

/// The content of a `<math>` or `<semantics>` wrapper (annotations skipped).
fn unwrap_math<'a, 'i>(node: Node<'a, 'i>) -> Option<Node<'a, 'i>> {
    let mut n = node;
    while matches!(n.tag_name().name(), "math" | "semantics") {
        n = element_children(n)
            .find(|c| !matches!(c.tag_name().name(), "annotation" | "annotation-xml"))?;
    }
    Some(n)
}

fn id_of(node: Node) -> String {
    node.attribute("id")
        .or_else(|| node.attribute("variable"))
        .or_else(|| node.attribute("symbol"))
        .unwrap_or("(no id)")
        .to_string()
}

/// `e` with each name `v` for which `f(v)` is `Some` replaced.
fn substitute(e: &Expr, f: &dyn Fn(&str) -> Option<Expr>) -> Expr {
    match e {
        Expr::Var(v) => f(v).unwrap_or_else(|| e.clone()),
        Expr::Num(_) => e.clone(),
        Expr::Neg(a) => Expr::Neg(Box::new(substitute(a, f))),
        Expr::Bin(op, a, b) => {
            Expr::Bin(*op, Box::new(substitute(a, f)), Box::new(substitute(b, f)))
        }
        Expr::Call(g, args) => Expr::Call(*g, args.iter().map(|a| substitute(a, f)).collect()),
    }
}

/// MathML content markup → an expression. Supported: `ci`, `cn` (integer, real,
/// e-notation, rational), the constants `pi` and `exponentiale`, `apply` with plus, minus,
/// times, divide, power, exp, ln, log (base 10 or `logbase`), root (square), abs, min, max,
/// and calls of function definitions (inlined). The `time` csymbol is returned as the
/// variable [`CLOCK`] (the caller decides whether it may appear). Anything else (floor,
/// piecewise, trigonometry, relational operators outside triggers, …) is refused by name.
fn mathml(ctx: &Ctx, node: Node) -> Result<Expr> {
    let name = node.tag_name().name();
    let text = || node.text().unwrap_or("").trim().to_string();
    match name {
        "math" | "semantics" => {
            let inner = unwrap_math(node)
                .ok_or_else(|| ctx.unsupported(node, "an empty <math> element".into()))?;
            mathml(ctx, inner)
        }
        "ci" => Ok(Expr::var(text())),
        "pi" => Ok(Expr::Num(std::f64::consts::PI)),
        "exponentiale" => Ok(Expr::Num(std::f64::consts::E)),
        "cn" => mathml_cn(ctx, node),
        "csymbol" => {
            let url = node.attribute("definitionURL").unwrap_or("");
            if url.ends_with("/time") {
                Ok(Expr::var(CLOCK))
            } else if url.ends_with("/delay") {
                Err(ctx.unsupported(node, "the MathML csymbol `delay` (delayed kinetics)".into()))
            } else {
                Err(ctx.unsupported(node, format!("the MathML csymbol `{url}`")))
            }
        }
        "apply" => ctx.nested(node, || mathml_apply(ctx, node)),
        other => Err(ctx.unsupported(node, format!("the MathML element <{other}>"))),
    }
}

/// A MathML number `<cn>` (integer, real, e-notation or rational).
fn mathml_cn(ctx: &Ctx, node: Node) -> Result<Expr> {
    let text = || node.text().unwrap_or("").trim().to_string();
    let kind = node.attribute("type").unwrap_or("real");
    match kind {
        "integer" | "real" => Ok(Expr::Num(ctx.number(node, "cn", &text())?)),
        "e-notation" | "rational" => {
            let parts: Vec<String> = node
                .children()
                .filter(|c| c.is_text())
                .filter_map(|c| c.text())
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect();
            if parts.len() != 2 {
                return Err(
                    ctx.unsupported(node, format!("a <cn type=\"{kind}\"> without two parts"))
                );
            }
            let a = ctx.number(node, "cn", &parts[0])?;
            let b = ctx.number(node, "cn", &parts[1])?;
            if kind == "e-notation" {
                // Read as one decimal number, so the value is the correctly rounded one.
                if let Ok(v) = format!("{}e{}", parts[0], parts[1]).parse::<f64>() {
                    return Ok(Expr::Num(v));
                }
            }
            Ok(Expr::Num(if kind == "rational" {
                a / b
            } else {
                a * 10f64.powf(b)
            }))
        }
        other => Err(ctx.unsupported(node, format!("<cn type=\"{other}\">"))),
    }
}

/// A MathML `<apply>`: its arguments, then a function-definition call or an operator.
fn mathml_apply(ctx: &Ctx, node: Node) -> Result<Expr> {
    let mut it = element_children(node);
    let op = it
        .next()
        .ok_or_else(|| ctx.unsupported(node, "an empty <apply>".into()))?;
    let args: Vec<Node> = it.filter(|c| c.tag_name().name() != "logbase").collect();
    let opname = op.tag_name().name();
    if opname == "csymbol" {
        return Err(ctx.unsupported(
            op,
            format!(
                "the MathML function csymbol `{}`",
                op.attribute("definitionURL").unwrap_or("")
            ),
        ));
    }
    let xs: Vec<Expr> = args
        .iter()
        .map(|a| mathml(ctx, *a))
        .collect::<Result<_>>()?;
    if opname == "ci" {
        return inline_call(ctx, node, op, xs);
    }
    apply_operator(ctx, node, op, xs)
}

/// Left fold of `xs` with the binary operator `op`; `unit` when there are none.
fn fold_bin(op: BinOp, xs: Vec<Expr>, unit: f64) -> Expr {
    let mut it = xs.into_iter();
    match it.next() {
        None => Expr::Num(unit),
        Some(first) => it.fold(first, |a, b| Expr::Bin(op, Box::new(a), Box::new(b))),
    }
}

/// The MathML operator `op` of the `<apply>` `node`, applied to the arguments `xs`.
fn apply_operator(ctx: &Ctx, node: Node, op: Node, xs: Vec<Expr>) -> Result<Expr> {
    let opname = op.tag_name().name();
    // An n-ary operator becomes a chain of n - 1 nested binary operations: refuse a chain
    // that would be too deep before building it (dropping it would recurse per term).
    if matches!(opname, "plus" | "times" | "minus" | "divide" | "power") {
        let inner = xs.iter().map(Expr::depth).max().unwrap_or(0);
        if inner + xs.len() > MAX_EXPR_DEPTH + 1 {
            return Err(ctx.at(
                node,
                Error::TooDeep {
                    limit: MAX_EXPR_DEPTH,
                },
            ));
        }
    }
    let arity = |n: usize| -> Result<()> {
        if xs.len() == n {
            Ok(())
        } else {
            Err(ctx.unsupported(
                node,
                format!("<{opname}> with {} arguments (expected {n})", xs.len()),
            ))
        }
    };
    match opname {
        "plus" => Ok(fold_bin(BinOp::Add, xs, 0.0)),
        "times" => Ok(fold_bin(BinOp::Mul, xs, 1.0)),
        "minus" => match xs.len() {
            1 => Ok(Expr::Neg(Box::new(
                xs.into_iter().next().unwrap_or(Expr::Num(0.0)),
            ))),
            2 => Ok(fold_bin(BinOp::Sub, xs, 0.0)),
            n => Err(ctx.unsupported(node, format!("<minus> with {n} arguments"))),
        },
        "divide" => {
            arity(2)?;
            Ok(fold_bin(BinOp::Div, xs, 1.0))
        }
        "power" => {
            arity(2)?;
            Ok(fold_bin(BinOp::Pow, xs, 1.0))
        }
        "exp" | "ln" | "abs" => {
            arity(1)?;
            let f = match opname {
                "exp" => Func::Exp,
                "ln" => Func::Ln,
                _ => Func::Abs,
            };
            Ok(Expr::Call(f, xs))
        }
        "min" | "max" => {
            if xs.is_empty() {
                return Err(ctx.unsupported(node, format!("<{opname}> without arguments")));
            }
            let f = if opname == "min" {
                Func::Min
            } else {
                Func::Max
            };
            Ok(Expr::Call(f, xs))
        }
        "log" => {
            arity(1)?;
            let base = element_children(node)
                .find(|c| c.tag_name().name() == "logbase")
                .and_then(|b| element_children(b).next())
                .map(|b| mathml(ctx, b))
                .transpose()?;
            match base {
                None => Ok(Expr::Call(Func::Log10, xs)),
                Some(b) => Ok(Expr::Bin(
                    BinOp::Div,
                    Box::new(Expr::Call(Func::Ln, xs)),
                    Box::new(Expr::Call(Func::Ln, vec![b])),
                )),
            }
        }
        "root" => {
            if element_children(node).any(|c| c.tag_name().name() == "degree") {
                return Err(ctx.unsupported(node, "<root> with a <degree>".into()));
            }
            arity(1)?;
            Ok(Expr::Call(Func::Sqrt, xs))
        }
        other => Err(ctx.unsupported(op, format!("the MathML operator <{other}>"))),
    }
}

/// Inline a call `<apply><ci>f</ci> args…</apply>` of the function definition `f`: its
/// `<lambda>` body with the bound variables replaced by the arguments.
fn inline_call(ctx: &Ctx, apply: Node, op: Node, args: Vec<Expr>) -> Result<Expr> {
    let name = op.text().unwrap_or("").trim();
    let def = *ctx.funcs.get(name).ok_or_else(|| {
        ctx.unsupported(
            op,
            format!("a call of `{name}`, which is not a function definition"),
        )
    })?;
    let lambda = child(def, "math")
        .and_then(unwrap_math)
        .filter(|n| n.tag_name().name() == "lambda")
        .ok_or_else(|| {
            ctx.unsupported(
                def,
                format!("function definition `{name}` without a <lambda>"),
            )
        })?;
    let mut bvars: Vec<String> = Vec::new();
    let mut body = None;
    for c in element_children(lambda) {
        if c.tag_name().name() == "bvar" {
            let ci = child(c, "ci").ok_or_else(|| {
                ctx.unsupported(c, format!("a <bvar> without a <ci> in function `{name}`"))
            })?;
            bvars.push(ci.text().unwrap_or("").trim().to_string());
        } else if body.replace(c).is_some() {
            return Err(ctx.unsupported(c, format!("function `{name}` with two bodies")));
        }
    }
    let body =
        body.ok_or_else(|| ctx.unsupported(lambda, format!("function `{name}` without a body")))?;
    if args.len() != bvars.len() {
        return Err(ctx.unsupported(
            apply,
            format!(
                "a call of `{name}` with {} arguments (it takes {})",
                args.len(),
                bvars.len()
            ),
        ));
    }
    let depth = ctx.depth.get();
    if depth >= MAX_DEPTH {
        return Err(ctx.unsupported(
            op,
            format!("function calls nested more than {MAX_DEPTH} deep (`{name}` calls itself?)"),
        ));
    }
    ctx.depth.set(depth + 1);
    let b = mathml(ctx, body);
    ctx.depth.set(depth);
    let b = b.map_err(|e| within(e, &format!("function `{name}`")))?;
    let bound: HashMap<&str, &Expr> = bvars.iter().map(String::as_str).zip(&args).collect();
    // Inlining copies each argument at every use of its variable: definitions that call
    // one another can grow exponentially (f_i(x) = f_{i-1}(f_{i-1}(x))). Count first.
    let mut size = b.size();
    b.visit_vars(&mut |v| {
        if let Some(a) = bound.get(v) {
            size = size.saturating_add(a.size() - 1);
        }
    });
    if size > MAX_INLINED_NODES {
        return Err(ctx.unsupported(
            apply,
            format!(
                "inlining `{name}` gives an expression of {size} nodes, more than \
                 {MAX_INLINED_NODES}: function definitions that expand this much cannot be \
                 inlined (write the law with fewer nested calls)"
            ),
        ));
    }
    ctx.shallow(
        apply,
        substitute(&b, &|v| bound.get(v).map(|e| (*e).clone())),
    )
}

fn cmp_op(name: &str) -> Option<CmpOp> {
    Some(match name {
        "lt" => CmpOp::Lt,
        "leq" => CmpOp::Le,
        "gt" => CmpOp::Gt,
        "geq" => CmpOp::Ge,
        "eq" => CmpOp::Eq,
        "neq" => CmpOp::Ne,
        _ => return None,
    })
}

/// MathML for a boolean (an event trigger) → a condition: relational operators (n-ary
/// chains become conjunctions of neighbouring pairs), `and`, `or`, `xor`, `not`, `true`,
/// `false`. Arithmetic operands as in [`mathml`].
fn condition(ctx: &Ctx, node: Node) -> Result<Condition> {
    let name = node.tag_name().name();
    match name {
        "math" | "semantics" => {
            let inner = unwrap_math(node)
                .ok_or_else(|| ctx.unsupported(node, "an empty <math> element".into()))?;
            condition(ctx, inner)
        }
        "true" => Ok(Condition::Const(true)),
        "false" => Ok(Condition::Const(false)),
        "apply" => ctx.nested(node, || condition_apply(ctx, node)),
        other => Err(ctx.unsupported(
            node,
            format!(
                "the MathML element <{other}> where a condition is needed (a comparison, \
                 and, or, xor, not, true or false)"
            ),
        )),
    }
}

/// A MathML `<apply>` where a condition is needed.
fn condition_apply(ctx: &Ctx, node: Node) -> Result<Condition> {
    let mut it = element_children(node);
    let op = it
        .next()
        .ok_or_else(|| ctx.unsupported(node, "an empty <apply>".into()))?;
    let args: Vec<Node> = it.collect();
    let opname = op.tag_name().name();
    if let Some(cmp) = cmp_op(opname) {
        let xs: Vec<Expr> = args
            .iter()
            .map(|a| mathml(ctx, *a))
            .collect::<Result<_>>()?;
        if xs.len() < 2 || (cmp == CmpOp::Ne && xs.len() != 2) {
            return Err(ctx.unsupported(node, format!("<{opname}> with {} arguments", xs.len())));
        }
        let mut parts: Vec<Condition> = xs
            .windows(2)
            .map(|w| Condition::Cmp(cmp, w[0].clone(), w[1].clone()))
            .collect();
        return Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        });
    }
    let all = || -> Result<Vec<Condition>> { args.iter().map(|a| condition(ctx, *a)).collect() };
    match opname {
        "and" => Ok(Condition::And(all()?)),
        "or" => Ok(Condition::Or(all()?)),
        "xor" => Ok(Condition::Xor(all()?)),
        "not" => {
            let mut cs = all()?;
            if cs.len() != 1 {
                return Err(ctx.unsupported(node, format!("<not> with {} arguments", cs.len())));
            }
            Ok(Condition::Not(Box::new(cs.remove(0))))
        }
        "ci" => Err(ctx.unsupported(
            op,
            format!(
                "a call of the function `{}` where a condition is needed",
                op.text().unwrap_or("").trim()
            ),
        )),
        other => Err(ctx.unsupported(
            op,
            format!("the MathML operator <{other}> where a condition is needed"),
        )),
    }
}

/// The expression in the `<math>` child of `node`; `what` names it in errors.
fn math_of(ctx: &Ctx, node: Node, what: &str) -> Result<Expr> {
    mathml(ctx, math_child(ctx, node, what)?).map_err(|e| within(e, what))
}

fn math_child<'a>(ctx: &Ctx, node: Node<'a, 'a>, what: &str) -> Result<Node<'a, 'a>> {
    element_children(node)
        .find(|c| c.tag_name().name() == "math" && c.tag_name().namespace() == Some(MATHML))
        .ok_or_else(|| {
            ctx.at(
                node,
                Error::Syntax {
                    expected: format!("a MathML <math> element in {what}"),
                    found: "nothing".into(),
                },
            )
        })
}

fn parse_bool(v: Option<&str>, default: bool) -> bool {
    match v {
        Some("true") | Some("1") => true,
        Some("false") | Some("0") => false,
        _ => default,
    }
}

/// A species as read.
struct Sp {
    id: String,
    compartment: String,
    /// The compartment's size (`None`: a Level 3 compartment without one).
    size: Option<f64>,
    amount: f64,
    only_substance: bool,
    constant: bool,
}

/// Why a name in math could not be resolved.
enum Unresolved {
    Unknown(String),
    NoSize(String),
    Reserved,
    Cycle(String),
}

/// The model's names, for turning SBML math into crnkit expressions.
struct Symbols<'s> {
    species: &'s [Sp],
    /// State species (not defined by rules) → index.
    index: HashMap<&'s str, usize>,
    params: &'s HashMap<String, f64>,
    compartments: &'s HashMap<String, Option<f64>>,
    /// Assignment rules on species: variable → expression as read.
    rules: HashMap<&'s str, &'s Expr>,
}

impl Symbols<'_> {
    /// `e` in crnkit's terms: species as counts (a concentration symbol is count / size),
    /// local parameters and compartment sizes as numbers, global parameters by name,
    /// assignment-rule variables replaced by their expressions, the clock as [`TIME`].
    fn resolve(
        &self,
        e: &Expr,
        locals: &HashMap<String, f64>,
        depth: usize,
    ) -> std::result::Result<Expr, Unresolved> {
        Ok(match e {
            Expr::Num(_) => e.clone(),
            Expr::Var(n) => self.name(n, locals, depth)?,
            Expr::Neg(a) => Expr::Neg(Box::new(self.resolve(a, locals, depth)?)),
            Expr::Bin(op, a, b) => Expr::Bin(
                *op,
                Box::new(self.resolve(a, locals, depth)?),
                Box::new(self.resolve(b, locals, depth)?),
            ),
            Expr::Call(f, args) => Expr::Call(
                *f,
                args.iter()
                    .map(|a| self.resolve(a, locals, depth))
                    .collect::<std::result::Result<_, _>>()?,
            ),
        })
    }

    fn name(
        &self,
        n: &str,
        locals: &HashMap<String, f64>,
        depth: usize,
    ) -> std::result::Result<Expr, Unresolved> {
        if n == CLOCK {
            return Ok(Expr::var(TIME));
        }
        if n == TIME {
            return Err(Unresolved::Reserved);
        }
        if let Some(v) = locals.get(n) {
            return Ok(Expr::Num(*v));
        }
        if let Some(&i) = self.index.get(n) {
            let s = &self.species[i];
            let x = Expr::var(n);
            return match s.size {
                _ if s.only_substance => Ok(x),
                Some(1.0) => Ok(x),
                Some(v) => Ok(Expr::Bin(BinOp::Div, Box::new(x), Box::new(Expr::Num(v)))),
                None => Err(Unresolved::NoSize(s.compartment.clone())),
            };
        }
        if let Some(rule) = self.rules.get(n) {
            if depth >= MAX_DEPTH {
                return Err(Unresolved::Cycle(n.to_string()));
            }
            return self.resolve(rule, &HashMap::new(), depth + 1);
        }
        if self.params.contains_key(n) {
            return Ok(Expr::var(n));
        }
        match self.compartments.get(n) {
            Some(Some(v)) => Ok(Expr::Num(*v)),
            Some(None) => Err(Unresolved::NoSize(n.to_string())),
            None => Err(Unresolved::Unknown(n.to_string())),
        }
    }

    /// The species-free factors of a resolved mass-action law `law` = k · Π (x)_ν, as the
    /// rate k with its parameters by name, when their value is the coefficient `c` found
    /// by probing (to 10⁻¹²).
    fn rate_of(&self, law: &Expr, c: f64) -> Option<Expr> {
        let free = |e: &Expr| {
            e.variables()
                .iter()
                .all(|v| !self.index.contains_key(v) && *v != TIME)
        };
        let (mut num, mut den): (Vec<Expr>, Vec<Expr>) = (Vec::new(), Vec::new());
        let mut stack = vec![law];
        while let Some(e) = stack.pop() {
            match e {
                other if free(other) => num.push(other.clone()),
                Expr::Bin(BinOp::Mul, a, b) => {
                    stack.push(b);
                    stack.push(a);
                }
                Expr::Bin(BinOp::Div, a, b) if free(b) => {
                    den.push((**b).clone());
                    stack.push(a);
                }
                _ => {}
            }
        }
        let product = |xs: Vec<Expr>| {
            xs.into_iter()
                .reduce(|a, b| Expr::Bin(BinOp::Mul, Box::new(a), Box::new(b)))
        };
        let mut k = product(num).unwrap_or(Expr::Num(1.0));
        if let Some(d) = product(den) {
            k = Expr::Bin(BinOp::Div, Box::new(k), Box::new(d));
        }
        let v = self.eval(&k, &[]).ok()?;
        if (v - c).abs() > 1e-12 * c.abs() {
            return None;
        }
        // A product of numbers is its value (as written, not as probed).
        Some(if k.variables().is_empty() {
            Expr::Num(v)
        } else {
            k
        })
    }

    /// The rates of a reversible pair whose law `forward − reverse` has coefficients
    /// (`cf`, `cr`), as written (see [`Symbols::rate_of`]); `cr` = 0 is a one-way law.
    fn pair_rates(&self, law: &Expr, cf: f64, cr: f64) -> Option<(Expr, Expr)> {
        match law {
            Expr::Bin(BinOp::Sub, f, r) if cr != 0.0 => {
                self.rate_of(f, cf).zip(self.rate_of(r, cr))
            }
            _ if cr == 0.0 => self.rate_of(law, cf).map(|k| (k, Expr::Num(0.0))),
            _ => None,
        }
    }

    /// A reaction side without its constant species.
    fn without_constants(&self, side: &[(usize, u32)]) -> Vec<(usize, u32)> {
        side.iter()
            .copied()
            .filter(|&(i, _)| !self.species[i].constant)
            .collect()
    }

    /// The value of a resolved expression with species counts `x`.
    fn eval(&self, e: &Expr, x: &[f64]) -> Result<f64> {
        e.eval(&|n| {
            self.index
                .get(n)
                .map(|&i| x[i])
                .or_else(|| self.params.get(n).copied())
        })
    }

    /// Resolve `e`, locating errors at `node`; `what` names the expression.
    fn resolve_at(
        &self,
        ctx: &Ctx,
        node: Node,
        e: &Expr,
        locals: &HashMap<String, f64>,
        what: &str,
    ) -> Result<Expr> {
        self.resolve(e, locals, 0).map_err(|u| match u {
            Unresolved::Unknown(n) => ctx.at(
                node,
                Error::UnknownSpecies {
                    name: format!("`{n}` in {what}"),
                },
            ),
            Unresolved::NoSize(c) => ctx.unsupported(
                node,
                format!("compartment `{c}` without a size, used in {what}"),
            ),
            Unresolved::Reserved => ctx.unsupported(
                node,
                format!("an SBML id named `time` in {what} (crnkit reserves `time` for the clock)"),
            ),
            Unresolved::Cycle(n) => ctx.unsupported(
                node,
                format!("assignment rules that use one another in a cycle (`{n}`) in {what}"),
            ),
        })
    }
}

/// Why the clock is used in a way events do not allow in `c` (resolved), if it is: `time`
/// may only be compared directly (`<`, `<=`, `>`, `>=`) with an expression of parameters.
fn clock_misuse(c: &Condition, is_species: &dyn Fn(&str) -> bool) -> Option<String> {
    let uses_time = |e: &Expr| e.variables().contains(&TIME);
    match c {
        Condition::Const(_) => None,
        Condition::Not(c) => clock_misuse(c, is_species),
        Condition::And(cs) | Condition::Or(cs) | Condition::Xor(cs) => {
            cs.iter().find_map(|c| clock_misuse(c, is_species))
        }
        Condition::Cmp(op, a, b) => {
            let clock = Expr::var(TIME);
            let other = if *a == clock {
                b
            } else if *b == clock {
                a
            } else if uses_time(a) || uses_time(b) {
                return Some(format!(
                    "`time` inside an expression (`{c}`); the clock may only be compared \
                     directly with an expression of parameters, e.g. `time >= t1`"
                ));
            } else {
                return None;
            };
            if other
                .variables()
                .iter()
                .any(|v| *v == TIME || is_species(v))
            {
                Some(format!(
                    "the clock compared with an expression of species (`{c}`); it may only be \
                     compared with an expression of parameters"
                ))
            } else if matches!(op, CmpOp::Eq | CmpOp::Ne) {
                Some(format!(
                    "`{c}` (compare the clock with <, <=, > or >=, not with {})",
                    op.symbol()
                ))
            } else {
                None
            }
        }
    }
}

/// Parse SBML text into a network; `file` names it in errors.
///
/// Errors: [`Error::Parse`] wrapping what went wrong (malformed XML, a missing attribute,
/// an unknown reference, [`Error::Unsupported`] for an SBML feature crnkit does not
/// carry out) with the line and column of the element; errors of
/// [`crnkit_core::network::NetworkSpec::build`] for the network read.
pub fn from_sbml_str(text: &str, file: &str) -> Result<Network> {
    let doc = Document::parse(text).map_err(|e| {
        let mut p = e.pos();
        if matches!(
            e,
            roxmltree::Error::UnclosedRootNode | roxmltree::Error::UnexpectedEndOfStream
        ) {
            // A file cut short: the problem is at its end, not where it starts.
            let lines: Vec<&str> = text.lines().collect();
            let last = lines.len().max(1);
            let col = lines.last().map_or(0, |l| l.chars().count()) + 1;
            p = roxmltree::TextPos::new(last as u32, col as u32);
        }
        Error::Syntax {
            expected: "well-formed XML".into(),
            found: e.to_string(),
        }
        .at(file, text, p.row as usize, p.col as usize)
    })?;
    let ctx = Ctx {
        file,
        text,
        doc: &doc,
        funcs: HashMap::new(),
        depth: Cell::new(0),
        nesting: Cell::new(0),
    };
    let (level, model) = sbml_model(&ctx)?;
    // Function definitions first: any math may call them.
    let funcs = function_definitions(&ctx, model)?;
    let ctx = Ctx { funcs, ..ctx };
    let Model {
        compartments,
        params,
        param_order,
        param_exprs,
        mut species,
        rules,
        reactions,
        events,
    } = read_model(&ctx, model, level)?;
    // A species defined by an assignment rule is an output, not a state variable.
    species.retain(|s| !rules.iter().any(|(v, _, _)| *v == s.id));
    let sym = Symbols {
        species: &species,
        index: species
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect(),
        params: &params,
        compartments: &compartments,
        rules: rules.iter().map(|(v, e, _)| (v.as_str(), e)).collect(),
    };
    let mut builder = Network::builder();
    for s in &species {
        builder = if s.constant {
            builder.constant_species(&s.id, s.amount as u64)
        } else {
            builder.species(&s.id, s.amount as u64)
        };
    }
    let x0: Vec<f64> = species.iter().map(|s| s.amount).collect();
    // Assignment rules on species: integer combinations of species → observables.
    for (var, expr, node) in &rules {
        let terms = rule_observable(&ctx, &sym, var, expr, *node, &x0)?;
        let t: Vec<(&str, u32)> = terms.iter().map(|(n, w)| (n.as_str(), *w)).collect();
        builder = builder.observable(var, &t);
    }
    // Global parameters of laws recognised as mass action (their rates are numbers).
    let mut folded: HashSet<String> = HashSet::new();
    for r in reactions {
        builder = add_reaction(&ctx, &sym, r, level, &x0, &mut folded, builder)?;
    }
    let mut event_specs: Vec<EventSpec> = Vec::new();
    for (k, ev) in events.iter().enumerate() {
        let spec = event(&ctx, &sym, *ev, k, level, &event_specs)?;
        if !spec.assign.0.is_empty() {
            event_specs.push(spec);
        }
    }
    let mut spec = builder.spec().clone();
    spec.events = event_specs;
    fold_parameters(&mut spec, &folded, &params, &param_order, &param_exprs);
    spec.build()
}

/// Check the `<sbml>` root (level, version, no required packages); returns the level and
/// the `<model>` element.
fn sbml_model<'a>(ctx: &Ctx<'a>) -> Result<(u32, Node<'a, 'a>)> {
    let root = ctx.doc.root_element();
    let sbml_ns = root
        .tag_name()
        .namespace()
        .is_some_and(|ns| ns.starts_with("http://www.sbml.org/sbml/level"));
    if root.tag_name().name() != "sbml" || !sbml_ns {
        return Err(ctx.at(
            root,
            Error::Syntax {
                expected: "an <sbml> document in an SBML namespace".into(),
                found: format!(
                    "<{}> in namespace {}",
                    root.tag_name().name(),
                    root.tag_name().namespace().unwrap_or("(none)")
                ),
            },
        ));
    }
    let level: u32 = ctx.attr(root, "level")?.parse().unwrap_or(0);
    let version: u32 = ctx.attr(root, "version")?.parse().unwrap_or(0);
    let supported = matches!((level, version), (2, 1..=5) | (3, 1..=2));
    if !supported {
        return Err(ctx.unsupported(
            root,
            format!("SBML Level {level} Version {version} (supported: L2v1–5, L3v1–2)"),
        ));
    }
    // Packages: `<prefix>:required="true"` on the root changes the math and is refused;
    // an optional package (`required="false"`: layout, render, fbc annotations …) leaves
    // the core model's meaning alone, and its elements are skipped.
    for a in root.attributes() {
        if a.name() == "required" && a.namespace().is_some() && parse_bool(Some(a.value()), true) {
            return Err(ctx.unsupported(
                root,
                format!(
                    "the SBML package with namespace {}",
                    a.namespace().unwrap_or("")
                ),
            ));
        }
    }
    let model = child(root, "model").ok_or_else(|| {
        ctx.at(
            root,
            Error::Syntax {
                expected: "a <model> element".into(),
                found: "nothing".into(),
            },
        )
    })?;
    Ok((level, model))
}

/// The model's function definitions by id.
fn function_definitions<'a>(
    ctx: &Ctx<'a>,
    model: Node<'a, 'a>,
) -> Result<HashMap<&'a str, Node<'a, 'a>>> {
    let mut funcs = HashMap::new();
    for list in
        element_children(model).filter(|l| l.tag_name().name() == "listOfFunctionDefinitions")
    {
        for f in element_children(list).filter(|c| c.tag_name().name() == "functionDefinition") {
            funcs.insert(ctx.attr(f, "id")?, f);
        }
    }
    Ok(funcs)
}

/// The model's lists as read, before names are resolved.
struct Model<'a> {
    /// Compartment sizes; a Level 3 compartment may have none, which is an error only where
    /// it is used.
    compartments: HashMap<String, Option<f64>>,
    /// Global parameter values.
    params: HashMap<String, f64>,
    /// Global parameter ids in document order.
    param_order: Vec<String>,
    /// Parameters set by an initial assignment from earlier parameters: the expression.
    param_exprs: HashMap<String, Expr>,
    /// Species in document order.
    species: Vec<Sp>,
    /// Assignment rules: variable, math as read, element.
    rules: Vec<(String, Expr, Node<'a, 'a>)>,
    /// `<reaction>` elements.
    reactions: Vec<Node<'a, 'a>>,
    /// `<event>` elements.
    events: Vec<Node<'a, 'a>>,
}

/// SBML gives compartments, species, parameters, reactions, events and function
/// definitions one namespace of ids: refuse an id declared twice, located at its second
/// declaration (a repeated parameter would otherwise silently take the last value).
fn unique_ids(ctx: &Ctx<'_>, model: Node<'_, '_>) -> Result<()> {
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for list in element_children(model).filter(|l| l.tag_name().name().starts_with("listOf")) {
        for item in element_children(list) {
            let Some(id) = item.attribute("id") else {
                continue;
            };
            let kind = match item.tag_name().name() {
                "compartment" => "compartment",
                "species" => "species",
                "parameter" => "parameter",
                "reaction" => "reaction",
                "event" => "event",
                "functionDefinition" => "function definition",
                _ => continue,
            };
            if let Some(first) = seen.insert(id, kind) {
                let kind = if first == kind { kind } else { "SBML id" };
                return Err(ctx.at(
                    item,
                    Error::DuplicateName {
                        kind,
                        name: id.to_string(),
                    },
                ));
            }
        }
    }
    Ok(())
}

/// Read the lists of the `<model>`, refusing the ones crnkit does not carry out.
fn read_model<'a>(ctx: &Ctx<'a>, model: Node<'a, 'a>, level: u32) -> Result<Model<'a>> {
    unique_ids(ctx, model)?;
    let mut m = Model {
        compartments: HashMap::new(),
        params: HashMap::new(),
        param_order: Vec::new(),
        param_exprs: HashMap::new(),
        species: Vec::new(),
        rules: Vec::new(),
        reactions: Vec::new(),
        events: Vec::new(),
    };
    let assignments = initial_assignments(ctx, model)?;
    let mut species_nodes = Vec::new();
    for list in element_children(model) {
        let lname = list.tag_name().name();
        match lname {
            "notes"
            | "annotation"
            | "listOfUnitDefinitions"
            | "listOfFunctionDefinitions"
            | "listOfInitialAssignments" => {}
            "listOfCompartments" => read_compartments(ctx, list, level, &mut m.compartments)?,
            "listOfParameters" => {
                for p in element_children(list).filter(|c| c.tag_name().name() == "parameter") {
                    let id = ctx.attr(p, "id")?.to_string();
                    let v = match p.attribute("value") {
                        Some(v) => ctx.number(p, "value", v)?,
                        None if assignments.iter().any(|a| a.0 == id) => f64::NAN,
                        None => {
                            return Err(ctx.unsupported(
                                p,
                                format!("parameter `{id}` without a value (set by a rule)"),
                            ));
                        }
                    };
                    m.params.insert(id.clone(), v);
                    m.param_order.push(id);
                }
            }
            "listOfSpecies" => {
                species_nodes
                    .extend(element_children(list).filter(|c| c.tag_name().name() == "species"));
            }
            "listOfRules" => {
                for r in element_children(list) {
                    match r.tag_name().name() {
                        "assignmentRule" => {
                            let var = ctx.attr(r, "variable")?.to_string();
                            let what = format!("the assignment rule for `{var}`");
                            m.rules.push((var, math_of(ctx, r, &what)?, r));
                        }
                        other => {
                            return Err(ctx.unsupported(r, format!("<{other}> for `{}`", id_of(r))));
                        }
                    }
                }
            }
            "listOfReactions" => {
                m.reactions
                    .extend(element_children(list).filter(|c| c.tag_name().name() == "reaction"));
            }
            "listOfEvents" => {
                m.events
                    .extend(element_children(list).filter(|c| c.tag_name().name() == "event"));
            }
            "listOfConstraints" => {
                let first = element_children(list).next().unwrap_or(list);
                return Err(ctx.unsupported(
                    first,
                    format!("<{}> `{}`", first.tag_name().name(), id_of(first)),
                ));
            }
            _ if list.tag_name().namespace() != model.tag_name().namespace() => {}
            other => {
                return Err(ctx.unsupported(list, format!("the model element <{other}>")));
            }
        }
    }
    // Parameters and compartment sizes first (species amounts may depend on them), then
    // the species, then the assignments to species and those to parameters that use a
    // species (COPASI's "Initial for X").
    let (globals, to_species): (Vec<_>, Vec<_>) = assignments
        .iter()
        .partition(|(sym, _, _)| m.params.contains_key(sym) || m.compartments.contains_key(sym));
    let mut left = assign_initial(ctx, &mut m, globals, false)?;
    left.extend(to_species);
    let assigned: HashSet<&str> = assignments.iter().map(|a| a.0.as_str()).collect();
    for s in species_nodes {
        let id = ctx.attr(s, "id")?;
        m.species.push(read_species(
            ctx,
            s,
            &m.compartments,
            assigned.contains(id),
        )?);
    }
    assign_initial(ctx, &mut m, left, true)?;
    Ok(m)
}

/// The sizes of a `<listOfCompartments>` (Level 2's default size is 1).
fn read_compartments(
    ctx: &Ctx,
    list: Node,
    level: u32,
    out: &mut HashMap<String, Option<f64>>,
) -> Result<()> {
    for c in element_children(list).filter(|c| c.tag_name().name() == "compartment") {
        let id = ctx.attr(c, "id")?.to_string();
        let size = match c.attribute("size").or_else(|| c.attribute("volume")) {
            Some(s) => Some(ctx.number(c, "size", s)?),
            None if level == 2 => Some(1.0),
            None => None,
        };
        out.insert(id, size);
    }
    Ok(())
}

/// An `<initialAssignment>`: its symbol, math and element.
type InitialAssignment<'a> = (String, Expr, Node<'a, 'a>);

/// The model's `<initialAssignment>`s, in document order.
fn initial_assignments<'a>(
    ctx: &Ctx<'a>,
    model: Node<'a, 'a>,
) -> Result<Vec<InitialAssignment<'a>>> {
    let mut out = Vec::new();
    for list in
        element_children(model).filter(|l| l.tag_name().name() == "listOfInitialAssignments")
    {
        for a in element_children(list).filter(|c| c.tag_name().name() == "initialAssignment") {
            let symbol = ctx.attr(a, "symbol")?.to_string();
            let what = format!("the initial assignment to `{symbol}`");
            out.push((symbol, math_of(ctx, a, &what)?, a));
        }
    }
    Ok(out)
}

/// Evaluate initial assignments once, before the run, in an order that respects their
/// dependencies. A species symbol in the math is its amount, or its concentration when it
/// has no `hasOnlySubstanceUnits`; a value assigned to a species is read the same way.
/// Those that wait on a symbol not known yet are returned, or refused by name on the
/// `last` pass.
fn assign_initial<'m, 'a>(
    ctx: &Ctx,
    m: &mut Model,
    mut pending: Vec<&'m InitialAssignment<'a>>,
    last: bool,
) -> Result<Vec<&'m InitialAssignment<'a>>> {
    while !pending.is_empty() {
        let before = pending.len();
        let mut waiting = Vec::new();
        for a in pending {
            match eval_initial(m, &a.1) {
                Some(Ok(v)) => set_initial(ctx, m, a, v)?,
                Some(Err(e)) => return Err(ctx.at(a.2, e)),
                None => waiting.push(a),
            }
        }
        if waiting.len() == before {
            if !last {
                return Ok(waiting);
            }
            let a = waiting[0];
            let unknown: Vec<&str> =
                a.1.variables()
                    .into_iter()
                    .filter(|v| lookup_initial(m, v).is_none())
                    .collect();
            return Err(ctx.unsupported(
                a.2,
                format!(
                    "the initial assignment to `{}`: it uses {} (unknown, or assigned in a \
                     cycle)",
                    a.0,
                    unknown.join(", ")
                ),
            ));
        }
        pending = waiting;
    }
    Ok(Vec::new())
}

/// The value of a symbol for initial assignments, `None` while unknown.
fn lookup_initial(m: &Model, n: &str) -> Option<f64> {
    if let Some(v) = m.params.get(n) {
        return (!v.is_nan()).then_some(*v);
    }
    if let Some(v) = m.compartments.get(n) {
        return *v;
    }
    let s = m.species.iter().find(|s| s.id == n)?;
    if s.amount.is_nan() {
        return None;
    }
    if s.only_substance {
        Some(s.amount)
    } else {
        s.size.map(|v| s.amount / v)
    }
}

/// `Some(value)` when every symbol of `e` is known, `None` to wait.
fn eval_initial(m: &Model, e: &Expr) -> Option<Result<f64>> {
    if e.variables().iter().any(|v| lookup_initial(m, v).is_none()) {
        return None;
    }
    Some(e.eval(&|n| lookup_initial(m, n)))
}

/// Store an initial assignment's value.
fn set_initial(ctx: &Ctx, m: &mut Model, a: &InitialAssignment, v: f64) -> Result<()> {
    let (sym, e, node) = a;
    if let Some(p) = m.params.get_mut(sym) {
        *p = v;
        // Kept as an expression of earlier parameters when it is one (so a changed
        // parameter reaches it).
        let earlier = |n: &str| m.param_order.iter().position(|p| p == n);
        let me = earlier(sym);
        if e.variables()
            .iter()
            .all(|n| matches!((earlier(n), me), (Some(i), Some(j)) if i < j))
        {
            m.param_exprs.insert(sym.clone(), e.clone());
        }
        return Ok(());
    }
    if let Some(c) = m.compartments.get_mut(sym) {
        *c = Some(v);
        return Ok(());
    }
    let Some(s) = m.species.iter_mut().find(|s| s.id == *sym) else {
        return Err(ctx.at(
            *node,
            Error::UnknownSpecies {
                name: format!("`{sym}`, the symbol of an initial assignment"),
            },
        ));
    };
    let amount = if s.only_substance {
        v
    } else {
        match s.size {
            Some(size) => v * size,
            None => {
                return Err(ctx.unsupported(
                    *node,
                    format!(
                        "compartment `{}` without a size, needed for `{sym}`",
                        s.compartment
                    ),
                ));
            }
        }
    };
    s.amount = whole_amount(ctx, *node, sym, amount)?;
    Ok(())
}

/// A species amount as a whole number of molecules.
fn whole_amount(ctx: &Ctx, node: Node, id: &str, amount: f64) -> Result<f64> {
    let rounded = amount.round();
    if !(amount.is_finite() && amount >= 0.0 && (amount - rounded).abs() <= 1e-9 * rounded.max(1.0))
    {
        return Err(ctx.at(
            node,
            Error::InvalidSetting {
                name: "initial amount",
                value: format!("{id} = {amount}"),
                reason: "a stochastic model needs a whole, non-negative number of molecules",
            },
        ));
    }
    Ok(rounded)
}

/// Read one `<species>`: its compartment, and its initial amount as a whole count (NaN
/// when an initial assignment sets it).
fn read_species(
    ctx: &Ctx,
    s: Node,
    compartments: &HashMap<String, Option<f64>>,
    assigned: bool,
) -> Result<Sp> {
    let id = ctx.attr(s, "id")?.to_string();
    let compartment = ctx.attr(s, "compartment")?.to_string();
    let size = *compartments.get(&compartment).ok_or_else(|| {
        ctx.at(
            s,
            Error::UnknownSpecies {
                name: format!("compartment `{compartment}` of species `{id}`"),
            },
        )
    })?;
    let sized = |what: &str| {
        size.ok_or_else(|| {
            ctx.unsupported(
                s,
                format!("compartment `{compartment}` without a size, needed for {what} of `{id}`"),
            )
        })
    };
    let amount = if assigned {
        f64::NAN
    } else if let Some(a) = s.attribute("initialAmount") {
        whole_amount(ctx, s, &id, ctx.number(s, "initialAmount", a)?)?
    } else if let Some(c) = s.attribute("initialConcentration") {
        let c = ctx.number(s, "initialConcentration", c)?;
        whole_amount(ctx, s, &id, c * sized("the initial concentration")?)?
    } else {
        return Err(ctx.unsupported(
            s,
            format!("species `{id}` without an initial amount or concentration"),
        ));
    };
    let only_substance = parse_bool(s.attribute("hasOnlySubstanceUnits"), false);
    if !only_substance {
        sized("the concentration in math")?;
    }
    Ok(Sp {
        id,
        compartment,
        size,
        amount,
        only_substance,
        constant: parse_bool(s.attribute("boundaryCondition"), false)
            || parse_bool(s.attribute("constant"), false),
    })
}

/// The terms of the assignment rule for `var` as an observable: it must be a sum of
/// species with whole non-negative weights.
fn rule_observable(
    ctx: &Ctx,
    sym: &Symbols,
    var: &str,
    expr: &Expr,
    node: Node,
    x0: &[f64],
) -> Result<Vec<(String, u32)>> {
    let none = HashMap::new();
    if sym.params.contains_key(var) || sym.compartments.contains_key(var) {
        return Err(ctx.unsupported(
            node,
            format!("an assignment rule for `{var}`, which is not a species"),
        ));
    }
    if expr.variables().contains(&CLOCK) {
        return Err(ctx.unsupported(
            node,
            format!("a time-dependent assignment rule for `{var}`"),
        ));
    }
    let what = format!("the assignment rule for `{var}`");
    let expr = sym.resolve_at(ctx, node, expr, &none, &what)?;
    let eval = |x: &[f64]| sym.eval(&expr, x);
    let base = eval(&vec![0.0; sym.species.len()])?;
    let mut terms: Vec<(String, u32)> = Vec::new();
    let mut ok = base.abs() < 1e-12;
    for (i, s) in sym.species.iter().enumerate() {
        let mut e = vec![0.0; sym.species.len()];
        e[i] = 1.0;
        let w = eval(&e)? - base;
        let wr = w.round();
        if (w - wr).abs() > 1e-9 || wr < 0.0 {
            ok = false;
        } else if wr > 0.0 {
            terms.push((s.id.clone(), wr as u32));
        }
    }
    // Check linearity at the initial state.
    let lin: f64 = terms
        .iter()
        .map(|(n, w)| f64::from(*w) * x0[sym.index[n.as_str()]])
        .sum();
    let at0 = eval(x0)?;
    if !ok || (at0 - lin).abs() > 1e-9 * lin.abs().max(1.0) {
        return Err(ctx.unsupported(
            node,
            format!("the assignment rule for `{var}` (only sums of species with whole non-negative weights are supported)"),
        ));
    }
    Ok(terms)
}

/// The reactants (`name` = `listOfReactants`) or products of reaction `r` with id `id`:
/// state species and whole stoichiometries (constant species left out).
fn reaction_side(
    ctx: &Ctx,
    sym: &Symbols,
    r: Node,
    id: &str,
    name: &str,
) -> Result<Vec<(usize, u32)>> {
    let mut out = Vec::new();
    if let Some(l) = child(r, name) {
        for sr in element_children(l).filter(|c| c.tag_name().name() == "speciesReference") {
            if child(sr, "stoichiometryMath").is_some() {
                return Err(ctx.unsupported(sr, format!("<stoichiometryMath> in reaction `{id}`")));
            }
            let sid = ctx.attr(sr, "species")?;
            let i = *sym.index.get(sid).ok_or_else(|| {
                ctx.at(
                    sr,
                    Error::UnknownSpecies {
                        name: sid.to_string(),
                    },
                )
            })?;
            let st = match sr.attribute("stoichiometry") {
                Some(v) => ctx.number(sr, "stoichiometry", v)?,
                None => 1.0,
            };
            if !(st >= 0.0 && st.fract() == 0.0 && st <= f64::from(u32::MAX)) {
                return Err(ctx.at(
                    sr,
                    Error::InvalidSetting {
                        name: "stoichiometry",
                        value: format!("{sid} in {id}: {st}"),
                        reason: "stochastic reactions need whole stoichiometries",
                    },
                ));
            }
            // Boundary and constant species never change; they stay on the reaction's
            // sides (crnkit's constant species are not changed by reactions either) and
            // are dropped where the law is not mass action in them.
            if st > 0.0 {
                out.push((i, st as u32));
            }
        }
    }
    Ok(out)
}

/// The local parameters of a `<kineticLaw>` (Level 2 and Level 3 lists).
fn local_parameters(ctx: &Ctx, law: Node) -> Result<HashMap<String, f64>> {
    let mut locals = HashMap::new();
    for l in ["listOfParameters", "listOfLocalParameters"] {
        if let Some(list) = child(law, l) {
            for p in element_children(list) {
                let pid = ctx.attr(p, "id")?.to_string();
                let v = ctx.attr(p, "value")?;
                locals.insert(pid, ctx.number(p, "value", v)?);
            }
        }
    }
    Ok(locals)
}

/// Add the `<reaction>` `r` to `builder`: as mass action when its kinetic law is one (its
/// global parameters then go into `folded`), else with the law as its propensity.
fn add_reaction(
    ctx: &Ctx,
    sym: &Symbols,
    r: Node,
    level: u32,
    x0: &[f64],
    folded: &mut HashSet<String>,
    builder: NetworkBuilder,
) -> Result<NetworkBuilder> {
    let id = ctx.attr(r, "id")?.to_string();
    if parse_bool(r.attribute("fast"), false) {
        return Err(ctx.unsupported(r, format!("fast reaction `{id}`")));
    }
    let reversible = parse_bool(r.attribute("reversible"), level == 2);
    let reac = reaction_side(ctx, sym, r, &id, "listOfReactants")?;
    let prod = reaction_side(ctx, sym, r, &id, "listOfProducts")?;
    let law = child(r, "kineticLaw")
        .ok_or_else(|| ctx.unsupported(r, format!("reaction `{id}` without a kinetic law")))?;
    let locals = local_parameters(ctx, law)?;
    let what = format!("the kinetic law of `{id}`");
    let raw = math_of(ctx, law, &what)?;
    if raw.variables().contains(&CLOCK) {
        return Err(ctx.unsupported(
            law,
            format!("the time-dependent kinetic law of `{id}` (propensities may not use `time`)"),
        ));
    }
    let expr = sym.resolve_at(ctx, law, &raw, &locals, &what)?;
    let names = |side: &[(usize, u32)]| -> Vec<(&str, u32)> {
        side.iter()
            .map(|&(i, c)| (sym.species[i].id.as_str(), c))
            .collect()
    };
    let params = sym.params;
    let lookup = |x: &[f64], n: &str| {
        sym.index
            .get(n)
            .map(|&i| x[i])
            .or_else(|| params.get(n).copied())
    };
    let mut fold = |e: &Expr| {
        folded.extend(
            e.variables()
                .into_iter()
                .filter(|v| params.contains_key(*v))
                .map(str::to_string),
        );
    };
    // Mass action with the constant species on the sides as written, else without them.
    let variable = |side: &[(usize, u32)]| sym.without_constants(side);
    let sides = [
        (reac.clone(), prod.clone()),
        (variable(&reac), variable(&prod)),
    ];
    let builder = if reversible {
        // One law, a net rate: split into forward and reverse propensities when it is
        // mass action both ways (found by probing), else refused.
        let split = sides.iter().find_map(|(a, b)| {
            reversible_coefficients(&expr, a, b, x0, &lookup)
                .ok()
                .map(|c| (a, b, c))
        });
        let Some((a, b, (cf, cr))) = split else {
            let why = reversible_coefficients(&expr, &reac, &prod, x0, &lookup)
                .err()
                .unwrap_or_default();
            let what = format!(
                "reversible reaction `{id}` whose net-rate law is not mass action in both \
                 directions ({why}): write its two directions as separate reactions"
            );
            return Err(ctx.unsupported(law, what));
        };
        let (kf, kr) = sym.pair_rates(&expr, cf, cr).unwrap_or_else(|| {
            fold(&expr);
            (Expr::Num(cf), Expr::Num(cr))
        });
        if cr == 0.0 {
            builder.reaction(&names(a), &names(b), kf)
        } else {
            builder.reversible(&names(a), &names(b), kf, kr)
        }
    } else {
        let found = sides.iter().find_map(|(a, b)| {
            mass_action_coefficient(&expr, a, x0, &lookup)
                .ok()
                .map(|c| (a, b, c))
        });
        match found {
            Some((a, b, c)) => {
                // The rate as written (parameters by name) when the law is a product of
                // it and the falling factorials; else a number, and its parameters are
                // folded everywhere (below).
                let k = sym.rate_of(&expr, c).unwrap_or_else(|| {
                    fold(&expr);
                    Expr::Num(c)
                });
                builder.reaction(&names(a), &names(b), k)
            }
            None => {
                // Not mass action: the law itself is the propensity.
                let a0 = sym.eval(&expr, x0)?;
                if !(a0.is_finite() && a0 >= 0.0) {
                    return Err(ctx.at(
                        law,
                        Error::InvalidPropensity {
                            reaction: id.clone(),
                            value: a0,
                            state: "the initial state".into(),
                        },
                    ));
                }
                builder.reaction_with_propensity(&names(&sides[1].0), &names(&sides[1].1), expr)
            }
        }
    };
    Ok(builder.label(&id))
}

/// Fold the parameters in `folded` into numbers in propensity laws and events, and make the
/// global parameters still named there the network's parameters, in document order.
///
/// Propensity laws and events name global parameters, which become network parameters (so
/// changing one reaches every use), except those a mass-action rate has folded into a
/// number: they are numbers everywhere, so no use is left behind by a change.
fn fold_parameters(
    spec: &mut NetworkSpec,
    folded: &HashSet<String>,
    params: &HashMap<String, f64>,
    param_order: &[String],
    exprs: &HashMap<String, Expr>,
) {
    let fold = |e: &mut Expr| {
        *e = substitute(e, &|v| {
            folded
                .contains(v)
                .then(|| Expr::Num(params.get(v).copied().unwrap_or(f64::NAN)))
        });
    };
    let mut named: HashSet<String> = HashSet::new();
    let mut note = |e: &Expr| {
        named.extend(e.variables().into_iter().map(str::to_string));
    };
    for r in &mut spec.reactions {
        let laws = r
            .propensity
            .iter_mut()
            .chain([&mut r.rate])
            .chain(r.reverse.as_mut());
        for law in laws {
            fold(law);
            note(law);
        }
    }
    for ev in &mut spec.events {
        ev.trigger = map_condition(&ev.trigger, &mut |e| {
            let mut e = e.clone();
            fold(&mut e);
            note(&e);
            e
        });
        for (_, e) in &mut ev.assign.0 {
            fold(e);
            note(e);
        }
    }
    // A parameter defined from others (an initial assignment) stays an expression when no
    // parameter it uses was folded; those it uses are then kept too.
    let symbolic = |p: &str| {
        exprs
            .get(p)
            .filter(|e| e.variables().iter().all(|v| !folded.contains(*v)))
    };
    loop {
        let more: Vec<String> = named
            .iter()
            .filter_map(|p| symbolic(p))
            .flat_map(|e| e.variables())
            .filter(|v| !named.contains(*v))
            .map(str::to_string)
            .collect();
        if more.is_empty() {
            break;
        }
        named.extend(more);
    }
    spec.parameters = param_order
        .iter()
        .filter(|p| named.contains(*p))
        .map(|p| ParameterSpec {
            name: p.clone(),
            value: symbolic(p)
                .cloned()
                .unwrap_or(Expr::Num(params.get(p).copied().unwrap_or(f64::NAN))),
        })
        .collect();
}

/// Read the `k`-th `<event>` (0-based).
fn event(
    ctx: &Ctx,
    sym: &Symbols,
    ev: Node,
    k: usize,
    level: u32,
    earlier: &[EventSpec],
) -> Result<EventSpec> {
    let name = ev
        .attribute("id")
        .or_else(|| ev.attribute("name"))
        .filter(|n| !n.trim().is_empty() && !earlier.iter().any(|e| e.name == *n))
        .map(str::to_string)
        .unwrap_or_else(|| format!("event_{}", k + 1));
    let mut trigger = None;
    let mut assignments = Vec::new();
    for c in element_children(ev) {
        match c.tag_name().name() {
            "notes" | "annotation" => {}
            "trigger" => trigger = Some(c),
            "delay" => {
                return Err(
                    ctx.unsupported(c, format!("the <delay> of event `{name}` (delayed events)"))
                );
            }
            "priority" => {
                return Err(ctx.unsupported(
                    c,
                    format!(
                        "the <priority> of event `{name}` (simultaneous events are applied \
                         together, without priorities)"
                    ),
                ));
            }
            "listOfEventAssignments" => assignments
                .extend(element_children(c).filter(|a| a.tag_name().name() == "eventAssignment")),
            other => {
                return Err(ctx.unsupported(c, format!("<{other}> in event `{name}`")));
            }
        }
    }
    let trigger =
        trigger.ok_or_else(|| ctx.unsupported(ev, format!("event `{name}` without a trigger")))?;
    // Level 3 states the trigger's value before the start; Level 2 behaves as `true`.
    // `persistent` and `useValuesFromTriggerTime` matter only with a delay.
    let initial_value = level < 3 || parse_bool(trigger.attribute("initialValue"), true);
    let what = format!("the trigger of event `{name}`");
    let raw = condition(ctx, math_child(ctx, trigger, &what)?).map_err(|e| within(e, &what))?;
    let mut failure = None;
    let cond = map_condition(&raw, &mut |e| {
        sym.resolve_at(ctx, trigger, e, &HashMap::new(), &what)
            .unwrap_or_else(|err| {
                failure.get_or_insert(err);
                Expr::Num(0.0)
            })
    });
    if let Some(err) = failure {
        return Err(err);
    }
    if let Some(why) = clock_misuse(&cond, &|v| sym.index.contains_key(v)) {
        return Err(ctx.unsupported(trigger, format!("{why} in {what}")));
    }
    let mut assign: Vec<(String, Expr)> = Vec::new();
    for a in assignments {
        let var = ctx.attr(a, "variable")?;
        let refuse = |what: String| ctx.unsupported(a, format!("event `{name}` assigns {what}"));
        if sym.params.contains_key(var) {
            return Err(refuse(format!(
                "parameter `{var}` (events may assign species only)"
            )));
        }
        if sym.compartments.contains_key(var) {
            return Err(refuse(format!(
                "compartment `{var}` (events may assign species only)"
            )));
        }
        if sym.rules.contains_key(var) {
            return Err(refuse(format!("`{var}`, which an assignment rule defines")));
        }
        let i = *sym.index.get(var).ok_or_else(|| {
            ctx.at(
                a,
                Error::UnknownSpecies {
                    name: format!("`{var}` assigned by event `{name}`"),
                },
            )
        })?;
        let s = &sym.species[i];
        if s.constant {
            return Err(refuse(format!(
                "the boundary or constant species `{var}` (crnkit keeps those constant)"
            )));
        }
        let what = format!("the assignment to `{var}` of event `{name}`");
        let raw = math_of(ctx, a, &what)?;
        let mut value = sym.resolve_at(ctx, a, &raw, &HashMap::new(), &what)?;
        // A concentration symbol: the count is the value times the size.
        if let (false, Some(size)) = (s.only_substance, s.size)
            && size != 1.0
        {
            value = Expr::Bin(BinOp::Mul, Box::new(value), Box::new(Expr::Num(size)));
        }
        assign.push((var.to_string(), value));
    }
    Ok(EventSpec {
        name,
        trigger: cond,
        initial_value,
        assign: Assignments(assign),
    })
}

/// `c` with every expression replaced by `f` of it.
fn map_condition(c: &Condition, f: &mut dyn FnMut(&Expr) -> Expr) -> Condition {
    match c {
        Condition::Const(b) => Condition::Const(*b),
        Condition::Cmp(op, a, b) => Condition::Cmp(*op, f(a), f(b)),
        Condition::Not(c) => Condition::Not(Box::new(map_condition(c, f))),
        Condition::And(cs) => Condition::And(cs.iter().map(|c| map_condition(c, f)).collect()),
        Condition::Or(cs) => Condition::Or(cs.iter().map(|c| map_condition(c, f)).collect()),
        Condition::Xor(cs) => Condition::Xor(cs.iter().map(|c| map_condition(c, f)).collect()),
    }
}

/// c such that `law(x) = c · Π (x_i)_(ν_i)` over `reac` at every tested state, or why not.
fn mass_action_coefficient(
    law: &Expr,
    reac: &[(usize, u32)],
    x0: &[f64],
    lookup: &dyn Fn(&[f64], &str) -> Option<f64>,
) -> std::result::Result<f64, String> {
    let eval = |x: &[f64]| -> std::result::Result<f64, String> {
        law.eval(&|n| lookup(x, n)).map_err(|e| e.to_string())
    };
    let ff = |x: &[f64]| -> f64 {
        reac.iter()
            .map(|&(i, nu)| (0..nu).map(|k| x[i] - f64::from(k)).product::<f64>())
            .product()
    };
    // Test states: reactant counts set around and below their stoichiometries, other
    // species at their initial amounts.
    let state = |shift: &dyn Fn(usize, u32) -> f64| -> Vec<f64> {
        let mut x = x0.to_vec();
        for (k, &(i, nu)) in reac.iter().enumerate() {
            x[i] = shift(k, nu);
        }
        x
    };
    let base = state(&|k, nu| f64::from(nu) + 3.0 + k as f64);
    let c = eval(&base)? / ff(&base);
    if !(c.is_finite() && c >= 0.0) {
        return Err(format!("its coefficient would be {c}"));
    }
    let mut probes = vec![
        state(&|k, nu| f64::from(nu) + 7.0 + 2.0 * k as f64),
        state(&|k, nu| f64::from(nu) * 5.0 + 23.0 + k as f64),
        state(&|_, nu| f64::from(nu) + 101.0),
    ];
    // A reactant below its stoichiometry: the propensity must vanish.
    for k0 in 0..reac.len() {
        probes.push(state(&|k, nu| {
            if k == k0 {
                f64::from(nu) - 1.0
            } else {
                f64::from(nu) + 4.0
            }
        }));
    }
    // Non-reactant species changed: the law must not depend on them.
    let mut other = base.clone();
    for (i, v) in other.iter_mut().enumerate() {
        if !reac.iter().any(|&(j, _)| j == i) {
            *v += 13.0;
        }
    }
    probes.push(other);
    for x in &probes {
        let want = c * ff(x);
        let got = eval(x)?;
        if (got - want).abs() > 1e-9 * want.abs().max(1e-300) && (got - want).abs() > 1e-12 {
            return Err(format!(
                "it is not of mass-action form c·Π(x)_ν in its reactants (at {x:?} it gives {got}, mass action {want})"
            ));
        }
    }
    Ok(c)
}

/// (c_f, c_r) such that `law(x) = c_f · Π (x_i)_(ν_i) − c_r · Π (x_j)_(μ_j)` over reactants
/// ν and products μ at every tested state, or why not: the two coefficients are solved from
/// two states, then the law is checked at others (including states where one direction
/// vanishes) and against changes of the species it should not depend on.
fn reversible_coefficients(
    law: &Expr,
    reac: &[(usize, u32)],
    prod: &[(usize, u32)],
    x0: &[f64],
    lookup: &dyn Fn(&[f64], &str) -> Option<f64>,
) -> std::result::Result<(f64, f64), String> {
    let eval = |x: &[f64]| -> std::result::Result<f64, String> {
        law.eval(&|n| lookup(x, n)).map_err(|e| e.to_string())
    };
    let ff = |side: &[(usize, u32)], x: &[f64]| -> f64 {
        side.iter()
            .map(|&(i, nu)| (0..nu).map(|k| x[i] - f64::from(k)).product::<f64>())
            .product()
    };
    let involved: Vec<usize> = reac.iter().chain(prod).map(|&(i, _)| i).collect();
    // Two states: reactants plentiful and products scarce, then the other way round.
    let state = |r_count: f64, p_count: f64, salt: f64| -> Vec<f64> {
        let mut x = x0.to_vec();
        for &(i, nu) in prod {
            x[i] = f64::from(nu) + p_count + salt * i as f64;
        }
        for &(i, nu) in reac {
            x[i] = f64::from(nu) + r_count + salt * i as f64;
        }
        x
    };
    let (s1, s2) = (state(40.0, 3.0, 1.0), state(3.0, 40.0, 2.0));
    // A species on one side only, set below its coefficient, silences that direction.
    let silence = |x: &[f64], side: &[(usize, u32)], other: &[(usize, u32)]| {
        side.iter()
            .find(|(i, _)| !other.iter().any(|(j, _)| j == i))
            .map(|&(i, nu)| {
                let mut y = x.to_vec();
                y[i] = f64::from(nu) - 1.0;
                y
            })
    };
    let (cf, cr) = match (law, silence(&s1, prod, reac), silence(&s2, reac, prod)) {
        // `forward − reverse` as written: each part on its own.
        (Expr::Bin(BinOp::Sub, f, r), _, _)
            if mass_action_coefficient(f, reac, x0, lookup).is_ok()
                && mass_action_coefficient(r, prod, x0, lookup).is_ok() =>
        {
            (
                mass_action_coefficient(f, reac, x0, lookup)?,
                mass_action_coefficient(r, prod, x0, lookup)?,
            )
        }
        (_, Some(y1), Some(y2)) => (eval(&y1)? / ff(reac, &y1), -eval(&y2)? / ff(prod, &y2)),
        _ => {
            let (a11, a12, b1) = (ff(reac, &s1), ff(prod, &s1), eval(&s1)?);
            let (a21, a22, b2) = (ff(reac, &s2), ff(prod, &s2), eval(&s2)?);
            let det = a11 * a22 - a12 * a21;
            if det == 0.0 || !det.is_finite() {
                return Err("its two directions cannot be told apart".into());
            }
            // b = cf·a1 − cr·a2.
            ((b1 * a22 - a12 * b2) / det, (b1 * a21 - a11 * b2) / det)
        }
    };
    let tidy = |c: f64, scale: f64| if c.abs() <= 1e-12 * scale { 0.0 } else { c };
    let scale = cf.abs().max(cr.abs());
    let (cf, cr) = (tidy(cf, scale), tidy(cr, scale));
    if !(cf.is_finite() && cr.is_finite() && cf >= 0.0 && cr >= 0.0) {
        return Err(format!("its coefficients would be {cf} and {cr}"));
    }
    let mut probes = vec![
        state(7.0, 11.0, 3.0),
        state(23.0, 5.0, 1.0),
        state(101.0, 101.0, 0.0),
    ];
    for &i in &involved {
        let mut x = state(5.0, 6.0, 1.0);
        x[i] = 0.0;
        probes.push(x);
    }
    let mut other = s1.clone();
    for (i, v) in other.iter_mut().enumerate() {
        if !involved.contains(&i) {
            *v += 13.0;
        }
    }
    probes.push(other);
    for x in &probes {
        let (f, r) = (cf * ff(reac, x), cr * ff(prod, x));
        let want = f - r;
        let got = eval(x)?;
        let tol = 1e-9 * (f.abs() + r.abs()).max(1e-300);
        if (got - want).abs() > tol && (got - want).abs() > 1e-12 {
            return Err(format!(
                "at {x:?} it gives {got}, mass action both ways {want}"
            ));
        }
    }
    Ok((cf, cr))
}
