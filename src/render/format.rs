//! Tables and numbers for reading: aligned plain-text tables and values scaled to their unit.
//!
//! The one rule it keeps: three significant digits, never more precision than a reader uses.

use std::fmt::Write as _;

use crate::model::Unit;

/// An aligned plain-text table, indented by two spaces; `right` lists the columns of numbers,
/// which read best right-aligned.
pub(super) fn table(header: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let mut widths = vec![0usize; header.len()];
    for r in std::iter::once(&header).chain(rows) {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows) {
        let mut line = String::from(" ");
        for (i, (w, cell)) in widths.iter().zip(r).enumerate() {
            let pad = " ".repeat(w - cell.chars().count());
            if right.contains(&i) {
                let _ = write!(line, " {pad}{cell}");
            } else {
                let _ = write!(line, " {cell}{pad}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// A value with its unit, scaled and rounded for reading; sizes in SI units (KB = 1000 B), as the
/// budget's KB is.
pub fn format_value(value: f64, unit: Unit) -> String {
    format_value_as(value, unit, false)
}

/// As [`format_value`], with sizes in binary units (KiB = 1024 B) when `binary`.
pub fn format_value_as(value: f64, unit: Unit, binary: bool) -> String {
    const KIB: f64 = 1024.0;
    match unit {
        Unit::Bytes if binary && value.abs() >= KIB * KIB => {
            format!("{} MiB", round(value / (KIB * KIB)))
        }
        Unit::Bytes if binary && value.abs() >= KIB => format!("{} KiB", round(value / KIB)),
        Unit::Ms if value.abs() >= 1000.0 => format!("{} s", round(value / 1000.0)),
        Unit::Ms => format!("{} ms", round(value)),
        Unit::Bytes if value.abs() >= 1e6 => format!("{} MB", round(value / 1e6)),
        Unit::Bytes if value.abs() >= 1e3 => format!("{} KB", round(value / 1e3)),
        Unit::Bytes => format!("{} B", round(value)),
        Unit::Percent => format!("{} %", round(value)),
        Unit::PerSecond => format!("{} /s", round(value)),
        Unit::None => round(value),
    }
}

/// The longest integer part written out in full: a count or a byte size stays exact up to 10^15.
const MAX_INTEGER_DIGITS: i32 = 15;

/// Three significant digits, at least the integer part, no trailing zeros.
pub(super) fn round(v: f64) -> String {
    significant(v, 3, 6)
}

/// `digits` significant digits (at most `max_decimals` decimals), at least the integer part, no
/// trailing zeros: 0.0759562000000008 with 6 is `0.0759562`.
pub(super) fn significant(v: f64, digits: i32, max_decimals: i32) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let integer = v.abs().log10().floor() as i32 + 1;
    // Too small for its digits to fit the decimals allowed (it would read as 0, or lose them), or
    // so large that its integer part would print hundreds of digits: with an exponent instead.
    if digits - integer > max_decimals || integer > MAX_INTEGER_DIGITS {
        let e = format!("{v:.*e}", (digits - 1) as usize);
        let (mantissa, exponent) = e.split_once('e').unwrap_or((&e, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.trim_end_matches('0').trim_end_matches('.')
        } else {
            mantissa
        };
        return format!("{mantissa}e{exponent}");
    }
    let decimals = (digits - integer).clamp(0, max_decimals) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Unit;

    #[test]
    fn significant_digits_drop_a_floats_last_bit_noise_and_keep_integers_whole() {
        assert_eq!(significant(0.075_956_200_000_000_8, 6, 9), "0.0759562");
        assert_eq!(significant(708_081.0, 6, 9), "708081");
        assert_eq!(significant(62.121_834_5, 6, 9), "62.1218");
        assert_eq!(significant(-1.5e-12, 6, 9), "-1.5e-12");
        assert_eq!(significant(2.5e-10, 6, 9), "2.5e-10");
        assert_eq!(significant(1.234_567e-9, 6, 9), "1.23457e-9");
        assert_eq!(significant(0.000_123_4, 6, 9), "0.0001234");
        assert_eq!(round(0.000_012_34), "1.23e-5");
        assert_eq!(round(1.6e305), "1.6e305");
        assert_eq!(significant(123_456_789_012_345.0, 6, 9), "123456789012345");
        assert_eq!(significant(1.234_567e16, 6, 9), "1.23457e16");
        assert_eq!(significant(0.0, 6, 9), "0");
        assert_eq!(round(212.34), "212");
    }

    #[test]
    fn values_read_well() {
        assert_eq!(format_value(212.34, Unit::Ms), "212 ms");
        assert_eq!(format_value(12.345, Unit::Ms), "12.3 ms");
        assert_eq!(format_value(1234.0, Unit::Ms), "1.23 s");
        assert_eq!(format_value(412_345.0, Unit::Bytes), "412 KB");
        assert_eq!(format_value(1_200_000.0, Unit::Bytes), "1.2 MB");
        assert_eq!(format_value(0.5234, Unit::Percent), "0.523 %");
        assert_eq!(format_value(92.0, Unit::None), "92");
        assert_eq!(format_value(0.0123, Unit::None), "0.0123");
        assert_eq!(format_value(0.0, Unit::Ms), "0 ms");
        assert_eq!(format_value_as(41_577.0, Unit::Bytes, true), "40.6 KiB");
        assert_eq!(
            format_value_as(3.0 * 1024.0 * 1024.0, Unit::Bytes, true),
            "3 MiB"
        );
    }
}
