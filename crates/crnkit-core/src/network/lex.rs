//! Tokenizer shared by the `.crn` model language and rate expressions.
//!
//! The text is tokenized one line at a time; every token carries its 1-based column
//! (counted in characters) so that errors can point at it.

use crate::error::Error;

/// A token of the model language.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A bare identifier `[A-Za-z_][A-Za-z0-9_]*`.
    Ident(String),
    /// A quoted name `"..."` (for names that are not identifiers).
    Quoted(String),
    /// A number literal (unsigned): its value and the text as written.
    Num(f64, String),
    /// `+`
    Plus,
    /// `-`
    Minus,
    /// `*`
    Star,
    /// `/`
    Slash,
    /// `^`
    Caret,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `=`
    Eq,
    /// `@`
    At,
    /// `:`
    Colon,
    /// `->`
    Arrow,
    /// `<->` or `<=>`
    BiArrow,
    /// `∅` (the empty complex)
    Empty,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    EqEq,
    /// `!=`
    Ne,
    /// `&&`
    AndAnd,
    /// `||`
    OrOr,
    /// `!`
    Bang,
}

impl Tok {
    /// How the token is shown in error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("`{s}`"),
            Tok::Quoted(s) => format!("\"{s}\""),
            Tok::Num(_, s) => format!("number `{s}`"),
            Tok::Plus => "`+`".into(),
            Tok::Minus => "`-`".into(),
            Tok::Star => "`*`".into(),
            Tok::Slash => "`/`".into(),
            Tok::Caret => "`^`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
            Tok::Comma => "`,`".into(),
            Tok::Eq => "`=`".into(),
            Tok::At => "`@`".into(),
            Tok::Colon => "`:`".into(),
            Tok::Arrow => "`->`".into(),
            Tok::BiArrow => "`<->`".into(),
            Tok::Empty => "`∅`".into(),
            Tok::Lt => "`<`".into(),
            Tok::Le => "`<=`".into(),
            Tok::Gt => "`>`".into(),
            Tok::Ge => "`>=`".into(),
            Tok::EqEq => "`==`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::AndAnd => "`&&`".into(),
            Tok::OrOr => "`||`".into(),
            Tok::Bang => "`!`".into(),
        }
    }
}

/// A token and its 1-based column.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned {
    pub tok: Tok,
    pub col: usize,
}

/// A tokenizer error with its column.
pub(crate) struct LexError {
    pub col: usize,
    pub error: Error,
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_continue(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Is `s` a bare identifier (so it can be written without quotes)?
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if is_ident_start(c)) && chars.all(is_ident_continue)
}

/// Tokenize one line (without its newline). A `#` outside quotes starts a comment.
pub(crate) fn tokenize(line: &str) -> std::result::Result<Vec<Spanned>, LexError> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '#' {
            break;
        }
        let (tok, end) = if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident_continue(chars[i]) {
                i += 1;
            }
            (Tok::Ident(chars[start..i].iter().collect()), i)
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            lex_number(&chars, i)?
        } else if c == '"' {
            lex_quoted(&chars, i)?
        } else {
            lex_symbol(&chars, i)?
        };
        out.push(Spanned { tok, col });
        i = end;
    }
    Ok(out)
}

/// A syntax error at column `col`.
fn lex_err(col: usize, expected: &str, found: String) -> LexError {
    LexError {
        col,
        error: Error::Syntax {
            expected: expected.to_string(),
            found,
        },
    }
}

/// The number literal starting at `chars[start]`, and the index just past it.
fn lex_number(chars: &[char], start: usize) -> std::result::Result<(Tok, usize), LexError> {
    let col = start + 1;
    let mut i = start;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    if i < chars.len() && chars[i] == '.' {
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
    }
    if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
        let mut j = i + 1;
        if j < chars.len() && (chars[j] == '+' || chars[j] == '-') {
            j += 1;
        }
        if j < chars.len() && chars[j].is_ascii_digit() {
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        } else {
            let found: String = chars[start..j.min(chars.len())].iter().collect();
            return Err(lex_err(
                col,
                "an exponent (digits) after `e`",
                format!("`{found}`"),
            ));
        }
    }
    let text: String = chars[start..i].iter().collect();
    let value: f64 = text
        .parse()
        .map_err(|_| lex_err(col, "a number", format!("`{text}`")))?;
    if !value.is_finite() {
        return Err(lex_err(
            col,
            "a finite number",
            format!("`{text}` (out of range)"),
        ));
    }
    Ok((Tok::Num(value, text), i))
}

/// The quoted name starting at the `"` at `chars[start]`, and the index just past it.
fn lex_quoted(chars: &[char], start: usize) -> std::result::Result<(Tok, usize), LexError> {
    let col = start + 1;
    let mut j = start + 1;
    let mut name = String::new();
    let mut closed = false;
    while j < chars.len() {
        match chars[j] {
            '"' => {
                closed = true;
                j += 1;
                break;
            }
            '\\' if j + 1 < chars.len() => {
                name.push(chars[j + 1]);
                j += 2;
            }
            ch => {
                name.push(ch);
                j += 1;
            }
        }
    }
    if !closed {
        return Err(lex_err(
            col,
            "a closing `\"`",
            "the end of the line".to_string(),
        ));
    }
    if name.is_empty() {
        return Err(lex_err(
            col,
            "a non-empty quoted name",
            "`\"\"`".to_string(),
        ));
    }
    Ok((Tok::Quoted(name), j))
}

/// The operator or punctuation token at `chars[i]`, and the index just past it.
fn lex_symbol(chars: &[char], i: usize) -> std::result::Result<(Tok, usize), LexError> {
    let c = chars[i];
    let col = i + 1;
    let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
    let three: String = chars[i..(i + 3).min(chars.len())].iter().collect();
    let (tok, len) = if three == "<->" || three == "<=>" {
        (Tok::BiArrow, 3)
    } else if two == "->" || two == "=>" {
        (Tok::Arrow, 2)
    } else if let Some(t) = match two.as_str() {
        "<=" => Some(Tok::Le),
        ">=" => Some(Tok::Ge),
        "==" => Some(Tok::EqEq),
        "!=" => Some(Tok::Ne),
        "&&" => Some(Tok::AndAnd),
        "||" => Some(Tok::OrOr),
        _ => None,
    } {
        (t, 2)
    } else {
        let t = match c {
            '+' => Tok::Plus,
            '-' => Tok::Minus,
            '*' => Tok::Star,
            '/' => Tok::Slash,
            '^' => Tok::Caret,
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '=' => Tok::Eq,
            '@' => Tok::At,
            ':' => Tok::Colon,
            '∅' => Tok::Empty,
            '<' => Tok::Lt,
            '>' => Tok::Gt,
            '!' => Tok::Bang,
            other => {
                return Err(lex_err(
                    col,
                    "a name, a number or one of + - * / ^ ( ) , = @ : -> <-> < <= > >= == != && || !",
                    format!("character `{other}`"),
                ));
            }
        };
        (t, 1)
    };
    Ok((tok, i + len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_columns() {
        let toks = tokenize("A + 2X <-> 3 X @ k1, 1.5e-3 # comment")
            .ok()
            .unwrap();
        let kinds: Vec<Tok> = toks.iter().map(|t| t.tok.clone()).collect();
        assert_eq!(kinds[0], Tok::Ident("A".into()));
        assert_eq!(kinds[2], Tok::Num(2.0, "2".into()));
        assert_eq!(kinds[3], Tok::Ident("X".into()));
        assert_eq!(kinds[4], Tok::BiArrow);
        assert_eq!(toks[4].col, 8);
        assert_eq!(kinds.last(), Some(&Tok::Num(1.5e-3, "1.5e-3".into())));
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("k_1"));
        assert!(!is_identifier("1k"));
        assert!(!is_identifier("A(b~P)"));
        assert!(!is_identifier(""));
    }
}
