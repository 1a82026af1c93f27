//! JSON written the way Go's `encoding/json` writes it, so releases we encode are byte-for-byte
//! what Helm would write for the same data, and digests computed over them agree with Flux's.
//!
//! Differences from serde_json's defaults that matter: Go escapes `<`, `>`, `&`, U+2028 and
//! U+2029 in strings, and formats floats with `strconv.FormatFloat(f, 'f' or 'e', -1, 64)`.

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};
use std::io::{self, Write};

/// A serde_json formatter producing Go `encoding/json` output.
#[derive(Debug, Default, Clone, Copy)]
pub struct GoFormatter;

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        let mut start = 0;
        for (i, ch) in fragment.char_indices() {
            let escape = match ch {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&bytes[start..i])?;
            writer.write_all(escape.as_bytes())?;
            start = i + ch.len_utf8();
        }
        writer.write_all(&bytes[start..])
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        // Go writes \b and \f like serde_json does (since Go 1.22) and other control
        // characters as lowercase \u00xx.
        let s: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"\\/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(byte) => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let buf = [
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(byte >> 4) as usize],
                    HEX[(byte & 0xf) as usize],
                ];
                return writer.write_all(&buf);
            }
        };
        writer.write_all(s)
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(format_go_float(value).as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }
}

/// Formats a float like Go's `encoding/json`: shortest round-trip digits, plain notation for
/// magnitudes in [1e-6, 1e21), otherwise exponent notation with a sign and at least two exponent
/// digits, minus the leading zero of a negative exponent (`1e+21`, `1e-7`).
pub fn format_go_float(value: f64) -> String {
    let abs = value.abs();
    if abs == 0.0 || (1e-6..1e21).contains(&abs) {
        // Rust's Display prints the shortest round-trip digits without an exponent; Go prints
        // integral floats without a fraction, and so does Rust (`1` for 1.0 is `1`).
        let s = format!("{value}");
        return s;
    }
    let s = format!("{value:e}");
    let Some((mantissa, exp)) = s.split_once('e') else {
        return s;
    };
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    if sign == '+' && digits.len() < 2 {
        format!("{mantissa}e+0{digits}")
    } else {
        format!("{mantissa}e{sign}{digits}")
    }
}

/// Serialises `value` as Go's `json.Marshal` would.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(4096);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    value.serialize(&mut ser)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn html_characters_are_escaped_like_go() {
        let out = to_vec(&json!({"a": "x<y>&z\u{2028}"})).unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&out),
            r#"{"a":"x\u003cy\u003e\u0026z\u2028"}"#
        );
    }

    #[test]
    fn control_characters_are_escaped_like_go() {
        let out = to_vec(&json!("a\u{1}\n\t\"\\")).unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&out), r#""a\u0001\n\t\"\\""#);
    }

    #[test]
    fn floats_are_formatted_like_go() {
        // Expected strings are what Go 1.22 json.Marshal prints for these float64 values.
        let cases = [
            (0.5, "0.5"),
            (1.0, "1"),
            (100.0, "100"),
            (1e20, "100000000000000000000"),
            (1e21, "1e+21"),
            (1.5e300, "1.5e+300"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (1.234e-10, "1.234e-10"),
            (-2.5e-8, "-2.5e-8"),
            (0.0, "0"),
            (-0.0, "-0"),
            (123456789.125, "123456789.125"),
        ];
        for (value, want) in cases {
            assert_eq!(format_go_float(value), want, "{value:e}");
        }
    }
}
