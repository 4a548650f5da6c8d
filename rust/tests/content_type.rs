//! The response's content type as a framing hint: where the first bytes leave the choice open
//! it decides; where they decide, they win.

use super::support::show;
use crate::meter::{Hint, UsageCore, DEFAULT_MAX_EVENT_BYTES};
use crate::providers::facts::Provider;
use crate::record::{Framing, RawRecord, Status};

fn read(body: &[u8], provider: Provider, content_type: Option<&str>) -> RawRecord {
    let whole = {
        let mut core =
            UsageCore::new(provider, DEFAULT_MAX_EVENT_BYTES).with_content_type(content_type);
        core.feed(body);
        core.finish()
    };
    let mut core =
        UsageCore::new(provider, DEFAULT_MAX_EVENT_BYTES).with_content_type(content_type);
    for byte in body.chunks(1) {
        core.feed(byte);
    }
    let bytes = core.finish();
    assert_eq!(show(&bytes), show(&whole), "byte by byte");
    whole
}

#[test]
fn media_types() {
    for (value, hint) in [
        ("text/event-stream", Hint::Sse),
        (" Text/Event-Stream ; charset=utf-8", Hint::Sse),
        ("application/x-ndjson", Hint::Ndjson),
        ("application/jsonl", Hint::Ndjson),
        ("application/vnd.amazon.eventstream", Hint::AwsEventStream),
        ("application/json; charset=utf-8", Hint::Json),
        ("application/problem+json", Hint::Json),
        ("text/plain", Hint::None),
        ("", Hint::None),
        ("text/event-stream\u{212a}", Hint::None),
    ] {
        assert_eq!(Hint::from_content_type(value), hint, "{value:?}");
    }
}

const LINES: &[u8] = b"{\"model\":\"llama3.2\",\"created_at\":\"2026-01-01T00:00:00Z\",\
\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\",\
\"prompt_eval_count\":26,\"eval_count\":290}\n";

#[test]
fn ndjson_label_reads_lines_from_the_first() {
    let body = [
        b"{\"model\": \"llama3.2\", \"cut\n".as_slice(),
        LINES,
        LINES,
    ]
    .concat();
    let r = read(&body, Provider::Auto, Some("application/x-ndjson"));
    assert_eq!(r.status, Status::Complete, "{}", show(&r));
    assert_eq!(r.framing, Some(Framing::Ndjson));
    assert_eq!((r.tokens.input, r.tokens.output), (Some(26), Some(290)));
    let bare = read(&body, Provider::Auto, None);
    assert_eq!(bare.status, Status::NotSse);
}

#[test]
fn decisive_bytes_win() {
    let page = b"<html>502</html>";
    for label in [
        "application/json",
        "text/event-stream",
        "application/x-ndjson",
    ] {
        let r = read(page, Provider::Auto, Some(label));
        assert_eq!(r.status, Status::NotSse, "{label}");
    }
}
