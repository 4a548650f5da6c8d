//! `usage::UsageCore` on arbitrary bytes and arbitrary chunkings, for every provider setting.
//!
//! Input layout: byte 0 picks the size bound (a small one exercises the oversized-event and
//! oversized-body paths), bytes 1..3 seed the chunking, the rest is the body.
//!
//! Checked, per provider: no panic; the record from chunked feeding (and from byte-at-a-time
//! feeding) equals the one-shot record (their Debug text, so every field counts); no token count
//! is above `json::MAX_COUNT`; a record whose status is `error` or `not_sse` says why.

#![no_main]

#[path = "chunking.rs"]
mod chunking;
use chunking::chunks;

use libfuzzer_sys::fuzz_target;
use sseusage_fast::MAX_COUNT;
use sseusage_fast::{RawRecord, Status};
use sseusage_fast::{parse_usage, Provider, UsageCore, DEFAULT_MAX_EVENT_BYTES};

const PROVIDERS: [Provider; 8] = [
    Provider::Auto,
    Provider::Anthropic,
    Provider::OpenAiChat,
    Provider::OpenAiResponses,
    Provider::Gemini,
    Provider::Bedrock,
    Provider::Cohere,
    Provider::Ollama,
];

fn fed<'a>(provider: Provider, max: usize, pieces: impl Iterator<Item = &'a [u8]>) -> RawRecord {
    let mut core = UsageCore::new(provider, max);
    for piece in pieces {
        core.feed(piece);
    }
    core.finish()
}

fn check_sane(record: &RawRecord) {
    let t = &record.tokens;
    for (name, value) in [
        ("input", t.input),
        ("cache_creation", t.cache_creation),
        ("cache_creation_5m", t.cache_creation_5m),
        ("cache_creation_1h", t.cache_creation_1h),
        ("cache_read", t.cache_read),
        ("output", t.output),
        ("reasoning", t.reasoning),
        ("web_search", t.web_search),
        ("web_fetch", t.web_fetch),
    ] {
        if let Some(v) = value {
            assert!(v <= MAX_COUNT, "{name} = {v} is above MAX_COUNT");
        }
    }
    if matches!(record.status, Status::Error | Status::NotSse) {
        assert!(
            record.error_message.is_some(),
            "status {:?} without an error_message",
            record.status
        );
    }
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let max = if input[0] & 0x80 == 0 {
        usize::from(input[0] & 0x7f) + 1
    } else {
        DEFAULT_MAX_EVENT_BYTES
    };
    let seed = u16::from_le_bytes([input[1], input[2]]);
    let body = &input[3..];
    for provider in PROVIDERS {
        let whole = parse_usage(body, provider, max);
        check_sane(&whole);
        let expected = format!("{whole:?}");
        let split = fed(provider, max, chunks(body, seed).into_iter());
        assert_eq!(
            expected,
            format!("{split:?}"),
            "{provider:?}: chunked != one-shot"
        );
        let bytewise = fed(provider, max, body.chunks(1));
        assert_eq!(
            expected,
            format!("{bytewise:?}"),
            "{provider:?}: byte-at-a-time != one-shot"
        );
    }
});
