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
        let offset = offset.min(self.text.len());
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
    pub fn new(file: FileId, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file,
            span,
            message: message.into(),
        }
    }

    /// `file:line:col: error: message`, the line, and a caret under the span.
    pub fn render(&self, files: &[SourceFile]) -> String {
        let f = &files[self.file as usize];
        let (line, col) = f.line_col(self.span.lo);
        let mut out = format!("{}:{}:{}: error: {}\n", f.name, line, col, self.message);
        if let Some(text) = f.line_text(line) {
            let gutter = line.to_string();
            let _ = writeln!(out, " {gutter} | {text}");
            // Keep tabs so the caret lines up however tabs are shown.
            let pad: String = text
                .chars()
                .take(col as usize - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let line_end = text.chars().count() as u32 + 1;
            let (_, end_col) = f.line_col(self.span.hi);
            let end_line = f.line(self.span.hi);
            let width = if self.span.hi <= self.span.lo {
                1
            } else if end_line == line && end_col > col {
                end_col - col
            } else {
                (line_end.saturating_sub(col)).max(1)
            };
            let _ = writeln!(
                out,
                " {} | {}{}",
                " ".repeat(gutter.len()),
                pad,
                "^".repeat(width as usize)
            );
        }
        out
    }
}

/// Renders all diagnostics in file and position order, with a summary line.
pub fn render_all(diags: &[Diagnostic], files: &[SourceFile]) -> String {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| (d.file, d.span.lo, d.span.hi));
    sorted.dedup_by(|a, b| a == b);
    let mut out = String::new();
    for d in &sorted {
        out.push_str(&d.render(files));
    }
    let n = sorted.len();
    let _ = writeln!(
        out,
        "error: could not compile {} ({} error{})",
        files.first().map_or("program", |f| f.name.as_str()),
        n,
        if n == 1 { "" } else { "s" }
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
