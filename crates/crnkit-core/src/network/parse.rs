//! The `.crn` model language.
//!
//! ```text
//! # comment
//! volume: 1                                  # optional, default 1; may use parameters
//! parameters: k1 = 0.03, k2 = 1e-4, k3 = 2 * k1
//! species: X = 250, A = 1e5 constant, B
//! A + 2 X <-> 3 X @ k1, k2                   # reversible: forward, reverse rate
//! r5: 0 -> Y @ 2 * k1                        # optional label
//! hill: 0 -> P @ propensity vmax * R^2 / (K^2 + R^2)   # a general propensity law
//! event pulse: when time >= 25 then X = X + 100        # an event
//! ```
//!
//! One declaration, reaction or event per line. Names are identifiers (`[A-Za-z_][A-Za-z0-9_]*`)
//! or double-quoted strings. A side of a reaction is `0`, `∅`, empty, or terms
//! `[coefficient] name` joined by `+`. Arrows: `->` (one rate) and `<->` or `<=>` (forward
//! and reverse rates). Parameters may use the parameters defined before them; rates may use
//! any parameter. A species used in a reaction but never declared starts at 0 (a note is
//! recorded, see [`super::Network::notes`]). `observables: total = A + 2 AB` defines named
//! weighted sums of species counts that simulators report next to the species.
//!
//! After `@`, the word `propensity` followed by something that can start an expression (a
//! number, a name, `(` or `-`) introduces a general propensity law (irreversible reactions
//! only); `propensity` alone, or followed by an operator, is a parameter of that name.
//! `event NAME: when CONDITION [initially true|false] then S = EXPR, ...` declares an event
//! (see [`super::Event`]); `event: ...` (no name before the `:`) is a reaction labelled
//! `event`.

use std::collections::{HashMap, HashSet};

use super::event::{Condition, Event, TIME};
use super::expr::{Cursor, Located};
use super::lex::{Spanned, Tok, tokenize};
use super::program::{Code, Events, Scope};
use super::spec::{
    self, Assignments, EventSpec, NetworkSpec, ObservableSpec, ParameterSpec, ReactionSpec,
    SpeciesSpec, Terms,
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

impl LocExpr {
    /// The column of the first use of `name` in the expression (its start if not found).
    fn col_of(&self, name: &str) -> usize {
        locate(&self.toks, name).unwrap_or(self.col)
    }
}

/// The column of the first token naming `name`.
fn locate(toks: &[Spanned], name: &str) -> Option<usize> {
    toks.iter()
        .find(|t| matches!(&t.tok, Tok::Ident(s) | Tok::Quoted(s) if s == name))
        .map(|t| t.col)
}

struct RxnAst {
    line: usize,
    label: Option<Name>,
    reactants: Vec<Term>,
    products: Vec<Term>,
    /// Rate constants (none with a propensity law).
    rates: Vec<LocExpr>,
    /// A general propensity law (`@ propensity EXPR`).
    law: Option<LocExpr>,
}

/// An event line.
struct EventAst {
    name: Name,
    trigger: Condition,
    /// Where the trigger starts, and its tokens (for locating names).
    trigger_col: usize,
    trigger_toks: Vec<Spanned>,
    initial_value: bool,
    assignments: Vec<(Name, LocExpr)>,
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
    events: Vec<EventAst>,
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

/// Is the line an event (`event NAME:`)? `event:` alone is a reaction labelled `event`.
fn event_line(cur: &Cursor<'_>) -> bool {
    matches!(
        (
            cur.peek().map(|t| &t.tok),
            cur.peek_at(1).map(|t| &t.tok),
            cur.peek_at(2).map(|t| &t.tok),
        ),
        (
            Some(Tok::Ident(k)),
            Some(Tok::Ident(_) | Tok::Quoted(_)),
            Some(Tok::Colon)
        ) if k == "event"
    )
}

/// Is the next token the bare word `word`?
fn at_word(cur: &Cursor<'_>, word: &str) -> bool {
    matches!(cur.peek().map(|t| &t.tok), Some(Tok::Ident(w)) if w == word)
}

fn parse_line(cur: &mut Cursor<'_>, ln: usize, ast: &mut Ast) -> std::result::Result<(), Located> {
    if event_line(cur) {
        let ev = event(cur, ln)?;
        ast.events.push(ev);
        return Ok(());
    }
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
    // `propensity EXPR` is a law; `propensity` alone or before an operator is a parameter.
    let law_keyword = at_word(cur, "propensity")
        && matches!(
            cur.peek_at(1).map(|t| &t.tok),
            Some(Tok::Num(..) | Tok::Ident(_) | Tok::Quoted(_) | Tok::LParen | Tok::Minus)
        );
    if law_keyword {
        if reversible {
            return Err((
                cur.col(),
                Error::Unsupported {
                    feature: "a propensity law on a reversible reaction (`<->`); write each \
                              direction as an irreversible `->` reaction with its own law"
                        .into(),
                },
            ));
        }
        cur.next();
        let law = loc_expr(cur, ln)?;
        if !cur.at_end() {
            return Err(cur.expected(
                "an operator or the end of the line (a propensity law is the whole \
                 propensity; it takes no other rate)",
            ));
        }
        return Ok(RxnAst {
            line: ln,
            label,
            reactants,
            products,
            rates: Vec::new(),
            law: Some(law),
        });
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
        line: ln,
        label,
        reactants,
        products,
        rates,
        law: None,
    })
}

/// `event NAME: when CONDITION [initially true|false] then S = EXPR [, S = EXPR]*`
fn event(cur: &mut Cursor<'_>, ln: usize) -> std::result::Result<EventAst, Located> {
    cur.next(); // `event`
    let ev_name = name(cur, ln, "an event name")?;
    if !cur.eat(&Tok::Colon) {
        return Err(cur.expected("`:` after the event name"));
    }
    if !at_word(cur, "when") {
        return Err(cur.expected("`when` and the trigger condition"));
    }
    cur.next();
    let trigger_col = cur.col();
    let start = cur.clone_pos();
    let trigger = cur.condition()?;
    let trigger_toks = cur.slice_from(start).to_vec();
    let mut initial_value = true;
    if at_word(cur, "initially") {
        cur.next();
        initial_value = match cur.peek().map(|t| &t.tok) {
            Some(Tok::Ident(w)) if w == "true" => true,
            Some(Tok::Ident(w)) if w == "false" => false,
            _ => return Err(cur.expected("`true` or `false` after `initially`")),
        };
        cur.next();
    }
    if !at_word(cur, "then") {
        return Err(cur.expected(if initial_value {
            "`&&`, `||`, `initially` or `then` and the assignments"
        } else {
            "`then` and the assignments"
        }));
    }
    cur.next();
    let mut assignments = Vec::new();
    loop {
        let target = name(cur, ln, "a species name to assign")?;
        if !cur.eat(&Tok::Eq) {
            return Err(cur.expected("`=` and the species' new count"));
        }
        let value = loc_expr(cur, ln)?;
        assignments.push((target, value));
        if cur.at_end() {
            break;
        }
        if !cur.eat(&Tok::Comma) {
            return Err(cur.expected("an operator, `,` or the end of the line"));
        }
    }
    Ok(EventAst {
        name: ev_name,
        trigger,
        trigger_col,
        trigger_toks,
        initial_value,
        assignments,
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
            Error::UnknownParameter { name, .. } => e.col_of(name),
            _ => e.col,
        };
        ctx.err(err, e.line, col)
    })
}

/// Check the parsed file, pointing errors at their line and column, and build the network.
fn check(ast: Ast, ctx: &Ctx<'_>, last_line: usize) -> Result<Network> {
    let mut spec = NetworkSpec::default();
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

    let params = check_parameters(ctx, &ast, &declared, &all_params, &mut spec)?;

    if let Some(v) = &ast.volume {
        let value = eval(ctx, v, &params, &declared, &all_params)?;
        if !(value.is_finite() && value > 0.0) {
            return Err(ctx.err(Error::InvalidVolume { value }, v.line, v.col));
        }
        spec.volume = v.expr.clone();
    }

    check_species(ctx, &ast, &params)?;
    spec.species = declared.clone();

    if ast.reactions.is_empty() {
        return Err(ctx.err(Error::EmptyNetwork, last_line, 1));
    }
    let (notes, known) = check_reactions(ctx, &ast, &params, &all_params, &mut spec)?;
    // Every species is known now (declared, or used in some reaction).
    let index: HashMap<&str, usize> = spec
        .species
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), i))
        .collect();
    let param_value = |name: &str| params.iter().find(|p| p.name == name).map(|p| p.value);
    let x0: Vec<u64> = spec.species.iter().map(|s| s.initial as u64).collect();
    for (r, rx) in ast.reactions.iter().enumerate() {
        if let Some(law) = &rx.law {
            let describe = match &rx.label {
                Some(l) => l.text.clone(),
                None => format!("#{}", r + 1),
            };
            check_law(ctx, law, &describe, &index, &param_value, &x0)?;
        }
    }
    spec.observables = check_observables(ctx, &ast, &known)?;
    spec.events = check_events(ctx, &ast.events, &index, &param_value)?;
    let mut net = spec.build().map_err(|e| ctx.err(e, 1, 1))?;
    net.notes = notes;
    Ok(net)
}

/// Check and evaluate the parameters in order, adding them to `spec`.
fn check_parameters(
    ctx: &Ctx<'_>,
    ast: &Ast,
    declared: &[SpeciesSpec],
    all_params: &[ParameterSpec],
    spec: &mut NetworkSpec,
) -> Result<Vec<Parameter>> {
    let mut params: Vec<Parameter> = Vec::new();
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
        let v = eval(ctx, value, &params, declared, all_params)?;
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
    Ok(params)
}

/// Check the declared species' names: valid, unique, and not parameter names.
fn check_species(ctx: &Ctx<'_>, ast: &Ast, params: &[Parameter]) -> Result<()> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(ast.species.len());
    for s in &ast.species {
        let here = |e: Error| ctx.err(e, s.name.line, s.name.col);
        spec::check_name(&s.name.text).map_err(here)?;
        if !seen.insert(s.name.text.as_str()) {
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
    Ok(())
}

/// Check the reactions and add them to `spec`, adding undeclared species (starting at 0);
/// returns the notes about those species and the names of all species now known.
fn check_reactions(
    ctx: &Ctx<'_>,
    ast: &Ast,
    params: &[Parameter],
    all_params: &[ParameterSpec],
    spec: &mut NetworkSpec,
) -> Result<(Vec<String>, HashSet<String>)> {
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
            return Err(ctx.err(Error::EmptyReaction { reaction: describe }, rx.line, 1));
        }
        for (k, rate) in rx.rates.iter().enumerate() {
            let v = eval(ctx, rate, params, &spec.species, all_params)?;
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
            rate: rx.rates.first().map_or(Expr::Num(1.0), |e| e.expr.clone()),
            reverse: rx.rates.get(1).map(|e| e.expr.clone()),
            propensity: rx.law.as_ref().map(|l| l.expr.clone()),
        });
    }
    Ok((notes, known))
}

/// Check the observables: valid unique names, and terms naming known species.
fn check_observables(
    ctx: &Ctx<'_>,
    ast: &Ast,
    known: &HashSet<String>,
) -> Result<Vec<ObservableSpec>> {
    let mut observables = Vec::new();
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
        observables.push(ObservableSpec {
            name: name.text.clone(),
            terms: Terms(
                terms
                    .iter()
                    .map(|t| (t.name.text.clone(), t.coeff))
                    .collect(),
            ),
        });
    }
    Ok(observables)
}

/// Check a propensity law: its names are parameters or species (a species used only in a
/// law must be declared), it does not read the clock, and it is finite and ≥ 0 at the start.
fn check_law(
    ctx: &Ctx<'_>,
    law: &LocExpr,
    reaction: &str,
    species: &HashMap<&str, usize>,
    params: &dyn Fn(&str) -> Option<f64>,
    x0: &[u64],
) -> Result<()> {
    let context = format!("the propensity of reaction {reaction}");
    for name in law.expr.variables() {
        if species.contains_key(name) || params(name).is_some() {
            continue;
        }
        let err = if name == TIME {
            Error::Unsupported {
                feature: format!(
                    "`time` in {context} (a propensity law may use species and parameters \
                     only; use an event to change the state at a given time)"
                ),
            }
        } else {
            Error::UnknownParameter {
                name: name.to_string(),
                hint: format!(
                    " (in {context}: a law may use parameters and species; a species used only \
                     in a law must be declared with `species:`)"
                ),
            }
        };
        return Err(ctx.err(err, law.line, law.col_of(name)));
    }
    let scope = Scope {
        species,
        params,
        context,
        allow_time: false,
    };
    let code = Code::compile(&law.expr, &scope).map_err(|e| ctx.err(e, law.line, law.col))?;
    let a0 = code.eval(x0, 0.0);
    if !(a0.is_finite() && a0 >= 0.0) {
        return Err(ctx.err(
            Error::InvalidPropensity {
                reaction: reaction.to_string(),
                value: a0,
                state: "the initial state".into(),
            },
            law.line,
            law.col,
        ));
    }
    Ok(())
}

/// Check the events (names, assignment targets, the names they use, the use of the clock)
/// with their positions.
fn check_events(
    ctx: &Ctx<'_>,
    events: &[EventAst],
    species: &HashMap<&str, usize>,
    params: &dyn Fn(&str) -> Option<f64>,
) -> Result<Vec<EventSpec>> {
    let mut out = Vec::with_capacity(events.len());
    for (k, ev) in events.iter().enumerate() {
        let name = &ev.name;
        let here = |e: Error| ctx.err(e, name.line, name.col);
        spec::check_name(&name.text).map_err(here)?;
        if events[..k].iter().any(|q| q.name.text == name.text) {
            return Err(here(Error::DuplicateName {
                kind: "event",
                name: name.text.clone(),
            }));
        }
        let known = |v: &str| v == TIME || species.contains_key(v) || params(v).is_some();
        if let Some(v) = ev.trigger.variables().into_iter().find(|v| !known(v)) {
            let col = locate(&ev.trigger_toks, v).unwrap_or(ev.trigger_col);
            return Err(ctx.err(
                Error::UnknownParameter {
                    name: v.to_string(),
                    hint: format!(
                        " (in the trigger of event `{}`: a trigger may use species, parameters \
                         and `time`)",
                        name.text
                    ),
                },
                name.line,
                col,
            ));
        }
        let mut assignments: Vec<(usize, Expr)> = Vec::with_capacity(ev.assignments.len());
        for (k, (target, value)) in ev.assignments.iter().enumerate() {
            let at_target = |e: Error| ctx.err(e, target.line, target.col);
            let i = match species.get(target.text.as_str()) {
                Some(&i) => i,
                None if params(&target.text).is_some() => {
                    return Err(at_target(Error::Unsupported {
                        feature: format!(
                            "event `{}` assigns parameter `{}` (events may assign species \
                             counts only)",
                            name.text, target.text
                        ),
                    }));
                }
                None => {
                    return Err(at_target(Error::UnknownSpecies {
                        name: target.text.clone(),
                    }));
                }
            };
            if ev.assignments[..k]
                .iter()
                .any(|(t, _)| t.text == target.text)
            {
                return Err(at_target(Error::DuplicateName {
                    kind: "event assignment",
                    name: format!("{} (in event `{}`)", target.text, name.text),
                }));
            }
            if let Some(v) = value.expr.variables().into_iter().find(|v| !known(v)) {
                return Err(ctx.err(
                    Error::UnknownParameter {
                        name: v.to_string(),
                        hint: format!(
                            " (in an assignment of event `{}`: it may use species, parameters \
                             and `time`)",
                            name.text
                        ),
                    },
                    value.line,
                    value.col_of(v),
                ));
            }
            assignments.push((i, value.expr.clone()));
        }
        let event = Event {
            name: name.text.clone(),
            trigger: ev.trigger.clone(),
            assignments,
            initial_value: ev.initial_value,
        };
        // The names are known, so what is left is the use of the clock in the trigger.
        Events::compile(std::slice::from_ref(&event), species, params).map_err(|e| {
            let col = locate(&ev.trigger_toks, TIME).unwrap_or(ev.trigger_col);
            ctx.err(e, name.line, col)
        })?;
        out.push(EventSpec {
            name: name.text.clone(),
            trigger: ev.trigger.clone(),
            initial_value: ev.initial_value,
            assign: Assignments(
                ev.assignments
                    .iter()
                    .map(|(t, e)| (t.text.clone(), e.expr.clone()))
                    .collect(),
            ),
        });
    }
    Ok(out)
}
