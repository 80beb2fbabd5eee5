//! Built-in functions: the table behind the `builtin id` instruction.
//!
//! The standard library's pure operations on primitive values (string
//! queries and transforms, the less common math functions) share one
//! instruction instead of an opcode each, so the instruction set stays
//! small while the library grows: `builtin id` pops the function's
//! parameters (bottom to top, as listed) and pushes its result. Every row
//! appears exactly once, in `for_each_builtin!`: the id (part of the
//! file format, never reused), the name the standard library's catalogue
//! refers to it by, the signature the verifier types it with, and a doc
//! line the spec's table is made from (a test holds `spec/bytecode.md` to
//! it). What each one means is [`eval_number`] for the numeric ones,
//! `Heap::text_query` (priced by [`query_cost`]) for the string ones
//! that only read, and the interpreter's `op_builtin` for those that make
//! strings.
//!
//! Results are specified, never the host's: the math comes from the
//! portable `libm` (not correctly rounded, but the same bits on every
//! platform), case mapping from Rust's Unicode tables.

use crate::opcodes::Slot;

pub use crate::interp::builtins::query_cost;

macro_rules! for_each_builtin {
    ($m:ident) => {
        $m! {
            /// Whether the second string occurs in the first.
            Contains = 0, "contains", [S, S] -> One(B);
            /// Whether the first string starts with the second.
            StartsWith = 1, "starts_with", [S, S] -> One(B);
            /// Whether the first string ends with the second.
            EndsWith = 2, "ends_with", [S, S] -> One(B);
            /// The string without leading and trailing Unicode white space.
            Trim = 3, "trim", [S] -> One(S);
            /// The string without leading Unicode white space.
            TrimStart = 4, "trim_start", [S] -> One(S);
            /// The string without trailing Unicode white space.
            TrimEnd = 5, "trim_end", [S] -> One(S);
            /// Each character's uppercase (simple case mapping: one character for one).
            ToUpper = 6, "to_upper", [S] -> One(S);
            /// Each character's lowercase (simple case mapping: one character for one).
            ToLower = 7, "to_lower", [S] -> One(S);
            /// Every occurrence of the second string replaced by the third (an empty pattern matches between characters).
            Replace = 8, "replace", [S, S, S] -> One(S);
            /// The string repeated a number of times; a negative count is a runtime error.
            Repeat = 9, "repeat", [S, I] -> One(S);
            /// -1, 0 or 1 as the first string sorts before, equal to or after the second (by bytes).
            Compare = 10, "compare", [S, S] -> One(I);
            /// The number of characters (Unicode scalar values).
            CharCount = 11, "char_count", [S] -> One(I);
            /// The code point of the character starting at a byte offset.
            CodeAt = 12, "code_at", [S, I] -> One(I);
            /// The one-character string of a code point; not a Unicode scalar value is a runtime error.
            FromCode = 13, "from_code", [I] -> One(S);
            /// The byte offset of the last occurrence of the second string, or -1.
            RFind = 14, "rfind", [S, S] -> One(I);
            /// Tangent.
            Tan = 15, "tan", [F] -> One(F);
            /// Arc sine.
            Asin = 16, "asin", [F] -> One(F);
            /// Arc cosine.
            Acos = 17, "acos", [F] -> One(F);
            /// Arc tangent.
            Atan = 18, "atan", [F] -> One(F);
            /// Arc tangent of y / x in the right quadrant (y first).
            Atan2 = 19, "atan2", [F, F] -> One(F);
            /// Rounded to the nearest integer, halfway cases away from zero.
            Round = 20, "round", [F] -> One(F);
            /// The integer part (rounded toward zero).
            Trunc = 21, "trunc", [F] -> One(F);
            /// Base-2 logarithm.
            Log2 = 22, "log2", [F] -> One(F);
            /// Base-10 logarithm.
            Log10 = 23, "log10", [F] -> One(F);
            /// sqrt(x * x + y * y) without undue overflow.
            Hypot = 24, "hypot", [F, F] -> One(F);
            /// An int to an int power, wrapping; a negative exponent is a runtime error.
            IntPow = 25, "int_pow", [I, I] -> One(I);
            /// The value limited to [min, max]; min > max is a runtime error.
            IntClamp = 26, "int_clamp", [I, I, I] -> One(I);
            /// The value limited to [min, max] (NaN stays NaN); min > max or a NaN bound is a runtime error.
            FloatClamp = 27, "float_clamp", [F, F, F] -> One(F);
            /// The lines: pieces between `\n`s, each without a `\r` before its `\n`; no last empty piece.
            Lines = 28, "lines", [S] -> List(S);
            /// The characters, each as a one-character string.
            Chars = 29, "chars", [S] -> List(S);
            /// The bytes, as ints 0..=255.
            Bytes = 30, "bytes", [S] -> List(I);
            /// The pieces between occurrences of the separator, at most a count of them (the last holds the rest); a count below 1 is a runtime error.
            SplitN = 31, "split_n", [S, S, I] -> List(S);
            /// Why `stoi` would fail on the string (the message its runtime error gives), or the empty string if it would not.
            IntError = 32, "int_error", [S] -> One(S);
            /// Why `stof` would fail on the string (the message its runtime error gives), or the empty string if it would not.
            FloatError = 33, "float_error", [S] -> One(S);
        }
    };
}

/// What a built-in leaves: one value (the `builtin` instruction), or a
/// new array of values of a kind (`builtin.list`, whose type operand is
/// that array type).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    One(Slot),
    List(Slot),
}

macro_rules! define_builtins {
    ($( $(#[doc = $doc:expr])* $name:ident = $id:expr, $text:expr, [$($p:ident),*] -> $rk:ident($r:ident); )*) => {
        /// A built-in function, by its id in the `builtin` instruction.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        pub enum Builtin {
            $($(#[doc = $doc])* $name = $id,)*
        }

        impl Builtin {
            pub const ALL: &'static [Builtin] = &[$(Builtin::$name),*];

            pub fn from_id(id: u16) -> Option<Builtin> {
                match id {
                    $($id => Some(Builtin::$name),)*
                    _ => None,
                }
            }

            pub fn id(self) -> u16 {
                self as u16
            }

            /// The name the standard library's catalogue uses.
            pub fn name(self) -> &'static str {
                match self {
                    $(Builtin::$name => $text,)*
                }
            }

            /// Parameter kinds, bottom of the stack first.
            pub fn params(self) -> &'static [Slot] {
                match self {
                    $(Builtin::$name => &[$(Slot::$p),*],)*
                }
            }

            pub fn result(self) -> Ret {
                match self {
                    $(Builtin::$name => Ret::$rk(Slot::$r),)*
                }
            }

            pub fn doc(self) -> &'static str {
                match self {
                    $(Builtin::$name => concat!($($doc),*).trim_start(),)*
                }
            }
        }
    };
}

for_each_builtin!(define_builtins);

impl Builtin {
    /// Whether [`eval_number`] computes it: no string in or out.
    pub fn is_number(self) -> bool {
        let number = |s: &Slot| matches!(s, Slot::I | Slot::F);
        matches!(self.result(), Ret::One(s) if number(&s)) && self.params().iter().all(number)
    }

    /// Whether it reads strings and makes nothing (`Heap::text_query`,
    /// priced by [`query_cost`]).
    pub fn is_query(self) -> bool {
        matches!(
            self,
            Builtin::Contains
                | Builtin::RFind
                | Builtin::StartsWith
                | Builtin::EndsWith
                | Builtin::Compare
                | Builtin::CharCount
                | Builtin::CodeAt
        )
    }

    pub fn by_name(name: &str) -> Option<Builtin> {
        Builtin::ALL.iter().copied().find(|b| b.name() == name)
    }
}

/// What a numeric built-in computes from its arguments (bits, as on the
/// stack), or the runtime error's message. `None` for the string ones.
pub fn eval_number(b: Builtin, args: &[u64]) -> Option<Result<u64, String>> {
    let f = |i: usize| f64::from_bits(args[i]);
    let i = |k: usize| args[k] as i64;
    let float = |x: f64| Some(Ok(x.to_bits()));
    match b {
        Builtin::Tan => float(libm::tan(f(0))),
        Builtin::Asin => float(libm::asin(f(0))),
        Builtin::Acos => float(libm::acos(f(0))),
        Builtin::Atan => float(libm::atan(f(0))),
        Builtin::Atan2 => float(libm::atan2(f(0), f(1))),
        Builtin::Round => float(libm::round(f(0))),
        Builtin::Trunc => float(libm::trunc(f(0))),
        Builtin::Log2 => float(libm::log2(f(0))),
        Builtin::Log10 => float(libm::log10(f(0))),
        Builtin::Hypot => float(libm::hypot(f(0), f(1))),
        Builtin::IntPow => Some(int_pow(i(0), i(1)).map(|v| v as u64)),
        Builtin::IntClamp => Some(if i(1) > i(2) {
            Err(format!("clamp: min {} is greater than max {}", i(1), i(2)))
        } else {
            Ok(i(0).clamp(i(1), i(2)) as u64)
        }),
        Builtin::FloatClamp => {
            let (x, lo, hi) = (f(0), f(1), f(2));
            // Written out, not f64::clamp, whose NaN and signed-zero
            // behaviour this spells out instead.
            Some(if lo.is_nan() || hi.is_nan() || lo > hi {
                Err(format!(
                    "clamp: min {} and max {} are not a range",
                    crate::text::float_to_string(lo),
                    crate::text::float_to_string(hi)
                ))
            } else if x < lo {
                Ok(lo.to_bits())
            } else if x > hi {
                Ok(hi.to_bits())
            } else {
                Ok(x.to_bits())
            })
        }
        _ => None,
    }
}

/// `base` to the power `exp`, wrapping, by squaring (at most 128
/// multiplications whatever the exponent).
fn int_pow(base: i64, exp: i64) -> Result<i64, String> {
    if exp < 0 {
        return Err(format!("negative exponent: {exp}"));
    }
    let (mut acc, mut b, mut e) = (1i64, base, exp as u64);
    while e > 0 {
        if e & 1 == 1 {
            acc = acc.wrapping_mul(b);
        }
        b = b.wrapping_mul(b);
        e >>= 1;
    }
    Ok(acc)
}

/// A character's Unicode simple case mapping (one character for one).
/// Rust gives the full mapping; where that is one character it is the
/// simple one too. Where it is several, the simple mapping is the
/// character itself (`ß`, whose uppercase is `SS`), except for the few
/// characters written out here (UnicodeData.txt's simple mappings of the
/// characters SpecialCasing.txt expands).
pub fn simple_case(c: char, upper: bool) -> char {
    if c.is_ascii() {
        return if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        };
    }
    let special = match (c as u32, upper) {
        (0x0130, false) => Some(0x0069),
        // Greek with ypogegrammeni: uppercase to the prosgegrammeni form.
        (0x1F80..=0x1F87 | 0x1F90..=0x1F97 | 0x1FA0..=0x1FA7, true) => Some(c as u32 + 8),
        (0x1FB3 | 0x1FC3 | 0x1FF3, true) => Some(c as u32 + 9),
        _ => None,
    };
    if let Some(m) = special.and_then(char::from_u32) {
        return m;
    }
    let mut mapped: [char; 3] = ['\0'; 3];
    let mut n = 0;
    let mut put = |m: char| {
        if n < 3 {
            mapped[n] = m;
        }
        n += 1;
    };
    if upper {
        c.to_uppercase().for_each(&mut put);
    } else {
        c.to_lowercase().for_each(&mut put);
    }
    if n == 1 {
        mapped[0]
    } else {
        c
    }
}

/// The spec's table of built-in functions (between the markers in
/// `spec/bytecode.md`).
pub fn markdown_table() -> String {
    let kind = |s: Slot| match s {
        Slot::I => "I",
        Slot::F => "F",
        Slot::B => "B",
        Slot::S => "S",
    };
    let result = |r: Ret| match r {
        Ret::One(s) => format!("[{}]", kind(s)),
        Ret::List(s) => format!("[a new [{}]] (`builtin.list`)", kind(s)),
    };
    let mut out =
        String::from("| id | name | stack (before → after) | meaning |\n|---|---|---|---|\n");
    for b in Builtin::ALL {
        let params: Vec<&str> = b.params().iter().map(|&s| kind(s)).collect();
        out.push_str(&format!(
            "| {} | `{}` | [{}] → {} | {} |\n",
            b.id(),
            b.name(),
            params.join(", "),
            result(b.result()),
            b.doc()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_dense_and_names_unique() {
        for (k, b) in Builtin::ALL.iter().enumerate() {
            assert_eq!(b.id() as usize, k);
            assert_eq!(Builtin::from_id(b.id()), Some(*b));
            assert_eq!(Builtin::by_name(b.name()), Some(*b));
        }
    }

    #[test]
    fn the_numeric_ones_are_those_eval_number_computes() {
        for b in Builtin::ALL {
            // Zeros are in every numeric built-in's domain.
            let args = [0; 3];
            assert_eq!(
                b.is_number(),
                eval_number(*b, &args[..b.params().len()]).is_some(),
                "{}",
                b.name()
            );
        }
        assert!(Builtin::IntPow.is_number() && !Builtin::CharCount.is_number());
    }

    #[test]
    fn spec_lists_the_builtin_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/bytecode.md");
        let spec = std::fs::read_to_string(path).expect("spec/bytecode.md exists");
        let start = spec
            .find("<!-- builtins:begin -->\n")
            .expect("begin marker")
            + 24;
        let end = spec.find("<!-- builtins:end -->").expect("end marker");
        assert!(
            spec[start..end] == markdown_table(),
            "spec/bytecode.md's built-in table is out of date; it should read:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn numbers() {
        let run = |b, args: &[u64]| eval_number(b, args).unwrap();
        assert_eq!(run(Builtin::IntPow, &[3, 4]), Ok(81));
        assert_eq!(run(Builtin::IntPow, &[2, 64]), Ok(0), "wraps");
        assert_eq!(
            run(Builtin::IntPow, &[(-2i64) as u64, 3]),
            Ok((-8i64) as u64)
        );
        assert_eq!(run(Builtin::IntPow, &[7, 0]), Ok(1));
        assert_eq!(
            run(Builtin::IntPow, &[2, (-1i64) as u64]),
            Err("negative exponent: -1".into())
        );
        assert_eq!(run(Builtin::IntClamp, &[15, 0, 10]), Ok(10));
        assert!(run(Builtin::IntClamp, &[1, 5, 4]).is_err());
        let fl = |x: f64| x.to_bits();
        assert_eq!(run(Builtin::Round, &[fl(2.5)]), Ok(fl(3.0)));
        assert_eq!(run(Builtin::Round, &[fl(-2.5)]), Ok(fl(-3.0)));
        assert_eq!(run(Builtin::Trunc, &[fl(-2.7)]), Ok(fl(-2.0)));
        assert_eq!(
            run(Builtin::FloatClamp, &[fl(f64::NAN), fl(0.0), fl(1.0)])
                .map(|b| f64::from_bits(b).is_nan()),
            Ok(true)
        );
        assert!(run(Builtin::FloatClamp, &[fl(0.5), fl(f64::NAN), fl(1.0)]).is_err());
        assert_eq!(simple_case('ß', true), 'ß');
        assert_eq!(simple_case('é', true), 'É');
        assert_eq!(simple_case('Σ', false), 'σ');
        assert_eq!(simple_case('İ', false), 'i');
        assert_eq!(simple_case('\u{1F80}', true), '\u{1F88}');
        assert_eq!(simple_case('\u{1FB3}', true), '\u{1FBC}');
        assert_eq!(simple_case('\u{1FB2}', true), '\u{1FB2}');
    }
}
