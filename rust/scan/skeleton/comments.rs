//! Comment lines between the events of a run (`scan::skeleton::text_run`): a keep-alive
//! every few events, which the SSE spec ignores, need not end the run.

use crate::simd::{bytes, Vector};

/// Past the comment lines at `b[pos..]` (none or more), each taken as the framer takes a
/// comment line at an event's start (`comment_line` in `sse::events`): a colon first, its
/// line end (LF, CR or CRLF) in `b` and not a CR that ends `b` (an LF may follow it), the
/// line without its end shorter than `max_event_bytes`. `V`'s instructions must be
/// available.
#[inline(always)]
pub(super) unsafe fn comments_end<V: Vector>(
    b: &[u8],
    mut pos: usize,
    max_event_bytes: usize,
) -> usize {
    while b.get(pos) == Some(&b':') {
        // SAFETY: the caller's contract.
        let Some(end) = (unsafe { line_break::<V>(b, pos + 1) }) else {
            break;
        };
        if end - pos >= max_event_bytes {
            break;
        }
        pos = match (b[end], b.get(end + 1)) {
            (b'\n', _) => end + 1,
            (_, Some(b'\n')) => end + 2,
            (_, Some(_)) => end + 1,
            (_, None) => break,
        };
    }
    pos
}

/// The first LF or CR of `b[pos..]`, as an index of `b`; `pos <= b.len()`. `V`'s
/// instructions must be available.
#[inline(always)]
unsafe fn line_break<V: Vector>(b: &[u8], pos: usize) -> Option<usize> {
    // SAFETY: the caller's contract (register operations).
    let stops = |x: V| unsafe {
        x.cmpeq(V::splat(b'\n'))
            .or(x.cmpeq(V::splat(b'\r')))
            .movemask()
    };
    // SAFETY: the caller's contract; `pos <= b.len()`.
    unsafe { bytes::first_stop_from::<V>(b, pos, stops, |c| matches!(c, b'\n' | b'\r')) }
}
