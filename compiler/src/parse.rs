//! Parsing one file: the nesting pre-scan, then tokens streamed into the
//! lalrpop parser, and every syntax error turned into a diagnostic.
//!
//! Memory stays proportional to the syntax tree: tokens are produced as
//! the parser reads them, the parser's stack is bounded by the pre-scan
//! ([`crate::nesting`]), and each error the parser recovers from is made a
//! diagnostic at once (lalrpop's record of it, with its list of expected
//! tokens, would be many times the size of the text it covers). A file
//! with more than [`MAX_ERRORS`] errors is read no further.

use crate::ast::{self, Span};
use crate::diag::{Diagnostic, FileId, MAX_ERRORS};
use crate::grammar::FileParser;
use crate::lexer::{Lexer, SpannedLexError, Tok};
use lalrpop_util::{ErrorRecovery, ParseError};
use std::cell::Cell;
use std::rc::Rc;

/// Parses the text of file `file`; the tree is empty if the file is too
/// broken to parse, and the errors are all in the diagnostics. Parsing
/// stops once more than [`MAX_ERRORS`] errors are found.
pub fn parse(file: FileId, text: &str) -> (ast::File, Vec<Diagnostic>) {
    if let Some(span) = crate::nesting::too_deep(text) {
        let d = Diagnostic::new(file, span, crate::nesting::message());
        return (ast::File { items: vec![] }, vec![d]);
    }
    let errors = Rc::new(Cell::new(0usize));
    let mut lex_errors = Vec::new();
    let mut stopped = false;
    let mut lexer = Lexer::new(text);
    let tokens = std::iter::from_fn(|| loop {
        let t = lexer.next()?;
        if errors.get() > MAX_ERRORS {
            stopped = true;
            return None;
        }
        match t {
            Ok(t) => return Some(Ok::<_, SpannedLexError>(t)),
            Err(e) => {
                errors.set(errors.get() + 1);
                let stand_in = crate::lexer::stand_in(&e.error).map(|t| Ok((e.lo, t, e.hi)));
                lex_errors.push(e);
                if stand_in.is_some() {
                    return stand_in;
                }
            }
        }
    });
    let mut recovered = Recovered {
        file,
        len: text.len(),
        found: Vec::new(),
        errors: Rc::clone(&errors),
    };
    let result = FileParser::new().parse(&mut recovered, tokens);
    let mut found = recovered.found;
    let tree = match result {
        Ok(f) => f,
        Err(e) => {
            // Where parsing was stopped, the end of the input is not an error.
            if !stopped {
                found.push(syntax_error(file, e, text.len()));
            }
            ast::File { items: vec![] }
        }
    };
    let mut diags: Vec<Diagnostic> = lex_errors
        .into_iter()
        .map(|e| Diagnostic::new(file, Span::new(e.lo, e.hi), e.error.to_string()))
        .collect();
    diags.extend(place_after_previous_tokens(text, found));
    (tree, diags)
}

/// The syntax errors the parser recovered from, as the grammar's actions
/// report them.
pub struct Recovered {
    file: FileId,
    len: usize,
    found: Vec<Found>,
    /// Errors in the file so far, lexical ones too.
    errors: Rc<Cell<usize>>,
}

impl Recovered {
    pub fn push(&mut self, e: ErrorRecovery<usize, Tok, SpannedLexError>) {
        // Past the limit, the input has been cut short: what is found at
        // its end is not an error of the file.
        if self.errors.get() > MAX_ERRORS {
            return;
        }
        self.errors.set(self.errors.get() + 1);
        let found = syntax_error(self.file, e.error, self.len);
        self.found.push(found);
    }
}

/// A syntax error; one that points after the token before byte `.1` gets
/// its span once all such are known (one pass over the file finds them).
struct Found(Diagnostic, Option<usize>);

fn syntax_error(file: FileId, e: ParseError<usize, Tok, SpannedLexError>, len: usize) -> Found {
    let at = |lo: usize, hi: usize, msg: String| {
        Found(Diagnostic::new(file, Span::new(lo, hi), msg), None)
    };
    match e {
        ParseError::InvalidToken { location } => at(location, location + 1, "invalid token".into()),
        ParseError::UnrecognizedEof { location, expected } => at(
            location.min(len),
            location.min(len),
            format!("unexpected end of file; {}", expected_list(&expected)),
        ),
        ParseError::UnrecognizedToken {
            token: (lo, tok, hi),
            expected,
        } => {
            let has = |t: &str| expected.iter().any(|e| e == t);
            if has("\";\"") && expected.len() > 3 {
                // A missing `;` is found at the next token, often on the
                // next line; point just after the previous token instead.
                let msg = format!("expected `;`, found {tok}");
                return Found(Diagnostic::new(file, Span::new(lo, lo), msg), Some(lo));
            }
            let list = if has("IDENT") && has("INT") && has("\"(\"") {
                "expected an expression".to_string()
            } else {
                expected_list(&expected)
            };
            let msg = if list.is_empty() {
                format!("unexpected {tok}")
            } else {
                format!("{list}, found {tok}")
            };
            at(lo, hi, msg)
        }
        ParseError::ExtraToken {
            token: (lo, tok, hi),
        } => at(lo, hi, format!("unexpected {tok}")),
        ParseError::User { error } => at(error.lo, error.hi, error.error.to_string()),
    }
}

/// Gives each error that points after the token before a byte its span:
/// the character just past the end of that token (comments skipped).
fn place_after_previous_tokens(text: &str, found: Vec<Found>) -> Vec<Diagnostic> {
    let mut wanted: Vec<usize> = found.iter().filter_map(|f| f.1).collect();
    if wanted.is_empty() {
        return found.into_iter().map(|f| f.0).collect();
    }
    wanted.sort_unstable();
    wanted.dedup();
    // ends[i]: the end of the last token before wanted[i].
    let mut ends = vec![None; wanted.len()];
    let mut next = 0;
    let mut last_end = None;
    for (lo, _, hi) in Lexer::new(text).filter_map(Result::ok) {
        while next < wanted.len() && wanted[next] <= lo {
            ends[next] = last_end;
            next += 1;
        }
        if next == wanted.len() {
            break;
        }
        last_end = Some(hi);
    }
    for e in &mut ends[next..] {
        *e = last_end;
    }
    found
        .into_iter()
        .map(|Found(mut d, before)| {
            if let Some(at) = before {
                let i = wanted
                    .binary_search(&at)
                    .expect("every wanted byte is listed");
                let end = ends[i].map_or(at, |e| e.min(at));
                let width = text[end..].chars().next().map_or(1, char::len_utf8);
                d.span = Span::new(end, end + width);
            }
            d
        })
        .collect()
}

fn expected_list(expected: &[String]) -> String {
    let names: Vec<String> = expected.iter().map(|e| pretty_expected(e)).collect();
    match names.len() {
        0 => String::new(),
        1 => format!("expected {}", names[0]),
        n if n <= 6 => format!("expected one of {}", names.join(", ")),
        _ => format!("expected one of {}, ...", names[..6].join(", ")),
    }
}

fn pretty_expected(e: &str) -> String {
    match e {
        "IDENT" => "identifier".into(),
        "INT" => "integer".into(),
        "FLOAT" => "float".into(),
        "STR" => "string".into(),
        _ => format!("`{}`", e.trim_matches('"')),
    }
}
