//! Division by a constant as a multiplication (Granlund and Montgomery,
//! "Division by Invariant Integers using Multiplication", 1994; the
//! signed algorithm of Hacker's Delight, 10-4): what a compiler does for
//! `x / 7`, done by the translator for a divisor known at load time.
//!
//! The result is exactly `wrapping_div` and `wrapping_rem` (truncation
//! toward zero, the remainder with the dividend's sign) for every
//! dividend; the tests below hold that over edge cases and a sweep.

/// A divisor `d` with `2 <= |d| < 2^63` and its magic multiplier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Divisor {
    d: i64,
    m: i64,
    shift: u32,
    /// All ones where the algorithm adds the dividend to the high product
    /// (`d > 0`, `m < 0`) or subtracts it (`d < 0`, `m > 0`), else zero:
    /// masks, so a quotient takes no branch.
    add: i64,
    sub: i64,
}

impl Divisor {
    /// The divisor `d`, or `None` for one this does not take (0, 1, -1,
    /// `i64::MIN`: they divide as they are).
    pub fn new(d: i64) -> Option<Divisor> {
        if d == i64::MIN || d.unsigned_abs() < 2 {
            return None;
        }
        const TWO63: u64 = 1 << 63;
        let ad = d.unsigned_abs();
        let t = TWO63 + ((d as u64) >> 63);
        let anc = t - 1 - t % ad;
        let mut p = 63u32;
        let (mut q1, mut r1) = (TWO63 / anc, TWO63 % anc);
        let (mut q2, mut r2) = (TWO63 / ad, TWO63 % ad);
        loop {
            p += 1;
            q1 = q1.wrapping_mul(2);
            r1 = r1.wrapping_mul(2);
            if r1 >= anc {
                q1 = q1.wrapping_add(1);
                r1 -= anc;
            }
            q2 = q2.wrapping_mul(2);
            r2 = r2.wrapping_mul(2);
            if r2 >= ad {
                q2 = q2.wrapping_add(1);
                r2 -= ad;
            }
            let delta = ad - r2;
            if !(q1 < delta || (q1 == delta && r1 == 0)) {
                break;
            }
        }
        let m = q2.wrapping_add(1) as i64;
        let m = if d < 0 { m.wrapping_neg() } else { m };
        Some(Divisor {
            d,
            m,
            shift: p - 64,
            add: -((d > 0 && m < 0) as i64),
            sub: -((d < 0 && m > 0) as i64),
        })
    }

    pub fn divisor(self) -> i64 {
        self.d
    }

    /// What [`Divisor::quotient`] computes with, for machine code that
    /// does the same: the multiplier, the shift, and whether the dividend
    /// is added to (or subtracted from) the high product.
    pub fn magic(self) -> (i64, u32, bool, bool) {
        (self.m, self.shift, self.add != 0, self.sub != 0)
    }

    /// `n / d`, truncated toward zero.
    #[inline]
    pub fn quotient(self, n: i64) -> i64 {
        let mut q = ((n as i128 * self.m as i128) >> 64) as i64;
        q = q.wrapping_add(n & self.add).wrapping_sub(n & self.sub);
        q >>= self.shift;
        q + ((q as u64) >> 63) as i64
    }

    /// `n % d`, with the sign of `n`.
    #[inline]
    pub fn remainder(self, n: i64) -> i64 {
        n.wrapping_sub(self.quotient(n).wrapping_mul(self.d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(d: i64, n: i64) {
        let div = Divisor::new(d).expect("a divisor it takes");
        assert_eq!(div.quotient(n), n.wrapping_div(d), "{n} / {d}");
        assert_eq!(div.remainder(n), n.wrapping_rem(d), "{n} % {d}");
    }

    #[test]
    fn trivial_divisors_are_not_taken() {
        for d in [0, 1, -1, i64::MIN] {
            assert_eq!(Divisor::new(d), None);
        }
    }

    #[test]
    fn quotients_and_remainders_are_exact() {
        let mut divisors: Vec<i64> = vec![
            2,
            3,
            5,
            6,
            7,
            9,
            10,
            11,
            12,
            25,
            60,
            100,
            125,
            641,
            1000,
            1000003,
            i32::MAX as i64,
            i32::MIN as i64,
            1 << 31,
            1 << 32,
            3 << 40,
            i64::MAX,
            i64::MIN + 1,
        ];
        for k in 1..63 {
            divisors.push(1 << k);
            divisors.push((1 << k) + 1);
            divisors.push((1 << k) - 1);
        }
        let negated: Vec<i64> = divisors.iter().map(|d| d.wrapping_neg()).collect();
        divisors.extend(negated);
        divisors.retain(|d| d.unsigned_abs() >= 2 && *d != i64::MIN);
        let mut dividends: Vec<i64> = vec![
            0,
            1,
            -1,
            2,
            -2,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            i64::MAX - 1,
        ];
        // A deterministic spread over all magnitudes.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            dividends.push(x as i64);
            dividends.push((x >> (x % 64)) as i64);
        }
        for &d in &divisors {
            for &n in &dividends {
                check(d, n);
            }
            for n in [
                d,
                d.wrapping_sub(1),
                d.wrapping_add(1),
                d.wrapping_mul(2),
                d.wrapping_mul(-3).wrapping_add(1),
            ] {
                check(d, n);
            }
        }
    }
}
