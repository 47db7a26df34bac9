//! [`Pattern`]: a regular expression compiled into a deterministic
//! automaton, within the limits.

use std::fmt;
use std::sync::Arc;

use regex_automata::dfa::{dense, Automaton, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::Input;

use crate::error::Error;
use crate::limits;

/// A compiled regular expression that compares and serializes as its
/// source.
///
/// It is compiled into a deterministic automaton that reads a text byte by
/// byte in constant time per byte and without allocating, so a match takes
/// time proportional to the text whatever the pattern. Patterns whose
/// automaton would exceed [`MAX_PATTERN_BYTES`](crate::limits::MAX_PATTERN_BYTES),
/// or longer than [`MAX_PATTERN_LEN`](crate::limits::MAX_PATTERN_LEN), are
/// refused; so are Unicode word boundaries (`\b`), which such an automaton
/// cannot decide (write `(?-u:\b)` for ASCII word boundaries). Cloning is
/// cheap: the automaton is shared.
#[derive(Clone)]
pub struct Pattern(Arc<Compiled>);

struct Compiled {
    source: Box<str>,
    dfa: dense::DFA<Vec<u32>>,
}

impl Pattern {
    /// Compiles `pattern`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidRegex`] naming the pattern and saying what is wrong
    /// (its syntax, its length, the size of its automaton).
    ///
    /// # Examples
    ///
    /// ```
    /// let p = gate::Pattern::new(r"^user-\d+$")?;
    /// assert!(p.is_match("user-42"));
    /// assert!(gate::Pattern::new("(?:a{100}){100}b").is_err());
    /// # Ok::<_, gate::Error>(())
    /// ```
    pub fn new(pattern: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidRegex {
            pattern: pattern.to_owned(),
            reason,
        };
        if pattern.len() > limits::MAX_PATTERN_LEN {
            return Err(invalid(format!(
                "{} bytes long, the most is {}",
                pattern.len(),
                limits::MAX_PATTERN_LEN
            )));
        }
        let hir =
            regex_automata::util::syntax::parse(pattern).map_err(|e| invalid(e.to_string()))?;
        let too_big = || {
            invalid(format!(
                "it is too complex: its automaton would exceed {} bytes (nested or long counted \
                 repetitions such as (?:a{{100}}){{100}}, or repeated Unicode classes such as \\w{{10}}: \
                 simplify it, or use ASCII classes such as [a-z0-9_])",
                limits::MAX_PATTERN_BYTES
            ))
        };
        let nfa = thompson::Compiler::new()
            .configure(thompson::Config::new().nfa_size_limit(Some(limits::MAX_PATTERN_BYTES / 4)))
            .build_from_hir(&hir)
            .map_err(|_| too_big())?;
        let dfa = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .start_kind(StartKind::Unanchored)
                    // Acceleration speeds up some texts and slows others
                    // down; without it every byte costs the same.
                    .accelerate(false)
                    .dfa_size_limit(Some(limits::MAX_PATTERN_BYTES))
                    .determinize_size_limit(Some(2 * limits::MAX_PATTERN_BYTES)),
            )
            .build_from_nfa(&nfa)
            .map_err(|e| {
                if e.is_size_limit_exceeded() {
                    too_big()
                } else if e.to_string().contains("Unicode word boundar") {
                    invalid(
                        "Unicode word boundaries (\\b, \\B) are not supported: use (?-u:\\b) for ASCII word boundaries"
                            .into(),
                    )
                } else {
                    invalid(e.to_string())
                }
            })?;
        Ok(Pattern(Arc::new(Compiled {
            source: pattern.into(),
            dfa,
        })))
    }

    /// The source text of the expression.
    pub fn as_str(&self) -> &str {
        &self.0.source
    }

    /// Whether `text` matches (anywhere: anchor with `^` and `$`).
    #[inline]
    pub fn is_match(&self, text: &str) -> bool {
        let input = Input::new(text).earliest(true);
        matches!(self.0.dfa.try_search_fwd(&input), Ok(Some(_)))
    }

    /// The memory the compiled automaton takes, in bytes.
    pub fn memory_usage(&self) -> usize {
        self.0.dfa.memory_usage()
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pattern({:?})", self.as_str())
    }
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
