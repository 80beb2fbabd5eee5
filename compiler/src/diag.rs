//! Compiler diagnostics and how they are shown.
//!
//! One error type for the whole compiler: a [`Diagnostic`] names a file and
//! a byte span. Rendering turns that into `file:line:col: error: message`,
//! the source line, and a caret line under the span; columns count
//! characters, from 1.

use crate::ast::Span;
use std::fmt::Write;

/// Index into the compilation's source files.
pub type FileId = u32;

#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Display name, relative to the main file's folder (`app.src`).
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            name: name.into(),
            text,
            line_starts,
        }
    }

    /// 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> u32 {
        self.line_starts.partition_point(|&s| s <= offset) as u32
    }

    /// 1-based (line, column) of a byte offset; columns count characters.
    pub fn line_col(&self, offset: usize) -> (u32, u32) {
        let offset = floor_boundary(&self.text, offset);
        let line = self.line(offset);
        let start = self.line_starts[line as usize - 1];
        let col = self.text[start..offset].chars().count() as u32 + 1;
        (line, col)
    }

    /// The text of 1-based line `line`, without its newline.
    pub fn line_text(&self, line: u32) -> Option<&str> {
        let start = *self.line_starts.get(line.checked_sub(1)? as usize)?;
        let end = self
            .line_starts
            .get(line as usize)
            .map_or(self.text.len(), |e| e - 1);
        Some(self.text[start..end.max(start)].trim_end_matches('\r'))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: FileId,
    pub span: Span,
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic; a message longer than [`MAX_MESSAGE`] bytes is cut
    /// short (messages quote names and types, which a hostile source can
    /// make megabytes long).
    pub fn new(file: FileId, span: Span, message: impl Into<String>) -> Diagnostic {
        let mut message = message.into();
        if message.len() > MAX_MESSAGE {
            message = shorten(&message, MAX_MESSAGE).into_owned();
        }
        Diagnostic {
            file,
            span,
            message,
        }
    }

    /// `file:line:col: error: message`, the line, and a caret under the span.
    /// A line longer than [`QUOTE_WIDTH`] characters is quoted in part, a
    /// window around the span's start, so that what is shown of each error
    /// stays small however long the line.
    pub fn render(&self, files: &[SourceFile]) -> String {
        let f = &files[self.file as usize];
        let (line, col) = f.line_col(self.span.lo);
        let mut out = format!("{}:{}:{}: error: {}\n", f.name, line, col, self.message);
        let Some(text) = f.line_text(line) else {
            return out;
        };
        // Byte offsets within the line: the span, and the window shown.
        let line_start = f.line_starts[line as usize - 1];
        let lo = floor_boundary(text, floor_boundary(&f.text, self.span.lo) - line_start);
        let hi = floor_boundary(text, self.span.hi.saturating_sub(line_start));
        let (start, end) = if text.chars().nth(QUOTE_WIDTH).is_none() {
            (0, text.len())
        } else {
            let start = text[..lo]
                .char_indices()
                .rev()
                .nth(QUOTE_WIDTH / 2 - 1)
                .map_or(0, |(i, _)| i);
            let end = text[start..]
                .char_indices()
                .nth(QUOTE_WIDTH)
                .map_or(text.len(), |(i, _)| start + i);
            (start, end)
        };
        let before = if start > 0 { "..." } else { "" };
        let after = if end < text.len() { "..." } else { "" };
        let gutter = line.to_string();
        let _ = writeln!(out, " {gutter} | {before}{}{after}", &text[start..end]);
        // Keep tabs so the caret lines up however tabs are shown.
        let pad: String = before
            .chars()
            .chain(text[start..lo].chars())
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        // Carets under the span's part of the line (to the line's end for a
        // span that goes on past it), at least one.
        let hi = if self.span.hi <= self.span.lo {
            lo
        } else {
            hi.max(lo)
        };
        let width = text[lo..hi.min(end).max(lo)].chars().count().max(1);
        let _ = writeln!(
            out,
            " {} | {}{}",
            " ".repeat(gutter.len()),
            pad,
            "^".repeat(width)
        );
        out
    }
}

/// The character boundary at or before byte `i` of `text` (its end if `i`
/// is past it): where a span that ends inside a character is cut.
fn floor_boundary(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// `text`, cut to at most `max` bytes (on a character boundary) and marked
/// with `...` if it was longer.
pub fn shorten(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    format!("{}...", &text[..floor_boundary(text, max)]).into()
}

/// Longest message kept whole.
pub const MAX_MESSAGE: usize = 400;

/// Longest source line quoted whole under an error.
pub const QUOTE_WIDTH: usize = 120;

/// Errors collected from one file's parse, or from the checker, after
/// which the rest are not looked for (a hostile file can have an error
/// every byte; each costs memory to keep and time to find): one more than
/// this many means "more than this many".
pub const MAX_ERRORS: usize = 1000;

/// Most errors shown; the summary line still counts them all. (A file can
/// have an error every few bytes; showing them all would be output without
/// bound in practice.)
pub const MAX_SHOWN: usize = 100;

/// Renders all diagnostics in file and position order, with a summary line.
pub fn render_all(diags: &[Diagnostic], files: &[SourceFile]) -> String {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| (d.file, d.span.lo, d.span.hi));
    sorted.dedup_by(|a, b| a == b);
    let mut out = String::new();
    for d in sorted.iter().take(MAX_SHOWN) {
        out.push_str(&d.render(files));
    }
    let n = sorted.len();
    if n > MAX_SHOWN {
        let _ = writeln!(out, "error: {} more errors not shown", n - MAX_SHOWN);
    }
    let count = match n {
        1 => "1 error".to_string(),
        n if n > MAX_ERRORS => format!("more than {MAX_ERRORS} errors"),
        n => format!("{n} errors"),
    };
    let _ = writeln!(
        out,
        "error: could not compile {} ({count})",
        files.first().map_or("program", |f| f.name.as_str()),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_line_and_caret() {
        let files = vec![SourceFile::new(
            "app.src",
            "fn main() {\n    let x: int = \"a\";\n}\n",
        )];
        let d = Diagnostic::new(0, Span::new(29, 32), "expected int, found str");
        assert_eq!(
            d.render(&files),
            "app.src:2:18: error: expected int, found str\n 2 |     let x: int = \"a\";\n   |                  ^^^\n"
        );
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    #[test]
    fn long_lines_are_quoted_around_the_error() {
        // `y` is at column 205 of a 406-character line.
        let line = format!("x = {}y{};", "1 + ".repeat(50), " + 1".repeat(50));
        let files = vec![SourceFile::new("app.src", format!("{line}\n"))];
        let at = line.find('y').unwrap();
        let d = Diagnostic::new(0, Span::new(at, at + 1), "cannot find `y` in this scope");
        let shown = &line[at - 60..at + 60];
        assert_eq!(
            d.render(&files),
            format!(
                "app.src:1:{}: error: cannot find `y` in this scope\n 1 | ...{shown}...\n   | {}^\n",
                at + 1,
                " ".repeat(63)
            )
        );
        // Short lines are quoted whole, as before.
        let files = vec![SourceFile::new("app.src", "x = y;\n")];
        let d = Diagnostic::new(0, Span::new(4, 5), "cannot find `y` in this scope");
        assert_eq!(
            d.render(&files),
            "app.src:1:5: error: cannot find `y` in this scope\n 1 | x = y;\n   |     ^\n"
        );
    }

    #[test]
    fn long_messages_are_cut_short() {
        let d = Diagnostic::new(
            0,
            Span::new(0, 1),
            format!("cannot find `{}`", "é".repeat(1000)),
        );
        assert_eq!(d.message, format!("cannot find `{}...", "é".repeat(193)));
    }

    #[test]
    fn a_hundred_errors_are_shown_and_all_are_counted() {
        let text = "x;\n".repeat(150);
        let files = vec![SourceFile::new("app.src", text)];
        let diags: Vec<Diagnostic> = (0..150)
            .map(|i| {
                Diagnostic::new(
                    0,
                    Span::new(3 * i, 3 * i + 1),
                    "cannot find `x` in this scope",
                )
            })
            .collect();
        let out = render_all(&diags, &files);
        let shown = out.lines().filter(|l| l.starts_with("app.src:")).count();
        assert_eq!(shown, 100);
        assert!(out.contains("app.src:100:1: error:"), "{out}");
        assert!(!out.contains("app.src:101:1: error:"), "{out}");
        assert!(
            out.ends_with(
                "error: 50 more errors not shown\nerror: could not compile app.src (150 errors)\n"
            ),
            "{out}"
        );
    }
}
