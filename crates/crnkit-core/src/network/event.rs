//! Events (discontinuous changes of the state) and their trigger conditions.
//!
//! An [`Event`] has a trigger, a [`Condition`] on species counts, parameters and the clock
//! `time`, and assignments `species = expression`. It fires at the instants where its trigger
//! goes from false to true (SBML semantics, Hucka et al., SBML Level 3 Core §4.12): a
//! trigger that stays true does not fire again until it has been false. All assignment
//! values of the events firing at one instant are computed from the state before any of them
//! is applied; then the triggers are evaluated again, so an event may set off another at the
//! same instant (a cascade, at most [`MAX_CASCADE`] rounds).
//!
//! `time` may appear only compared directly with an expression of parameters
//! (`time >= t1`, `5 < time`), so a trigger changes value either after a reaction or at a
//! known instant, and an exact simulator stops at those instants. Comparisons with the clock
//! are right-continuous: `time > 25` and `time >= 25` both become true *at* t = 25 (the
//! difference has probability zero and sample-and-hold reads the state after the event).
//!
//! Grammar of a condition (text form, used by the `.crn` language and model files):
//!
//! ```text
//! cond    := conj ('||' conj)*
//! conj    := neg ('&&' neg)*
//! neg     := '!' neg | primary
//! primary := 'true' | 'false' | 'xor' '(' cond (',' cond)* ')' | '(' cond ')'
//!          | expr CMP expr                    CMP: < <= > >= == !=
//! ```

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Expr;
use super::expr::format_name;
use super::expr::{Cursor, Located};
use super::lex::{Tok, tokenize};
use crate::error::{Error, Result};

/// The name of the clock in event conditions and assignments.
pub const TIME: &str = "time";

/// The most rounds of events one instant may set off before it is an error.
pub const MAX_CASCADE: usize = 1000;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl CmpOp {
    /// The operator's symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// Compare two numbers.
    #[inline]
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
        }
    }

    /// The operator with its operands swapped (`a < b` ⇔ `b > a`).
    pub fn mirrored(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            other => other,
        }
    }

    fn from_tok(t: &Tok) -> Option<CmpOp> {
        Some(match t {
            Tok::Lt => CmpOp::Lt,
            Tok::Le => CmpOp::Le,
            Tok::Gt => CmpOp::Gt,
            Tok::Ge => CmpOp::Ge,
            Tok::EqEq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            _ => return None,
        })
    }
}

/// A boolean condition over species counts, parameters and `time`.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `true` or `false`.
    Const(bool),
    /// A comparison of two expressions.
    Cmp(CmpOp, Expr, Expr),
    /// Negation.
    Not(Box<Condition>),
    /// All of (empty: true).
    And(Vec<Condition>),
    /// Any of (empty: false).
    Or(Vec<Condition>),
    /// An odd number of (empty: false).
    Xor(Vec<Condition>),
}

impl Condition {
    /// Parse a condition from text. Errors carry the column within `text`.
    pub fn parse(text: &str) -> Result<Condition> {
        let toks = tokenize(text).map_err(|e| e.error.at("<condition>", text, 1, e.col))?;
        let mut cur = Cursor::new(&toks, text.chars().count() + 1);
        let c = cur
            .condition()
            .map_err(|(col, e)| e.at("<condition>", text, 1, col))?;
        if let Some(t) = cur.peek() {
            return Err(Error::Syntax {
                expected: "`&&`, `||` or the end of the condition".into(),
                found: t.tok.describe(),
            }
            .at("<condition>", text, 1, t.col));
        }
        Ok(c)
    }

    /// Every expression of the condition, in order.
    pub fn expressions(&self) -> Vec<&Expr> {
        let mut out = Vec::new();
        self.visit(&mut |c| {
            if let Condition::Cmp(_, a, b) = c {
                out.push(a);
                out.push(b);
            }
        });
        out
    }

    /// Names used by the condition (species, parameters, `time`), in order of first use.
    pub fn variables(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for e in self.expressions() {
            for v in e.variables() {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
        }
        out
    }

    fn visit<'a>(&'a self, f: &mut dyn FnMut(&'a Condition)) {
        f(self);
        match self {
            Condition::Not(c) => c.visit(f),
            Condition::And(cs) | Condition::Or(cs) | Condition::Xor(cs) => {
                cs.iter().for_each(|c| c.visit(f));
            }
            Condition::Const(_) | Condition::Cmp(..) => {}
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Condition::Or(cs) if cs.len() > 1 => 1,
            Condition::And(cs) if cs.len() > 1 => 2,
            _ => 3,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined = |f: &mut fmt::Formatter<'_>, cs: &[Condition], sep: &str, p: u8| {
            for (i, c) in cs.iter().enumerate() {
                if i > 0 {
                    write!(f, " {sep} ")?;
                }
                if c.precedence() <= p {
                    write!(f, "({c})")?;
                } else {
                    write!(f, "{c}")?;
                }
            }
            Ok(())
        };
        match self {
            Condition::Const(b) => write!(f, "{b}"),
            Condition::Cmp(op, a, b) => write!(f, "{a} {} {b}", op.symbol()),
            Condition::Not(c) => write!(f, "!({c})"),
            Condition::And(cs) if cs.is_empty() => write!(f, "true"),
            Condition::Or(cs) if cs.is_empty() => write!(f, "false"),
            Condition::And(cs) => joined(f, cs, "&&", 2),
            Condition::Or(cs) => joined(f, cs, "||", 1),
            Condition::Xor(cs) => {
                write!(f, "xor(")?;
                for (i, c) in cs.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{c}")?;
                }
                write!(f, ")")
            }
        }
    }
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Condition::parse(&text).map_err(|e| serde::de::Error::custom(e.kind()))
    }
}

/// An event: when `trigger` goes from false to true, set each assigned species to the value
/// of its expression (computed before any assignment is applied).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Unique name.
    pub name: String,
    /// The trigger.
    pub trigger: Condition,
    /// (species index, new count as an expression of species, parameters and `time`).
    pub assignments: Vec<(usize, Expr)>,
    /// The trigger's value just before the start: with `true` (the default, and SBML
    /// Level 2's rule) an event whose trigger holds at the start does not fire then; with
    /// `false` it fires at the start.
    pub initial_value: bool,
}

impl Event {
    /// The event as a line of the `.crn` language (without a trailing newline).
    pub fn to_crn_line(&self, species: &[&str]) -> String {
        let mut s = format!("event {}: when {}", format_name(&self.name), self.trigger);
        if !self.initial_value {
            s.push_str(" initially false");
        }
        s.push_str(" then ");
        for (k, (i, e)) in self.assignments.iter().enumerate() {
            if k > 0 {
                s.push_str(", ");
            }
            s.push_str(&format!("{} = {e}", format_name(species[*i])));
        }
        s
    }
}

impl Cursor<'_> {
    /// Parse a condition starting at the cursor.
    pub(crate) fn condition(&mut self) -> std::result::Result<Condition, Located> {
        let mut parts = vec![self.conjunction()?];
        while self.eat(&Tok::OrOr) {
            parts.push(self.conjunction()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::Or(parts)
        })
    }

    fn conjunction(&mut self) -> std::result::Result<Condition, Located> {
        let mut parts = vec![self.negation()?];
        while self.eat(&Tok::AndAnd) {
            parts.push(self.negation()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Condition::And(parts)
        })
    }

    fn negation(&mut self) -> std::result::Result<Condition, Located> {
        if self.peek().is_some_and(|t| t.tok == Tok::Bang) {
            self.enter(self.col())?;
            self.next();
            let inner = self.negation()?;
            self.leave();
            return Ok(Condition::Not(Box::new(inner)));
        }
        self.primary_condition()
    }

    fn primary_condition(&mut self) -> std::result::Result<Condition, Located> {
        let next_is_operator = |cur: &Cursor<'_>, k: usize| {
            cur.peek_at(k).is_some_and(|t| {
                CmpOp::from_tok(&t.tok).is_some()
                    || matches!(
                        t.tok,
                        Tok::Plus | Tok::Minus | Tok::Star | Tok::Slash | Tok::Caret
                    )
            })
        };
        match self.peek().map(|t| &t.tok) {
            Some(Tok::Ident(w)) if (w == "true" || w == "false") && !next_is_operator(self, 1) => {
                let b = w == "true";
                self.next();
                return Ok(Condition::Const(b));
            }
            Some(Tok::Ident(w))
                if w == "xor" && matches!(self.peek_at(1).map(|t| &t.tok), Some(Tok::LParen)) =>
            {
                self.enter(self.col())?;
                self.next();
                self.next();
                let mut parts = vec![self.condition()?];
                while self.eat(&Tok::Comma) {
                    parts.push(self.condition()?);
                }
                if !self.eat(&Tok::RParen) {
                    return Err(self.expected("`,` or `)`"));
                }
                self.leave();
                return Ok(Condition::Xor(parts));
            }
            Some(Tok::LParen) => {
                // `(cond)` or a comparison whose left side starts with a parenthesis.
                let start = self.clone_pos();
                let depth = self.depth();
                self.enter(self.col())?;
                self.next();
                let inner = self.condition();
                // Too deep is final: backtracking into the comparison reading would only
                // fail again, level after level.
                if let Err((col, e @ Error::TooDeep { .. })) = inner {
                    return Err((col, e));
                }
                self.set_depth(depth);
                let unclosed = match inner {
                    Ok(c) if self.eat(&Tok::RParen) => {
                        if !next_is_operator(self, 0) {
                            return Ok(c);
                        }
                        None
                    }
                    // A whole condition inside, then no `)`: report that if the comparison
                    // reading fails too.
                    Ok(Condition::Or(_) | Condition::And(_) | Condition::Not(_)) => {
                        Some(self.expected("`)`"))
                    }
                    _ => None,
                };
                self.rewind(start);
                if let Some(e) = unclosed {
                    return self.comparison().map_err(|_| e);
                }
            }
            _ => {}
        }
        self.comparison()
    }

    fn comparison(&mut self) -> std::result::Result<Condition, Located> {
        let a = self.expr()?;
        let op = match self.peek().and_then(|t| CmpOp::from_tok(&t.tok)) {
            Some(op) => op,
            None => return Err(self.expected("a comparison (`<`, `<=`, `>`, `>=`, `==`, `!=`)")),
        };
        self.next();
        let b = self.expr()?;
        Ok(Condition::Cmp(op, a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print_round_trip() {
        for text in [
            "time >= 25",
            "P2 > 30",
            "(X + 1) * 2 > 5",
            "X > 3 && (Y < 2 || !(Z == 0))",
            "xor(A > 1, B > 1) || false",
            "true",
        ] {
            let c = Condition::parse(text).unwrap();
            let back = Condition::parse(&c.to_string()).unwrap();
            assert_eq!(c, back, "{text} -> {c}");
        }
        let c = Condition::parse("A > 1 && B > 2 || C > 3").unwrap();
        assert!(matches!(c, Condition::Or(ref v) if v.len() == 2));
        assert_eq!(
            Condition::parse("(A > 1)").unwrap(),
            Condition::parse("A > 1").unwrap()
        );
    }

    #[test]
    fn errors_carry_columns() {
        let e = Condition::parse("(A > 1 || B < 2").unwrap_err();
        assert!(e.to_string().contains("`)`"), "{e}");
        let e = Condition::parse("X + 1").unwrap_err();
        assert!(e.to_string().contains("comparison"), "{e}");
        let e = Condition::parse("X > 1 &&").unwrap_err();
        assert!(e.location().is_some(), "{e}");
        assert!(Condition::parse("X > 1 Y").is_err());
    }
}
