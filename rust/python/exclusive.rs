//! `Exclusive`: a value in a frozen Python object that one call at a time may change, guarded
//! by a flag that costs a plain load and store where the GIL serialises calls, instead of the
//! locked compare-and-swap of PyO3's borrow flag (a sixth of a one-event `feed` call).
//!
//! Soundness: `with` takes a `Python` token, so the caller's thread is attached. On a GIL build
//! that means holding the GIL, which no other thread holds at once: the flag's load and store
//! cannot interleave with another thread's, and a second entry while the value is in use (the
//! same thread reentering through Python code that `f` runs, or another thread while `f` let
//! the GIL go) finds the flag set and gets "Already borrowed", as PyO3's guard gives. On a
//! free-threaded build (told once, when the module is made; until then assumed) the flag is
//! taken with a compare-and-swap.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

/// The interpreter may run threads without the GIL: the flag is taken with a compare-and-swap.
static FREE_THREADED: AtomicBool = AtomicBool::new(true);

/// Tells whether the interpreter is a free-threaded build (`Py_GIL_DISABLED`), once.
pub(super) fn init(py: Python<'_>) -> PyResult<()> {
    let sysconfig = py.import("sysconfig")?;
    let disabled = sysconfig.call_method1("get_config_var", ("Py_GIL_DISABLED",))?;
    let free = !disabled.is_none() && disabled.is_truthy()?;
    FREE_THREADED.store(free, Ordering::Relaxed);
    Ok(())
}

pub(super) struct Exclusive<T> {
    busy: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through `with`, which lets one call at a time in (see the
// module's comment); `T: Send` because that call may be on any thread.
unsafe impl<T: Send> Sync for Exclusive<T> {}

/// Clears the flag when the call is over, also when it panics.
struct Leave<'a>(&'a AtomicBool);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl<T> Exclusive<T> {
    pub(super) fn new(value: T) -> Self {
        Exclusive {
            busy: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    fn enter(&self) -> bool {
        if FREE_THREADED.load(Ordering::Relaxed) {
            return self
                .busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok();
        }
        // Under the GIL (see above): no other thread runs between this load and store.
        if self.busy.load(Ordering::Relaxed) {
            return false;
        }
        self.busy.store(true, Ordering::Relaxed);
        true
    }

    /// Runs `f` on the value, `None` when a call is using it (then `with` says so): the
    /// per-read call's path, with no `PyResult` to build.
    #[inline(always)]
    pub(super) fn try_with<R>(&self, _py: Python<'_>, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        if !self.enter() {
            return None;
        }
        let _leave = Leave(&self.busy);
        // SAFETY: as in `with`.
        Some(f(unsafe { &mut *self.value.get() }))
    }

    /// Runs `f` on the value, or says "Already borrowed" when a call is using it.
    pub(super) fn with<R>(&self, _py: Python<'_>, f: impl FnOnce(&mut T) -> R) -> PyResult<R> {
        if !self.enter() {
            return Err(PyRuntimeError::new_err("Already borrowed"));
        }
        let _leave = Leave(&self.busy);
        // SAFETY: the flag was taken above and is held until `_leave` drops: no other
        // reference to the value exists meanwhile.
        Ok(f(unsafe { &mut *self.value.get() }))
    }
}
