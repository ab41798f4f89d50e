//! Creep: a shift of the default branch's history that no single pull request showed. Ten merges
//! of +3 % each pass a 10 % slack one by one, and the history they are compared with moves with
//! them; together they are +34 %.
//!
//! # The test
//!
//! The series is a metric's history, oldest first, with the current run as its newest value, on
//! the analysis scale of [`super`] (logs; raw values when any value is ≤ 0; negated where higher is
//! better, so that worse is up). For every split `k` that leaves at least [`MIN_SEGMENT`] runs on
//! each side, the two segments are compared with the pooled two-sample t statistic
//! `t_k = (ȳ_after − ȳ_before) / (s_p·sqrt(1/k + 1/(n − k)))`, `s_p²` the pooled within-segment
//! variance (n − 2 df): the likelihood-ratio test for one shift in location of a normal sequence
//! at an unknown time (Hawkins, D. M. (1977) "Testing a sequence of observations for a shift in
//! location", JASA 72:180–186), whose maximum over the splits is the statistic. Its null
//! distribution is that of a maximum of correlated t's; perfgate bounds it with Bonferroni over
//! the splits, `p = min(1, (#splits)·P(T_{n−2} > max t_k))`, which Worsley showed to be close to
//! the exact level for series of this length (Worsley, K. J. (1979) "On the likelihood ratio test
//! for a shift in location of normal populations", JASA 74:365–367). Only splits whose shift is
//! worse than the creep slack (the segments' medians, in the values' own scale) compete: the
//! shift reported is the most significant one that matters.
//!
//! The test runs on every `check`, so a history of n runs is tested at each of the n merges it
//! spans: [`creep`] calls a shift only when `p ≤ α/(n·m)`, m the budget's metrics tested, so that
//! a flat history is flagged at most α of the time over a window of n merges, whatever the
//! budget's size (the union bound). A gradual drift is a shift too: the split lands where the
//! drift has moved the level by most, measured against the noise (`tests/simulation.rs` measures
//! both rates). Segments of at least [`MIN_SEGMENT`] runs make it a shift that lasted, not one
//! slow run: a single run is the regression test's business.

use super::t_sf;

/// Runs on each side of a split, at least: a level needs three runs to have a spread.
pub const MIN_SEGMENT: usize = 3;

/// The most significant worse shift of a series beyond the slack.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    /// The index of the first run of the shifted level.
    pub at: usize,
    /// The median of the runs before it, in the values' unit.
    pub before: f64,
    /// The median of the runs from it on (the newest included).
    pub after: f64,
    /// `(after − before) / |before|`; None when `before` is 0.
    pub change: Option<f64>,
    /// The Bonferroni-bounded one-sided p-value of the shift, over every split.
    pub p_value: f64,
}

/// The most significant shift of `values` (oldest first) worse than `slack` (0.10 = 10 %), called
/// at `alpha` for a family of `family` series each tested once per merge: None when there is no
/// such shift, or fewer than `2·MIN_SEGMENT` values.
pub fn creep(
    values: &[f64],
    lower_is_better: bool,
    alpha: f64,
    slack: f64,
    family: usize,
) -> Option<Shift> {
    let n = values.len();
    let shift = change_point(values, lower_is_better, slack)?;
    let level = alpha / (n * family.max(1)) as f64;
    (shift.p_value <= level).then_some(shift)
}

/// The most significant split of `values` whose worse change of medians exceeds `slack`, with its
/// Bonferroni-bounded p-value, whether or not it is significant. O(n log n): the segments'
/// medians, means and variances come from running accumulators, so a history of any length
/// the baseline file allows is cheap.
pub fn change_point(values: &[f64], lower_is_better: bool, slack: f64) -> Option<Shift> {
    let n = values.len();
    if n < 2 * MIN_SEGMENT || values.iter().any(|v| !v.is_finite()) {
        return None;
    }
    let log = values.iter().all(|v| *v > 0.0);
    let orient = if lower_is_better { 1.0 } else { -1.0 };
    let y: Vec<f64> = values
        .iter()
        .map(|v| orient * if log { v.ln() } else { *v })
        .collect();
    let reversed = |v: &[f64]| v.iter().rev().copied().collect::<Vec<f64>>();
    let (head_median, tail_median) = (running_medians(values), running_medians(&reversed(values)));
    let (head, tail) = (running_moments(&y), running_moments(&reversed(&y)));
    let df = (n - 2) as f64;
    // The largest t among the splits beyond the slack (p is decreasing in t at fixed df); a split
    // whose segments do not vary at all and differ is certain (t = ∞).
    let mut best: Option<(f64, usize)> = None;
    for at in MIN_SEGMENT..=n - MIN_SEGMENT {
        let (before, after) = (head_median[at - 1], tail_median[n - at - 1]);
        let change = (after - before) / before.abs();
        let worse = if lower_is_better { change } else { -change };
        if worse.is_nan() || worse <= slack {
            continue;
        }
        let ((m1, ss1), (m2, ss2)) = (head[at - 1], tail[n - at - 1]);
        let pooled = (ss1 + ss2) / df;
        let diff = m2 - m1;
        let t = if pooled > 0.0 {
            diff / (pooled * (1.0 / at as f64 + 1.0 / (n - at) as f64)).sqrt()
        } else if diff > 0.0 {
            f64::INFINITY
        } else {
            f64::NEG_INFINITY
        };
        if best.is_none_or(|(top, _)| t > top) {
            best = Some((t, at));
        }
    }
    let (t, at) = best?;
    let p = if t == f64::INFINITY { 0.0 } else { t_sf(t, df) };
    let (before, after) = (head_median[at - 1], tail_median[n - at - 1]);
    let change = (after - before) / before.abs();
    Some(Shift {
        at,
        before,
        after,
        change: change.is_finite().then_some(change),
        p_value: (p * (n - 2 * MIN_SEGMENT + 1) as f64).min(1.0),
    })
}

/// `out[i]` = the median of `values[..=i]`, by the two-heap running median.
fn running_medians(values: &[f64]) -> Vec<f64> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    /// A value ordered by `total_cmp`, which heaps need (values are finite: the caller checks).
    struct Value(f64);
    impl PartialEq for Value {
        fn eq(&self, other: &Self) -> bool {
            self.0.total_cmp(&other.0).is_eq()
        }
    }
    impl Eq for Value {}
    impl PartialOrd for Value {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for Value {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&other.0)
        }
    }
    let (mut low, mut high) = (BinaryHeap::new(), BinaryHeap::new());
    let mut out = Vec::with_capacity(values.len());
    for &v in values {
        if low.peek().is_none_or(|top: &Value| v <= top.0) {
            low.push(Value(v));
        } else {
            high.push(Reverse(Value(v)));
        }
        // `low` holds the lower half and, for an odd count, the middle value.
        if low.len() > high.len() + 1 {
            high.extend(low.pop().map(Reverse));
        } else if high.len() > low.len() {
            low.extend(high.pop().map(|Reverse(v)| v));
        }
        let mid = low.peek().map_or(0.0, |v| v.0);
        out.push(if low.len() == high.len() {
            high.peek().map_or(mid, |Reverse(v)| (mid + v.0) / 2.0)
        } else {
            mid
        });
    }
    out
}

/// `out[i]` = the mean and the sum of squared deviations of `y[..=i]`, by Welford's update, which
/// keeps a constant series' sum at exactly 0 (Welford, B. P. (1962) Technometrics 4:419–420).
fn running_moments(y: &[f64]) -> Vec<(f64, f64)> {
    let (mut mean, mut ss) = (0.0, 0.0);
    y.iter()
        .enumerate()
        .map(|(i, &v)| {
            let delta = v - mean;
            mean += delta / (i + 1) as f64;
            ss += delta * (v - mean);
            (mean, ss)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::median;

    /// 20 flat runs at 100 with a fixed ±2 % wobble, then `steps` runs each `step` above the last.
    fn series(steps: usize, step: f64) -> Vec<f64> {
        let wobble = [1.0, 1.02, 0.98, 1.01, 0.99];
        let mut v: Vec<f64> = (0..20).map(|i| 100.0 * wobble[i % 5]).collect();
        for j in 1..=steps {
            v.push(100.0 * (1.0 + step).powi(j as i32) * wobble[j % 5]);
        }
        v
    }

    #[test]
    fn a_drift_of_three_percent_a_merge_is_a_shift_once_it_passes_the_slack() {
        let s = creep(&series(10, 0.03), true, 0.05, 0.10, 1).expect("creep after 10 merges");
        assert!(s.at > 20 && s.at < 28, "{s:?}");
        assert!(s.change.unwrap() > 0.10 && s.p_value < 1e-6, "{s:?}");
        assert!((s.before - 100.0).abs() < 2.0, "{s:?}");
        assert_eq!(creep(&series(2, 0.03), true, 0.05, 0.10, 1), None);
    }

    #[test]
    fn a_flat_history_or_a_better_one_is_no_creep() {
        assert_eq!(creep(&series(0, 0.0), true, 0.05, 0.10, 1), None);
        assert_eq!(change_point(&series(10, -0.03), true, 0.10), None);
        // Higher is better: a score falling 3 % a merge is the creep, rising is not.
        assert!(creep(&series(10, -0.03), false, 0.05, 0.10, 1).is_some());
        assert_eq!(change_point(&series(10, 0.03), false, 0.10), None);
    }

    #[test]
    fn a_shift_within_the_slack_is_not_creep_however_certain() {
        let mut sizes = vec![135_000.0; 20];
        sizes.extend([140_000.0; 5]);
        assert_eq!(change_point(&sizes, true, 0.10), None);
        sizes.extend([150_000.0; 5]);
        let s = creep(&sizes, true, 0.05, 0.10, 1).expect("a deterministic step past 10 %");
        assert_eq!((s.at, s.before, s.after), (25, 135_000.0, 150_000.0));
        assert!(s.p_value < 1e-9, "{s:?}");
    }

    #[test]
    fn short_or_broken_series_are_none() {
        assert_eq!(change_point(&[1.0, 2.0, 3.0, 4.0, 5.0], true, 0.1), None);
        assert_eq!(
            change_point(&[1.0, 1.0, 1.0, f64::NAN, 9.0, 9.0], true, 0.1),
            None
        );
        // Zero and negative values are compared raw; from a median of 0 the change has no ratio.
        let s = change_point(&[0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0], true, 0.1).unwrap();
        assert_eq!((s.at, s.change, s.p_value), (4, None, 0.0));
    }

    #[test]
    fn the_more_metrics_and_runs_the_stricter_the_call() {
        let v = series(5, 0.03);
        let s = change_point(&v, true, 0.10).expect("a candidate shift");
        let level = |m: usize| 0.05 / (v.len() * m) as f64;
        assert_eq!(
            creep(&v, true, 0.05, 0.10, 1).is_some(),
            s.p_value <= level(1)
        );
        assert_eq!(
            creep(&v, true, 0.05, 0.10, 8).is_some(),
            s.p_value <= level(8)
        );
    }

    #[test]
    fn the_running_medians_and_moments_are_those_of_each_prefix() {
        let v = [5.0, 1.0, 4.0, 4.0, 9.0, -2.0, 7.0, 3.0, 3.0, 8.0];
        let medians = running_medians(&v);
        let moments = running_moments(&v);
        for i in 0..v.len() {
            assert_eq!(Some(medians[i]), median(&v[..=i]), "{i}");
            let (mean, var) = super::super::mean_var(&v[..=i]);
            assert!((moments[i].0 - mean).abs() < 1e-12, "{i}");
            assert!((moments[i].1 - var * i as f64).abs() < 1e-9, "{i}");
        }
        assert_eq!(
            running_moments(&[11.8; 4])[3],
            (11.8, 0.0),
            "a constant series has none"
        );
    }
}
