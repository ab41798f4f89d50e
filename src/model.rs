//! Domain values shared by every stage: units, measurements, and the quantities a budget writes.
//!
//! The one rule: a value is stored in its kind's canonical unit (durations in milliseconds, sizes in
//! bytes, percentages in percent points), so comparing two values never converts.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The canonical unit a metric value is stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Durations, in milliseconds.
    Ms,
    /// Sizes, in bytes.
    #[serde(rename = "B")]
    Bytes,
    /// Percent points (0–100), e.g. an error rate or a cache hit ratio.
    #[serde(rename = "%")]
    Percent,
    /// Events per second.
    #[serde(rename = "/s")]
    PerSecond,
    /// A plain number: a count, a score, a unitless ratio such as CLS.
    #[serde(rename = "")]
    None,
}

impl Unit {
    /// The unit as users write and read it.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::Bytes => "B",
            Unit::Percent => "%",
            Unit::PerSecond => "/s",
            Unit::None => "",
        }
    }

    /// What the unit measures, for messages ("a duration", "a size").
    pub fn kind_name(self) -> &'static str {
        match self {
            Unit::Ms => "a duration",
            Unit::Bytes => "a size",
            Unit::Percent => "a percentage",
            Unit::PerSecond => "a rate per second",
            Unit::None => "a plain number",
        }
    }

    /// Parses a unit as written in a budget or in perfgate's own JSON format and returns the
    /// canonical unit with the factor that converts a value written in it to that canonical unit.
    pub fn parse_scaled(text: &str) -> Option<(Unit, f64)> {
        Some(match text {
            "us" | "µs" => (Unit::Ms, 1e-3),
            "ms" => (Unit::Ms, 1.0),
            "s" => (Unit::Ms, 1e3),
            "B" => (Unit::Bytes, 1.0),
            // KB/MB are SI (1000), KiB/MiB binary (1024), as size-limit and the README write them.
            "KB" | "kB" => (Unit::Bytes, 1e3),
            "KiB" => (Unit::Bytes, 1024.0),
            "MB" => (Unit::Bytes, 1e6),
            "MiB" => (Unit::Bytes, 1024.0 * 1024.0),
            "%" => (Unit::Percent, 1.0),
            "/s" => (Unit::PerSecond, 1.0),
            "" => (Unit::None, 1.0),
            _ => return None,
        })
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

/// One metric's value in one run, in its canonical unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    /// The value, in `unit`.
    pub value: f64,
    pub unit: Unit,
}

impl Measurement {
    pub fn new(value: f64, unit: Unit) -> Self {
        Measurement { value, unit }
    }
    pub fn ms(value: f64) -> Self {
        Measurement::new(value, Unit::Ms)
    }
    pub fn bytes(value: f64) -> Self {
        Measurement::new(value, Unit::Bytes)
    }
    pub fn count(value: f64) -> Self {
        Measurement::new(value, Unit::None)
    }
}

/// Metric name → value. Names are opaque strings (they hold dots, slashes, URLs): never split them.
pub type Metrics = BTreeMap<String, Measurement>;

/// Whether `metrics` holds a statistic of a distribution's series, named `<series>.<stat>` (k6's
/// `http_req_duration.p95`, a JTL label's `login.mean`) with a stat without dots.
pub fn has_series(metrics: &Metrics, series: &str) -> bool {
    metrics
        .keys()
        .filter_map(|k| k.strip_prefix(series)?.strip_prefix('.'))
        .any(|stat| !stat.contains('.'))
}

/// Comparison operator of a threshold. `<`/`<=` mean lower is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }

    /// True when the value satisfies `value <op> limit`.
    pub fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Op::Lt => value < limit,
            Op::Le => value <= limit,
            Op::Gt => value > limit,
            Op::Ge => value >= limit,
        }
    }

    pub fn lower_is_better(self) -> bool {
        matches!(self, Op::Lt | Op::Le)
    }
}

/// A number with a unit as a budget writes it: `"200ms"`, `"400KB"`, `"1%"`, `"90"`, `"1.5 s"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantity {
    /// The value converted to `unit`'s canonical scale (ms, bytes, percent points).
    pub value: f64,
    pub unit: Unit,
}

impl Quantity {
    /// Parses `"<number><unit>"`, spaces allowed between them.
    pub fn parse(text: &str) -> Result<Quantity, String> {
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let num = num.trim();
        let unit = unit.trim();
        if num.is_empty() {
            return Err(format!("`{text}` does not start with a number"));
        }
        let value: f64 = num
            .parse()
            .map_err(|_| format!("`{num}` in `{text}` is not a number"))?;
        if !value.is_finite() {
            return Err(format!("`{text}` is not a finite number"));
        }
        let (unit, scale) = Unit::parse_scaled(unit).ok_or_else(|| {
            format!("unknown unit `{unit}` in `{text}` (expected one of us, ms, s, B, KB, KiB, MB, MiB, %, or none)")
        })?;
        Ok(Quantity {
            value: value * scale,
            unit,
        })
    }
}

/// Letters, digits, `.`, `-` and `_` only, at least one: the rule for gate names (they name the
/// baseline file and the comment marker, so they can neither leave a directory nor close an HTML
/// comment) and what GitHub allows in owner and repository names (anything else would change a
/// request path).
pub fn is_plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// A full hexadecimal commit id as `git rev-parse` prints it: SHA-1 (40 digits) or SHA-256 (64).
/// An abbreviated id is refused where one is recorded: it may name another commit later.
pub fn is_commit_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Median of a non-empty slice (mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if !v.len().is_multiple_of(2) {
        return Some(v[mid]);
    }
    let (a, b) = (v[mid - 1], v[mid]);
    // Two values near f64::MAX overflow their sum; halving each first stays finite (and is not
    // used otherwise: it rounds the smallest subnormals to 0).
    let sum = a + b;
    Some(if sum.is_finite() {
        sum / 2.0
    } else {
        a / 2.0 + b / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_convert_to_canonical_units() {
        let q = |s| Quantity::parse(s).unwrap();
        assert_eq!(
            q("200ms"),
            Quantity {
                value: 200.0,
                unit: Unit::Ms
            }
        );
        assert_eq!(
            q("1.5 s"),
            Quantity {
                value: 1500.0,
                unit: Unit::Ms
            }
        );
        assert_eq!(
            q("250us"),
            Quantity {
                value: 0.25,
                unit: Unit::Ms
            }
        );
        assert_eq!(
            q("400KB"),
            Quantity {
                value: 400_000.0,
                unit: Unit::Bytes
            }
        );
        assert_eq!(
            q("1KiB"),
            Quantity {
                value: 1024.0,
                unit: Unit::Bytes
            }
        );
        assert_eq!(
            q("2MiB"),
            Quantity {
                value: 2_097_152.0,
                unit: Unit::Bytes
            }
        );
        assert_eq!(
            q("1%"),
            Quantity {
                value: 1.0,
                unit: Unit::Percent
            }
        );
        assert_eq!(
            q("90"),
            Quantity {
                value: 90.0,
                unit: Unit::None
            }
        );
        assert_eq!(
            q("1e3"),
            Quantity {
                value: 1000.0,
                unit: Unit::None
            }
        );
    }

    #[test]
    fn bad_quantities_say_why() {
        assert!(Quantity::parse("fast")
            .unwrap_err()
            .contains("does not start with a number"));
        assert!(Quantity::parse("200 furlongs")
            .unwrap_err()
            .contains("unknown unit `furlongs`"));
        assert!(Quantity::parse("").is_err());
        assert!(Quantity::parse("1.2.3ms")
            .unwrap_err()
            .contains("not a number"));
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[f64::MAX, f64::MAX]), Some(f64::MAX));
    }
}
