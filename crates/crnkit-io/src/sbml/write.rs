//! SBML Level 3 Version 2 export (see [`to_sbml_string`]).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crnkit_core::network::{
    BinOp, CmpOp, Condition, Expr, Func, Network, NetworkSpec, ReactionSpec, TIME, Terms,
};
use crnkit_core::{Error, Result};

const SBML_NS: &str = "http://www.sbml.org/sbml/level3/version2/core";
const MATHML_NS: &str = "http://www.w3.org/1998/Math/MathML";
const TIME_URL: &str = "http://www.sbml.org/sbml/symbols/time";
/// Most operands of one written `<apply>` of `plus` or `times`.
const GROUP: usize = 128;

/// The network as an SBML Level 3 Version 2 document, for exact stochastic simulators and
/// ODE tools alike.
///
/// * One compartment `compartment` whose size is the network's volume Ω.
/// * Species with `hasOnlySubstanceUnits="true"` (a species symbol in math is a number of
///   molecules), `initialAmount` the initial count; constant (chemostatted) species have
///   `boundaryCondition="true"`.
/// * Parameters with their values; one defined by an expression of earlier parameters also
///   gets an `initialAssignment` with that expression.
/// * **Kinetic laws are propensities** (the SBML stochastic convention, as in the DSMTS): a
///   mass-action channel with rate k and reactant stoichiometries ν becomes
///   `k · Ω^(1−|ν|) · Π_i x_i (x_i − 1) … (x_i − ν_i + 1)` (crnkit's convention, see
///   [`crnkit_core::network`]); a reversible pair one reversible reaction whose law is the
///   forward propensity minus the reverse one; a general propensity law the law itself.
/// * Observables become species (in molecules) defined by an assignment rule, the weighted
///   sum of their species.
/// * Events with their trigger (`initialValue` kept, `persistent` and
///   `useValuesFromTriggerTime` true: crnkit's events have no delay) and assignments.
///
/// Names that are not SBML identifiers (BioNetGen's `A(b!1).B(a!1)`, say) get an identifier
/// made of their letters, digits and underscores (made unique) and keep the name in the
/// `name` attribute. Numbers are written so they read back to the same `f64`.
///
/// ```
/// use crnkit_core::Network;
/// let net = Network::from_crn_str("species: A = 10, B = 0\nA <-> B @ 1, 2\n", "ab.crn")?;
/// let xml = crnkit_io::sbml::to_sbml_string(&net)?;
/// let back = crnkit_io::sbml::from_sbml_str(&xml, "ab.xml")?;
/// assert_eq!(back.species_names(), ["A", "B"]);
/// assert!(back.reactions().next().unwrap().reverse.is_some());
/// # Ok::<(), crnkit_core::Error>(())
/// ```
pub fn to_sbml_string(net: &Network) -> Result<String> {
    let spec = net.to_spec();
    let ids = Ids::new(&spec);
    let mut w = Writer {
        out: String::new(),
        ids: &ids,
    };
    w.line(0, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    w.line(
        0,
        &format!(r#"<sbml xmlns="{SBML_NS}" level="3" version="2">"#),
    );
    w.line(
        1,
        r#"<model id="model" substanceUnits="item" timeUnits="second" extentUnits="item">"#,
    );
    w.compartment(&spec)?;
    w.species(&spec, net);
    w.parameters(&spec, net);
    w.rules(&spec);
    w.reactions(&spec);
    w.events(&spec);
    w.line(1, "</model>");
    w.line(0, "</sbml>");
    Ok(w.out)
}

/// SBML identifiers for every name of the network (species, parameters, observables,
/// reactions, events), unique across all of them.
struct Ids {
    map: HashMap<String, String>,
    reactions: Vec<String>,
    compartment: String,
}

impl Ids {
    fn new(spec: &NetworkSpec) -> Ids {
        let mut taken: HashSet<String> = HashSet::new();
        let mut map = HashMap::new();
        let names = spec
            .species
            .iter()
            .map(|s| &s.name)
            .chain(spec.parameters.iter().map(|p| &p.name))
            .chain(spec.observables.iter().map(|o| &o.name));
        for name in names {
            let id = unique(sid(name), &mut taken);
            map.insert(name.clone(), id);
        }
        let reactions = spec
            .reactions
            .iter()
            .enumerate()
            .map(|(r, rs)| {
                let base = rs.label.clone().unwrap_or_else(|| format!("r{}", r + 1));
                unique(sid(&base), &mut taken)
            })
            .collect();
        let compartment = unique("compartment".into(), &mut taken);
        Ids {
            map,
            reactions,
            compartment,
        }
    }

    fn of<'a>(&'a self, name: &'a str) -> &'a str {
        self.map.get(name).map_or(name, String::as_str)
    }
}

/// `name` made an SBML SId: letters, digits and underscores, not starting with a digit.
fn sid(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn unique(base: String, taken: &mut HashSet<String>) -> String {
    let mut id = base.clone();
    let mut k = 2;
    while !taken.insert(id.clone()) {
        id = format!("{base}_{k}");
        k += 1;
    }
    id
}

/// Text made safe for an XML attribute or element.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number that reads back to the same `f64` (shortest round-trip form).
fn number(v: f64) -> String {
    let plain = format!("{v}");
    if plain.len() <= 18 {
        plain
    } else {
        format!("{v:e}")
    }
}

struct Writer<'a> {
    out: String,
    ids: &'a Ids,
}

impl Writer<'_> {
    fn line(&mut self, indent: usize, text: &str) {
        for _ in 0..indent {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn name_attr(&self, name: &str, id: &str) -> String {
        if name == id {
            String::new()
        } else {
            format!(r#" name="{}""#, escape(name))
        }
    }

    fn compartment(&mut self, spec: &NetworkSpec) -> Result<()> {
        let size = eval_parameters(&spec.volume, spec)?;
        let c = self.ids.compartment.clone();
        self.line(2, "<listOfCompartments>");
        self.line(
            3,
            &format!(
                r#"<compartment id="{c}" spatialDimensions="3" size="{}" constant="true"/>"#,
                number(size)
            ),
        );
        self.line(2, "</listOfCompartments>");
        Ok(())
    }

    fn species(&mut self, spec: &NetworkSpec, net: &Network) {
        if spec.species.is_empty() && spec.observables.is_empty() {
            return;
        }
        let c = self.ids.compartment.clone();
        self.line(2, "<listOfSpecies>");
        let x0 = net.initial_state();
        for (s, &n) in spec.species.iter().zip(&x0) {
            let id = self.ids.of(&s.name).to_string();
            let name = self.name_attr(&s.name, &id);
            self.line(
                3,
                &format!(
                    r#"<species id="{id}"{name} compartment="{c}" initialAmount="{}" hasOnlySubstanceUnits="true" boundaryCondition="{}" constant="false"/>"#,
                    number(n as f64),
                    s.constant
                ),
            );
        }
        for o in &spec.observables {
            let id = self.ids.of(&o.name).to_string();
            let name = self.name_attr(&o.name, &id);
            let value: u64 = o
                .terms
                .0
                .iter()
                .map(|(sp, w)| {
                    let i = net.species_index(sp).unwrap_or(0);
                    x0[i] * u64::from(*w)
                })
                .sum();
            self.line(
                3,
                &format!(
                    r#"<species id="{id}"{name} compartment="{c}" initialAmount="{}" hasOnlySubstanceUnits="true" boundaryCondition="false" constant="false"/>"#,
                    number(value as f64)
                ),
            );
        }
        self.line(2, "</listOfSpecies>");
    }

    fn parameters(&mut self, spec: &NetworkSpec, net: &Network) {
        if spec.parameters.is_empty() {
            return;
        }
        self.line(2, "<listOfParameters>");
        for (p, value) in spec.parameters.iter().zip(net.parameters()) {
            let id = self.ids.of(&p.name).to_string();
            let name = self.name_attr(&p.name, &id);
            self.line(
                3,
                &format!(
                    r#"<parameter id="{id}"{name} value="{}" constant="true"/>"#,
                    number(value.value)
                ),
            );
        }
        self.line(2, "</listOfParameters>");
        let derived: Vec<_> = spec
            .parameters
            .iter()
            .filter(|p| !matches!(p.value, Expr::Num(_)))
            .collect();
        if derived.is_empty() {
            return;
        }
        self.line(2, "<listOfInitialAssignments>");
        for p in derived {
            let id = self.ids.of(&p.name).to_string();
            self.line(3, &format!(r#"<initialAssignment symbol="{id}">"#));
            self.math(4, &p.value);
            self.line(3, "</initialAssignment>");
        }
        self.line(2, "</listOfInitialAssignments>");
    }

    fn rules(&mut self, spec: &NetworkSpec) {
        if spec.observables.is_empty() {
            return;
        }
        self.line(2, "<listOfRules>");
        for o in &spec.observables {
            let id = self.ids.of(&o.name).to_string();
            self.line(3, &format!(r#"<assignmentRule variable="{id}">"#));
            let sum = o
                .terms
                .0
                .iter()
                .map(|(s, w)| {
                    let x = Expr::var(s.clone());
                    if *w == 1 {
                        x
                    } else {
                        Expr::Bin(BinOp::Mul, Box::new(Expr::Num(f64::from(*w))), Box::new(x))
                    }
                })
                .reduce(|a, b| Expr::Bin(BinOp::Add, Box::new(a), Box::new(b)))
                .unwrap_or(Expr::Num(0.0));
            self.math(4, &sum);
            self.line(3, "</assignmentRule>");
        }
        self.line(2, "</listOfRules>");
    }

    fn reactions(&mut self, spec: &NetworkSpec) {
        if spec.reactions.is_empty() {
            return;
        }
        self.line(2, "<listOfReactions>");
        for (r, rs) in spec.reactions.iter().enumerate() {
            let id = self.ids.reactions[r].clone();
            let name = rs
                .label
                .as_deref()
                .map_or(String::new(), |l| self.name_attr(l, &id));
            let reversible = rs.reverse.is_some();
            self.line(
                3,
                &format!(r#"<reaction id="{id}"{name} reversible="{reversible}">"#),
            );
            self.side(4, "listOfReactants", &rs.reactants);
            self.side(4, "listOfProducts", &rs.products);
            let law = kinetic_law(rs, &spec.volume);
            self.modifiers(4, spec, rs, &law);
            self.line(4, "<kineticLaw>");
            self.math(5, &law);
            self.line(4, "</kineticLaw>");
            self.line(3, "</reaction>");
        }
        self.line(2, "</listOfReactions>");
    }

    fn side(&mut self, indent: usize, list: &str, terms: &Terms) {
        if terms.0.is_empty() {
            return;
        }
        self.line(indent, &format!("<{list}>"));
        for (s, c) in &terms.0 {
            let id = self.ids.of(s).to_string();
            self.line(
                indent + 1,
                &format!(
                    r#"<speciesReference species="{id}" stoichiometry="{}" constant="true"/>"#,
                    number(f64::from(*c))
                ),
            );
        }
        self.line(indent, &format!("</{list}>"));
    }

    /// Species (and observables) that the law reads but the reaction does not change.
    fn modifiers(&mut self, indent: usize, spec: &NetworkSpec, rs: &ReactionSpec, law: &Expr) {
        let on_sides: HashSet<&str> = rs
            .reactants
            .0
            .iter()
            .chain(&rs.products.0)
            .map(|(s, _)| s.as_str())
            .collect();
        let mut used: Vec<&str> = law
            .variables()
            .into_iter()
            .filter(|v| {
                !on_sides.contains(v)
                    && (spec.species.iter().any(|s| s.name == *v)
                        || spec.observables.iter().any(|o| o.name == *v))
            })
            .collect();
        used.sort_unstable();
        used.dedup();
        if used.is_empty() {
            return;
        }
        self.line(indent, "<listOfModifiers>");
        for v in used {
            let id = self.ids.of(v).to_string();
            self.line(
                indent + 1,
                &format!(r#"<modifierSpeciesReference species="{id}"/>"#),
            );
        }
        self.line(indent, "</listOfModifiers>");
    }

    fn events(&mut self, spec: &NetworkSpec) {
        if spec.events.is_empty() {
            return;
        }
        let mut taken: HashSet<String> = self
            .ids
            .map
            .values()
            .chain(&self.ids.reactions)
            .cloned()
            .collect();
        taken.insert(self.ids.compartment.clone());
        self.line(2, "<listOfEvents>");
        for ev in &spec.events {
            let id = unique(sid(&ev.name), &mut taken);
            let name = self.name_attr(&ev.name, &id);
            self.line(
                3,
                &format!(r#"<event id="{id}"{name} useValuesFromTriggerTime="true">"#),
            );
            self.line(
                4,
                &format!(
                    r#"<trigger initialValue="{}" persistent="true">"#,
                    ev.initial_value
                ),
            );
            self.line(5, &format!(r#"<math xmlns="{MATHML_NS}">"#));
            let mut body = String::new();
            self.condition(&mut body, 6, &ev.trigger);
            self.out.push_str(&body);
            self.line(5, "</math>");
            self.line(4, "</trigger>");
            self.line(4, "<listOfEventAssignments>");
            for (s, e) in &ev.assign.0 {
                let sid = self.ids.of(s).to_string();
                self.line(5, &format!(r#"<eventAssignment variable="{sid}">"#));
                self.math(6, e);
                self.line(5, "</eventAssignment>");
            }
            self.line(4, "</listOfEventAssignments>");
            self.line(3, "</event>");
        }
        self.line(2, "</listOfEvents>");
    }

    fn math(&mut self, indent: usize, e: &Expr) {
        self.line(indent, &format!(r#"<math xmlns="{MATHML_NS}">"#));
        let mut body = String::new();
        self.expr(&mut body, indent + 1, e);
        self.out.push_str(&body);
        self.line(indent, "</math>");
    }

    fn expr(&self, out: &mut String, indent: usize, e: &Expr) {
        // Flat n-ary sums and products are written as one <apply>, so a long sum is not
        // deep; the walk below recurses over the expression's own depth, which parsing
        // has capped (`MAX_EXPR_DEPTH`).
        let pad = "  ".repeat(indent);
        match e {
            Expr::Num(v) => {
                let plain = format!("{v}");
                if v.fract() == 0.0 && v.abs() < 1e15 {
                    let _ = writeln!(out, r#"{pad}<cn type="integer"> {v:.0} </cn>"#);
                } else if plain.len() <= 18 {
                    let _ = writeln!(out, "{pad}<cn> {plain} </cn>");
                } else {
                    let s = format!("{v:e}");
                    let (m, x) = s.split_once('e').unwrap_or((&s, "0"));
                    let _ = writeln!(out, r#"{pad}<cn type="e-notation"> {m} <sep/> {x} </cn>"#);
                }
            }
            Expr::Var(n) if n == TIME => {
                let _ = writeln!(
                    out,
                    r#"{pad}<csymbol encoding="text" definitionURL="{TIME_URL}"> time </csymbol>"#
                );
            }
            Expr::Var(n) => {
                let _ = writeln!(out, "{pad}<ci> {} </ci>", self.ids.of(n));
            }
            Expr::Neg(x) => self.apply(out, indent, "minus", &[x]),
            Expr::Bin(op, a, b) => match op {
                BinOp::Add | BinOp::Mul => {
                    let mut terms = Vec::new();
                    flatten(e, *op, &mut terms);
                    let tag = if *op == BinOp::Add { "plus" } else { "times" };
                    self.nary(out, indent, tag, &terms);
                }
                BinOp::Sub => self.apply(out, indent, "minus", &[a, b]),
                BinOp::Div => self.apply(out, indent, "divide", &[a, b]),
                BinOp::Pow => self.apply(out, indent, "power", &[a, b]),
            },
            Expr::Call(f, args) => {
                let args: Vec<&Expr> = args.iter().collect();
                match f {
                    Func::Exp => self.apply(out, indent, "exp", &args),
                    Func::Ln => self.apply(out, indent, "ln", &args),
                    Func::Log10 | Func::Log2 => {
                        let base = if *f == Func::Log10 { 10 } else { 2 };
                        let _ = writeln!(out, "{pad}<apply>");
                        let _ = writeln!(out, "{pad}  <log/>");
                        let _ = writeln!(
                            out,
                            r#"{pad}  <logbase><cn type="integer"> {base} </cn></logbase>"#
                        );
                        for a in &args {
                            self.expr(out, indent + 1, a);
                        }
                        let _ = writeln!(out, "{pad}</apply>");
                    }
                    Func::Sqrt => self.apply(out, indent, "root", &args),
                    Func::Abs => self.apply(out, indent, "abs", &args),
                    Func::Pow => self.apply(out, indent, "power", &args),
                    Func::Min => self.apply(out, indent, "min", &args),
                    Func::Max => self.apply(out, indent, "max", &args),
                }
            }
        }
    }

    /// An n-ary sum or product, nested in groups of at most [`GROUP`] operands so that a
    /// reader that folds each `<apply>` into a chain of binary operations (crnkit's own,
    /// whose expressions nest at most `MAX_EXPR_DEPTH` deep) gets a shallow expression:
    /// depth ≈ GROUP · log_GROUP(n).
    fn nary(&self, out: &mut String, indent: usize, op: &str, args: &[&Expr]) {
        if args.len() <= GROUP {
            return self.apply(out, indent, op, args);
        }
        let pad = "  ".repeat(indent);
        // At most GROUP chunks; a chunk larger than GROUP is nested again.
        let size = args.len().div_ceil(GROUP);
        let _ = writeln!(out, "{pad}<apply>");
        let _ = writeln!(out, "{pad}  <{op}/>");
        for chunk in args.chunks(size) {
            self.nary(out, indent + 1, op, chunk);
        }
        let _ = writeln!(out, "{pad}</apply>");
    }

    fn apply(&self, out: &mut String, indent: usize, op: &str, args: &[&Expr]) {
        let pad = "  ".repeat(indent);
        let _ = writeln!(out, "{pad}<apply>");
        let _ = writeln!(out, "{pad}  <{op}/>");
        for a in args {
            self.expr(out, indent + 1, a);
        }
        let _ = writeln!(out, "{pad}</apply>");
    }

    fn condition(&self, out: &mut String, indent: usize, c: &Condition) {
        let pad = "  ".repeat(indent);
        match c {
            Condition::Const(b) => {
                let _ = writeln!(out, "{pad}<{b}/>");
            }
            Condition::Cmp(op, a, b) => {
                let tag = match op {
                    CmpOp::Lt => "lt",
                    CmpOp::Le => "leq",
                    CmpOp::Gt => "gt",
                    CmpOp::Ge => "geq",
                    CmpOp::Eq => "eq",
                    CmpOp::Ne => "neq",
                };
                self.apply(out, indent, tag, &[a, b]);
            }
            Condition::Not(x) => {
                let _ = writeln!(out, "{pad}<apply>");
                let _ = writeln!(out, "{pad}  <not/>");
                self.condition(out, indent + 1, x);
                let _ = writeln!(out, "{pad}</apply>");
            }
            Condition::And(xs) | Condition::Or(xs) | Condition::Xor(xs) => {
                let (tag, empty) = match c {
                    Condition::And(_) => ("and", true),
                    Condition::Or(_) => ("or", false),
                    _ => ("xor", false),
                };
                if xs.is_empty() {
                    let _ = writeln!(out, "{pad}<{empty}/>");
                    return;
                }
                let _ = writeln!(out, "{pad}<apply>");
                let _ = writeln!(out, "{pad}  <{tag}/>");
                for x in xs {
                    self.condition(out, indent + 1, x);
                }
                let _ = writeln!(out, "{pad}</apply>");
            }
        }
    }
}

/// The operands of a chain of one associative operator.
fn flatten<'e>(e: &'e Expr, op: BinOp, out: &mut Vec<&'e Expr>) {
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match x {
            Expr::Bin(o, a, b) if *o == op => {
                stack.push(b);
                stack.push(a);
            }
            other => out.push(other),
        }
    }
}

/// The value of an expression of parameters (the volume).
fn eval_parameters(e: &Expr, spec: &NetworkSpec) -> Result<f64> {
    let mut values: HashMap<&str, f64> = HashMap::new();
    for p in &spec.parameters {
        let v = p.value.eval(&|n| values.get(n).copied())?;
        values.insert(&p.name, v);
    }
    let v = e.eval(&|n| values.get(n).copied())?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(Error::InvalidVolume { value: v })
    }
}

/// The propensity of one direction: k · Ω^(1−|ν|) · Π falling factorials.
fn mass_action(k: &Expr, side: &Terms, volume: &Expr) -> Expr {
    let order: u32 = side.0.iter().map(|(_, c)| c).sum();
    let mut factors = vec![k.clone()];
    if order != 1 && *volume != Expr::Num(1.0) {
        factors.push(Expr::Bin(
            BinOp::Pow,
            Box::new(volume.clone()),
            Box::new(Expr::Num(1.0 - f64::from(order))),
        ));
    }
    for (s, c) in &side.0 {
        for j in 0..*c {
            let x = Expr::var(s.clone());
            factors.push(if j == 0 {
                x
            } else {
                Expr::Bin(BinOp::Sub, Box::new(x), Box::new(Expr::Num(f64::from(j))))
            });
        }
    }
    factors
        .into_iter()
        .reduce(|a, b| Expr::Bin(BinOp::Mul, Box::new(a), Box::new(b)))
        .unwrap_or(Expr::Num(1.0))
}

/// A reaction's kinetic law: its propensity law, its mass-action propensity, or for a
/// reversible pair forward minus reverse.
fn kinetic_law(rs: &ReactionSpec, volume: &Expr) -> Expr {
    if let Some(law) = &rs.propensity {
        return law.clone();
    }
    let fwd = mass_action(&rs.rate, &rs.reactants, volume);
    match &rs.reverse {
        Some(k) => Expr::Bin(
            BinOp::Sub,
            Box::new(fwd),
            Box::new(mass_action(k, &rs.products, volume)),
        ),
        None => fwd,
    }
}
