//! An event over the size bound that the stream ends inside says `event_too_large`, as the
//! same event finished by its blank line does; memory stays bounded while it grows.

use super::support::{mark, peak_since, show, stable_with};
use crate::meter::UsageCore;
use crate::providers::facts::Provider;
use crate::record::Status;

const MAX: usize = 1000;
const START: &[u8] = b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":\
{\"id\":\"m\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":11,\"output_tokens\":1}}}\n\n";

fn cut_and_finished(tail: &[u8]) {
    let cut = stable_with(Provider::Auto, MAX, &[START, tail].concat());
    let finished = stable_with(Provider::Auto, MAX, &[START, tail, b"\n\n"].concat());
    assert_eq!(cut.status, Status::Error, "{}", show(&cut));
    assert_eq!(cut.error_type.as_deref(), Some("event_too_large"));
    assert_eq!(cut.error_message, finished.error_message);
    assert_eq!(cut.status, finished.status);
    assert_eq!(cut.tokens.input, Some(11));
}

#[test]
fn sse_event_cut_after_the_bound() {
    let big = vec![b'x'; 3 * MAX];
    // A data line ended, one still open, one between the event and the line bound, many lines.
    cut_and_finished(&[b"data: ".as_slice(), &big, b"\n"].concat());
    cut_and_finished(&[b"data: ".as_slice(), &big].concat());
    cut_and_finished(&[b"data: ".as_slice(), &vec![b'y'; MAX + 10]].concat());
    cut_and_finished(&b"data: 0123456789\n".repeat(200));
}

#[test]
fn sse_event_cut_under_the_bound_is_partial() {
    let cut = stable_with(Provider::Auto, MAX, &[START, b"data: zzz"].concat());
    assert_eq!((cut.status, cut.error_type), (Status::Partial, None));
}

#[test]
fn sse_event_cut_after_the_bound_keeps_memory_bounded() {
    const BOUND: usize = 64 << 10;
    let mut core = UsageCore::new(Provider::Anthropic, BOUND);
    core.feed(START);
    let start = mark();
    core.feed(b"event: content_block_delta\ndata: ");
    let chunk = [b'z'; 4096];
    for _ in 0..(8 << 20) / chunk.len() {
        core.feed(&chunk);
    }
    let r = core.finish();
    let peak = peak_since(start);
    assert!(
        peak < 4 * BOUND as isize,
        "peak {peak} bytes for a {BOUND}-byte bound"
    );
    assert_eq!(r.error_type.as_deref(), Some("event_too_large"));
}
