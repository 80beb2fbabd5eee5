//! What the arithmetic instructions mean, one function each, where the
//! language's rule is not the host's (`spec/language.md`): the canonical
//! and the register form of an instruction both call these, and so will
//! compiled code as its slow path. Division and remainder by zero are the
//! caller's to trap on (they need the frame to trap in); everything else
//! here is total.

/// The element an index (an int) names in a sequence of `len`, if any:
/// the one bounds rule of `array.get`, `array.set` and `sbyte`, in every
/// form.
#[inline(always)]
pub fn element(i: u64, len: usize) -> Option<usize> {
    usize::try_from(i as i64).ok().filter(|&k| k < len)
}

/// `idiv`: truncation toward zero; `MIN / -1` is `MIN`. `b` is not zero.
#[inline(always)]
pub fn int_div(a: i64, b: i64) -> i64 {
    a.wrapping_div(b)
}

/// `irem`: the remainder with the dividend's sign; `MIN % -1` is 0. `b`
/// is not zero.
#[inline(always)]
pub fn int_rem(a: i64, b: i64) -> i64 {
    a.wrapping_rem(b)
}

/// `ishl`: the shift count is taken mod 64.
#[inline(always)]
pub fn shl(a: i64, b: i64) -> i64 {
    a.wrapping_shl((b & 63) as u32)
}

/// `ishr`: arithmetic; the shift count is taken mod 64.
#[inline(always)]
pub fn shr(a: i64, b: i64) -> i64 {
    a.wrapping_shr((b & 63) as u32)
}

/// `iabs`: `abs(MIN)` is `MIN`.
#[inline(always)]
pub fn int_abs(a: i64) -> i64 {
    a.wrapping_abs()
}

/// `f2i`: toward zero, saturating at the int range; NaN is 0.
#[inline(always)]
pub fn float_to_int(f: f64) -> i64 {
    f as i64
}

/// `fmin`: IEEE 754-2019 `minimum`: NaN if either is NaN, -0 < +0.
#[inline]
pub fn float_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if a < b {
        a
    } else if b < a {
        b
    } else if a.is_sign_negative() {
        a
    } else {
        b
    }
}

/// `fmax`: IEEE 754-2019 `maximum`: NaN if either is NaN, +0 > -0.
#[inline]
pub fn float_max(a: f64, b: f64) -> f64 {
    -float_min(-a, -b)
}

/// `ffloor`, `fceil`, `fsin`, `fcos`, `fexp`, `flog`, `fpow`: libm's, the
/// same bits on every platform (never the host's math library).
pub use libm::{ceil, cos, exp, floor, log, pow, sin};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edges_are_the_language_s() {
        assert_eq!(int_div(i64::MIN, -1), i64::MIN);
        assert_eq!(int_rem(i64::MIN, -1), 0);
        assert_eq!(int_div(-7, 2), -3);
        assert_eq!(int_rem(-7, 2), -1);
        assert_eq!(shl(1, 65), 2);
        assert_eq!(shr(-8, 64 + 1), -4);
        assert_eq!(int_abs(i64::MIN), i64::MIN);
        assert_eq!(float_to_int(f64::NAN), 0);
        assert_eq!(float_to_int(1e300), i64::MAX);
        assert_eq!(float_to_int(-1e300), i64::MIN);
        assert_eq!(float_to_int(-2.9), -2);
        assert!(float_min(f64::NAN, 1.0).is_nan());
        assert!(float_max(1.0, f64::NAN).is_nan());
        assert!(float_min(0.0, -0.0).is_sign_negative());
        assert!(float_max(-0.0, 0.0).is_sign_positive());
        assert_eq!(float_min(1.0, 2.0), 1.0);
        assert_eq!(float_max(1.0, 2.0), 2.0);
    }
}
