//! Text forms of numbers, specified here rather than inherited from a host.
//!
//! Floats print as the shortest decimal that reads back to the same value
//! (the digits come from `core`'s exact shortest-round-trip algorithm, which
//! is pure Rust and identical on every target); we lay the digits out
//! ourselves: plain notation with at least one fractional digit when
//! 1e-5 <= |x| < 1e16, otherwise `d.ddde±x` scientific notation.

use crate::limits::{Stop, Watch};

/// The shortest digits `digits` (ASCII, of a positive `x`, the first at
/// 10^`exp`) with a tie broken toward the even last digit. `core`'s
/// algorithm picks the digits nearest `x`, but where `x` lies exactly
/// halfway between two shortest candidates it rounds up (`1e15 + 0.3`,
/// whose value is ...000.25, gives `.3`); Python, JavaScript and our spec
/// take the even one (`.2`). Only then does the candidate one below also
/// read back as `x`, so the exact expansion is only looked at in that
/// rare case.
fn even_tie(x: f64, digits: &mut [u8], exp: i32) {
    let Some(&last) = digits.last() else {
        return;
    };
    if last & 1 == 0 {
        return;
    }
    // Two different decimals of at most 15 significant digits never read
    // back as the same normal double (15 is f64::DIGITS: every such
    // decimal survives the round trip through a double), so `lower` and
    // `digits` cannot both be `x`'s: no tie, and no need to look.
    if digits.len() <= f64::DIGITS as usize && x.is_normal() {
        return;
    }
    let mut lower = String::from_utf8(digits.to_vec()).expect("ASCII digits");
    lower.pop();
    lower.push(char::from(last - 1));
    let read_back = format!("{}.{}e{}", &lower[..1], &lower[1..], exp);
    if read_back.parse::<f64>() != Ok(x) {
        return;
    }
    // Both read back: a tie only if `x` is exactly `lower` followed by 5.
    // 767 significant digits hold any double's expansion exactly.
    let exact = format!("{:.766e}", x);
    let (m, _) = exact.split_once('e').expect("LowerExp has an exponent");
    let m: String = m.chars().filter(|c| *c != '.').collect();
    let m = m.trim_end_matches('0');
    if m.len() == lower.len() + 1 && m.starts_with(&lower) && m.ends_with('5') {
        *digits.last_mut().expect("not empty") = last - 1;
    }
}

/// A float's text, `str(x)`, made on the stack: at most
/// [`MAX_FLOAT_CHARS`] bytes, so no host allocation (a string of that
/// size is stored inline).
pub struct FloatText {
    bytes: [u8; FLOAT_TEXT_ROOM],
    len: usize,
}

/// Room for `{:e}`'s form of any float, and for ours.
const FLOAT_TEXT_ROOM: usize = 32;

impl std::fmt::Write for FloatText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.len + s.len() > FLOAT_TEXT_ROOM {
            return Err(std::fmt::Error);
        }
        self.push_all(s.as_bytes());
        Ok(())
    }
}

impl FloatText {
    fn empty() -> FloatText {
        FloatText {
            bytes: [0; FLOAT_TEXT_ROOM],
            len: 0,
        }
    }

    fn push_all(&mut self, bytes: &[u8]) {
        self.bytes[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("ASCII")
    }

    /// `str(x)` for a float.
    pub fn new(x: f64) -> FloatText {
        use std::fmt::Write;
        let mut out = FloatText::empty();
        let special = match x {
            _ if x.is_nan() => Some("NaN"),
            f64::INFINITY => Some("inf"),
            f64::NEG_INFINITY => Some("-inf"),
            _ if x == 0.0 && x.is_sign_negative() => Some("-0.0"),
            _ if x == 0.0 => Some("0.0"),
            _ => None,
        };
        if let Some(s) = special {
            out.push_all(s.as_bytes());
            return out;
        }
        // `{:e}` gives the shortest round-trip digits as d[.ddd]e[-]x.
        let mut sci = FloatText::empty();
        write!(sci, "{:e}", x.abs()).expect("a float's {:e} fits");
        let sci = &sci.bytes[..sci.len];
        let e_at = sci
            .iter()
            .position(|&b| b == b'e')
            .expect("LowerExp has an exponent");
        let exp: i32 = std::str::from_utf8(&sci[e_at + 1..])
            .ok()
            .and_then(|e| e.parse().ok())
            .expect("LowerExp's exponent is an integer");
        // At most 17 significant digits.
        let mut buf = [0u8; 20];
        let mut n = 0;
        for &b in sci[..e_at].iter().filter(|&&b| b != b'.') {
            buf[n] = b;
            n += 1;
        }
        let digits = &mut buf[..n];
        even_tie(x.abs(), digits, exp);
        let digits = &buf[..n];
        if x < 0.0 {
            out.push_all(b"-");
        }
        if (-5..16).contains(&exp) {
            if exp >= 0 {
                let int_len = exp as usize + 1;
                if digits.len() <= int_len {
                    out.push_all(digits);
                    for _ in digits.len()..int_len {
                        out.push_all(b"0");
                    }
                    out.push_all(b".0");
                } else {
                    out.push_all(&digits[..int_len]);
                    out.push_all(b".");
                    out.push_all(&digits[int_len..]);
                }
            } else {
                out.push_all(b"0.");
                for _ in 0..-exp - 1 {
                    out.push_all(b"0");
                }
                out.push_all(digits);
            }
        } else {
            out.push_all(&[digits[0]]);
            out.push_all(b".");
            out.push_all(if digits.len() > 1 { &digits[1..] } else { b"0" });
            write!(out, "e{exp}").expect("fits");
        }
        out
    }
}

/// `str(x)` for a float, as a `String`.
pub fn float_to_string(x: f64) -> String {
    FloatText::new(x).as_str().to_owned()
}

/// Largest `digits` accepted by `fixed`.
pub const MAX_FIXED_DIGITS: i64 = 40;

/// The longest text `float_to_string` makes (`-2.2250738585072014e-308`).
pub const MAX_FLOAT_CHARS: usize = 24;

/// The longest text `fixed` makes: a sign, the 309 digits of the largest
/// float, a point and the most decimals.
pub const MAX_FIXED_CHARS: usize = 1 + 309 + 1 + MAX_FIXED_DIGITS as usize;

/// `fixed(x, digits)`: exactly rounded to `digits` decimals, ties to even.
pub fn fixed(x: f64, digits: i64) -> Result<String, String> {
    if !(0..=MAX_FIXED_DIGITS).contains(&digits) {
        return Err(format!(
            "fixed: digits must be between 0 and {MAX_FIXED_DIGITS}, got {digits}"
        ));
    }
    if !x.is_finite() {
        return Ok(float_to_string(x));
    }
    // core's exact formatting rounds the true binary value half to even.
    Ok(format!("{:.*}", digits as usize, x))
}

/// Characters of a value a message quotes in full; longer values are
/// shortened to this many, so a message never copies a huge value.
pub const QUOTE_CHARS: usize = 80;

/// `s` quoted and escaped for a message, shortened past [`QUOTE_CHARS`]
/// characters: `"abc…"… (123456 bytes)`.
pub fn quoted(s: &str) -> String {
    match s.char_indices().nth(QUOTE_CHARS) {
        None => format!("{s:?}"),
        Some((end, _)) => format!("{:?}… ({} bytes)", &s[..end], s.len()),
    }
}

/// `char(cp)`: the one-character string of code point `cp`, if it is a
/// Unicode scalar value (kept inline in the string: no buffer of its own).
pub fn char_text(cp: i64) -> Option<compact_str::CompactString> {
    let c = u32::try_from(cp).ok().and_then(char::from_u32)?;
    Some(compact_str::CompactString::new(c.encode_utf8(&mut [0; 4])))
}

/// `int(s)`: optional sign, decimal digits, nothing else. The digits are
/// scanned a chunk at a time, checking `watch`.
pub fn parse_int(s: &str, watch: &Watch) -> Result<Result<i64, String>, Stop> {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let bad = watch.chunks(body.as_bytes(), |_, c| {
        c.iter().any(|b| !b.is_ascii_digit()).then_some(())
    })?;
    if body.is_empty() || bad.is_some() {
        return Ok(Err(format!("invalid int: {}", quoted(s))));
    }
    // Leading zeros do not change the value; past them, more than 19
    // digits cannot fit in an int.
    let zeros = watch
        .chunks(body.as_bytes(), |at, c| {
            c.iter().position(|b| *b != b'0').map(|i| at + i)
        })?
        .unwrap_or(body.len());
    let digits = &body[zeros..];
    if digits.len() > 19 {
        return Ok(Err(format!("int out of range: {}", quoted(s))));
    }
    // At most 19 digits: below 10^19, inside a u64.
    let magnitude = digits
        .bytes()
        .fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
    let value = match s.starts_with('-') {
        true => -i128::from(magnitude),
        false => i128::from(magnitude),
    };
    Ok(i64::try_from(value).map_err(|_| format!("int out of range: {}", quoted(s))))
}

/// The longest text `float(s)` reads: a float never needs more than a few
/// hundred characters, and a longer text would make one instruction take
/// time beyond what the watch can cut short.
pub const MAX_FLOAT_TEXT: usize = 1 << 16;

/// `float(s)`: decimal or scientific notation, `inf`, `-inf` or `NaN`.
pub fn parse_float(s: &str) -> Result<f64, String> {
    match s {
        "inf" | "+inf" => return Ok(f64::INFINITY),
        "-inf" => return Ok(f64::NEG_INFINITY),
        "NaN" => return Ok(f64::NAN),
        _ => {}
    }
    let invalid = || format!("invalid float: {}", quoted(s));
    if s.len() > MAX_FLOAT_TEXT {
        return Err(format!(
            "invalid float: {} (longer than {MAX_FLOAT_TEXT} bytes)",
            quoted(s)
        ));
    }
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !ok {
        return Err(invalid());
    }
    s.parse::<f64>().map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `even_tie`'s shortcut: where the shortest digits are at most 15, the
    /// candidate one below never reads back as the same normal double.
    #[test]
    fn short_digits_have_no_tie_to_break() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0;
        for k in 0..400_000u64 {
            // Random bit patterns, and decimals of few digits at every scale.
            let x = match k % 2 {
                0 => f64::from_bits(next()),
                _ => (next() % 1_000_000) as f64 * 10f64.powi((next() % 600) as i32 - 300),
            };
            if !x.is_normal() {
                continue;
            }
            let sci = format!("{:e}", x.abs());
            let (m, e) = sci.split_once('e').unwrap();
            let digits: String = m.chars().filter(|c| *c != '.').collect();
            let last = *digits.as_bytes().last().unwrap();
            if digits.len() > f64::DIGITS as usize || last & 1 == 0 {
                continue;
            }
            let mut lower = digits.clone().into_bytes();
            *lower.last_mut().unwrap() -= 1;
            let lower = String::from_utf8(lower).unwrap();
            let back: f64 = format!("{}.{}e{}", &lower[..1], &lower[1..], e)
                .parse()
                .unwrap();
            assert_ne!(back, x.abs(), "{x:e}");
            checked += 1;
        }
        assert!(checked > 20_000, "{checked}");
    }

    #[test]
    fn float_texts_read_back_and_fit_their_room() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for k in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = match k % 3 {
                0 => f64::from_bits(state),
                1 => (state % 100_000) as f64 / 64.0 - 700.0,
                _ => f64::from_bits(state >> 12), // subnormal and tiny
            };
            let t = FloatText::new(x);
            let s = t.as_str();
            assert!(s.len() <= MAX_FLOAT_CHARS, "{s}");
            if x.is_nan() {
                assert_eq!(s, "NaN");
            } else {
                assert_eq!(s.parse::<f64>().unwrap().to_bits(), x.to_bits(), "{s}");
                assert!(s.contains('.') || s.contains("inf"), "{s}");
            }
        }
        for x in [
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            1e21,
            1e-7,
            -1e100,
        ] {
            let s = float_to_string(x);
            assert_eq!(s.parse::<f64>().unwrap(), x, "{s}");
        }
        assert_eq!(
            float_to_string(-2.2250738585072014e-308),
            "-2.2250738585072014e-308"
        );
        assert_eq!(float_to_string(1e21), "1.0e21");
        assert_eq!(float_to_string(-1.5e-7), "-1.5e-7");
    }

    #[test]
    fn floats_print_shortest_with_a_fraction() {
        let cases = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (5.0, "5.0"),
            (-2.5, "-2.5"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1.0e16"),
            (1.5e300, "1.5e300"),
            (0.00001, "0.00001"),
            (0.000001, "1.0e-6"),
            (1.0 / 3.0, "0.3333333333333333"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-0.0, "-0.0"),
            (123456.789, "123456.789"),
            // Halfway between two shortest candidates: the even one, as
            // Python and JavaScript print (core's digits end in 3 here).
            (1e15 + 0.3, "1000000000000000.2"),
            (5e-324, "5.0e-324"),
        ];
        for (x, s) in cases {
            assert_eq!(float_to_string(x), s, "{x:e}");
            if x.is_finite() {
                assert_eq!(s.parse::<f64>().unwrap(), x);
            }
        }
    }

    #[test]
    fn fixed_rounds_ties_to_even() {
        assert_eq!(fixed(2.0 / 3.0, 3).unwrap(), "0.667");
        assert_eq!(fixed(0.5, 0).unwrap(), "0");
        assert_eq!(fixed(1.5, 0).unwrap(), "2");
        assert_eq!(fixed(2.5, 0).unwrap(), "2");
        assert_eq!(fixed(0.125, 2).unwrap(), "0.12");
        assert_eq!(fixed(0.375, 2).unwrap(), "0.38");
        assert_eq!(fixed(-1.0, 2).unwrap(), "-1.00");
        assert!(fixed(1.0, -1).is_err());
    }

    fn int(s: &str) -> Result<i64, String> {
        parse_int(s, &Watch::IDLE).unwrap()
    }

    #[test]
    fn int_parsing_is_strict() {
        assert_eq!(int("42"), Ok(42));
        assert_eq!(int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(int("+0009223372036854775807"), Ok(i64::MAX));
        assert_eq!(
            int(&("-".to_string() + &"0".repeat(100_000) + "17")),
            Ok(-17)
        );
        assert_eq!(int("-0"), Ok(0));
        assert_eq!(int("000"), Ok(0));
        assert!(int("").is_err());
        assert!(int("-").is_err());
        assert!(int("1_000").is_err());
        assert!(int(" 1").is_err());
        assert_eq!(
            int("9223372036854775808"),
            Err("int out of range: \"9223372036854775808\"".into())
        );
        assert_eq!(
            int("12345678901234567890"),
            Err("int out of range: \"12345678901234567890\"".into())
        );
        // Nineteen digits, the most that are worked out, either side.
        assert!(int("9999999999999999999").is_err());
        assert!(int("-9999999999999999999").is_err());
        assert!(int("-9223372036854775809").is_err());
        assert_eq!(int("-0009223372036854775807"), Ok(-i64::MAX));
        assert_eq!(int("1000000000000000000"), Ok(10i64.pow(18)));
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        assert_eq!(quoted("a\"b"), "\"a\\\"b\"");
        let long = "é".repeat(100);
        assert_eq!(
            quoted(&long),
            format!("\"{}\"… (200 bytes)", "é".repeat(QUOTE_CHARS))
        );
        assert_eq!(
            int(&"x".repeat(1 << 20)),
            Err(format!(
                "invalid int: \"{}\"… (1048576 bytes)",
                "x".repeat(80)
            ))
        );
        assert!(parse_float(&"1".repeat(MAX_FLOAT_TEXT + 1))
            .unwrap_err()
            .ends_with(&format!("(longer than {MAX_FLOAT_TEXT} bytes)")));
        assert_eq!(parse_float(&"1".repeat(400)), Ok(f64::INFINITY));
        assert_eq!(parse_float(&format!("0.{}1", "0".repeat(300))), Ok(1e-301));
    }
}
