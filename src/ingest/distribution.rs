//! The bounded-memory distribution every streamed sample flows into, and the fast map the stream
//! readers key their series by.
//!
//! The one rule: a series costs a fixed-size histogram however many samples it has, so a 5 GB
//! stream costs the memory of a 5 MB one.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use hdrhistogram::Histogram;

use crate::model::{Measurement, Metrics, Unit};

/// A map keyed by the short strings of a stream (metric names, tag values, labels), looked up
/// once or more per sample: FNV-1a hashes them several times faster than the default SipHash,
/// and the keys come from the user's own files, not from an adversary.
pub(crate) type FastMap<V, K = String> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// The 64-bit FNV-1a hash.
#[derive(Debug)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The samples of one series: an HDR histogram of integer millionths of the unit (nanoseconds
/// for milliseconds, 3 significant figures), plus the exact count, sum, minimum and maximum.
#[derive(Debug, Clone)]
pub(crate) struct Distribution {
    histogram: Histogram<u64>,
    sum: f64,
    min: f64,
    max: f64,
}

/// The histogram holds values in [`super::HISTOGRAM_SCALE`]ths of the metric's unit.
const SCALE: f64 = super::HISTOGRAM_SCALE as f64;

impl Distribution {
    pub(crate) fn new() -> Distribution {
        Distribution {
            // 3 significant figures: buckets of at most 1/1024 of their values, and values below
            // 2048 (2.048 µs) in buckets of one each. With the rounding to a whole nanosecond, a
            // percentile is within 0.1 % of its sample from 1 µs up (HdrHistogram's precision,
            // Gil Tene's HdrHistogram documentation).
            histogram: Histogram::new(3).expect("3 significant figures is a valid histogram"),
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    /// Records one sample; an error (for the caller to place) when it is not a finite,
    /// non-negative number the histogram can hold.
    pub(crate) fn record(&mut self, value: f64) -> std::result::Result<(), String> {
        if !value.is_finite() || value < 0.0 {
            return Err(format!(
                "{value} is not a finite, non-negative sample value"
            ));
        }
        let scaled = (value * SCALE).round();
        if scaled >= (u64::MAX >> 2) as f64 {
            return Err(format!("{value} is too large a sample value"));
        }
        self.histogram
            .record(scaled as u64)
            .map_err(|e| format!("{value} cannot be recorded: {e:?}"))?;
        self.sum += value;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        Ok(())
    }

    /// Adds the samples of another distribution of the same series (a shard of the same run).
    pub(crate) fn merge(&mut self, other: &Distribution) -> std::result::Result<(), String> {
        self.histogram
            .add(&other.histogram)
            .map_err(|e| format!("the histograms do not add up: {e:?}"))?;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        Ok(())
    }

    pub(crate) fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// The value at a quantile (0..1), nearest rank: the upper end of that sample's histogram
    /// bucket (at most half a nanosecond below the sample, less than 0.1 % above it), never
    /// above the recorded maximum.
    pub(crate) fn quantile(&self, q: f64) -> f64 {
        let v = self.histogram.value_at_quantile(q) as f64 / SCALE;
        v.clamp(self.min, self.max)
    }

    /// The histogram, for baselines: integer millionths of the unit.
    pub(crate) fn into_histogram(self) -> Histogram<u64> {
        self.histogram
    }

    /// Adds `<prefix>.p50/.p90/.p95/.p99/.<mean>/.min/.max` in `unit` and `<prefix>.count`;
    /// nothing for a series without samples.
    pub(crate) fn emit(&self, prefix: &str, mean: &str, unit: Unit, metrics: &mut Metrics) {
        let n = self.count();
        if n == 0 {
            return;
        }
        let mut put = |stat: &str, value: f64| {
            metrics.insert(format!("{prefix}.{stat}"), Measurement::new(value, unit));
        };
        for (stat, q) in [("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)] {
            put(stat, self.quantile(q));
        }
        put(mean, self.sum / n as f64);
        put("min", self.min);
        put("max", self.max);
        metrics.insert(format!("{prefix}.count"), Measurement::count(n as f64));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_distribution_keeps_exact_extremes_and_precise_percentiles() {
        let mut d = Distribution::new();
        for v in 1..=1000 {
            d.record(v as f64 * 1.5).expect("record");
        }
        assert_eq!(d.count(), 1000);
        assert!((d.quantile(0.95) - 1425.0).abs() / 1425.0 < 0.001);
        assert_eq!(d.quantile(1.0), 1500.0);
        assert!(d.record(-1.0).is_err());
        assert!(d.record(f64::NAN).is_err());
    }
}
