//! BioNetGen `.net` import.
//!
//! A `.net` file (written by BioNetGen's `generate_network`) has blocks
//!
//! ```text
//! begin parameters   index name expression          [# comment]
//! begin species      index name initial_expression  ($name: a fixed species)
//! begin reactions    index reactants products rate_expression [# comment]
//! begin groups       index name entries              (entries "7" or "2*8")
//! ```
//!
//! Reactant and product lists are comma-separated species indices (`0` means none); a
//! repeated index is a coefficient (`7,7` is 2 × species 7). Groups become observables.
//!
//! **Propensity convention.** BioNetGen folds reaction-path symmetry factors into the rate
//! expression (a rule `A + A -> B` with rate k appears as `7,7 8 0.5*k`) and its simulators
//! take the propensity as rate × x(x−1) for a repeated reactant — the falling factorial
//! without 1/ν!, which is crnkit's convention. So rates are used unchanged, with Ω = 1 and
//! counts as given. Fixed species (`$` prefix) become constant species. Functional rate laws
//! (`begin functions`, `Sat`, `MM`, `Hill`) are refused by name.

use std::collections::HashMap;

use crnkit_core::error::{Error, Result};
use crnkit_core::network::{
    Expr, Network, NetworkSpec, ObservableSpec, ParameterSpec, ReactionSpec, SpeciesSpec, Terms,
};

#[derive(Clone, Copy, PartialEq)]
enum Block {
    None,
    Parameters,
    Species,
    Reactions,
    Groups,
    Ignored,
}

/// Whitespace-separated fields with their 1-based columns (in characters).
fn fields(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<(usize, usize)> = None;
    for (col, (byte, c)) in line.char_indices().enumerate() {
        if c.is_whitespace() {
            if let Some((scol, sbyte)) = start.take() {
                out.push((scol, &line[sbyte..byte]));
            }
        } else if start.is_none() {
            start = Some((col + 1, byte));
        }
    }
    if let Some((scol, sbyte)) = start {
        out.push((scol, &line[sbyte..]));
    }
    out
}

/// Parse BioNetGen `.net` text; `file` names it in errors.
pub fn parse_net(text: &str, file: &str) -> Result<Network> {
    let mut p = NetParser {
        text,
        file,
        spec: NetworkSpec::default(),
        species_by_index: HashMap::new(),
        values: HashMap::new(),
    };
    let mut block = Block::None;
    let mut block_line = 0;
    let mut seen_reactions = false;
    for (i, raw) in text.lines().enumerate() {
        let ln = i + 1;
        let line = raw.split('#').next().unwrap_or("");
        let f = fields(line);
        if f.is_empty() {
            continue;
        }
        let (c0, first) = f[0];
        if first == "begin" || first == "end" {
            let next = p.block_line(&f, ln, block)?;
            if first == "begin" {
                block_line = ln;
            }
            block = next;
            continue;
        }
        match block {
            Block::None => {
                return Err(p.err(syntax("`begin <block>`", first), ln, c0));
            }
            Block::Ignored => {}
            Block::Parameters => p.parameter_line(&f, ln)?,
            Block::Species => p.species_line(&f, ln)?,
            Block::Reactions => {
                seen_reactions = true;
                p.reaction_line(&f, ln)?;
            }
            Block::Groups => p.group_line(&f, ln)?,
        }
    }
    if block != Block::None {
        return Err(p.err(
            syntax("`end` of the block", "the end of the file"),
            block_line,
            1,
        ));
    }
    if !seen_reactions || p.spec.reactions.is_empty() {
        return Err(p.err(Error::EmptyNetwork, text.lines().count().max(1), 1));
    }
    p.spec.build().map_err(|e| p.err(e, 1, 1))
}

/// A syntax error: `expected` was wanted, `found` was written.
fn syntax(expected: &str, found: &str) -> Error {
    Error::Syntax {
        expected: expected.to_string(),
        found: found.to_string(),
    }
}

/// The state of a `.net` parse: the network read so far and what later lines refer to.
struct NetParser<'a> {
    /// The whole file text (for error locations).
    text: &'a str,
    /// The file name (for error locations).
    file: &'a str,
    /// The network read so far.
    spec: NetworkSpec,
    /// `.net` species index → position in `spec.species`.
    species_by_index: HashMap<u64, usize>,
    /// Parameter values so far.
    values: HashMap<String, f64>,
}

impl NetParser<'_> {
    /// Locate `e` at `line`, `col` of the file.
    fn err(&self, e: Error, line: usize, col: usize) -> Error {
        e.at(self.file, self.text, line, col)
    }

    /// A `begin NAME` or `end NAME` line `f` while in `block`; returns the block after it.
    fn block_line(&self, f: &[(usize, &str)], ln: usize, block: Block) -> Result<Block> {
        let (c0, first) = f[0];
        let Some(&(c1, name)) = f.get(1) else {
            return Err(self.err(
                syntax("a block name", "the end of the line"),
                ln,
                c0 + first.len(),
            ));
        };
        let name = if name == "molecule" || name == "reaction" {
            format!("{} {}", name, f.get(2).map_or("", |x| x.1))
        } else {
            name.to_string()
        };
        if first == "end" {
            return Ok(Block::None);
        }
        if block != Block::None {
            return Err(self.err(syntax("`end` of the open block", "`begin`"), ln, c0));
        }
        Ok(match name.as_str() {
            "parameters" => Block::Parameters,
            "species" => Block::Species,
            "reactions" => Block::Reactions,
            "groups" => Block::Groups,
            "molecule types" | "observables" | "compartments" => Block::Ignored,
            "functions" => {
                return Err(self.err(
                    Error::Unsupported {
                        feature: "BioNetGen functions block (functional rate laws)".into(),
                    },
                    ln,
                    c1,
                ));
            }
            other => {
                return Err(self.err(
                    Error::Unsupported {
                        feature: format!("BioNetGen block `{other}`"),
                    },
                    ln,
                    c1,
                ));
            }
        })
    }

    /// The expression made of fields `from..` of line `ln`.
    fn expr_of(&self, f: &[(usize, &str)], from: usize, ln: usize) -> Result<Expr> {
        let (col, _) = f[from];
        let joined: Vec<&str> = f[from..].iter().map(|x| x.1).collect();
        let text_expr = joined.join(" ");
        Expr::parse(&text_expr).map_err(|e| {
            let inner = match e {
                Error::Parse { source, col: c, .. } => (*source, col + c - 1),
                other => (other, col),
            };
            self.err(inner.0, ln, inner.1)
        })
    }

    /// Field `k` of line `ln` evaluated with the parameters so far.
    fn eval_field(&self, f: &[(usize, &str)], k: usize, ln: usize, e: &Expr) -> Result<f64> {
        e.eval(&|n| self.values.get(n).copied())
            .map_err(|err| self.err(err, ln, f[k].0))
    }

    /// A parameters line: `index name expression`.
    fn parameter_line(&mut self, f: &[(usize, &str)], ln: usize) -> Result<()> {
        let (c0, _) = f[0];
        if f.len() < 3 {
            return Err(self.err(syntax("index, name and value", "fewer fields"), ln, c0));
        }
        let value = self.expr_of(f, 2, ln)?;
        let v = self.eval_field(f, 2, ln, &value)?;
        self.values.insert(f[1].1.to_string(), v);
        self.spec.parameters.push(ParameterSpec {
            name: f[1].1.to_string(),
            value,
        });
        Ok(())
    }

    /// A species line: `index name initial_expression` (`$name`: a fixed species).
    fn species_line(&mut self, f: &[(usize, &str)], ln: usize) -> Result<()> {
        let (c0, first) = f[0];
        if f.len() < 3 {
            return Err(self.err(
                syntax("index, name and initial amount", "fewer fields"),
                ln,
                c0,
            ));
        }
        let index: u64 = first
            .parse()
            .map_err(|_| self.err(syntax("a species index", first), ln, c0))?;
        let (name, constant) = match f[1].1.strip_prefix('$') {
            Some(n) => (n.to_string(), true),
            None => (f[1].1.to_string(), false),
        };
        let value = self.eval_field(f, 2, ln, &self.expr_of(f, 2, ln)?)?;
        let count = crnkit_core::network::spec_count(&name, value, f[2].1)
            .map_err(|e| self.err(e, ln, f[2].0))?;
        if self
            .species_by_index
            .insert(index, self.spec.species.len())
            .is_some()
        {
            return Err(self.err(
                Error::DuplicateName {
                    kind: "species index",
                    name: index.to_string(),
                },
                ln,
                c0,
            ));
        }
        self.spec.species.push(SpeciesSpec {
            name,
            initial: count as f64,
            constant,
        });
        Ok(())
    }

    /// The species list in field `k` of line `ln` (`0`: none; a repeated index adds up).
    fn species_list(&self, f: &[(usize, &str)], k: usize, ln: usize) -> Result<Terms> {
        let (col, s) = f[k];
        let mut terms: Vec<(String, u32)> = Vec::new();
        if s == "0" {
            return Ok(Terms(terms));
        }
        for item in s.split(',') {
            let name = species_name(item, &self.species_by_index, &self.spec.species)
                .map_err(|e| self.err(e, ln, col))?;
            add_term(&mut terms, name, 1);
        }
        Ok(Terms(terms))
    }

    /// A reactions line: `index reactants products rate_expression`.
    fn reaction_line(&mut self, f: &[(usize, &str)], ln: usize) -> Result<()> {
        let (c0, first) = f[0];
        if f.len() < 4 {
            return Err(self.err(
                syntax("index, reactants, products and rate", "fewer fields"),
                ln,
                c0,
            ));
        }
        let reactants = self.species_list(f, 1, ln)?;
        let products = self.species_list(f, 2, ln)?;
        if reactants.0.is_empty() && products.0.is_empty() {
            return Err(self.err(
                Error::EmptyReaction {
                    reaction: format!("#{first}"),
                },
                ln,
                f[1].0,
            ));
        }
        let rate_text = f[3].1;
        for law in ["Sat", "MM", "Hill", "Arrhenius"] {
            if rate_text.starts_with(law) && rate_text[law.len()..].starts_with('(') {
                return Err(self.err(
                    Error::Unsupported {
                        feature: format!("BioNetGen rate law `{law}`"),
                    },
                    ln,
                    f[3].0,
                ));
            }
        }
        let rate = self.expr_of(f, 3, ln)?;
        let value = self.eval_field(f, 3, ln, &rate)?;
        if !(value.is_finite() && value >= 0.0) {
            return Err(self.err(
                Error::InvalidRate {
                    reaction: format!("#{first}"),
                    value,
                },
                ln,
                f[3].0,
            ));
        }
        self.spec.reactions.push(ReactionSpec {
            label: None,
            reactants,
            products,
            rate,
            reverse: None,
            propensity: None,
        });
        Ok(())
    }

    /// A groups line: `index name entries` (entries `7` or `2*8`); it becomes an observable.
    fn group_line(&mut self, f: &[(usize, &str)], ln: usize) -> Result<()> {
        let (c0, _) = f[0];
        if f.len() < 2 {
            return Err(self.err(syntax("index, name and species", "fewer fields"), ln, c0));
        }
        let mut terms: Vec<(String, u32)> = Vec::new();
        if let Some(&(col, s)) = f.get(2) {
            for item in s.split(',') {
                let (w, idx) = match item.split_once('*') {
                    Some((w, i)) => (w, i),
                    None => ("1", item),
                };
                let w: u32 = w
                    .parse()
                    .map_err(|_| self.err(syntax("an integer weight", w), ln, col))?;
                let name = species_name(idx, &self.species_by_index, &self.spec.species)
                    .map_err(|e| self.err(e, ln, col))?;
                add_term(&mut terms, name, w);
            }
        }
        self.spec.observables.push(ObservableSpec {
            name: f[1].1.to_string(),
            terms: Terms(terms),
        });
        Ok(())
    }
}

/// The species named by a `.net` species index written as `text`.
fn species_name(
    text: &str,
    by_index: &HashMap<u64, usize>,
    species: &[SpeciesSpec],
) -> Result<String> {
    let idx: u64 = text.parse().map_err(|_| Error::Syntax {
        expected: "a species index".into(),
        found: text.to_string(),
    })?;
    by_index
        .get(&idx)
        .map(|&k| species[k].name.clone())
        .ok_or(Error::UnknownSpecies {
            name: format!("index {idx}"),
        })
}

/// Add `weight` of species `name` to `terms` (a repeated species adds up).
fn add_term(terms: &mut Vec<(String, u32)>, name: String, weight: u32) {
    match terms.iter_mut().find(|(n, _)| *n == name) {
        Some((_, c)) => *c += weight,
        None => terms.push((name, weight)),
    }
}
