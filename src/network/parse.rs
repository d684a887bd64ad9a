//! The `.crn` model language.
//!
//! ```text
//! # comment
//! volume: 1                                  # optional, default 1; may use parameters
//! parameters: k1 = 0.03, k2 = 1e-4, k3 = 2 * k1
//! species: X = 250, A = 1e5 constant, B
//! A + 2 X <-> 3 X @ k1, k2                   # reversible: forward, reverse rate
//! r5: 0 -> Y @ 2 * k1                        # optional label
//! ```
//!
//! One declaration or reaction per line. Names are identifiers (`[A-Za-z_][A-Za-z0-9_]*`)
//! or double-quoted strings. A side of a reaction is `0`, `∅`, empty, or terms
//! `[coefficient] name` joined by `+`. Arrows: `->` (one rate) and `<->` or `<=>` (forward
//! and reverse rates). Parameters may use the parameters defined before them; rates may use
//! any parameter. A species used in a reaction but never declared starts at 0 (a note is
//! recorded, see [`super::Network::notes`]). `observables: total = A + 2 AB` defines named
//! weighted sums of species counts that simulators report next to the species.

use std::collections::HashSet;

use super::expr::{Cursor, Located};
use super::lex::{Spanned, Tok, tokenize};
use super::spec::{
    self, NetworkSpec, ObservableSpec, ParameterSpec, ReactionSpec, SpeciesSpec, Terms,
};
use super::{Expr, Network, Parameter};
use crate::error::{Error, Result};

const KEYWORDS: [&str; 4] = ["parameters", "species", "volume", "observables"];

/// A name and where it was written.
struct Name {
    text: String,
    line: usize,
    col: usize,
}

/// An expression and the tokens it came from (for locating names inside it).
struct LocExpr {
    expr: Expr,
    line: usize,
    col: usize,
    toks: Vec<Spanned>,
}

struct Term {
    name: Name,
    coeff: u32,
}

struct RxnAst {
    label: Option<Name>,
    reactants: Vec<Term>,
    products: Vec<Term>,
    rates: Vec<LocExpr>,
}

struct SpeciesAst {
    name: Name,
    initial: u64,
    constant: bool,
}

/// Where a side of terms ends.
#[derive(Clone, Copy, PartialEq)]
enum SideEnd {
    /// Reactants: at an arrow.
    Arrow,
    /// Products: at `@`.
    At,
    /// Observable terms: at `,` or the end of the line.
    Comma,
}

#[derive(Default)]
struct Ast {
    volume: Option<LocExpr>,
    observables: Vec<(Name, Vec<Term>)>,
    parameters: Vec<(Name, LocExpr)>,
    species: Vec<SpeciesAst>,
    reactions: Vec<RxnAst>,
}

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    fn err(&self, e: Error, line: usize, col: usize) -> Error {
        e.at(self.file, self.text, line, col)
    }
}

/// Parse `.crn` text.
pub(crate) fn parse_crn(text: &str, file: &str) -> Result<Network> {
    let ctx = Ctx { file, text };
    let mut ast = Ast::default();
    let mut last_line = 1;
    for (i, line) in text.lines().enumerate() {
        let ln = i + 1;
        last_line = ln;
        let toks = tokenize(line).map_err(|e| ctx.err(e.error, ln, e.col))?;
        if toks.is_empty() {
            continue;
        }
        let mut cur = Cursor::new(&toks, line.chars().count() + 1);
        parse_line(&mut cur, ln, &mut ast).map_err(|(col, e)| ctx.err(e, ln, col))?;
    }
    check(ast, &ctx, last_line)
}

fn keyword_line(cur: &Cursor<'_>) -> Option<&'static str> {
    match (cur.peek().map(|t| &t.tok), cur.peek_at(1).map(|t| &t.tok)) {
        (Some(Tok::Ident(k)), Some(Tok::Colon)) => KEYWORDS.iter().copied().find(|kw| kw == k),
        _ => None,
    }
}

fn parse_line(cur: &mut Cursor<'_>, ln: usize, ast: &mut Ast) -> std::result::Result<(), Located> {
    match keyword_line(cur) {
        Some("parameters") => {
            cur.next();
            cur.next();
            loop {
                let name = name(cur, ln, "a parameter name")?;
                if !cur.eat(&Tok::Eq) {
                    return Err(cur.expected("`=` and the parameter's value"));
                }
                let value = loc_expr(cur, ln)?;
                ast.parameters.push((name, value));
                if cur.at_end() {
                    return Ok(());
                }
                if !cur.eat(&Tok::Comma) {
                    return Err(cur.expected("`,` or the end of the line"));
                }
            }
        }
        Some("species") => {
            cur.next();
            cur.next();
            loop {
                let name = name(cur, ln, "a species name")?;
                let mut initial = 0;
                if cur.eat(&Tok::Eq) {
                    initial = count_literal(cur, &name.text)?;
                }
                let constant =
                    matches!(cur.peek().map(|t| &t.tok), Some(Tok::Ident(k)) if k == "constant");
                if constant {
                    cur.next();
                }
                ast.species.push(SpeciesAst {
                    name,
                    initial,
                    constant,
                });
                if cur.at_end() {
                    return Ok(());
                }
                if !cur.eat(&Tok::Comma) {
                    return Err(cur.expected(if constant {
                        "`,` or the end of the line"
                    } else {
                        "`=`, `constant`, `,` or the end of the line"
                    }));
                }
            }
        }
        Some("observables") => {
            cur.next();
            cur.next();
            loop {
                let name = name(cur, ln, "an observable name")?;
                if !cur.eat(&Tok::Eq) {
                    return Err(cur.expected("`=` and a sum of species"));
                }
                let terms = side(cur, ln, SideEnd::Comma)?;
                ast.observables.push((name, terms));
                if cur.at_end() {
                    return Ok(());
                }
                if !cur.eat(&Tok::Comma) {
                    return Err(cur.expected("`,` or the end of the line"));
                }
            }
        }
        Some(_) => {
            // volume
            cur.next();
            cur.next();
            let col = cur.col();
            let e = loc_expr(cur, ln)?;
            if !cur.at_end() {
                return Err(cur.expected("an operator or the end of the line"));
            }
            if ast.volume.is_some() {
                return Err((
                    col,
                    Error::DuplicateName {
                        kind: "declaration",
                        name: "volume".into(),
                    },
                ));
            }
            ast.volume = Some(e);
            Ok(())
        }
        None => {
            let rx = reaction(cur, ln)?;
            ast.reactions.push(rx);
            Ok(())
        }
    }
}

fn name(cur: &mut Cursor<'_>, ln: usize, what: &str) -> std::result::Result<Name, Located> {
    match cur.peek() {
        Some(Spanned {
            tok: Tok::Ident(s) | Tok::Quoted(s),
            col,
        }) => {
            cur.next();
            Ok(Name {
                text: s.clone(),
                line: ln,
                col: *col,
            })
        }
        _ => Err(cur.expected(what)),
    }
}

fn loc_expr(cur: &mut Cursor<'_>, ln: usize) -> std::result::Result<LocExpr, Located> {
    let col = cur.col();
    let start = cur.clone_pos();
    let expr = cur.expr()?;
    let toks = cur.slice_from(start).to_vec();
    Ok(LocExpr {
        expr,
        line: ln,
        col,
        toks,
    })
}

fn count_literal(cur: &mut Cursor<'_>, species: &str) -> std::result::Result<u64, Located> {
    let col = cur.col();
    match cur.peek().map(|t| &t.tok) {
        Some(Tok::Num(v, text)) => {
            let (v, text) = (*v, text.clone());
            cur.next();
            spec::count(species, v, &text).map_err(|e| (col, e))
        }
        Some(Tok::Minus) => {
            cur.next();
            let text = match cur.peek().map(|t| &t.tok) {
                Some(Tok::Num(_, t)) => format!("-{t}"),
                _ => "-".into(),
            };
            Err((
                col,
                Error::InvalidCount {
                    species: species.to_string(),
                    value: text,
                },
            ))
        }
        _ => Err(cur.expected("an initial count (a non-negative integer)")),
    }
}

fn side(cur: &mut Cursor<'_>, ln: usize, end: SideEnd) -> std::result::Result<Vec<Term>, Located> {
    let stop = |t: Option<&Spanned>| match t.map(|t| &t.tok) {
        None => true,
        Some(Tok::Arrow | Tok::BiArrow) => end == SideEnd::Arrow,
        Some(Tok::At) => end == SideEnd::At,
        Some(Tok::Comma) => end == SideEnd::Comma,
        _ => false,
    };
    let after = match end {
        SideEnd::Arrow => "`+`, `->` or `<->`",
        SideEnd::At => "`+` or `@` and the rate",
        SideEnd::Comma => "`+`, `,` or the end of the line",
    };
    let mut terms = Vec::new();
    if stop(cur.peek()) {
        return Ok(terms);
    }
    // The empty complex: `0` or `∅` alone.
    let zero = match cur.peek().map(|t| &t.tok) {
        Some(Tok::Empty) => true,
        Some(Tok::Num(v, _)) => {
            *v == 0.0
                && !matches!(
                    cur.peek_at(1).map(|t| &t.tok),
                    Some(Tok::Ident(_) | Tok::Quoted(_))
                )
        }
        _ => false,
    };
    if zero {
        cur.next();
        if !stop(cur.peek()) {
            return Err(cur.expected(match end {
                SideEnd::Arrow => "`->` or `<->` after the empty complex",
                SideEnd::At => "`@` after the empty complex",
                SideEnd::Comma => "`,` or the end of the line after `0`",
            }));
        }
        return Ok(terms);
    }
    loop {
        let mut coeff = 1;
        if let Some(Spanned {
            tok: Tok::Num(v, text),
            col,
        }) = cur.peek()
        {
            coeff = spec::stoichiometry(*v, text).map_err(|e| (*col, e))?;
            cur.next();
        }
        let name = name(
            cur,
            ln,
            if coeff == 1 {
                "a species name, a coefficient or `0`"
            } else {
                "a species name after the coefficient"
            },
        )?;
        terms.push(Term { name, coeff });
        if stop(cur.peek()) {
            return Ok(terms);
        }
        if !cur.eat(&Tok::Plus) {
            return Err(cur.expected(after));
        }
    }
}

fn reaction(cur: &mut Cursor<'_>, ln: usize) -> std::result::Result<RxnAst, Located> {
    let mut label = None;
    if let (Some(Tok::Ident(_) | Tok::Quoted(_)), Some(Tok::Colon)) =
        (cur.peek().map(|t| &t.tok), cur.peek_at(1).map(|t| &t.tok))
    {
        label = Some(name(cur, ln, "a label")?);
        cur.next();
    }
    let reactants = side(cur, ln, SideEnd::Arrow)?;
    let reversible = match cur.peek().map(|t| &t.tok) {
        Some(Tok::Arrow) => false,
        Some(Tok::BiArrow) => true,
        _ => return Err(cur.expected("`+`, `->` or `<->`")),
    };
    cur.next();
    let products = side(cur, ln, SideEnd::At)?;
    let at_col = cur.col();
    if !cur.eat(&Tok::At) {
        return Err(cur.expected("`@` and the rate constant"));
    }
    let mut rates = vec![loc_expr(cur, ln)?];
    while cur.eat(&Tok::Comma) {
        rates.push(loc_expr(cur, ln)?);
    }
    if !cur.at_end() {
        return Err(cur.expected("an operator, `,` or the end of the line"));
    }
    let (arrow, expected) = if reversible { ("<->", 2) } else { ("->", 1) };
    if rates.len() != expected {
        let col = rates.get(expected).map_or(at_col, |r| r.col);
        return Err((
            col,
            Error::RateCount {
                arrow,
                expected,
                found: rates.len(),
            },
        ));
    }
    Ok(RxnAst {
        label,
        reactants,
        products,
        rates,
    })
}

/// Evaluate a located expression against the parameters defined so far, pointing errors at
/// the offending name.
fn eval(
    ctx: &Ctx<'_>,
    e: &LocExpr,
    params: &[Parameter],
    species: &[SpeciesSpec],
    all: &[ParameterSpec],
) -> Result<f64> {
    spec::eval_with(&e.expr, params, species, all).map_err(|err| {
        let col = match &err {
            Error::UnknownParameter { name, .. } => e
                .toks
                .iter()
                .find(|t| matches!(&t.tok, Tok::Ident(s) | Tok::Quoted(s) if s == name))
                .map_or(e.col, |t| t.col),
            _ => e.col,
        };
        ctx.err(err, e.line, col)
    })
}

fn check(ast: Ast, ctx: &Ctx<'_>, last_line: usize) -> Result<Network> {
    let mut spec = NetworkSpec::default();
    let mut params: Vec<Parameter> = Vec::new();
    let all_params: Vec<ParameterSpec> = ast
        .parameters
        .iter()
        .map(|(n, e)| ParameterSpec {
            name: n.text.clone(),
            value: e.expr.clone(),
        })
        .collect();
    let declared: Vec<SpeciesSpec> = ast
        .species
        .iter()
        .map(|s| SpeciesSpec {
            name: s.name.text.clone(),
            initial: s.initial as f64,
            constant: s.constant,
        })
        .collect();

    for (name, value) in &ast.parameters {
        spec::check_name(&name.text).map_err(|e| ctx.err(e, name.line, name.col))?;
        if params.iter().any(|p| p.name == name.text) {
            return Err(ctx.err(
                Error::DuplicateName {
                    kind: "parameter",
                    name: name.text.clone(),
                },
                name.line,
                name.col,
            ));
        }
        let v = eval(ctx, value, &params, &declared, &all_params)?;
        if !v.is_finite() {
            return Err(ctx.err(
                Error::InvalidParameter {
                    name: name.text.clone(),
                    value: v,
                },
                value.line,
                value.col,
            ));
        }
        params.push(Parameter {
            name: name.text.clone(),
            expr: value.expr.clone(),
            value: v,
        });
        spec.parameters.push(ParameterSpec {
            name: name.text.clone(),
            value: value.expr.clone(),
        });
    }

    if let Some(v) = &ast.volume {
        let value = eval(ctx, v, &params, &declared, &all_params)?;
        if !(value.is_finite() && value > 0.0) {
            return Err(ctx.err(Error::InvalidVolume { value }, v.line, v.col));
        }
        spec.volume = v.expr.clone();
    }

    for (i, s) in ast.species.iter().enumerate() {
        let here = |e: Error| ctx.err(e, s.name.line, s.name.col);
        spec::check_name(&s.name.text).map_err(here)?;
        if ast.species[..i].iter().any(|t| t.name.text == s.name.text) {
            return Err(here(Error::DuplicateName {
                kind: "species",
                name: s.name.text.clone(),
            }));
        }
        if params.iter().any(|p| p.name == s.name.text) {
            return Err(here(Error::DuplicateName {
                kind: "name (used for a species and a parameter)",
                name: s.name.text.clone(),
            }));
        }
    }
    spec.species = declared.clone();

    if ast.reactions.is_empty() {
        return Err(ctx.err(Error::EmptyNetwork, last_line, 1));
    }
    let mut notes = Vec::new();
    let param_names: HashSet<String> = params.iter().map(|p| p.name.clone()).collect();
    let mut known: HashSet<String> = spec.species.iter().map(|s| s.name.clone()).collect();
    let mut labels: HashSet<&str> = HashSet::new();
    for (r, rx) in ast.reactions.iter().enumerate() {
        if let Some(label) = &rx.label {
            let here = |e: Error| ctx.err(e, label.line, label.col);
            spec::check_name(&label.text).map_err(here)?;
            if !labels.insert(label.text.as_str()) {
                return Err(here(Error::DuplicateName {
                    kind: "reaction label",
                    name: label.text.clone(),
                }));
            }
        }
        for t in rx.reactants.iter().chain(&rx.products) {
            if param_names.contains(&t.name.text) {
                return Err(ctx.err(
                    Error::UnknownSpecies {
                        name: t.name.text.clone(),
                    },
                    t.name.line,
                    t.name.col,
                ));
            }
            if !known.contains(&t.name.text) {
                known.insert(t.name.text.clone());
                spec::check_name(&t.name.text).map_err(|e| ctx.err(e, t.name.line, t.name.col))?;
                notes.push(format!(
                    "{}:{}:{}: species `{}` is not declared; it starts at 0",
                    ctx.file, t.name.line, t.name.col, t.name.text
                ));
                spec.species.push(SpeciesSpec {
                    name: t.name.text.clone(),
                    initial: 0.0,
                    constant: false,
                });
            }
        }
        let describe = match &rx.label {
            Some(l) => l.text.clone(),
            None => format!("#{}", r + 1),
        };
        if rx.reactants.is_empty() && rx.products.is_empty() {
            let first = &rx.rates[0];
            return Err(ctx.err(Error::EmptyReaction { reaction: describe }, first.line, 1));
        }
        for (k, rate) in rx.rates.iter().enumerate() {
            let v = eval(ctx, rate, &params, &spec.species, &all_params)?;
            let what = if k == 0 {
                describe.clone()
            } else {
                format!("{describe} (reverse)")
            };
            spec::rate(&what, v).map_err(|e| ctx.err(e, rate.line, rate.col))?;
        }
        let terms =
            |ts: &[Term]| Terms(ts.iter().map(|t| (t.name.text.clone(), t.coeff)).collect());
        spec.reactions.push(ReactionSpec {
            label: rx.label.as_ref().map(|l| l.text.clone()),
            reactants: terms(&rx.reactants),
            products: terms(&rx.products),
            rate: rx.rates[0].expr.clone(),
            reverse: rx.rates.get(1).map(|e| e.expr.clone()),
        });
    }
    for (k, (name, terms)) in ast.observables.iter().enumerate() {
        let here = |e: Error| ctx.err(e, name.line, name.col);
        spec::check_name(&name.text).map_err(here)?;
        if ast.observables[..k]
            .iter()
            .any(|(n, _)| n.text == name.text)
        {
            return Err(here(Error::DuplicateName {
                kind: "observable",
                name: name.text.clone(),
            }));
        }
        for t in terms {
            if !known.contains(&t.name.text) {
                return Err(ctx.err(
                    Error::UnknownSpecies {
                        name: t.name.text.clone(),
                    },
                    t.name.line,
                    t.name.col,
                ));
            }
        }
        spec.observables.push(ObservableSpec {
            name: name.text.clone(),
            terms: Terms(
                terms
                    .iter()
                    .map(|t| (t.name.text.clone(), t.coeff))
                    .collect(),
            ),
        });
    }
    let mut net = spec.build().map_err(|e| ctx.err(e, 1, 1))?;
    net.notes = notes;
    Ok(net)
}
