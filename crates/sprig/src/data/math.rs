//! Integer and float arithmetic: `add`, `sub`, `mul`, `div`, `mod`, `max`, `min`, the float
//! variants through decimals, `floor`, `ceil`, `round` and `randInt`. Integer results are
//! `int64` (wrapping as Go's arithmetic does), float results `float64`.

use super::decimal::Decimal;
use super::{def, int_arg};
use crate::text::conv::{to_float64, to_int64};
use helmrelease_gotmpl::{Funcs, IntType, Signature, Type, Value};

/// Go's message when an integer division by zero panics (text/template reports the panic).
const DIVIDE_BY_ZERO: &str = "runtime error: integer divide by zero";

pub(super) fn register(funcs: &mut Funcs) {
    let any1 = || Signature::fixed(&[Type::Any]);
    let any2 = || Signature::fixed(&[Type::Any, Type::Any]);
    let any_var = || Signature::variadic(&[Type::Any], Type::Any);
    def(funcs, "add1", any1(), "func(interface {}) int64", |a| {
        Ok(int64(to_int64(&a[0]).wrapping_add(1)))
    });
    def(
        funcs,
        "add",
        Signature::variadic(&[], Type::Any),
        "func(...interface {}) int64",
        |a| {
            Ok(int64(
                a.iter().fold(0i64, |s, v| s.wrapping_add(to_int64(v))),
            ))
        },
    );
    def(
        funcs,
        "sub",
        any2(),
        "func(interface {}, interface {}) int64",
        |a| Ok(int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1])))),
    );
    def(
        funcs,
        "div",
        any2(),
        "func(interface {}, interface {}) int64",
        |a| {
            let d = to_int64(&a[1]);
            if d == 0 {
                return Err(DIVIDE_BY_ZERO.into());
            }
            // MinInt64 / -1 overflows to MinInt64 in Go, without a panic.
            Ok(int64(to_int64(&a[0]).wrapping_div(d)))
        },
    );
    def(
        funcs,
        "mod",
        any2(),
        "func(interface {}, interface {}) int64",
        |a| {
            let d = to_int64(&a[1]);
            if d == 0 {
                return Err(DIVIDE_BY_ZERO.into());
            }
            Ok(int64(to_int64(&a[0]).wrapping_rem(d)))
        },
    );
    def(
        funcs,
        "mul",
        any_var(),
        "func(interface {}, ...interface {}) int64",
        |a| {
            let first = to_int64(&a[0]);
            Ok(int64(
                a[1..]
                    .iter()
                    .fold(first, |p, v| p.wrapping_mul(to_int64(v))),
            ))
        },
    );
    for name in ["max", "biggest"] {
        def(
            funcs,
            name,
            any_var(),
            "func(interface {}, ...interface {}) int64",
            |a| Ok(int64(a.iter().map(to_int64).max().unwrap_or(0))),
        );
    }
    def(
        funcs,
        "min",
        any_var(),
        "func(interface {}, ...interface {}) int64",
        |a| Ok(int64(a.iter().map(to_int64).min().unwrap_or(0))),
    );
    def(
        funcs,
        "maxf",
        any_var(),
        "func(interface {}, ...interface {}) float64",
        |a| {
            let first = to_float64(&a[0]);
            Ok(Value::Float(
                a[1..].iter().fold(first, |m, v| go_max(m, to_float64(v))),
            ))
        },
    );
    def(
        funcs,
        "minf",
        any_var(),
        "func(interface {}, ...interface {}) float64",
        |a| {
            let first = to_float64(&a[0]);
            Ok(Value::Float(
                a[1..].iter().fold(first, |m, v| go_min(m, to_float64(v))),
            ))
        },
    );
    def(funcs, "add1f", any1(), "func(interface {}) float64", |a| {
        decimal_op(&a[0], &[Value::int(1)], |x, y| Ok(x.add(y)))
    });
    def(
        funcs,
        "addf",
        Signature::variadic(&[], Type::Any),
        "func(...interface {}) float64",
        |a| decimal_op(&Value::Float(0.0), a, |x, y| Ok(x.add(y))),
    );
    def(
        funcs,
        "subf",
        any_var(),
        "func(interface {}, ...interface {}) float64",
        |a| decimal_op(&a[0], &a[1..], |x, y| Ok(x.sub(y))),
    );
    def(
        funcs,
        "mulf",
        any_var(),
        "func(interface {}, ...interface {}) float64",
        |a| decimal_op(&a[0], &a[1..], |x, y| Ok(x.mul(y))),
    );
    def(
        funcs,
        "divf",
        any_var(),
        "func(interface {}, ...interface {}) float64",
        |a| decimal_op(&a[0], &a[1..], Decimal::div),
    );
    def(funcs, "floor", any1(), "func(interface {}) float64", |a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    def(funcs, "ceil", any1(), "func(interface {}) float64", |a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    def(
        funcs,
        "round",
        Signature::variadic(&[Type::Any, Type::Int], Type::Float64),
        "func(interface {}, int, ...float64) float64",
        |a| {
            let round_on = match a.get(2) {
                Some(Value::Float(f)) => *f,
                _ => 0.5,
            };
            Ok(Value::Float(round(
                to_float64(&a[0]),
                int_arg(a, 1) as f64,
                round_on,
            )))
        },
    );
    def(
        funcs,
        "randInt",
        Signature::fixed(&[Type::Int, Type::Int]),
        "func(int, int) int",
        |a| {
            let (min, max) = (int_arg(a, 0), int_arg(a, 1));
            let n = max.wrapping_sub(min);
            if n <= 0 {
                // rand.Intn panics on a non-positive bound.
                return Err("invalid argument to Intn".into());
            }
            let r = super::random::below(n as u64) as i64;
            Ok(Value::int(r.wrapping_add(min)))
        },
    );
}

fn int64(i: i64) -> Value {
    Value::Int(i, IntType::Int64)
}

/// Sprig's `execDecimalOp`: folds `rest` into `first` through decimals.
fn decimal_op(
    first: &Value,
    rest: &[Value],
    op: fn(&Decimal, &Decimal) -> Result<Decimal, String>,
) -> Result<Value, String> {
    let mut acc = Decimal::from_float(to_float64(first))?;
    for v in rest {
        acc = op(&acc, &Decimal::from_float(to_float64(v))?)?;
    }
    Ok(Value::Float(acc.to_f64()))
}

/// `math.Max`: NaN wins, and +0 is larger than -0.
fn go_max(x: f64, y: f64) -> f64 {
    if x.is_infinite() && x > 0.0 || y.is_infinite() && y > 0.0 {
        return f64::INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { y } else { x };
    }
    if x > y { x } else { y }
}

/// `math.Min`: NaN wins, and -0 is smaller than +0.
fn go_min(x: f64, y: f64) -> f64 {
    if x.is_infinite() && x < 0.0 || y.is_infinite() && y < 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == 0.0 && x == y {
        return if x.is_sign_negative() { x } else { y };
    }
    if x < y { x } else { y }
}

/// Sprig's `round`: scale by 10^places, then ceil when the fraction reaches `round_on`,
/// floor otherwise.
fn round(val: f64, places: f64, round_on: f64) -> f64 {
    let pow = go_pow(10.0, places);
    let digit = pow * val;
    // math.Modf: the fraction keeps the sign of its argument.
    let frac = if digit.is_infinite() {
        f64::NAN
    } else {
        digit - digit.trunc()
    };
    let rounded = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    rounded / pow
}

/// Go's `math.Pow` for an integral exponent, which `round` uses: repeated squaring on the
/// frexp mantissa, so results match Go to the last bit (libm's `pow` may differ by an ulp).
fn go_pow(x: f64, y: f64) -> f64 {
    if y == 0.0 || x == 1.0 {
        return 1.0;
    }
    if y == 1.0 {
        return x;
    }
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if y.fract() != 0.0 || y.abs() >= 1e18 {
        // Not reachable from `round` (places is an int); fall back to libm.
        return x.powf(y);
    }
    let yi = y.abs();
    let mut a1 = 1.0;
    let mut ae: i64 = 0;
    let (mut x1, mut xe) = frexp(x);
    let mut i = yi as i64;
    while i != 0 {
        if !(-(1 << 12)..=(1 << 12)).contains(&xe) {
            ae += xe;
            break;
        }
        if i & 1 == 1 {
            a1 *= x1;
            ae += xe;
        }
        x1 *= x1;
        xe <<= 1;
        if x1 < 0.5 {
            x1 += x1;
            xe -= 1;
        }
        i >>= 1;
    }
    if y < 0.0 {
        a1 = 1.0 / a1;
        ae = -ae;
    }
    ldexp(a1, ae)
}

/// `math.Frexp`: `f = frac × 2^exp` with `frac` in [0.5, 1).
fn frexp(f: f64) -> (f64, i64) {
    if f == 0.0 || f.is_infinite() || f.is_nan() {
        return (f, 0);
    }
    let (f, mut exp) = normalize(f);
    let mut bits = f.to_bits();
    exp += ((bits >> 52) & 0x7ff) as i64 - 1022;
    bits &= !(0x7ff << 52);
    bits |= 1022 << 52;
    (f64::from_bits(bits), exp)
}

/// `math.Ldexp`: `frac × 2^exp`, with Go's handling of denormals.
fn ldexp(frac: f64, exp: i64) -> f64 {
    if frac == 0.0 || frac.is_infinite() || frac.is_nan() {
        return frac;
    }
    let (frac, e) = normalize(frac);
    let mut exp = exp + e;
    let mut bits = frac.to_bits();
    exp += ((bits >> 52) & 0x7ff) as i64 - 1023;
    if exp < -1075 {
        return 0f64.copysign(frac);
    }
    if exp > 1023 {
        return if frac < 0.0 {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        };
    }
    let mut m = 1.0;
    if exp < -1022 {
        exp += 53;
        m = 1.0 / (1u64 << 53) as f64;
    }
    bits &= !(0x7ff << 52);
    bits |= ((exp + 1023) as u64) << 52;
    m * f64::from_bits(bits)
}

/// Go's `normalize`: scales a subnormal into the normal range.
fn normalize(x: f64) -> (f64, i64) {
    if x.abs() < f64::MIN_POSITIVE {
        return (x * (1u64 << 52) as f64, -52);
    }
    (x, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pow_matches_exact_powers() {
        for p in 0..=22 {
            assert_eq!(go_pow(10.0, f64::from(p)), 10f64.powi(p));
        }
        assert_eq!(go_pow(10.0, -2.0), 0.01);
        assert_eq!(round(1.23456, 2.0, 0.5), 1.23);
        assert_eq!(round(-1.5, 0.0, 0.5), -2.0);
        assert_eq!(ldexp(0.5, -1073), 5e-324);
    }
}
