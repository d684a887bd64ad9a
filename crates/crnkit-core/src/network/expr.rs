//! Arithmetic expressions of parameters, used for rate constants, parameter definitions and
//! the system volume.
//!
//! Grammar (usual precedence, `^` binds tightest and is right-associative, unary minus binds
//! looser than `^` so `-x^2 = -(x^2)`):
//!
//! ```text
//! expr   := term (('+' | '-') term)*
//! term   := unary (('*' | '/') unary)*
//! unary  := '-' unary | power
//! power  := atom ('^' unary)?
//! atom   := number | name | name '(' expr (',' expr)* ')' | '(' expr ')'
//! ```
//!
//! Functions: `exp`, `ln` and `log` (natural logarithm), `log10`, `log2`, `sqrt`, `abs`,
//! `pow(a, b)`, `min(a, b, ...)`, `max(a, b, ...)`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::lex::{Spanned, Tok, is_identifier, tokenize};
use crate::error::{Error, Result};

/// The deepest expression (or event condition) the parsers accept.
///
/// Every level of parentheses, unary minus, `!`, `^`, function call, MathML `<apply>`, and
/// every operator of a chain such as `a + b + … + z` (stored as nested binary operations)
/// counts as one level, so a sum of more than about this many terms is refused too. Deeper
/// input gives [`Error::TooDeep`] instead of exhausting the stack when the expression is
/// parsed, evaluated, printed or dropped.
pub const MAX_EXPR_DEPTH: usize = 500;

/// A binary operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^`
    Pow,
}

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
        }
    }
    fn precedence(self) -> u8 {
        match self {
            BinOp::Add | BinOp::Sub => 1,
            BinOp::Mul | BinOp::Div => 2,
            BinOp::Pow => 4,
        }
    }
}

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `exp(x)`
    Exp,
    /// `ln(x)`, also spelled `log(x)`: natural logarithm.
    Ln,
    /// `log10(x)`
    Log10,
    /// `log2(x)`
    Log2,
    /// `sqrt(x)`
    Sqrt,
    /// `abs(x)`
    Abs,
    /// `pow(a, b)` = a^b
    Pow,
    /// `min(a, b, ...)`
    Min,
    /// `max(a, b, ...)`
    Max,
}

impl Func {
    fn from_name(name: &str) -> Option<Func> {
        Some(match name {
            "exp" => Func::Exp,
            "ln" | "log" => Func::Ln,
            "log10" => Func::Log10,
            "log2" => Func::Log2,
            "sqrt" => Func::Sqrt,
            "abs" => Func::Abs,
            "pow" => Func::Pow,
            "min" => Func::Min,
            "max" => Func::Max,
            _ => return None,
        })
    }
    fn name(self) -> &'static str {
        match self {
            Func::Exp => "exp",
            Func::Ln => "ln",
            Func::Log10 => "log10",
            Func::Log2 => "log2",
            Func::Sqrt => "sqrt",
            Func::Abs => "abs",
            Func::Pow => "pow",
            Func::Min => "min",
            Func::Max => "max",
        }
    }
    /// Allowed number of arguments (min, max).
    fn arity(self) -> (usize, usize) {
        match self {
            Func::Pow => (2, 2),
            Func::Min | Func::Max => (1, usize::MAX),
            _ => (1, 1),
        }
    }
}

/// An arithmetic expression over named parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Num(f64),
    /// A named parameter.
    Var(String),
    /// Unary minus.
    Neg(Box<Expr>),
    /// A binary operation.
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// A function call.
    Call(Func, Vec<Expr>),
}

impl From<f64> for Expr {
    fn from(v: f64) -> Self {
        Expr::Num(v)
    }
}

impl Expr {
    /// A reference to the parameter `name`.
    pub fn var(name: impl Into<String>) -> Expr {
        Expr::Var(name.into())
    }

    /// Parse an expression from text. Errors carry the column within `text`.
    pub fn parse(text: &str) -> Result<Expr> {
        let toks = tokenize(text).map_err(|e| e.error.at("<expression>", text, 1, e.col))?;
        let mut cur = Cursor::new(&toks, text.chars().count() + 1);
        let expr = cur
            .expr()
            .map_err(|(col, e)| e.at("<expression>", text, 1, col))?;
        if let Some(t) = cur.peek() {
            return Err(Error::Syntax {
                expected: "an operator or the end of the expression".into(),
                found: t.tok.describe(),
            }
            .at("<expression>", text, 1, t.col));
        }
        Ok(expr)
    }

    /// Evaluate, looking up parameter values with `lookup`.
    ///
    /// An unknown name gives [`Error::UnknownParameter`]; the result may be non-finite
    /// (e.g. division by zero), which callers check where it matters.
    pub fn eval(&self, lookup: &dyn Fn(&str) -> Option<f64>) -> Result<f64> {
        Ok(match self {
            Expr::Num(v) => *v,
            Expr::Var(name) => lookup(name).ok_or_else(|| Error::UnknownParameter {
                name: name.clone(),
                hint: String::new(),
            })?,
            Expr::Neg(e) => -e.eval(lookup)?,
            Expr::Bin(op, a, b) => apply_bin(*op, a.eval(lookup)?, b.eval(lookup)?),
            Expr::Call(f, args) => {
                let vals = args
                    .iter()
                    .map(|a| a.eval(lookup))
                    .collect::<Result<Vec<f64>>>()?;
                apply_func(*f, &vals)
            }
        })
    }

    /// The depth of the expression tree (1 for a number or a name), computed without
    /// recursion, so that it is safe on any tree. Parsers refuse trees deeper than
    /// [`MAX_EXPR_DEPTH`].
    pub fn depth(&self) -> usize {
        let mut max = 0;
        let mut stack: Vec<(&Expr, usize)> = vec![(self, 1)];
        while let Some((e, d)) = stack.pop() {
            max = max.max(d);
            match e {
                Expr::Num(_) | Expr::Var(_) => {}
                Expr::Neg(a) => stack.push((a, d + 1)),
                Expr::Bin(_, a, b) => {
                    stack.push((a, d + 1));
                    stack.push((b, d + 1));
                }
                Expr::Call(_, args) => stack.extend(args.iter().map(|a| (a, d + 1))),
            }
        }
        max
    }

    /// The number of nodes of the expression tree (numbers, names and operations), counted
    /// without recursion.
    pub fn size(&self) -> usize {
        let mut n = 0;
        let mut stack: Vec<&Expr> = vec![self];
        while let Some(e) = stack.pop() {
            n += 1;
            match e {
                Expr::Num(_) | Expr::Var(_) => {}
                Expr::Neg(a) => stack.push(a),
                Expr::Bin(_, a, b) => {
                    stack.push(a);
                    stack.push(b);
                }
                Expr::Call(_, args) => stack.extend(args.iter()),
            }
        }
        n
    }

    /// The value of an expression with no parameters, if it has none.
    pub fn constant_value(&self) -> Option<f64> {
        self.eval(&|_| None).ok()
    }

    /// Names of the parameters the expression uses, in order of first appearance.
    pub fn variables(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        self.visit_vars(&mut |v| {
            if !out.contains(&v) {
                out.push(v);
            }
        });
        out
    }

    /// Call `f` on every name the expression uses, at every use, in order.
    pub fn visit_vars<'a>(&'a self, f: &mut dyn FnMut(&'a str)) {
        match self {
            Expr::Num(_) => {}
            Expr::Var(v) => f(v),
            Expr::Neg(e) => e.visit_vars(f),
            Expr::Bin(_, a, b) => {
                a.visit_vars(f);
                b.visit_vars(f);
            }
            Expr::Call(_, args) => args.iter().for_each(|a| a.visit_vars(f)),
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Expr::Num(v) if *v < 0.0 || (*v == 0.0 && v.is_sign_negative()) => 3,
            Expr::Num(_) | Expr::Var(_) | Expr::Call(..) => 5,
            Expr::Neg(_) => 3,
            Expr::Bin(op, ..) => op.precedence(),
        }
    }
}

/// The value of a binary operation.
pub(crate) fn apply_bin(op: BinOp, a: f64, b: f64) -> f64 {
    match op {
        BinOp::Add => a + b,
        BinOp::Sub => a - b,
        BinOp::Mul => a * b,
        BinOp::Div => a / b,
        BinOp::Pow => a.powf(b),
    }
}

/// The value of a function at its arguments (NaN for a missing argument).
pub(crate) fn apply_func(f: Func, v: &[f64]) -> f64 {
    let x = v.first().copied().unwrap_or(f64::NAN);
    match f {
        Func::Exp => x.exp(),
        Func::Ln => x.ln(),
        Func::Log10 => x.log10(),
        Func::Log2 => x.log2(),
        Func::Sqrt => x.sqrt(),
        Func::Abs => x.abs(),
        Func::Pow => x.powf(v.get(1).copied().unwrap_or(f64::NAN)),
        Func::Min => v.iter().copied().fold(f64::INFINITY, f64::min),
        Func::Max => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// Write a number so that it reads back to the same `f64` (shortest round-trip form).
pub(crate) fn format_number(v: f64) -> String {
    let s = format!("{v:?}");
    match s.strip_suffix(".0") {
        Some(stripped) => stripped.to_string(),
        None => s,
    }
}

/// Write a name, quoting it when it is not a bare identifier.
pub(crate) fn format_name(name: &str) -> String {
    if is_identifier(name) {
        name.to_string()
    } else {
        let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("\"{escaped}\"")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wrap = |f: &mut fmt::Formatter<'_>, e: &Expr, paren: bool| {
            if paren {
                write!(f, "({e})")
            } else {
                write!(f, "{e}")
            }
        };
        match self {
            Expr::Num(v) => write!(f, "{}", format_number(*v)),
            Expr::Var(name) => write!(f, "{}", format_name(name)),
            Expr::Neg(e) => {
                write!(f, "-")?;
                wrap(f, e, e.precedence() < 3)
            }
            Expr::Bin(op, a, b) => {
                let p = op.precedence();
                let (left_paren, right_paren) = if *op == BinOp::Pow {
                    (a.precedence() <= p, b.precedence() < 3)
                } else {
                    (a.precedence() < p, b.precedence() <= p)
                };
                wrap(f, a, left_paren)?;
                if *op == BinOp::Pow {
                    write!(f, "^")?;
                } else {
                    write!(f, " {} ", op.symbol())?;
                }
                wrap(f, b, right_paren)
            }
            Expr::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{a}")?;
                }
                write!(f, ")")
            }
        }
    }
}

impl Serialize for Expr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Expr::Num(v) => s.serialize_f64(*v),
            other => s.serialize_str(&other.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for Expr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Int(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(v) => Ok(Expr::Num(v)),
            Raw::Int(v) => Ok(Expr::Num(v as f64)),
            Raw::Text(t) => Expr::parse(&t).map_err(|e| serde::de::Error::custom(e.kind())),
        }
    }
}

/// An error with the column where it was found.
pub(crate) type Located = (usize, Error);

/// A cursor over the tokens of one line.
pub(crate) struct Cursor<'a> {
    toks: &'a [Spanned],
    pos: usize,
    /// Column just past the end of the line (for "found end of line" errors).
    end_col: usize,
    /// Nesting depth of the expression being parsed (see [`MAX_EXPR_DEPTH`]).
    depth: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(toks: &'a [Spanned], end_col: usize) -> Self {
        Cursor {
            toks,
            pos: 0,
            end_col,
            depth: 0,
        }
    }

    /// Go one level deeper at column `col`, refusing to pass [`MAX_EXPR_DEPTH`].
    pub(crate) fn enter(&mut self, col: usize) -> std::result::Result<(), Located> {
        if self.depth >= MAX_EXPR_DEPTH {
            return Err((
                col,
                Error::TooDeep {
                    limit: MAX_EXPR_DEPTH,
                },
            ));
        }
        self.depth += 1;
        Ok(())
    }

    /// Come back from [`Cursor::enter`].
    pub(crate) fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// The current nesting depth (to restore after backtracking).
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    /// Restore a depth from [`Cursor::depth`].
    pub(crate) fn set_depth(&mut self, depth: usize) {
        self.depth = depth;
    }

    pub(crate) fn peek(&self) -> Option<&'a Spanned> {
        self.toks.get(self.pos)
    }

    pub(crate) fn peek_at(&self, k: usize) -> Option<&'a Spanned> {
        self.toks.get(self.pos + k)
    }

    pub(crate) fn next(&mut self) -> Option<&'a Spanned> {
        let t = self.toks.get(self.pos);
        if t.is_some() {
            self.pos += 1;
        }
        t
    }

    /// Column of the next token, or of the end of the line.
    pub(crate) fn col(&self) -> usize {
        self.peek().map_or(self.end_col, |t| t.col)
    }

    pub(crate) fn clone_pos(&self) -> usize {
        self.pos
    }

    /// Go back to a position from [`Cursor::clone_pos`].
    pub(crate) fn rewind(&mut self, pos: usize) {
        self.pos = pos.min(self.toks.len());
    }

    pub(crate) fn slice_from(&self, start: usize) -> &'a [Spanned] {
        &self.toks[start.min(self.pos)..self.pos]
    }

    pub(crate) fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    /// A syntax error at the next token.
    pub(crate) fn expected(&self, what: &str) -> Located {
        let found = self
            .peek()
            .map_or_else(|| "the end of the line".to_string(), |t| t.tok.describe());
        (
            self.col(),
            Error::Syntax {
                expected: what.to_string(),
                found,
            },
        )
    }

    pub(crate) fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek().is_some_and(|t| &t.tok == tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Parse an expression starting at the cursor.
    ///
    /// Each operator of a `+`/`-` or `*`/`/` chain nests the tree one level deeper (the
    /// operations are stored left-associated), so it counts towards [`MAX_EXPR_DEPTH`] for
    /// the rest of the chain.
    pub(crate) fn expr(&mut self) -> std::result::Result<Expr, Located> {
        let base = self.depth;
        let mut lhs = self.term()?;
        loop {
            let op = match self.peek().map(|t| &t.tok) {
                Some(Tok::Plus) => BinOp::Add,
                Some(Tok::Minus) => BinOp::Sub,
                _ => {
                    self.depth = base;
                    return Ok(lhs);
                }
            };
            self.enter(self.col())?;
            self.pos += 1;
            let rhs = self.term()?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn term(&mut self) -> std::result::Result<Expr, Located> {
        let base = self.depth;
        let mut lhs = self.unary()?;
        loop {
            let op = match self.peek().map(|t| &t.tok) {
                Some(Tok::Star) => BinOp::Mul,
                Some(Tok::Slash) => BinOp::Div,
                _ => {
                    self.depth = base;
                    return Ok(lhs);
                }
            };
            self.enter(self.col())?;
            self.pos += 1;
            let rhs = self.unary()?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
    }

    fn unary(&mut self) -> std::result::Result<Expr, Located> {
        if self.peek().is_some_and(|t| t.tok == Tok::Minus) {
            self.enter(self.col())?;
            self.pos += 1;
            let inner = self.unary()?;
            self.leave();
            return Ok(match inner {
                Expr::Num(v) => Expr::Num(-v),
                other => Expr::Neg(Box::new(other)),
            });
        }
        self.power()
    }

    fn power(&mut self) -> std::result::Result<Expr, Located> {
        let base = self.atom()?;
        if self.peek().is_some_and(|t| t.tok == Tok::Caret) {
            self.enter(self.col())?;
            self.pos += 1;
            let exp = self.unary()?;
            self.leave();
            return Ok(Expr::Bin(BinOp::Pow, Box::new(base), Box::new(exp)));
        }
        Ok(base)
    }

    fn atom(&mut self) -> std::result::Result<Expr, Located> {
        let Some(t) = self.peek() else {
            return Err(self.expected("a number, a parameter name or `(`"));
        };
        match &t.tok {
            Tok::Num(v, _) => {
                self.pos += 1;
                Ok(Expr::Num(*v))
            }
            Tok::Ident(name) if self.peek_at(1).is_some_and(|n| n.tok == Tok::LParen) => {
                let Some(func) = Func::from_name(name) else {
                    return Err((
                        t.col,
                        Error::Syntax {
                            expected: "a known function (exp, ln, log, log10, log2, sqrt, abs, pow, min, max)".into(),
                            found: format!("`{name}(`"),
                        },
                    ));
                };
                self.enter(t.col)?;
                self.pos += 2;
                let mut args = vec![self.expr()?];
                while self.eat(&Tok::Comma) {
                    args.push(self.expr()?);
                }
                if !self.eat(&Tok::RParen) {
                    return Err(self.expected("`,` or `)`"));
                }
                self.leave();
                let (lo, hi) = func.arity();
                if args.len() < lo || args.len() > hi {
                    return Err((
                        t.col,
                        Error::Syntax {
                            expected: format!(
                                "{} argument(s) for `{}`",
                                if lo == hi {
                                    lo.to_string()
                                } else {
                                    format!("at least {lo}")
                                },
                                func.name()
                            ),
                            found: format!("{}", args.len()),
                        },
                    ));
                }
                Ok(Expr::Call(func, args))
            }
            Tok::Ident(name) | Tok::Quoted(name) => {
                self.pos += 1;
                Ok(Expr::Var(name.clone()))
            }
            Tok::LParen => {
                self.enter(t.col)?;
                self.pos += 1;
                let e = self.expr()?;
                if !self.eat(&Tok::RParen) {
                    return Err(self.expected("`)`"));
                }
                self.leave();
                Ok(e)
            }
            _ => Err(self.expected("a number, a parameter name or `(`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<f64> {
        match name {
            "k1" => Some(2.0),
            "k2" => Some(3.0),
            _ => None,
        }
    }

    #[test]
    fn precedence_and_eval() {
        let cases = [
            ("1 + 2 * 3", 7.0),
            ("(1 + 2) * 3", 9.0),
            ("2 ^ 3 ^ 2", 512.0),
            ("-2 ^ 2", -4.0),
            ("k1 * k2 - k1 / k2", 6.0 - 2.0 / 3.0),
            ("exp(ln(k1))", 2.0),
            ("max(1, k2, 2)", 3.0),
            ("pow(k1, -1)", 0.5),
            ("1 - (2 - 3)", 2.0),
            ("k1 ^ -1", 0.5),
        ];
        for (text, want) in cases {
            let e = Expr::parse(text).unwrap();
            let got = e.eval(&lookup).unwrap();
            assert!((got - want).abs() < 1e-12, "{text}: {got} != {want}");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "1 + 2 * 3",
            "(1 + 2) * 3",
            "2^3^2",
            "(2^3)^2",
            "-2^2",
            "(-2)^2",
            "1 - (2 - 3)",
            "a / (b * c)",
            "-(a + b)",
            "k^-1",
            "exp(-(B1 - GA))",
            "\"A(b~P)\" * 2",
            "min(1, 2, 3)",
            "1e-7 * 6.02214076e23",
        ] {
            let e = Expr::parse(text).unwrap();
            let again = Expr::parse(&e.to_string()).unwrap();
            assert_eq!(e, again, "{text} -> {e}");
        }
    }

    #[test]
    fn errors_have_columns() {
        let e = Expr::parse("k1 * (k2 + ").unwrap_err();
        assert!(matches!(e.kind(), Error::Syntax { .. }));
        assert_eq!(e.location().unwrap().col, 12);
        let e = Expr::parse("foo(1)").unwrap_err();
        assert_eq!(e.location().unwrap().col, 1);
        assert!(Expr::parse("k1 k2").is_err());
        let e = Expr::parse("k3 + 1").unwrap().eval(&lookup).unwrap_err();
        assert!(matches!(e, Error::UnknownParameter { ref name, .. } if name == "k3"));
    }
}
