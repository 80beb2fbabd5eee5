//! The nesting pre-scan: one linear pass over a file's tokens, before it is
//! parsed, that rejects code nested more than [`MAX_NESTING`] levels deep.
//!
//! The parser is an LR automaton: every construct still open at a point of
//! the file is an entry on its stack, and a deeply nested file becomes a
//! deep syntax tree that the later passes walk recursively. So, before
//! parsing, this pass measures how much can be open at once and refuses a
//! file where that exceeds the limit; an 8 MiB run of `!` or `(` is then
//! one error found in one pass, never gigabytes of parser stack.
//!
//! The measure, at each token, counts the open brackets (`(`, `[`, `{`)
//! plus, for each of them and for the top level, the *pending prefixes*:
//! prefix operators (`-`, `!`) and type arrows (`->`) whose operand is not
//! finished yet. A prefix stays pending while its operand may go on (names,
//! literals, `.`, `fn`, and bracketed groups such as call arguments), and
//! ends at any other token (a binary operator, `,`, `;`, a keyword, ...)
//! and at a `{` (no prefixed operand goes on into a block).
//! The measure may overcount (a `!x` condition stays pending over the block
//! after it), never by more than one per bracket, and no construct the
//! grammar nests without brackets escapes it: binary operators, postfix
//! chains and `else if` chains are left-recursive and do not stack up.
//! Memory is one counter per open bracket, at most `MAX_NESTING` of them.

use crate::ast::Span;
use crate::check::MAX_NESTING;
use crate::lexer::{Lexer, Tok};

/// The span of the first token nested deeper than [`MAX_NESTING`], if any.
/// Lexical errors are skipped here; the parse that follows reports them.
pub fn too_deep(src: &str) -> Option<Span> {
    // Pending prefixes of each open bracket, the top level first.
    let mut pending: Vec<u32> = vec![0];
    let mut depth: u32 = 0;
    let mut after_operand = false;
    for (lo, tok, hi) in Lexer::new(src).filter_map(Result::ok) {
        let top = pending.len() - 1;
        let prefix = match tok {
            Tok::Bang | Tok::Arrow => true,
            Tok::Minus => !after_operand,
            _ => false,
        };
        match tok {
            _ if prefix => {
                pending[top] += 1;
                depth += 1;
            }
            Tok::LParen | Tok::LBracket | Tok::LBrace => {
                // No operand of a prefix goes on into a block (a return
                // type's `->` ends at the function's body): without this,
                // each function with a result type left its arrow pending
                // at the top level, and a file of 500 of them was "too deep".
                if tok == Tok::LBrace {
                    depth -= pending[top];
                    pending[top] = 0;
                }
                pending.push(0);
                depth += 1;
            }
            Tok::RParen | Tok::RBracket | Tok::RBrace => {
                // A stray closer is the parser's to report.
                if top > 0 {
                    depth -= 1 + pending[top];
                    pending.pop();
                }
            }
            _ if is_atom(&tok) || matches!(tok, Tok::Dot | Tok::Fn) => {}
            _ => {
                depth -= pending[top];
                pending[top] = 0;
            }
        }
        if depth > MAX_NESTING {
            return Some(Span::new(lo, hi));
        }
        after_operand = is_atom(&tok) || matches!(tok, Tok::RParen | Tok::RBracket | Tok::RBrace);
    }
    None
}

/// A token that is a whole operand by itself: a name or a literal.
fn is_atom(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::Ident(_)
            | Tok::Int(_)
            | Tok::Float(_)
            | Tok::Str(_)
            | Tok::True
            | Tok::False
            | Tok::SelfKw
    )
}

/// The message for [`too_deep`]'s span.
pub fn message() -> String {
    format!("brackets and prefix operators nested more than {MAX_NESTING} levels deep")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(src: &str) -> Option<&str> {
        too_deep(src).map(|s| &src[s.lo..s.hi])
    }

    #[test]
    fn counts_brackets_and_pending_prefixes() {
        let n = MAX_NESTING as usize;
        // The top-level `{` is one level: 499 more fit, 500 do not.
        let ok = format!("fn f() {{ x = {}1; }}", "-".repeat(n - 1));
        assert_eq!(deep(&ok), None);
        let head = "fn f() { x = ";
        let bad = format!("{head}{}1; }}", "!".repeat(n));
        let at = head.len() + n - 1;
        assert_eq!(too_deep(&bad), Some(Span::new(at, at + 1)));
        let parens = format!("{}1{}", "(".repeat(n + 1), ")".repeat(n + 1));
        assert_eq!(deep(&parens), Some("("));
        // 500 pending arrows, then the parameter list of the 501st type.
        let arrows = format!("let f: {}int", "fn() -> ".repeat(n + 1));
        assert_eq!(too_deep(&arrows).map(|s| s.lo), Some(7 + 8 * n + 2));
        let mixed = format!("{}1", "-(".repeat(n / 2 + 1));
        assert_eq!(deep(&mixed), Some("-"));
    }

    #[test]
    fn flat_code_is_not_nested() {
        let n = 4 * MAX_NESTING as usize;
        // Binary minus, finished operands, closed brackets, `else if`.
        assert_eq!(deep(&"1 - ".repeat(n)), None);
        assert_eq!(deep(&"-x; ".repeat(n)), None);
        assert_eq!(deep(&"!f(x) && ".repeat(n)), None);
        assert_eq!(deep(&"(1) + [2] + ".repeat(n)), None);
        assert_eq!(deep(&"a.b[0](1).c".repeat(n)), None);
        let chain = format!("if a {{}}{}", " else if b {}".repeat(n));
        assert_eq!(deep(&chain), None);
        // A stray closer does not go below the top level.
        assert_eq!(
            deep(&format!("){}", "(".repeat(MAX_NESTING as usize))),
            None
        );
    }
}
