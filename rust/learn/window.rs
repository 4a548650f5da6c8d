//! The last `size` values of one (model, kind), in arrival order and sorted: the pure twin's
//! `learned._Window`, step for step (the same bisections, so equal values, `-0.0` and `0.0`
//! among them, sit where Python puts them and the same one is dropped).

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub(crate) struct Window {
    size: usize,
    recent: VecDeque<f64>,
    ordered: Vec<f64>,
    /// A NaN was put in: the bisections no longer follow a total order, so `add` takes
    /// Python's two steps as they are.
    nan: bool,
}

/// `bisect.bisect_left`: the first place where `x` could go, by `<` alone.
fn bisect_left(a: &[f64], x: f64) -> usize {
    let (mut lo, mut hi) = (0, a.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if a[mid] < x {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// `bisect.bisect_right` (what `insort` uses).
fn bisect_right(a: &[f64], x: f64) -> usize {
    let (mut lo, mut hi) = (0, a.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if x < a[mid] {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

impl Window {
    /// `bisect_left` of `x` in the order. Without a NaN in the window, `<` orders it totally,
    /// so every halving finds the same place as Python's: the one without branches; with one,
    /// Python's own steps.
    fn left(&self, x: f64) -> usize {
        if self.nan {
            return bisect_left(&self.ordered, x);
        }
        self.ordered.partition_point(|&v| v < x)
    }

    /// `bisect_right` of `x` in the order, as `left` finds it.
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // `not x < v`, as Python's bisect tests it
    fn right(&self, x: f64) -> usize {
        if self.nan {
            return bisect_right(&self.ordered, x);
        }
        self.ordered.partition_point(|&v| !(x < v))
    }

    /// `_Window(size, values)`: the last `size` of `values`, and them sorted (stably, as
    /// Python's `sorted`).
    pub(crate) fn new(size: usize, values: &[f64]) -> Self {
        let size = size.max(1);
        let recent: VecDeque<f64> = values[values.len().saturating_sub(size)..]
            .iter()
            .copied()
            .collect();
        let mut ordered: Vec<f64> = recent.iter().copied().collect();
        ordered.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
        Window {
            size,
            nan: values.iter().any(|v| v.is_nan()),
            recent,
            ordered,
        }
    }

    /// `_Window.add`: the oldest value out of both orders when full, `value` in.
    pub(crate) fn add(&mut self, value: f64) {
        self.nan |= value.is_nan();
        if self.recent.len() == self.size {
            if let Some(oldest) = self.recent.pop_front() {
                let from = self.left(oldest);
                if from < self.ordered.len() {
                    self.recent.push_back(value);
                    if !self.nan {
                        return self.replace(from, value);
                    }
                    self.ordered.remove(from);
                    let to = self.right(value);
                    return self.ordered.insert(to, value);
                }
            }
        }
        self.recent.push_back(value);
        let to = self.right(value);
        self.ordered.insert(to, value);
    }

    /// The value at `from` out of the order and `value` in, as `remove` and then `insort`
    /// would: the values between the two places move once, by one.
    fn replace(&mut self, from: usize, value: f64) {
        // Where `insort` puts `value` once the value at `from` is out: in a total order, one
        // place less when that value was before it.
        let to = self.right(value);
        if from < to {
            self.ordered.copy_within(from + 1..to, from);
            self.ordered[to - 1] = value;
        } else {
            self.ordered.copy_within(to..from, to + 1);
            self.ordered[to] = value;
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.recent.len()
    }

    #[cfg(test)]
    pub(crate) fn ordered(&self) -> &[f64] {
        &self.ordered
    }

    /// `median_with_prior` of the window: its median with `prior` counted as `weight` values
    /// more (`_Window.median` without); None for no values at all.
    pub(crate) fn median(&self, prior: f64, weight: usize) -> Option<f64> {
        fn middle(o: &[f64]) -> Option<f64> {
            let mid = o.len() / 2;
            match o.len() {
                0 => None,
                n if n % 2 == 1 => Some(o[mid]),
                _ => Some((o[mid - 1] + o[mid]) / 2.0),
            }
        }
        if weight == 0 {
            return middle(&self.ordered);
        }
        let mut ordered = self.ordered.clone();
        for _ in 0..weight {
            ordered.insert(bisect_right(&ordered, prior), prior);
        }
        middle(&ordered)
    }

    /// `Estimator.spread`'s picks: the values at 5% and 95% of the sorted window.
    pub(crate) fn spread(&self) -> Option<(f64, f64)> {
        let last = self.ordered.len().checked_sub(1)?;
        // int(0.05 * last): the product is not negative, so truncation is Python's int().
        let at = (0.05 * last as f64) as usize;
        Some((self.ordered[at], self.ordered[last - at]))
    }

    pub(crate) fn recent(&self) -> impl Iterator<Item = f64> + '_ {
        self.recent.iter().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::Window;

    #[test]
    fn keeps_the_last_values_sorted() {
        let mut w = Window::new(3, &[5.0, 1.0]);
        for v in [4.0, 2.0, 2.0, 9.0] {
            w.add(v);
        }
        assert_eq!(w.recent().collect::<Vec<_>>(), vec![2.0, 2.0, 9.0]);
        assert_eq!(w.ordered(), &[2.0, 2.0, 9.0]);
        assert_eq!(w.median(0.0, 0), Some(2.0));
        assert_eq!(w.median(9.0, 2), Some(9.0)); // 2, 2, 9, 9, 9
        assert_eq!(w.spread(), Some((2.0, 9.0)));
        // Replacing in place gives what removing and inserting give, ties and -0.0 included.
        let values = [
            3.0, -0.0, 0.0, 1.0, 3.0, 0.0, 2.0, 5.0, -1.0, 3.0, 0.0, -0.0, 4.0, 1.0,
        ];
        for size in 1..6 {
            let (mut w, mut nan) = (Window::new(size, &[]), Window::new(size, &[f64::NAN]));
            // The slow path on the same values: the flag stays once set.
            nan.ordered.clear();
            nan.recent.clear();
            for &v in &values {
                w.add(v);
                nan.add(v);
                let bits = |w: &Window| w.ordered.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&w), bits(&nan));
            }
        }
        let w = Window::new(2, &[3.0, 1.0, 2.0]);
        assert_eq!(w.ordered(), &[1.0, 2.0]);
        assert_eq!(w.median(0.0, 0), Some(1.5));
    }

    #[test]
    fn halving_without_branches_finds_pythons_places() {
        // A window of the estimator's size over many values with ties and both zeros: the
        // same order, bit for bit, as Python's bisections (the NaN path) give.
        let (mut w, mut slow) = (Window::new(64, &[]), Window::new(64, &[f64::NAN]));
        slow.ordered.clear();
        slow.recent.clear();
        let mut state = 7u64;
        for _ in 0..2000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = match state >> 61 {
                0 => -0.0,
                1 => 0.0,
                n => ((state >> 40) % 17) as f64 / 4.0 - f64::from(n as u8),
            };
            w.add(v);
            slow.add(v);
            let bits = |w: &Window| w.ordered.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&w), bits(&slow));
        }
    }
}
