//! `CoreBox`: a parser's core on the heap, as a `Box` holds it, whose allocation is kept for
//! the next parser when the core is dropped (one spare for the process). The core is 1.6 KiB,
//! past the allocator's per-thread cache: getting and freeing it took the allocator's slow
//! path once per stream, a tenth of what making and finishing a short stream cost.

use std::mem::MaybeUninit;
use std::ops::{Deref, DerefMut};
use std::ptr::{null_mut, NonNull};
use std::sync::atomic::{AtomicPtr, Ordering};

use crate::meter::UsageCore;

/// The allocation of a dropped core, ready for the next (null when there is none).
static SPARE: AtomicPtr<MaybeUninit<UsageCore>> = AtomicPtr::new(null_mut());

pub(super) struct CoreBox(NonNull<UsageCore>);

// SAFETY: a `CoreBox` owns its core as `Box<UsageCore>` does; the spare is taken and given
// back with atomic swaps, so no two cores ever share an allocation.
unsafe impl Send for CoreBox {}
// SAFETY: as `Box<UsageCore>`: shared access gives `&UsageCore` only.
unsafe impl Sync for CoreBox {}

impl CoreBox {
    /// The core `make` makes, in the spare allocation if there is one. Made once the place is
    /// known, so that it can be written there rather than copied.
    #[inline(always)]
    pub(super) fn new(make: impl FnOnce() -> UsageCore) -> Self {
        let spare = SPARE.swap(null_mut(), Ordering::Acquire);
        let place = match NonNull::new(spare) {
            Some(place) => place,
            None => NonNull::from(Box::leak(Box::new(MaybeUninit::uninit()))),
        };
        // SAFETY: `place` is an allocation for a core that no one else holds (taken from the
        // spare or just made) and holds no core now: writing one there drops nothing. (A panic
        // in `make` leaks the allocation, as it leaves no spare.)
        unsafe { place.as_ptr().write(MaybeUninit::new(make())) };
        CoreBox(place.cast())
    }
}

impl Drop for CoreBox {
    fn drop(&mut self) {
        let core = self.0.as_ptr();
        // SAFETY: the core is alive and this box its only owner; after this, the allocation
        // holds no core.
        unsafe { core.drop_in_place() };
        let place = core.cast::<MaybeUninit<UsageCore>>();
        let kept = SPARE.compare_exchange(null_mut(), place, Ordering::Release, Ordering::Relaxed);
        if kept.is_err() {
            // SAFETY: made by `Box::new` of a `MaybeUninit<UsageCore>` (here or by a box
            // whose spare this was), given back as that box.
            drop(unsafe { Box::from_raw(place) });
        }
    }
}

impl Deref for CoreBox {
    type Target = UsageCore;

    fn deref(&self) -> &UsageCore {
        // SAFETY: the core is alive while the box is.
        unsafe { self.0.as_ref() }
    }
}

impl DerefMut for CoreBox {
    fn deref_mut(&mut self) -> &mut UsageCore {
        // SAFETY: as in `deref`; `&mut self` is the only access.
        unsafe { self.0.as_mut() }
    }
}
