//! The slice of `shopspring/decimal` that Sprig's float functions (`addf`, `subf`, `mulf`,
//! `divf`, `add1f`) go through: each float becomes the exact decimal of its shortest
//! representation, the operation is exact (division rounds half away from zero at 16
//! decimal places), and the result is rounded back to the nearest float64.

use num_bigint_dig::{BigInt, Sign};
use std::cmp::Ordering;

/// Decimal places `Div` keeps (`decimal.DivisionPrecision`).
const DIVISION_PRECISION: i64 = 16;

/// `value × 10^exp`.
#[derive(Debug, Clone)]
pub(crate) struct Decimal {
    value: BigInt,
    exp: i64,
}

impl Decimal {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `f`. NaN and the
    /// infinities panic in Go with this message.
    pub(crate) fn from_float(f: f64) -> Result<Decimal, String> {
        if !f.is_finite() {
            return Err(format!("Cannot create a Decimal from {}", go_float_name(f)));
        }
        if f == 0.0 {
            return Ok(Decimal {
                value: BigInt::from(0),
                exp: 0,
            });
        }
        // Rust's `{:e}` prints the shortest round-trip digits, as Go's decimal does.
        let text = format!("{f:e}");
        let (mant, exp) = text.split_once('e').unwrap_or((&text, "0"));
        let exp: i64 = exp.parse().unwrap_or(0);
        let (int_part, frac) = mant.split_once('.').unwrap_or((mant, ""));
        let digits = format!("{int_part}{frac}");
        let value = BigInt::parse_bytes(digits.as_bytes(), 10).unwrap_or_default();
        Ok(Decimal {
            value,
            exp: exp - frac.len() as i64,
        })
    }

    fn rescaled(&self, exp: i64) -> BigInt {
        // Only ever called with exp <= self.exp.
        let shift = (self.exp - exp).max(0) as usize;
        &self.value * pow10(shift)
    }

    /// `d.Add(d2)`.
    pub(crate) fn add(&self, other: &Decimal) -> Decimal {
        let exp = self.exp.min(other.exp);
        Decimal {
            value: self.rescaled(exp) + other.rescaled(exp),
            exp,
        }
    }

    /// `d.Sub(d2)`.
    pub(crate) fn sub(&self, other: &Decimal) -> Decimal {
        let exp = self.exp.min(other.exp);
        Decimal {
            value: self.rescaled(exp) - other.rescaled(exp),
            exp,
        }
    }

    /// `d.Mul(d2)`.
    pub(crate) fn mul(&self, other: &Decimal) -> Decimal {
        Decimal {
            value: &self.value * &other.value,
            exp: self.exp + other.exp,
        }
    }

    /// `d.Div(d2)`: the quotient rounded half away from zero to 16 decimal places; division
    /// by zero panics in Go with this message.
    pub(crate) fn div(&self, other: &Decimal) -> Result<Decimal, String> {
        if other.value.sign() == Sign::NoSign {
            return Err("decimal division by 0".to_string());
        }
        // q = self/other × 10^16 = value1/value2 × 10^k.
        let k = self.exp - other.exp + DIVISION_PRECISION;
        let (num, den) = if k >= 0 {
            (&self.value * pow10(k as usize), other.value.clone())
        } else {
            (self.value.clone(), &other.value * pow10((-k) as usize))
        };
        let q = &num / &den; // truncates toward zero
        let r = &num - &q * &den;
        let twice = abs(&r) * BigInt::from(2);
        let q = if twice.cmp(&abs(&den)) == Ordering::Less {
            q
        } else if (num.sign() == Sign::Minus) != (den.sign() == Sign::Minus) {
            q - BigInt::from(1)
        } else {
            q + BigInt::from(1)
        };
        Ok(Decimal {
            value: q,
            exp: -DIVISION_PRECISION,
        })
    }

    /// `d.Float64()`: the nearest float64 (ties to even), infinite when out of range.
    pub(crate) fn to_f64(&self) -> f64 {
        // Rust's float parsing rounds exactly, like big.Rat.Float64.
        format!("{}e{}", self.value, self.exp)
            .parse()
            .unwrap_or(0.0)
    }
}

fn abs(v: &BigInt) -> BigInt {
    if v.sign() == Sign::Minus {
        -v
    } else {
        v.clone()
    }
}

fn pow10(n: usize) -> BigInt {
    num_traits_pow(BigInt::from(10), n)
}

fn num_traits_pow(base: BigInt, mut n: usize) -> BigInt {
    let mut result = BigInt::from(1);
    let mut b = base;
    while n > 0 {
        if n & 1 == 1 {
            result *= &b;
        }
        n >>= 1;
        if n > 0 {
            b = &b * &b;
        }
    }
    result
}

/// How Go's `%v` prints a non-finite float.
fn go_float_name(f: f64) -> &'static str {
    if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "+Inf"
    } else {
        "-Inf"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(f: f64) -> Decimal {
        Decimal::from_float(f).unwrap()
    }

    #[test]
    fn exact_decimal_arithmetic() {
        assert_eq!(d(0.1).add(&d(0.2)).to_f64(), 0.3);
        assert_eq!(d(1.0).div(&d(3.0)).unwrap().to_f64(), 0.3333333333333333);
        assert_eq!(d(2.0).div(&d(3.0)).unwrap().to_f64(), 0.6666666666666667);
        assert_eq!(d(-2.0).div(&d(3.0)).unwrap().to_f64(), -0.6666666666666667);
        assert_eq!(d(1e-20).div(&d(3.0)).unwrap().to_f64(), 0.0);
        assert_eq!(d(1.1).mul(&d(1.1)).to_f64(), 1.21);
        assert_eq!(d(5.0).sub(&d(0.3)).to_f64(), 4.7);
        assert!(d(1.0).div(&d(0.0)).is_err());
        assert!(Decimal::from_float(f64::NAN).is_err());
    }
}
