//! Tokens of Tern source, by logos, and the adapter lalrpop reads them from.
//!
//! Spans are byte offsets into the file. Literal values are decoded here
//! (escapes, digit separators, radix); a literal that cannot be decoded is a
//! lexical error at its own span, so the parser never sees a bad one.

use logos::{FilterResult, Logos};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Default)]
pub enum LexError {
    /// What logos reports; [`Lexer`] turns it into [`LexError::Unexpected`].
    #[default]
    UnexpectedChar,
    Unexpected(char),
    NoDigits(&'static str),
    UnterminatedComment,
    BadEscape(String),
    IntTooLarge,
    BadNumber,
    UnterminatedString,
}

impl fmt::Display for LexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LexError::UnexpectedChar => write!(f, "unexpected character"),
            LexError::Unexpected(c) if c.is_ascii_graphic() => {
                write!(f, "unexpected character `{c}`")
            }
            LexError::Unexpected(c) if c.is_alphanumeric() => {
                write!(f, "unexpected character `{c}` (U+{:04X})", *c as u32)
            }
            LexError::Unexpected(c) => write!(f, "unexpected character U+{:04X}", *c as u32),
            LexError::NoDigits(prefix) => {
                let radix = if *prefix == "0x" { "hex" } else { "binary" };
                write!(f, "`{prefix}` must be followed by {radix} digits")
            }
            LexError::UnterminatedComment => write!(f, "unterminated block comment"),
            LexError::BadEscape(e) => write!(f, "invalid escape sequence {e}"),
            LexError::IntTooLarge => write!(f, "integer literal is too large"),
            LexError::BadNumber => write!(f, "invalid number literal"),
            LexError::UnterminatedString => write!(f, "unterminated string literal"),
        }
    }
}

fn block_comment(lex: &mut logos::Lexer<Tok>) -> FilterResult<(), LexError> {
    // Block comments nest, as in Rust and Swift.
    let rest = lex.remainder().as_bytes();
    let mut depth = 1;
    let mut i = 0;
    while i < rest.len() {
        if rest[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                lex.bump(i);
                return FilterResult::Skip;
            }
        } else if rest[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    lex.bump(rest.len());
    FilterResult::Error(LexError::UnterminatedComment)
}

fn int_lit(lex: &mut logos::Lexer<Tok>) -> Result<u64, LexError> {
    let s: String = lex.slice().chars().filter(|c| *c != '_').collect();
    let r = if let Some(h) = s.strip_prefix("0x") {
        u64::from_str_radix(h, 16)
    } else if let Some(b) = s.strip_prefix("0b") {
        u64::from_str_radix(b, 2)
    } else {
        s.parse::<u64>()
    };
    r.map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow => LexError::IntTooLarge,
        _ => LexError::BadNumber,
    })
}

fn float_lit(lex: &mut logos::Lexer<Tok>) -> Result<f64, LexError> {
    let s: String = lex.slice().chars().filter(|c| *c != '_').collect();
    s.parse::<f64>().map_err(|_| LexError::BadNumber)
}

fn no_digits(lex: &mut logos::Lexer<Tok>) -> Result<(), LexError> {
    Err(LexError::NoDigits(if lex.slice() == "0x" {
        "0x"
    } else {
        "0b"
    }))
}

fn unterminated_str(_: &mut logos::Lexer<Tok>) -> Result<(), LexError> {
    Err(LexError::UnterminatedString)
}

fn str_lit(lex: &mut logos::Lexer<Tok>) -> Result<String, LexError> {
    let raw = lex.slice();
    str_body(&raw[1..raw.len() - 1])
}

/// A string literal's body with its escapes decoded.
fn str_body(body: &str) -> Result<String, LexError> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some('u') => {
                let rest = chars.as_str();
                let close = rest.find('}');
                let ok = rest.starts_with('{') && close.is_some();
                if !ok {
                    return Err(LexError::BadEscape("\\u (expected \\u{XXXX})".into()));
                }
                let close = close.unwrap();
                let hex = &rest[1..close];
                let c = u32::from_str_radix(hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| LexError::BadEscape(format!("\\u{{{hex}}}")))?;
                out.push(c);
                chars = rest[close + 1..].chars();
            }
            Some(o) => return Err(LexError::BadEscape(format!("\\{o}"))),
            None => return Err(LexError::BadEscape("\\".into())),
        }
    }
    Ok(out)
}

#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip r"//[^\n]*")]
pub enum Tok {
    #[token("/*", block_comment)]
    BlockComment,

    #[token("fn")]
    Fn,
    #[token("let")]
    Let,
    #[token("var")]
    Var,
    #[token("const")]
    Const,
    #[token("struct")]
    Struct,
    #[token("enum")]
    Enum,
    #[token("impl")]
    Impl,
    #[token("import")]
    Import,
    #[token("extern")]
    Extern,
    #[token("if")]
    If,
    #[token("else")]
    Else,
    #[token("while")]
    While,
    #[token("for")]
    For,
    #[token("in")]
    In,
    #[token("match")]
    Match,
    #[token("return")]
    Return,
    #[token("break")]
    Break,
    #[token("continue")]
    Continue,
    #[token("true")]
    True,
    #[token("false")]
    False,
    #[token("self")]
    SelfKw,

    #[regex(r"[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice().to_string())]
    Ident(String),
    #[regex(r"[0-9][0-9_]*", int_lit)]
    #[regex(r"0x[0-9A-Fa-f][0-9A-Fa-f_]*", int_lit)]
    #[regex(r"0b[01][01_]*", int_lit)]
    Int(u64),
    /// `0x` or `0b` with no digit after it: an error, not `0` then a name.
    #[token("0x", no_digits)]
    #[token("0b", no_digits)]
    RadixWithoutDigits,
    #[regex(r"[0-9][0-9_]*\.[0-9][0-9_]*([eE][+-]?[0-9]+)?", float_lit)]
    #[regex(r"[0-9][0-9_]*[eE][+-]?[0-9]+", float_lit)]
    Float(f64),
    #[regex(r#""([^"\\\n]|\\.)*""#, str_lit)]
    Str(String),
    #[regex(r#""([^"\\\n]|\\.)*"#, unterminated_str)]
    UnterminatedStr,

    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("..")]
    DotDot,
    #[token("..=")]
    DotDotEq,
    /// `'outer`: a loop label.
    #[regex(r"'[A-Za-z_][A-Za-z0-9_]*", |lex| lex.slice()[1..].to_string())]
    Label(String),
    #[token("->")]
    Arrow,
    #[token("=>")]
    FatArrow,
    #[token("=")]
    Eq,
    #[token("+=")]
    PlusEq,
    #[token("-=")]
    MinusEq,
    #[token("*=")]
    StarEq,
    #[token("/=")]
    SlashEq,
    #[token("%=")]
    PercentEq,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("/")]
    Slash,
    #[token("%")]
    Percent,
    #[token("!")]
    Bang,
    #[token("&&")]
    AndAnd,
    #[token("||")]
    OrOr,
    #[token("&")]
    Amp,
    #[token("|")]
    Pipe,
    #[token("^")]
    Caret,
    #[token("<<")]
    Shl,
    #[token("?")]
    Question,
    /// A `>` right before another `>`: never matched by logos, but made
    /// from `Gt` by [`Lexer`], so that `a >> b` is a shift while the `>>`
    /// of `Option<Option<int>>` closes two type argument lists.
    GtJoined,
    #[token("_", priority = 3)]
    Underscore,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Ident(s) => write!(f, "identifier `{s}`"),
            Tok::Int(i) => write!(f, "integer `{i}`"),
            Tok::Float(x) => write!(f, "float `{x}`"),
            Tok::Str(_) => write!(f, "string literal"),
            t => write!(f, "`{}`", token_text(t)),
        }
    }
}

fn token_text(t: &Tok) -> &'static str {
    match t {
        Tok::Fn => "fn",
        Tok::Let => "let",
        Tok::Var => "var",
        Tok::Const => "const",
        Tok::Struct => "struct",
        Tok::Enum => "enum",
        Tok::Impl => "impl",
        Tok::Import => "import",
        Tok::Extern => "extern",
        Tok::If => "if",
        Tok::Else => "else",
        Tok::While => "while",
        Tok::For => "for",
        Tok::In => "in",
        Tok::Match => "match",
        Tok::Return => "return",
        Tok::Break => "break",
        Tok::Continue => "continue",
        Tok::True => "true",
        Tok::False => "false",
        Tok::SelfKw => "self",
        Tok::LParen => "(",
        Tok::RParen => ")",
        Tok::LBrace => "{",
        Tok::RBrace => "}",
        Tok::LBracket => "[",
        Tok::RBracket => "]",
        Tok::Comma => ",",
        Tok::Semi => ";",
        Tok::Colon => ":",
        Tok::Dot => ".",
        Tok::DotDot => "..",
        Tok::DotDotEq => "..=",
        Tok::Arrow => "->",
        Tok::FatArrow => "=>",
        Tok::Eq => "=",
        Tok::PlusEq => "+=",
        Tok::MinusEq => "-=",
        Tok::StarEq => "*=",
        Tok::SlashEq => "/=",
        Tok::PercentEq => "%=",
        Tok::EqEq => "==",
        Tok::NotEq => "!=",
        Tok::Lt => "<",
        Tok::Le => "<=",
        Tok::Gt => ">",
        Tok::Ge => ">=",
        Tok::Plus => "+",
        Tok::Minus => "-",
        Tok::Star => "*",
        Tok::Slash => "/",
        Tok::Percent => "%",
        Tok::Bang => "!",
        Tok::AndAnd => "&&",
        Tok::OrOr => "||",
        Tok::Amp => "&",
        Tok::Pipe => "|",
        Tok::Caret => "^",
        Tok::Shl => "<<",
        Tok::Question => "?",
        Tok::GtJoined => ">",
        Tok::Underscore => "_",
        Tok::BlockComment
        | Tok::UnterminatedStr
        | Tok::RadixWithoutDigits
        | Tok::Ident(_)
        | Tok::Label(_)
        | Tok::Int(_)
        | Tok::Float(_)
        | Tok::Str(_) => "?",
    }
}

/// A lexical error with its span, as lalrpop's user error.
#[derive(Clone, Debug, PartialEq)]
pub struct SpannedLexError {
    pub error: LexError,
    pub lo: usize,
    pub hi: usize,
}

pub type Spanned = Result<(usize, Tok, usize), SpannedLexError>;

/// Feeds lalrpop `(lo, token, hi)` triples.
pub struct Lexer<'s> {
    inner: logos::Lexer<'s, Tok>,
    /// Where this text starts in the file (interpolated code is lexed on
    /// its own): added to every span.
    base: usize,
    /// Tokens an interpolated string expanded into, not yet taken.
    pending: std::collections::VecDeque<Spanned>,
    /// The last token was a `.`: a float after it is two tuple indices
    /// (`t.1.1` is `t . 1 . 1`).
    after_dot: bool,
}

/// The name interpolation calls: `str`, in a spelling no program can
/// write, so a local named `str` does not change what it means.
pub const INTERPOLATION_STR: &str = "$str";

/// A piece of an interpolated string literal: text (escapes decoded), or
/// code at a byte range of the file.
enum Piece {
    Text(String),
    Code(usize, usize),
}

/// The pieces of string literal `raw` (with its quotes), starting at byte
/// `at` of the file, if it interpolates anything: a `{` followed by a
/// letter, `_` or `(`, up to its matching `}`. `{{` and `}}` are literal
/// braces; any other brace is itself. `None` for a plain string (and for
/// one with a bad escape, which the plain path reports).
fn interpolation(raw: &str, at: usize) -> Option<Vec<Piece>> {
    if !raw.contains('{') && !raw.contains("}}") {
        return None;
    }
    let body = &raw[1..raw.len() - 1];
    let bytes = body.as_bytes();
    // Each `{`'s matching `}`, found in one pass (a scan per brace would
    // make a long line of `{a{a{a...` quadratic).
    let mut close_of: std::collections::HashMap<usize, usize> = Default::default();
    let mut open: Vec<usize> = Vec::new();
    for (k, &c) in bytes.iter().enumerate() {
        match c {
            b'{' => open.push(k),
            b'}' => {
                if let Some(o) = open.pop() {
                    close_of.insert(o, k);
                }
            }
            _ => {}
        }
    }
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let mut any = false;
    while i < body.len() {
        let c = bytes[i];
        if c == b'\\' {
            // An escape: decoded by the same rules as a plain literal.
            let len = escape_len(&body[i..])?;
            text.push_str(&str_body(&body[i..i + len]).ok()?);
            i += len;
        } else if (c == b'{' || c == b'}') && bytes.get(i + 1) == Some(&c) {
            text.push(c as char);
            any = true;
            i += 2;
        } else if c == b'{'
            && bytes
                .get(i + 1)
                .is_some_and(|&n| n.is_ascii_alphabetic() || n == b'_' || n == b'(')
        {
            let close = close_of.get(&i).copied();
            match close {
                Some(end) => {
                    if !text.is_empty() || pieces.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Code(at + 1 + i + 1, at + 1 + end));
                    any = true;
                    i = end + 1;
                }
                None => {
                    text.push('{');
                    i += 1;
                }
            }
        } else {
            let ch = body[i..].chars().next().expect("inside the body");
            text.push(ch);
            i += ch.len_utf8();
        }
    }
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
    any.then_some(pieces)
}

/// The length of the escape sequence `s` starts with.
fn escape_len(s: &str) -> Option<usize> {
    let rest = &s[1..];
    match rest.chars().next()? {
        'u' => Some(rest.find('}')? + 2),
        c => Some(1 + c.len_utf8()),
    }
}

impl<'s> Lexer<'s> {
    pub fn new(src: &'s str) -> Self {
        let mut inner = Tok::lexer(src);
        // A first line starting with `#!` is a comment, so a file can be
        // a script (`#!/usr/bin/env vmrun`).
        if src.starts_with("#!") {
            inner.bump(src.find('\n').unwrap_or(src.len()));
        }
        Lexer {
            inner,
            base: 0,
            pending: Default::default(),
            after_dot: false,
        }
    }

    /// The tokens of code at `lo..hi` of `src`, spans in the file.
    fn code(src: &'s str, lo: usize, hi: usize) -> Lexer<'s> {
        Lexer {
            inner: Tok::lexer(&src[lo..hi]),
            base: lo,
            pending: Default::default(),
            after_dot: false,
        }
    }

    /// `"a{x}b"` as `("a" + $str(x) + "b")`.
    fn expand(&mut self, pieces: Vec<Piece>, lo: usize, hi: usize) {
        let src = self.inner.source();
        let base = self.base;
        let mut out: Vec<Spanned> = vec![Ok((lo, Tok::LParen, lo))];
        for (k, p) in pieces.into_iter().enumerate() {
            if k > 0 {
                out.push(Ok((lo, Tok::Plus, lo)));
            }
            match p {
                Piece::Text(t) => out.push(Ok((lo, Tok::Str(t), hi))),
                Piece::Code(a, b) => {
                    out.push(Ok((a, Tok::Ident(INTERPOLATION_STR.into()), b)));
                    out.push(Ok((a, Tok::LParen, a)));
                    // `a..b` are file offsets; this lexer's text starts at `base`.
                    for t in Lexer::code(src, a - base, b - base) {
                        out.push(match t {
                            // Offsets in `src`, which starts at `base`.
                            Ok((x, t, y)) => Ok((x + base, t, y + base)),
                            Err(mut e) => {
                                e.lo += base;
                                e.hi += base;
                                Err(e)
                            }
                        });
                    }
                    out.push(Ok((b, Tok::RParen, b)));
                }
            }
        }
        out.push(Ok((hi, Tok::RParen, hi)));
        self.pending.extend(out);
    }
}

impl Iterator for Lexer<'_> {
    type Item = Spanned;
    fn next(&mut self) -> Option<Spanned> {
        if let Some(t) = self.pending.pop_front() {
            return Some(t);
        }
        let tok = self.inner.next()?;
        let r = self.inner.span();
        let span = (r.start + self.base)..(r.end + self.base);
        let after_dot = std::mem::replace(&mut self.after_dot, matches!(tok, Ok(Tok::Dot)));
        if let (true, Ok(Tok::Float(_))) = (after_dot, &tok) {
            if let Some(split) = tuple_indices(self.inner.slice(), span.start) {
                self.pending.extend(split);
                return self.pending.pop_front();
            }
        }
        if let Ok(Tok::Str(_)) = &tok {
            if let Some(pieces) = interpolation(self.inner.slice(), span.start) {
                self.expand(pieces, span.start, span.end);
                return self.pending.pop_front();
            }
        }
        Some(match tok {
            Ok(Tok::Gt) if self.inner.remainder().starts_with('>') => {
                Ok((span.start, Tok::GtJoined, span.end))
            }
            Ok(t) => Ok((span.start, t, span.end)),
            Err(error) => Err(SpannedLexError {
                error: match error {
                    LexError::UnexpectedChar => match self.inner.slice().chars().next() {
                        Some(c) => LexError::Unexpected(c),
                        None => error,
                    },
                    _ => error,
                },
                lo: span.start,
                hi: span.end,
            }),
        })
    }
}

/// `1.2` after a `.` as the tokens `1`, `.`, `2` (indices of nested
/// tuples), if it is two runs of decimal digits around a `.`.
fn tuple_indices(text: &str, at: usize) -> Option<[Spanned; 3]> {
    let (a, b) = text.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    if !digits(a) || !digits(b) {
        return None;
    }
    let (x, y) = (a.parse().ok()?, b.parse().ok()?);
    let dot = at + a.len();
    Some([
        Ok((at, Tok::Int(x), dot)),
        Ok((dot, Tok::Dot, dot + 1)),
        Ok((dot + 1, Tok::Int(y), at + text.len())),
    ])
}

/// The token that stands in for a literal with a lexical error, so that
/// parsing goes on and every error in the file is reported; none for a
/// character that starts no token.
pub fn stand_in(e: &LexError) -> Option<Tok> {
    match e {
        LexError::BadEscape(_) | LexError::UnterminatedString => Some(Tok::Str(String::new())),
        LexError::IntTooLarge | LexError::BadNumber | LexError::NoDigits(_) => Some(Tok::Int(0)),
        LexError::UnexpectedChar | LexError::Unexpected(_) | LexError::UnterminatedComment => None,
    }
}
