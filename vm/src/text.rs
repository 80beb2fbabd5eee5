//! Text forms of numbers, specified here rather than inherited from a host.
//!
//! Floats print as the shortest decimal that reads back to the same value
//! (the digits come from `core`'s exact shortest-round-trip algorithm, which
//! is pure Rust and identical on every target); we lay the digits out
//! ourselves: plain notation with at least one fractional digit when
//! 1e-5 <= |x| < 1e16, otherwise `d.ddde±x` scientific notation.

/// `str(x)` for a float.
pub fn float_to_string(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // `{:e}` gives the shortest round-trip digits as d[.ddd]e[-]x.
    let sci = format!("{:e}", x);
    let (mantissa, exp) = sci
        .split_once('e')
        .expect("LowerExp always has an exponent");
    let exp: i32 = exp.parse().expect("LowerExp exponent is an integer");
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if neg {
        out.push('-');
    }
    if (-5..16).contains(&exp) {
        if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', int_len - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..int_len]);
                out.push('.');
                out.push_str(&digits[int_len..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        out.push('e');
        out.push_str(&exp.to_string());
    }
    out
}

/// Largest `digits` accepted by `fixed`.
pub const MAX_FIXED_DIGITS: i64 = 40;

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

/// `int(s)`: optional sign, decimal digits, nothing else.
pub fn parse_int(s: &str) -> Result<i64, String> {
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("invalid int: {s:?}"));
    }
    s.parse::<i64>()
        .map_err(|_| format!("int out of range: {s:?}"))
}

/// `float(s)`: decimal or scientific notation, `inf`, `-inf` or `NaN`.
pub fn parse_float(s: &str) -> Result<f64, String> {
    let ok = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    match s {
        "inf" | "+inf" => return Ok(f64::INFINITY),
        "-inf" => return Ok(f64::NEG_INFINITY),
        "NaN" => return Ok(f64::NAN),
        _ => {}
    }
    if !ok {
        return Err(format!("invalid float: {s:?}"));
    }
    s.parse::<f64>()
        .map_err(|_| format!("invalid float: {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn int_parsing_is_strict() {
        assert_eq!(parse_int("42"), Ok(42));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert!(parse_int("").is_err());
        assert!(parse_int("1_000").is_err());
        assert!(parse_int(" 1").is_err());
        assert!(parse_int("9223372036854775808").is_err());
    }
}
