//! SBML import (Level 2 versions 1–5, Level 3 versions 1–2, core) for exact stochastic
//! simulation.
//!
//! What is read: compartments (sizes), species (initial amount, or initial concentration
//! × compartment size; `hasOnlySubstanceUnits` decides whether a species symbol in math is
//! an amount or a concentration; boundary or constant species become constant species),
//! global parameters, reactions with stoichiometries and kinetic laws in MathML with local
//! parameters, and assignment rules that define a species as an integer combination of
//! others (they become observables).
//!
//! **The kinetic law is the propensity.** crnkit's channels are mass action in the
//! falling-factorial form a(x) = c · Π_i (x_i)_(ν_i) over the reactants. A kinetic law is
//! imported when it has exactly this form: c is read off at one state and the law is then
//! checked at several others, including states where a reactant count is below its
//! stoichiometry (where the propensity must vanish). `k1*P*(P-1)/2` for 2P → P2 becomes
//! c = k1/2. A law of another form (a Hill function, `k*P^2`, time) is refused by name.
//!
//! Everything else that changes the dynamics — events, rate and algebraic rules, initial
//! assignments, function definitions, delays, `fast` reactions, constraints, packages —
//! is refused with an error naming the element and its id, never ignored.

use std::collections::HashMap;

use roxmltree::{Document, Node};

use crate::network::{Expr, Network};
use crate::{Error, Result};

const MATHML: &str = "http://www.w3.org/1998/Math/MathML";

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
    doc: &'a Document<'a>,
}

impl Ctx<'_> {
    /// Locate an error at `node`.
    fn at(&self, node: Node, e: Error) -> Error {
        let p = self.doc.text_pos_at(node.range().start);
        e.at(self.file, self.text, p.row as usize, p.col as usize)
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

fn element_children<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(|c| c.is_element())
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    element_children(node).find(|c| c.tag_name().name() == name)
}

fn id_of(node: Node) -> String {
    node.attribute("id")
        .or_else(|| node.attribute("variable"))
        .or_else(|| node.attribute("symbol"))
        .unwrap_or("(no id)")
        .to_string()
}

/// MathML content markup → an expression. Supported: `ci`, `cn` (integer, real,
/// e-notation, rational), `apply` with plus, minus, times, divide, power, exp, ln, log
/// (base 10 or `logbase`), root (square), abs, floor/ceiling are refused, and the
/// constants pi, exponentiale, true/false are refused. The `time` csymbol is returned as
/// the variable `time` (the caller decides whether it may appear).
fn mathml(ctx: &Ctx, node: Node) -> Result<Expr> {
    let name = node.tag_name().name();
    let text = || node.text().unwrap_or("").trim().to_string();
    match name {
        "math" | "semantics" => {
            let inner = element_children(node)
                .find(|c| c.tag_name().name() != "annotation")
                .ok_or_else(|| ctx.unsupported(node, "an empty <math> element".into()))?;
            mathml(ctx, inner)
        }
        "ci" => Ok(Expr::var(text())),
        "cn" => {
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
                        return Err(ctx.unsupported(
                            node,
                            format!("a <cn type=\"{kind}\"> without two parts"),
                        ));
                    }
                    let a = ctx.number(node, "cn", &parts[0])?;
                    let b = ctx.number(node, "cn", &parts[1])?;
                    Ok(Expr::Num(if kind == "rational" {
                        a / b
                    } else {
                        a * 10f64.powf(b)
                    }))
                }
                other => Err(ctx.unsupported(node, format!("<cn type=\"{other}\">"))),
            }
        }
        "csymbol" => {
            let url = node.attribute("definitionURL").unwrap_or("");
            if url.ends_with("/time") {
                Ok(Expr::var("time"))
            } else if url.ends_with("/delay") {
                Err(ctx.unsupported(node, "the MathML csymbol `delay` (delayed kinetics)".into()))
            } else {
                Err(ctx.unsupported(node, format!("the MathML csymbol `{url}`")))
            }
        }
        "apply" => {
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
            if opname == "ci" {
                return Err(ctx.unsupported(
                    op,
                    format!(
                        "a call of the function `{}` (function definitions)",
                        op.text().unwrap_or("").trim()
                    ),
                ));
            }
            let xs: Vec<Expr> = args
                .iter()
                .map(|a| mathml(ctx, *a))
                .collect::<Result<_>>()?;
            let fold = |op: crate::network::BinOp, xs: Vec<Expr>, unit: f64| -> Expr {
                let mut it = xs.into_iter();
                match it.next() {
                    None => Expr::Num(unit),
                    Some(first) => it.fold(first, |a, b| Expr::Bin(op, Box::new(a), Box::new(b))),
                }
            };
            use crate::network::{BinOp, Func};
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
                "plus" => Ok(fold(BinOp::Add, xs, 0.0)),
                "times" => Ok(fold(BinOp::Mul, xs, 1.0)),
                "minus" => match xs.len() {
                    1 => Ok(Expr::Neg(Box::new(
                        xs.into_iter().next().unwrap_or(Expr::Num(0.0)),
                    ))),
                    2 => Ok(fold(BinOp::Sub, xs, 0.0)),
                    n => Err(ctx.unsupported(node, format!("<minus> with {n} arguments"))),
                },
                "divide" => {
                    arity(2)?;
                    Ok(fold(BinOp::Div, xs, 1.0))
                }
                "power" => {
                    arity(2)?;
                    Ok(fold(BinOp::Pow, xs, 1.0))
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
        other => Err(ctx.unsupported(node, format!("the MathML element <{other}>"))),
    }
}

fn math_of(ctx: &Ctx, node: Node, what: &str) -> Result<Expr> {
    let m = element_children(node)
        .find(|c| c.tag_name().name() == "math" && c.tag_name().namespace() == Some(MATHML))
        .ok_or_else(|| {
            ctx.at(
                node,
                Error::Syntax {
                    expected: format!("a MathML <math> element in {what}"),
                    found: "nothing".into(),
                },
            )
        })?;
    mathml(ctx, m)
}

fn parse_bool(v: Option<&str>, default: bool) -> bool {
    match v {
        Some("true") | Some("1") => true,
        Some("false") | Some("0") => false,
        _ => default,
    }
}

/// Parse SBML text into a network; `file` names it in errors.
pub fn from_sbml_str(text: &str, file: &str) -> Result<Network> {
    let doc = Document::parse(text).map_err(|e| {
        let p = e.pos();
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
    };
    let root = doc.root_element();
    if root.tag_name().name() != "sbml" {
        return Err(ctx.at(
            root,
            Error::Syntax {
                expected: "an <sbml> document".into(),
                found: format!("<{}>", root.tag_name().name()),
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
    // Packages: any attribute `<prefix>:required` on the root.
    for a in root.attributes() {
        if a.name() == "required" && a.namespace().is_some() {
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
    // Sizes; a Level 3 compartment may have none, which is an error only where it is used.
    let mut compartments: HashMap<String, Option<f64>> = HashMap::new();
    let mut params: HashMap<String, f64> = HashMap::new();
    struct Sp {
        id: String,
        compartment: String,
        amount: f64,
        only_substance: bool,
        constant: bool,
    }
    let mut species: Vec<Sp> = Vec::new();
    let mut rules: Vec<(String, Expr, Node)> = Vec::new();
    let mut reactions: Vec<Node> = Vec::new();
    for list in element_children(model) {
        let lname = list.tag_name().name();
        match lname {
            "notes" | "annotation" | "listOfUnitDefinitions" => {}
            "listOfCompartments" => {
                for c in element_children(list).filter(|c| c.tag_name().name() == "compartment") {
                    let id = ctx.attr(c, "id")?.to_string();
                    let size = match c.attribute("size").or_else(|| c.attribute("volume")) {
                        Some(s) => Some(ctx.number(c, "size", s)?),
                        None if level == 2 => Some(1.0),
                        None => None,
                    };
                    compartments.insert(id, size);
                }
            }
            "listOfParameters" => {
                for p in element_children(list).filter(|c| c.tag_name().name() == "parameter") {
                    let id = ctx.attr(p, "id")?.to_string();
                    let v = p.attribute("value").ok_or_else(|| {
                        ctx.unsupported(p, format!("parameter `{id}` without a value (set by a rule or initial assignment)"))
                    })?;
                    params.insert(id, ctx.number(p, "value", v)?);
                }
            }
            "listOfSpecies" => {
                for s in element_children(list).filter(|c| c.tag_name().name() == "species") {
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
                    let amount = if let Some(a) = s.attribute("initialAmount") {
                        ctx.number(s, "initialAmount", a)?
                    } else if let Some(c) = s.attribute("initialConcentration") {
                        ctx.number(s, "initialConcentration", c)?
                            * sized("the initial concentration")?
                    } else {
                        return Err(ctx.unsupported(
                            s,
                            format!("species `{id}` without an initial amount or concentration"),
                        ));
                    };
                    let rounded = amount.round();
                    if !(amount.is_finite()
                        && amount >= 0.0
                        && (amount - rounded).abs() <= 1e-9 * rounded.max(1.0))
                    {
                        return Err(ctx.at(
                            s,
                            Error::InvalidSetting {
                                name: "initial amount",
                                value: format!("{id} = {amount}"),
                                reason: "a stochastic model needs a whole, non-negative number of molecules",
                            },
                        ));
                    }
                    let only_substance = parse_bool(s.attribute("hasOnlySubstanceUnits"), false);
                    if !only_substance {
                        sized("the concentration in math")?;
                    }
                    species.push(Sp {
                        id,
                        compartment,
                        amount: rounded,
                        only_substance,
                        constant: parse_bool(s.attribute("boundaryCondition"), false)
                            || parse_bool(s.attribute("constant"), false),
                    });
                }
            }
            "listOfRules" => {
                for r in element_children(list) {
                    match r.tag_name().name() {
                        "assignmentRule" => {
                            let var = ctx.attr(r, "variable")?.to_string();
                            rules.push((var, math_of(&ctx, r, "an assignment rule")?, r));
                        }
                        other => {
                            return Err(ctx.unsupported(r, format!("<{other}> for `{}`", id_of(r))));
                        }
                    }
                }
            }
            "listOfReactions" => {
                reactions
                    .extend(element_children(list).filter(|c| c.tag_name().name() == "reaction"));
            }
            "listOfEvents" => {
                let first = element_children(list).next().unwrap_or(list);
                return Err(ctx.unsupported(
                    first,
                    format!("event `{}` (events are not supported yet)", id_of(first)),
                ));
            }
            "listOfFunctionDefinitions" | "listOfInitialAssignments" | "listOfConstraints" => {
                let first = element_children(list).next().unwrap_or(list);
                return Err(ctx.unsupported(
                    first,
                    format!("<{}> `{}`", first.tag_name().name(), id_of(first)),
                ));
            }
            other => {
                return Err(ctx.unsupported(list, format!("the model element <{other}>")));
            }
        }
    }
    // A species defined by an assignment rule is an output, not a state variable.
    species.retain(|s| !rules.iter().any(|(v, _, _)| *v == s.id));
    let index: HashMap<&str, usize> = species
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    // Values of symbols in math at a given state (amounts per species).
    let lookup = |x: &[f64], locals: &HashMap<String, f64>, name: &str| -> Option<f64> {
        if let Some(v) = locals.get(name) {
            return Some(*v);
        }
        if let Some(&i) = index.get(name) {
            let s = &species[i];
            return if s.only_substance {
                Some(x[i])
            } else {
                compartments
                    .get(&s.compartment)
                    .copied()
                    .flatten()
                    .map(|v| x[i] / v)
            };
        }
        params
            .get(name)
            .copied()
            .or_else(|| compartments.get(name).copied().flatten())
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
    let none = HashMap::new();
    // Assignment rules on species: integer combinations of species → observables.
    for (var, expr, node) in &rules {
        if params.contains_key(var.as_str()) || compartments.contains_key(var.as_str()) {
            return Err(ctx.unsupported(
                *node,
                format!("an assignment rule for `{var}`, which is not a species"),
            ));
        }
        if expr.variables().contains(&"time") {
            return Err(ctx.unsupported(
                *node,
                format!("a time-dependent assignment rule for `{var}`"),
            ));
        }
        let eval = |x: &[f64]| expr.eval(&|n| lookup(x, &none, n));
        let base = eval(&vec![0.0; species.len()])?;
        let mut terms: Vec<(String, u32)> = Vec::new();
        let mut ok = base.abs() < 1e-12;
        for (i, s) in species.iter().enumerate() {
            let mut e = vec![0.0; species.len()];
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
            .map(|(n, w)| f64::from(*w) * x0[index[n.as_str()]])
            .sum();
        let at0 = eval(&x0)?;
        if !ok || (at0 - lin).abs() > 1e-9 * lin.abs().max(1.0) {
            return Err(ctx.unsupported(
                *node,
                format!("the assignment rule for `{var}` (only sums of species with whole non-negative weights are supported)"),
            ));
        }
        let t: Vec<(&str, u32)> = terms.iter().map(|(n, w)| (n.as_str(), *w)).collect();
        builder = builder.observable(var, &t);
    }
    for r in reactions {
        let id = ctx.attr(r, "id")?.to_string();
        if parse_bool(r.attribute("fast"), false) {
            return Err(ctx.unsupported(r, format!("fast reaction `{id}`")));
        }
        if parse_bool(r.attribute("reversible"), level == 2) {
            // A reversible reaction with one kinetic law gives a net rate, not a
            // propensity (Level 2 makes reactions reversible unless told otherwise).
            return Err(ctx.unsupported(
                r,
                format!(
                    "reversible reaction `{id}` (write its two directions as separate reactions)"
                ),
            ));
        }
        let side = |name: &str| -> Result<Vec<(usize, u32)>> {
            let mut out = Vec::new();
            if let Some(l) = child(r, name) {
                for sr in element_children(l).filter(|c| c.tag_name().name() == "speciesReference")
                {
                    if child(sr, "stoichiometryMath").is_some() {
                        return Err(
                            ctx.unsupported(sr, format!("<stoichiometryMath> in reaction `{id}`"))
                        );
                    }
                    let sid = ctx.attr(sr, "species")?;
                    let i = *index.get(sid).ok_or_else(|| {
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
                    // Boundary and constant species never change; their amounts enter
                    // the propensity only through the kinetic law.
                    if st > 0.0 && !species[i].constant {
                        out.push((i, st as u32));
                    }
                }
            }
            Ok(out)
        };
        let reac = side("listOfReactants")?;
        let prod = side("listOfProducts")?;
        let law = child(r, "kineticLaw")
            .ok_or_else(|| ctx.unsupported(r, format!("reaction `{id}` without a kinetic law")))?;
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
        let expr = math_of(&ctx, law, &format!("the kinetic law of `{id}`"))?;
        for v in expr.variables() {
            if v == "time" {
                return Err(
                    ctx.unsupported(law, format!("the time-dependent kinetic law of `{id}`"))
                );
            }
            if lookup(&x0, &locals, v).is_none() {
                return Err(ctx.at(
                    law,
                    Error::UnknownSpecies {
                        name: format!("`{v}` in the kinetic law of `{id}`"),
                    },
                ));
            }
        }
        let coef = mass_action_coefficient(&expr, &reac, &x0, &|x, n| lookup(x, &locals, n))
            .map_err(|why| {
                ctx.unsupported(
                    law,
                    format!(
                        "the kinetic law of `{id}`: {why} (general propensities are not supported)"
                    ),
                )
            })?;
        let names = |side: &[(usize, u32)]| -> Vec<(&str, u32)> {
            side.iter()
                .map(|&(i, c)| (species[i].id.as_str(), c))
                .collect()
        };
        builder = builder
            .reaction(&names(&reac), &names(&prod), coef)
            .label(&id);
    }
    builder.build()
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
