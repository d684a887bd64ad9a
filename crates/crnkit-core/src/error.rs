//! The error type of the model layers: networks, simulation, the CME, files, learning.
//!
//! Every fallible operation of `crnkit-core`, `crnkit-sim`, `crnkit-io` and `crnkit-learn`
//! returns [`Result<T>`] (the neural surrogate has its own error, which wraps this one). Errors that arise while reading a
//! model file are wrapped in [`Error::Parse`], which carries the file name, the 1-based line
//! and column, and a snippet of the offending line with a caret; the wrapped error says what
//! went wrong. [`Error::kind`] returns that innermost error, so callers can match on the
//! specific problem whether or not it came from a file.

use std::fmt;

/// `Result` with [`Error`] as the error type.
pub type Result<T> = std::result::Result<T, Error>;

/// Where in a model file something was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name as given by the caller (`"<string>"` for in-memory text).
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column number, counted in characters.
    pub col: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// Every error of the model layers (networks, simulation, CME, files, learning).
/// `Debug` shows the same text as `Display` (the caret view for parse errors), so
/// `fn main() -> Result<(), Error>` prints a readable message.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An error located in a model file: `file:line:col`, the problem, and the line with a caret.
    #[error("{file}:{line}:{col}: {source}\n{snippet}")]
    Parse {
        /// File name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// The offending line with a caret under the column.
        snippet: String,
        /// What went wrong.
        source: Box<Error>,
    },
    /// The text does not follow the grammar.
    #[error("expected {expected}, found {found}")]
    Syntax {
        /// What the grammar allows here.
        expected: String,
        /// What was there instead.
        found: String,
    },
    /// An expression or condition is nested deeper than the parsers accept
    /// ([`crate::network::MAX_EXPR_DEPTH`]).
    #[error(
        "expression nested too deeply: more than {limit} levels of parentheses, operators or \
         terms in a chain (the limit MAX_EXPR_DEPTH); split it into named parameters"
    )]
    TooDeep {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// A reaction or declaration names a species that is not declared.
    #[error("unknown species `{name}`")]
    UnknownSpecies {
        /// The name used.
        name: String,
    },
    /// An expression names a parameter that is not (yet) defined.
    #[error("unknown parameter `{name}`{hint}")]
    UnknownParameter {
        /// The name used.
        name: String,
        /// Extra advice (may be empty).
        hint: String,
    },
    /// A name is declared twice.
    #[error("duplicate {kind} `{name}`")]
    DuplicateName {
        /// `"species"`, `"parameter"` or `"reaction label"`.
        kind: &'static str,
        /// The repeated name.
        name: String,
    },
    /// A name is not acceptable (empty, or a reserved word).
    #[error("invalid name `{name}`: {reason}")]
    InvalidName {
        /// The offending name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A rate constant is negative, NaN or infinite.
    #[error(
        "invalid rate for reaction {reaction}: {value} (rate constants must be finite and >= 0)"
    )]
    InvalidRate {
        /// Reaction label or description.
        reaction: String,
        /// The offending value.
        value: f64,
    },
    /// A parameter evaluates to NaN or infinity.
    #[error("parameter `{name}` is not finite: {value}")]
    InvalidParameter {
        /// Parameter name.
        name: String,
        /// The offending value.
        value: f64,
    },
    /// A stoichiometric coefficient is not a whole number in 1..=4294967295.
    #[error("stoichiometric coefficient `{value}` is not a whole number in 1..=4294967295")]
    NonIntegerStoichiometry {
        /// The coefficient as written.
        value: String,
    },
    /// A species count is negative, fractional, non-finite or too large.
    #[error("invalid count for species `{species}`: {value} (counts are integers in 0..=2^53 − 1)")]
    InvalidCount {
        /// Species name.
        species: String,
        /// The value as written.
        value: String,
    },
    /// The system volume is not a positive finite number.
    #[error("invalid volume {value} (must be finite and > 0)")]
    InvalidVolume {
        /// The offending value.
        value: f64,
    },
    /// A reaction has the wrong number of rate constants for its arrow.
    #[error("reaction with `{arrow}` needs {expected} rate constant(s), found {found}")]
    RateCount {
        /// The arrow written.
        arrow: &'static str,
        /// Rates required.
        expected: usize,
        /// Rates given.
        found: usize,
    },
    /// A reaction with neither reactants nor products.
    #[error("reaction {reaction} has neither reactants nor products")]
    EmptyReaction {
        /// Reaction label or description.
        reaction: String,
    },
    /// The network has no reactions.
    #[error("the network has no reactions")]
    EmptyNetwork,
    /// An arithmetic expression cannot be evaluated.
    #[error("cannot evaluate expression: {0}")]
    Expression(String),
    /// An integer computation would overflow.
    #[error("integer overflow in {0}")]
    Overflow(&'static str),
    /// A species count would leave the range 0..=2^53 − 1 during a simulation.
    #[error("count of species `{species}` would leave the range 0..={limit} (reaction {reaction})")]
    CountOutOfRange {
        /// Species name.
        species: String,
        /// The reaction that fired.
        reaction: String,
        /// The largest count allowed.
        limit: u64,
    },
    /// A propensity (or its bound) became infinite or NaN, or too large to be handled.
    #[error("propensity of reaction {reaction} overflowed ({value:e})")]
    PropensityOverflow {
        /// Reaction name.
        reaction: String,
        /// The value computed.
        value: f64,
    },
    /// A general propensity law evaluated to a negative, NaN or infinite value.
    #[error(
        "propensity of reaction {reaction} is {value} in {state} (a propensity must be finite and >= 0)"
    )]
    InvalidPropensity {
        /// Reaction name.
        reaction: String,
        /// The value computed.
        value: f64,
        /// The state, described.
        state: String,
    },
    /// An event cannot be carried out.
    #[error("event `{event}`: {reason}")]
    InvalidEvent {
        /// Event name.
        event: String,
        /// What went wrong.
        reason: String,
    },
    /// A run setting is out of range.
    #[error("invalid setting {name} = {value}: {reason}")]
    InvalidSetting {
        /// The setting, by its name in the library's configuration (e.g. `every`), never a
        /// command-line option.
        name: &'static str,
        /// The value given.
        value: String,
        /// What is required.
        reason: &'static str,
    },
    /// A state space (CME projection) would exceed its size limit.
    #[error(
        "the state space needs more than {limit} states ({context}); raise the state limit (`max_states`) or bound the species"
    )]
    TooManyStates {
        /// The limit that was reached.
        limit: usize,
        /// Where it was reached, e.g. the time of a transient solve.
        context: String,
    },
    /// A solve would do more work than its limit allows.
    #[error(
        "the solve needs more work than its limit of {limit:.3e} generator entries ({context}); \
         raise the work limit (`max_work`), loosen the tolerance, bound the species or \
         estimate by simulation"
    )]
    WorkLimit {
        /// The limit (generator entries touched).
        limit: f64,
        /// Where it was reached and what the rest would need.
        context: String,
    },
    /// A numerical solve failed (singular matrix, no convergence).
    #[error("numerical failure in {what}: {reason}")]
    Numerical {
        /// The computation, e.g. `stationary LU`.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// Entropy production needs every reaction to have a reverse.
    #[error(
        "entropy production is infinite: these reactions have no reverse reaction: {reactions}"
    )]
    Irreversible {
        /// The one-way reactions, by name.
        reactions: String,
    },
    /// A feature that crnkit does not support.
    #[error("unsupported: {feature}")]
    Unsupported {
        /// What is unsupported, by name.
        feature: String,
    },
    /// A reference to a species, reaction or parameter index that does not exist.
    #[error("{kind} index {index} out of range (there are {len})")]
    IndexOutOfRange {
        /// What was indexed.
        kind: &'static str,
        /// The index given.
        index: usize,
        /// How many exist.
        len: usize,
    },
    /// Another run holds the output folder (see [`crate::fs::lock_folder`]).
    #[error(
        "{path}: another run is writing to this folder ({holder}); wait for it to finish \
         or choose another output folder"
    )]
    Locked {
        /// The folder.
        path: String,
        /// Who holds it, as that run recorded: process id, what it runs, since when.
        holder: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A JSON document is malformed.
    #[error("{file}:{line}:{col}: invalid JSON: {msg}")]
    Json {
        /// File name.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        col: usize,
        /// serde_json's message.
        msg: String,
    },
    /// An error in the content of a file that carries no line of its own (a JSON or TOML
    /// model that parses but does not describe a valid network): the file, then the error.
    #[error("{file}: {source}")]
    InFile {
        /// File name.
        file: String,
        /// What went wrong.
        source: Box<Error>,
    },
    /// A TOML document is malformed.
    #[error("{file}: invalid TOML: {msg}")]
    Toml {
        /// File name.
        file: String,
        /// The toml crate's message (it includes line, column and a snippet).
        msg: String,
    },
    /// A model file has an extension crnkit does not know.
    #[error("{path}: unknown model format (expected .crn, .json, .toml or .net)")]
    UnknownFormat {
        /// The file.
        path: String,
    },
    /// The computation was stopped through its cancellation token
    /// ([`crate::progress::CancelToken`]) before it finished.
    #[error("cancelled")]
    Cancelled,
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Error {
    /// The innermost error: for [`Error::Parse`] the wrapped problem, otherwise `self`.
    pub fn kind(&self) -> &Error {
        match self {
            Error::Parse { source, .. } | Error::InFile { source, .. } => source.kind(),
            other => other,
        }
    }

    /// `self`, naming `file` unless it already names a file (a located, file or I/O
    /// error).
    pub fn in_file(self, file: &str) -> Error {
        match self {
            Error::Parse { .. }
            | Error::Json { .. }
            | Error::Toml { .. }
            | Error::InFile { .. }
            | Error::Io { .. }
            | Error::UnknownFormat { .. } => self,
            other => Error::InFile {
                file: file.to_string(),
                source: Box::new(other),
            },
        }
    }

    /// Where the error was found, for errors that come from a model file.
    pub fn location(&self) -> Option<Location> {
        match self {
            Error::Parse {
                file, line, col, ..
            }
            | Error::Json {
                file, line, col, ..
            } => Some(Location {
                file: file.clone(),
                line: *line,
                col: *col,
            }),
            _ => None,
        }
    }

    /// Wrap `self` with a position in `text` (the whole file), unless it already has one.
    pub fn at(self, file: &str, text: &str, line: usize, col: usize) -> Error {
        if matches!(self, Error::Parse { .. }) {
            return self;
        }
        Error::Parse {
            file: file.to_string(),
            line,
            col,
            snippet: snippet(text, line, col),
            source: Box::new(self),
        }
    }
}

/// Render line `line` of `text` with a caret under column `col` (both 1-based).
pub(crate) fn snippet(text: &str, line: usize, col: usize) -> String {
    let src = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
    let gutter = format!("{line}");
    let pad = " ".repeat(gutter.len());
    let caret_pad: String = src
        .chars()
        .take(col.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!("{pad} |\n{gutter} | {src}\n{pad} | {caret_pad}^")
}
