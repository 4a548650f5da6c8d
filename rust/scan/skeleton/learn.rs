//! Learning an event's layout straight from the event: checked, then compared with the kept
//! skeletons in place (a kept layout's holes opened where the event holds other values, no
//! skeleton built to be dropped), else built once with its padding open, and kept.

use super::{always, kept_len, Skeleton, Skeletons};
use crate::scan::holes::Hole;

impl<E: PartialEq> Skeleton<E> {
    /// Whether `event` with `holes` (checked by [`holes_read`]) and `effect` is this layout
    /// but for the values in its holes: [`Skeleton::same_shape`] against the event itself.
    fn same_layout(&self, event: &[u8], holes: &[(usize, usize, Hole)], effect: &E) -> bool {
        let n = holes.len();
        if self.n_holes != n || (0..n).any(|i| self.holes[i].2 != holes[i].2) {
            return false;
        }
        let mut at = 0;
        for (i, &(start, end, _)) in holes.iter().enumerate() {
            if self.gap(i) != &event[at..start] {
                return false;
            }
            at = end;
        }
        self.gap(n) == &event[at..] && self.effect == *effect
    }

    /// Opens the holes where `event` (of this layout, see [`Skeleton::same_layout`]) holds
    /// another value: [`Skeleton::widen`] against the event itself (an always-hole is open
    /// already).
    fn widen_to(&mut self, event: &[u8], holes: &[(usize, usize, Hole)]) {
        let mut open = self.open;
        for (i, &(start, end, hole)) in holes.iter().enumerate() {
            if !always(hole) && self.value(i) != &event[start..end] {
                open |= 1 << i;
            }
        }
        if open != self.open {
            self.compile(open);
        }
    }
}

impl<E: PartialEq> Skeletons<E> {
    /// Learns `event`'s layout, with `holes` (sorted, not overlapping, within `event`) and
    /// what it says (`effect`): what [`Skeleton::learn`] then [`Skeletons::learn`] do, without
    /// building a skeleton for a kept layout, nor compiling a padded one twice. Whether it
    /// was learned (kept, or a kept one widened).
    pub fn learn_event(&mut self, event: &[u8], holes: &[(usize, usize, Hole)], effect: E) -> bool {
        let Some(kept) = kept_len(event, holes) else {
            return false;
        };
        let same = self
            .items
            .iter_mut()
            .find(|s| s.same_layout(event, holes, &effect));
        if let Some(kept) = same {
            kept.widen_to(event, holes);
            return true;
        }
        // Padding where it was learned: a hole at once. Where a stream pads an event, it pads
        // events of its layout by another width each time (or not at all), and the next one
        // would miss a literal there: read and learned again, thousands of instructions.
        let mut open = 0;
        if holes.iter().any(|h| h.2 == Hole::Blanks && h.0 < h.1) {
            for (i, h) in holes.iter().enumerate() {
                if h.2 == Hole::Blanks {
                    open |= 1 << i;
                }
            }
        }
        let skeleton = Skeleton::build(event, holes, kept, effect, open);
        self.keep(skeleton);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::skeleton::{MAX_SKELETON, SKELETONS};

    /// A small pseudo-random generator (the same sequence every run).
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    /// An event of one of a few layouts, its holes and its effect: values that change or
    /// not, padding of any width, `id` values, bad values (that the check refuses), a long
    /// skipped string (over the bound kept), more holes than a skeleton keeps.
    fn event(rng: &mut Lcg) -> (Vec<u8>, Vec<(usize, usize, Hole)>, u8) {
        let pick = |rng: &mut Lcg, good: &[&'static str], bad: &'static str| match rng.below(12) {
            0 => bad,
            _ => good[rng.below(good.len())],
        };
        let key = ["a", "b", "c", "dd", "e", "f", "g", "h", "i", "j", "k"][rng.below(11)];
        let bad = ["012", "1e2"][rng.below(2)];
        let num = pick(rng, &["0", "1", "7", "12"], bad);
        let kind = pick(rng, &["x\"", "y\"", "x\\u00e9\""], "x\u{1}\"");
        let text = pick(rng, &["Hi\"", "a \\\"b\\\"\""], "\\ud800\"");
        let (mut event, mut holes) = (Vec::new(), Vec::new());
        let mut part = |text: &str, hole: Option<Hole>| {
            let start = event.len();
            event.extend_from_slice(text.as_bytes());
            if let Some(hole) = hole {
                holes.push((start, event.len(), hole));
            }
        };
        if rng.below(3) == 0 {
            part("id: ", None);
            part(["7", "8", "abc"][rng.below(3)], Some(Hole::Id));
            part("\n", None);
        }
        part(&format!("data: {{\"{key}\":"), None);
        part(num, Some(Hole::Num));
        part(",\"t\":\"", None);
        part(kind, Some(Hole::Str));
        if rng.below(16) == 0 {
            part(",\"long\":\"", None);
            part(&format!("{}\"", "z".repeat(MAX_SKELETON)), Some(Hole::Str));
        }
        for _ in 0..[0, 0, 0, 0, 0, 0, 0, 13][rng.below(8)] {
            part(",\"n\":", None);
            part("1", Some(Hole::Num));
        }
        part(",\"text\":\"", None);
        part(text, Some(Hole::Count));
        part(["", " ", "   "][rng.below(3)], Some(Hole::Blanks));
        part("}\n\n", None);
        (event, holes, rng.below(2) as u8)
    }

    /// What `learn_event` keeps is what the skeleton of the event, learned, would make the
    /// kept ones: the same skeletons, the same holes open, the same order of use.
    #[test]
    fn learning_from_the_event_is_learning_its_skeleton() {
        let mut rng = Lcg(7);
        // Refused, widened, kept, kept in place of another.
        let mut seen = [0; 4];
        for _ in 0..300 {
            let (mut built, mut direct) = (Skeletons::default(), Skeletons::default());
            for _ in 0..rng.below(40) {
                let (event, holes, effect) = event(&mut rng);
                let skeleton = Skeleton::learn(&event, &holes, effect);
                let learned = skeleton.is_some();
                let (clock, full) = (built.clock, built.len() == SKELETONS);
                if let Some(skeleton) = skeleton {
                    built.learn(skeleton);
                }
                assert_eq!(direct.learn_event(&event, &holes, effect), learned);
                assert_eq!(format!("{direct:?}"), format!("{built:?}"));
                let kept = built.clock != clock;
                seen[usize::from(learned) + usize::from(kept) + usize::from(kept && full)] += 1;
            }
        }
        assert!(seen.iter().all(|&n| n > 20), "{seen:?}");
    }
}
