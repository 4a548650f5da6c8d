//! Usage extraction through `UsageCore`, without Python: exact figures per provider, statuses,
//! hostile input, bounded memory, and chunking invariance (every fixture gives the same record
//! fed whole, split in two at every byte, one byte at a time, and in random pieces).

use super::support::{feed_chunks, mark, peak_since, show, stable, stable_with};
use crate::meter::{parse_usage, UsageCore, DEFAULT_MAX_EVENT_BYTES};
use crate::providers::facts::Provider;
use crate::record::{BodyKind, RawRecord, Status, Tokens};

/// `stable` with the named provider and with `Auto`: both must read the same figures.
fn stable_both(provider: Provider, body: &[u8]) -> RawRecord {
    let named = stable(provider, body);
    let auto = stable(Provider::Auto, body);
    assert_eq!(
        show(&auto),
        show(&named),
        "auto detection differs from the named provider"
    );
    named
}

fn sse(events: &[(&str, &str)]) -> Vec<u8> {
    let mut out = String::new();
    for (name, data) in events {
        if !name.is_empty() {
            out.push_str(&format!("event: {name}\n"));
        }
        out.push_str(&format!("data: {data}\n\n"));
    }
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

const A_START: &str = r#"{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":3000,"cache_read_input_tokens":5120,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},"output_tokens":1,"service_tier":"standard"}}}"#;

fn anthropic_full() -> Vec<u8> {
    sse(&[
        ("message_start", A_START),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me search."}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#,
        ),
        ("ping", r#"{"type": "ping"}"#),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":1,"content_block":{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{}}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"query\": \"weather\"}"}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":1}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":2,"content_block":{"type":"text","text":""}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":2,"delta":{"type":"text_delta","text":"Hello! 你好, it is sunny."}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":2}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":472,"cache_creation_input_tokens":3000,"cache_read_input_tokens":5120,"output_tokens":345,"output_tokens_details":{"thinking_tokens":120},"server_tool_use":{"web_search_requests":2}}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ])
}

fn anthropic_full_tokens() -> Tokens {
    Tokens {
        input: Some(472),
        cache_creation: Some(3000),
        cache_creation_5m: Some(1000),
        cache_creation_1h: Some(2000),
        cache_read: Some(5120),
        output: Some(345),
        reasoning: Some(120),
        web_search: Some(2),
        web_fetch: None,
    }
}

fn anthropic_several_deltas() -> Vec<u8> {
    sse(&[
        ("message_start", A_START),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":7}}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":12,"cache_read_input_tokens":6000,"server_tool_use":{"web_search_requests":1}}}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{},"usage":{"output_tokens":12,"server_tool_use":{"web_search_requests":1}}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ])
}

fn anthropic_error() -> Vec<u8> {
    sse(&[
        ("message_start", A_START),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me walk through"}}"#,
        ),
        (
            "error",
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"},"request_id":"req_011CUbJ5"}"#,
        ),
    ])
}

fn anthropic_no_usage() -> Vec<u8> {
    sse(&[
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_01Q8","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5-20250929","stop_reason":null,"stop_sequence":null}}"#,
        ),
        (
            "content_block_start",
            r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
        ),
        ("ping", r#"{"type": "ping"}"#),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"The capital of France is Paris."}}"#,
        ),
        (
            "content_block_stop",
            r#"{"type":"content_block_stop","index":0}"#,
        ),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null}}"#,
        ),
        ("message_stop", r#"{"type":"message_stop"}"#),
    ])
}

/// Cut after `message_start` and a delta, in the middle of a later event's JSON.
fn anthropic_cut() -> Vec<u8> {
    let mut body = sse(&[
        ("message_start", A_START),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Here is"}}"#,
        ),
    ]);
    body.extend_from_slice(
        b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"ind",
    );
    body
}

/// The final `message_delta` has no blank line after it (and, per `end`, no line end at all).
fn anthropic_no_final_blank(end: &str) -> Vec<u8> {
    let mut body = sse(&[("message_start", A_START)]);
    body.extend_from_slice(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":33}}");
    body.extend_from_slice(end.as_bytes());
    body
}

const A_BODY: &str = r#"{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"thinking","thinking":"Let me search.","signature":"x"},{"type":"server_tool_use","id":"srvtoolu_1","name":"web_search","input":{"query":"weather"}},{"type":"text","text":"Hello! 你好, it is sunny."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":3000,"cache_read_input_tokens":5120,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},"output_tokens":345,"output_tokens_details":{"thinking_tokens":120},"server_tool_use":{"web_search_requests":2},"service_tier":"standard"}}"#;

const A_ERROR_BODY: &str = r#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: field required"},"request_id":"req_1"}"#;

const OPENAI_ERROR_BODY: &str = r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;

fn openai_chat() -> Vec<u8> {
    let head = r#""id":"chatcmpl-BvR2","object":"chat.completion.chunk","created":1753187200,"model":"o3-2025-04-16","service_tier":"default","system_fingerprint":null"#;
    let mut body = sse(&[
        (
            "",
            &format!(
                r#"{{{head},"choices":[{{"index":0,"delta":{{"role":"assistant","content":"","refusal":null}},"finish_reason":null}}],"usage":null}}"#
            ),
        ),
        (
            "",
            &format!(
                r#"{{{head},"choices":[{{"index":0,"delta":{{"content":"Hello"}},"finish_reason":null}}],"usage":null}}"#
            ),
        ),
        (
            "",
            &format!(
                r#"{{{head},"choices":[{{"index":0,"delta":{{"content":"! How can I help?"}},"finish_reason":null}}],"usage":null}}"#
            ),
        ),
        (
            "",
            &format!(
                r#"{{{head},"choices":[{{"index":0,"delta":{{}},"finish_reason":"stop"}}],"usage":null}}"#
            ),
        ),
        (
            "",
            &format!(
                r#"{{{head},"choices":[],"usage":{{"prompt_tokens":1536,"completion_tokens":90,"total_tokens":1626,"prompt_tokens_details":{{"cached_tokens":1024,"audio_tokens":0}},"completion_tokens_details":{{"reasoning_tokens":64,"audio_tokens":0}}}}}}"#
            ),
        ),
    ]);
    body.extend_from_slice(b"data: [DONE]\n\n");
    body
}

fn openai_responses() -> Vec<u8> {
    sse(&[
        (
            "response.created",
            r#"{"type":"response.created","sequence_number":0,"response":{"id":"resp_68a1","object":"response","status":"in_progress","model":"gpt-5-2025-08-07","usage":null}}"#,
        ),
        (
            "response.reasoning_summary_text.delta",
            r#"{"type":"response.reasoning_summary_text.delta","sequence_number":1,"item_id":"rs_1","delta":"Thinking"}"#,
        ),
        (
            "response.output_text.delta",
            r#"{"type":"response.output_text.delta","sequence_number":2,"item_id":"msg_1","output_index":1,"content_index":0,"delta":"Hi there"}"#,
        ),
        (
            "response.completed",
            r#"{"type":"response.completed","sequence_number":3,"response":{"id":"resp_68a1","object":"response","status":"completed","model":"gpt-5-2025-08-07","service_tier":"default","usage":{"input_tokens":2000,"input_tokens_details":{"cached_tokens":1500},"output_tokens":300,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":2300}}}"#,
        ),
    ])
}

fn gemini_crlf() -> Vec<u8> {
    let chunks = [
        r#"{"candidates":[{"content":{"parts":[{"text":"The sky looks blue because"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":4011,"cachedContentTokenCount":4000,"candidatesTokenCount":5,"totalTokenCount":4016},"modelVersion":"gemini-2.5-flash","responseId":"kPx_aOr3"}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":" of Rayleigh scattering."}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":4011,"cachedContentTokenCount":4000,"candidatesTokenCount":20,"totalTokenCount":4031},"modelVersion":"gemini-2.5-flash","responseId":"kPx_aOr3"}"#,
        r#"{"candidates":[{"content":{"parts":[{"text":" Done."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":4011,"cachedContentTokenCount":4000,"candidatesTokenCount":27,"totalTokenCount":4152,"thoughtsTokenCount":114},"modelVersion":"gemini-2.5-flash","responseId":"kPx_aOr3"}"#,
    ];
    let mut body = Vec::new();
    for chunk in chunks {
        body.extend_from_slice(format!("data: {chunk}\r\n\r\n").as_bytes());
    }
    body
}

/// Bedrock: usage stripped from `message_delta`; `message_stop` carries the invocation metrics.
fn bedrock(delta_usage: &str) -> Vec<u8> {
    sse(&[
        (
            "message_start",
            r#"{"type":"message_start","message":{"id":"msg_bdrk_01","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"usage":{"input_tokens":25,"output_tokens":1}}}"#,
        ),
        (
            "content_block_delta",
            r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}"#,
        ),
        (
            "message_delta",
            &format!(
                r#"{{"type":"message_delta","delta":{{"stop_reason":"end_turn"}}{delta_usage}}}"#
            ),
        ),
        (
            "message_stop",
            r#"{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":25,"outputTokenCount":88,"invocationLatency":1234,"firstByteLatency":300,"cacheReadInputTokenCount":7,"cacheWriteInputTokenCount":9}}"#,
        ),
    ])
}

fn hostile() -> Vec<u8> {
    sse(&[
        ("message_start", A_START),
        (
            "message_delta",
            r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"input_tokens":-1,"cache_read_input_tokens":1.5,"cache_creation_input_tokens":"7","output_tokens":1e30,"server_tool_use":{"web_search_requests":true,"web_fetch_requests":18446744073709551616},"cache_creation":{"ephemeral_5m_input_tokens":2000000000000}}}"#,
        ),
    ])
}

const HTML: &[u8] =
    b"<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body>\n</html>\n";

/// The first bytes of a gzip member (magic, deflate, no flags, mtime, xfl, os) and some data.
const GZIP: &[u8] =
    b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab\x56\x2a\xa9\x2c\x48\x55\xb2\x52\x00\x00";

const ZSTD: &[u8] = b"\x28\xb5\x2f\xfd\x24\x05\x29\x00\x00hello\x01\x02";

/// An event bigger than `max`, between usage before it and usage after it.
fn oversized(max: usize, by_lines: bool) -> Vec<u8> {
    let mut body = sse(&[("message_start", A_START)]);
    body.extend_from_slice(b"event: content_block_delta\n");
    if by_lines {
        // Many data lines, each well under the line bound, together over the event bound.
        for _ in 0..(max / 50 + 2) {
            body.extend_from_slice(b"data: ");
            body.extend_from_slice(&[b'x'; 60]);
            body.push(b'\n');
        }
    } else {
        body.extend_from_slice(b"data: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"");
        body.extend(std::iter::repeat(b'y').take(max + 100));
        body.extend_from_slice(b"\"}}\n");
    }
    body.push(b'\n');
    body.extend_from_slice(&sse(&[(
        "message_delta",
        r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":50}}"#,
    )]));
    body
}

/// Every fixture, with its provider and event bound.
fn fixtures() -> Vec<(&'static str, Provider, usize, Vec<u8>)> {
    let d = DEFAULT_MAX_EVENT_BYTES;
    vec![
        ("anthropic_full", Provider::Anthropic, d, anthropic_full()),
        (
            "anthropic_several_deltas",
            Provider::Anthropic,
            d,
            anthropic_several_deltas(),
        ),
        ("anthropic_error", Provider::Anthropic, d, anthropic_error()),
        (
            "anthropic_no_usage",
            Provider::Anthropic,
            d,
            anthropic_no_usage(),
        ),
        ("anthropic_cut", Provider::Anthropic, d, anthropic_cut()),
        (
            "anthropic_no_blank_lf",
            Provider::Anthropic,
            d,
            anthropic_no_final_blank("\n"),
        ),
        (
            "anthropic_no_blank_cr",
            Provider::Anthropic,
            d,
            anthropic_no_final_blank("\r"),
        ),
        (
            "anthropic_no_blank_eof",
            Provider::Anthropic,
            d,
            anthropic_no_final_blank(""),
        ),
        (
            "anthropic_body",
            Provider::Anthropic,
            d,
            A_BODY.as_bytes().to_vec(),
        ),
        (
            "anthropic_error_body",
            Provider::Anthropic,
            d,
            A_ERROR_BODY.as_bytes().to_vec(),
        ),
        (
            "openai_error_body",
            Provider::OpenAiChat,
            d,
            OPENAI_ERROR_BODY.as_bytes().to_vec(),
        ),
        ("openai_chat", Provider::OpenAiChat, d, openai_chat()),
        (
            "openai_responses",
            Provider::OpenAiResponses,
            d,
            openai_responses(),
        ),
        ("gemini_crlf", Provider::Gemini, d, gemini_crlf()),
        ("bedrock", Provider::Anthropic, d, bedrock("")),
        (
            "bedrock_with_delta_usage",
            Provider::Anthropic,
            d,
            bedrock(r#","usage":{"output_tokens":12}"#),
        ),
        ("hostile", Provider::Anthropic, d, hostile()),
        ("html", Provider::Auto, d, HTML.to_vec()),
        ("gzip", Provider::Auto, d, GZIP.to_vec()),
        ("empty", Provider::Auto, d, Vec::new()),
        ("blank_lines", Provider::Auto, d, b"\r\n\n \t\r".to_vec()),
        (
            "oversized_line",
            Provider::Anthropic,
            1024,
            oversized(1024, false),
        ),
        (
            "oversized_lines",
            Provider::Anthropic,
            1024,
            oversized(1024, true),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Anthropic.

#[test]
fn anthropic_full_stream_is_complete_and_exact() {
    let r = stable_both(Provider::Anthropic, &anthropic_full());
    assert_eq!(r.status, Status::Complete);
    assert_eq!(r.body_kind, BodyKind::EventStream);
    assert_eq!(r.provider, Some("anthropic"));
    assert_eq!(r.tokens, anthropic_full_tokens());
    assert!(r.output_final);
    assert_eq!(r.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!(
        r.message_id.as_deref(),
        Some("msg_01XFDUDYJgAACzvnptvVoYEL")
    );
    assert_eq!(r.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(r.service_tier.as_deref(), Some("standard"));
    assert_eq!(r.error_type, None);
    assert!(r.saw_thinking && r.saw_tool_use);
    assert!(!r.output_text.is_empty());
    assert_eq!(r.events, 13);
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let raw = r.raw_usage.expect("raw usage kept");
    assert_eq!(raw["output_tokens"], 345, "{raw}");
}

#[test]
fn anthropic_last_message_delta_wins_never_a_sum() {
    let r = stable_both(Provider::Anthropic, &anthropic_several_deltas());
    assert_eq!(r.status, Status::Complete);
    assert_eq!(
        r.tokens.output,
        Some(12),
        "7 + 12 + 12 summed, or the first kept"
    );
    assert_eq!(r.tokens.web_search, Some(1));
    // A later event may report a field an earlier one had: its value replaces it.
    assert_eq!(r.tokens.cache_read, Some(6000));
    assert_eq!(r.tokens.input, Some(472));
    assert_eq!(r.tokens.cache_creation, Some(3000));
    assert_eq!(r.stop_reason.as_deref(), Some("max_tokens"));
    assert!(r.output_final);
}

#[test]
fn anthropic_error_event_keeps_usage() {
    let r = stable_both(Provider::Anthropic, &anthropic_error());
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.body_kind, BodyKind::EventStream);
    assert_eq!(r.error_type.as_deref(), Some("overloaded_error"));
    assert_eq!(r.error_message.as_deref(), Some("Overloaded"));
    assert_eq!(r.tokens.input, Some(472));
    assert_eq!(r.tokens.cache_read, Some(5120));
    assert_eq!(r.tokens.output, Some(1));
    assert!(!r.output_final);
    assert_eq!(
        r.message_id.as_deref(),
        Some("msg_01XFDUDYJgAACzvnptvVoYEL")
    );
}

#[test]
fn anthropic_stripped_usage_is_no_usage_with_text_stats() {
    let r = stable_both(Provider::Anthropic, &anthropic_no_usage());
    assert_eq!(r.status, Status::NoUsage);
    assert_eq!(r.tokens, Tokens::default());
    assert!(!r.tokens.any());
    assert!(!r.output_final);
    assert!(!r.output_text.is_empty());
    assert_eq!(r.output_text.words, 6, "{:?}", r.output_text);
    assert_eq!(r.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(r.model.as_deref(), Some("claude-sonnet-4-5-20250929"));
    assert_eq!(r.raw_usage, None);
}

#[test]
fn anthropic_cut_after_message_start_is_partial() {
    let r = stable_both(Provider::Anthropic, &anthropic_cut());
    assert_eq!(r.status, Status::Partial);
    assert!(!r.output_final);
    assert_eq!(r.tokens.input, Some(472));
    assert_eq!(
        r.tokens.output,
        Some(1),
        "the message_start placeholder, not final"
    );
    assert_eq!(r.stop_reason, None);
    assert_eq!(r.error_type, None);
    assert_eq!(
        r.events, 2,
        "the cut event is incomplete JSON and is not read"
    );
}

#[test]
fn anthropic_cut_right_after_message_start() {
    let body = sse(&[("message_start", A_START)]);
    let r = stable_both(Provider::Anthropic, &body);
    assert_eq!(r.status, Status::Partial);
    assert!(!r.output_final);
    assert_eq!(r.tokens.cache_creation_1h, Some(2000));
}

#[test]
fn anthropic_last_event_without_blank_line_is_read() {
    for end in ["\n", "\r", "\r\n", ""] {
        let r = stable_both(Provider::Anthropic, &anthropic_no_final_blank(end));
        assert_eq!(r.status, Status::Complete, "ending {end:?}");
        assert_eq!(r.tokens.output, Some(33), "ending {end:?}");
        assert!(r.output_final);
        assert_eq!(r.stop_reason.as_deref(), Some("end_turn"));
    }
}

#[test]
fn anthropic_json_body_equals_stream_record() {
    let body = stable_both(Provider::Anthropic, A_BODY.as_bytes());
    let stream = stable(Provider::Anthropic, &anthropic_full());
    assert_eq!(body.body_kind, BodyKind::Json);
    assert_eq!(body.status, Status::Complete);
    assert_eq!(body.tokens, stream.tokens);
    assert_eq!(body.tokens, anthropic_full_tokens());
    assert_eq!(body.model, stream.model);
    assert_eq!(body.message_id, stream.message_id);
    assert_eq!(body.stop_reason, stream.stop_reason);
    assert_eq!(body.service_tier, stream.service_tier);
    assert!(body.output_final);
    assert!(body.saw_thinking && body.saw_tool_use);
    assert!(!body.output_text.is_empty());
}

#[test]
fn json_body_with_leading_white_space() {
    let mut padded = b" \r\n\t".to_vec();
    padded.extend_from_slice(A_BODY.as_bytes());
    padded.extend_from_slice(b"\n");
    let r = stable(Provider::Auto, &padded);
    assert_eq!(r.body_kind, BodyKind::Json);
    assert_eq!(r.tokens, anthropic_full_tokens());
}

#[test]
fn json_error_bodies_are_errors() {
    let r = stable_both(Provider::Anthropic, A_ERROR_BODY.as_bytes());
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.body_kind, BodyKind::Json);
    assert_eq!(r.error_type.as_deref(), Some("invalid_request_error"));
    assert_eq!(
        r.error_message.as_deref(),
        Some("max_tokens: field required")
    );
    assert!(!r.tokens.any());

    for provider in [Provider::Auto, Provider::OpenAiChat] {
        let r = stable(provider, OPENAI_ERROR_BODY.as_bytes());
        assert_eq!(r.status, Status::Error, "{provider:?}");
        assert_eq!(r.body_kind, BodyKind::Json, "{provider:?}");
        assert_eq!(r.error_type.as_deref(), Some("invalid_request_error"));
        assert_eq!(
            r.error_message.as_deref(),
            Some("Incorrect API key provided")
        );
    }

    let gemini = br#"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}"#;
    for provider in [Provider::Auto, Provider::Gemini] {
        let r = stable(provider, gemini);
        assert_eq!(r.status, Status::Error, "{provider:?}");
        assert_eq!(r.body_kind, BodyKind::Json);
        assert_eq!(
            r.error_message.as_deref(),
            Some("Resource has been exhausted")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Other providers.

#[test]
fn openai_chat_include_usage_splits_cached_input() {
    let r = stable_both(Provider::OpenAiChat, &openai_chat());
    assert_eq!(r.status, Status::Complete);
    assert_eq!(r.provider, Some("openai"));
    assert_eq!(
        r.tokens,
        Tokens {
            input: Some(512),
            cache_read: Some(1024),
            output: Some(90),
            reasoning: Some(64),
            ..Tokens::default()
        }
    );
    assert!(r.output_final);
    assert_eq!(r.model.as_deref(), Some("o3-2025-04-16"));
    assert_eq!(r.message_id.as_deref(), Some("chatcmpl-BvR2"));
    assert_eq!(r.stop_reason.as_deref(), Some("stop"));
    assert_eq!(r.service_tier.as_deref(), Some("default"));
    assert!(!r.output_text.is_empty());
}

#[test]
fn openai_chat_without_include_usage_is_no_usage() {
    let body = openai_chat();
    let text = String::from_utf8(body).unwrap();
    let kept: Vec<&str> = text
        .split("\n\n")
        .filter(|e| !e.contains("prompt_tokens"))
        .collect();
    let r = stable_both(Provider::OpenAiChat, kept.join("\n\n").as_bytes());
    assert_eq!(r.status, Status::NoUsage);
    assert!(!r.output_text.is_empty());
    assert_eq!(r.stop_reason.as_deref(), Some("stop"));
}

#[test]
fn openai_responses_completed() {
    let r = stable_both(Provider::OpenAiResponses, &openai_responses());
    assert_eq!(r.status, Status::Complete);
    assert_eq!(r.provider, Some("openai-responses"));
    assert_eq!(
        r.tokens,
        Tokens {
            input: Some(500),
            cache_read: Some(1500),
            output: Some(300),
            reasoning: Some(256),
            ..Tokens::default()
        }
    );
    assert!(r.output_final);
    assert_eq!(r.model.as_deref(), Some("gpt-5-2025-08-07"));
    assert_eq!(r.message_id.as_deref(), Some("resp_68a1"));
    assert_eq!(r.stop_reason.as_deref(), Some("completed"));
    assert!(r.saw_thinking);
}

#[test]
fn gemini_crlf_output_is_candidates_plus_thoughts() {
    let r = stable_both(Provider::Gemini, &gemini_crlf());
    assert_eq!(r.status, Status::Complete);
    assert_eq!(r.provider, Some("gemini"));
    assert_eq!(
        r.tokens,
        Tokens {
            input: Some(11),
            cache_read: Some(4000),
            output: Some(27 + 114),
            reasoning: Some(114),
            ..Tokens::default()
        }
    );
    assert!(r.output_final);
    assert_eq!(r.model.as_deref(), Some("gemini-2.5-flash"));
    assert_eq!(r.message_id.as_deref(), Some("kPx_aOr3"));
    assert_eq!(r.stop_reason.as_deref(), Some("STOP"));
    // The same stream with LF and with lone CR line ends reads the same.
    let lf = String::from_utf8(gemini_crlf())
        .unwrap()
        .replace("\r\n", "\n");
    let cr = lf.replace('\n', "\r");
    for body in [lf, cr] {
        assert_eq!(stable(Provider::Gemini, body.as_bytes()).tokens, r.tokens);
    }
}

#[test]
fn gemini_cut_before_finish_is_partial() {
    let text = String::from_utf8(gemini_crlf()).unwrap();
    let first = text.split("\r\n\r\n").next().unwrap().to_owned() + "\r\n\r\n";
    let r = stable_both(Provider::Gemini, first.as_bytes());
    assert_eq!(r.status, Status::Partial);
    assert_eq!(r.tokens.output, Some(5));
    assert!(!r.output_final);
}

#[test]
fn bedrock_metrics_fill_what_the_stream_lacks() {
    let r = stable_both(Provider::Anthropic, &bedrock(""));
    assert_eq!(r.status, Status::Complete);
    assert!(r.output_final);
    assert_eq!(r.tokens.output, Some(88));
    assert_eq!(r.tokens.input, Some(25));
    assert_eq!(r.tokens.cache_read, Some(7));
    assert_eq!(r.tokens.cache_creation, Some(9));

    // Final Anthropic figures win over the metrics.
    let r = stable_both(
        Provider::Anthropic,
        &bedrock(r#","usage":{"output_tokens":12}"#),
    );
    assert_eq!(r.status, Status::Complete);
    assert_eq!(r.tokens.output, Some(12));
    assert_eq!(r.tokens.input, Some(25));
}

// ---------------------------------------------------------------------------------------------
// Hostile and malformed input.

#[test]
fn hostile_counts_are_ignored_with_a_note() {
    let r = stable_both(Provider::Anthropic, &hostile());
    // Every earlier (valid) value stands; nothing was wrapped, truncated or parsed from text.
    let mut expected = anthropic_full_tokens();
    expected.output = Some(1);
    expected.reasoning = None;
    expected.web_search = None;
    assert_eq!(r.tokens, expected);
    assert!(!r.output_final, "output_tokens 1e30 is not a final figure");
    for key in [
        "input_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "output_tokens",
        "web_search_requests",
        "web_fetch_requests",
        "ephemeral_5m_input_tokens",
    ] {
        assert!(
            r.notes
                .iter()
                .any(|n| n.contains(key) && n.contains("not a token count")),
            "no note for {key}: {:?}",
            r.notes
        );
    }
    assert_eq!(r.notes.len(), 7, "{:?}", r.notes);
}

#[test]
fn hostile_counts_in_other_providers() {
    let chat = br#"data: {"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":"7","completion_tokens":-1,"completion_tokens_details":{"reasoning_tokens":true}}}

"#;
    let r = stable_both(Provider::OpenAiChat, chat);
    assert_eq!(r.tokens.input, None);
    assert_eq!(r.tokens.output, None);
    assert_eq!(r.tokens.reasoning, None);
    assert_eq!(r.notes.len(), 3, "{:?}", r.notes);

    let gemini = b"data: {\"candidates\":[{\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":1.5,\"candidatesTokenCount\":1e30,\"thoughtsTokenCount\":\"3\"}}\n\n";
    let r = stable_both(Provider::Gemini, gemini);
    assert_eq!(r.tokens.input, None);
    assert_eq!(r.tokens.output, None);
    assert_eq!(r.notes.len(), 3, "{:?}", r.notes);
}

#[test]
fn html_is_not_sse() {
    let r = stable(Provider::Auto, HTML);
    assert_eq!(r.status, Status::NotSse);
    assert_eq!(r.body_kind, BodyKind::NotSse);
    let why = r.error_message.expect("a reason");
    assert!(why.contains("HTML"), "{why}");
    assert_eq!(r.error_type, None);
    for provider in [Provider::Anthropic, Provider::OpenAiChat, Provider::Gemini] {
        assert_eq!(stable(provider, HTML).status, Status::NotSse);
    }
}

#[test]
fn gzip_bytes_are_not_sse() {
    let r = stable(Provider::Auto, GZIP);
    assert_eq!(r.status, Status::NotSse);
    let why = r.error_message.expect("a reason");
    assert!(why.contains("gzip"), "{why}");
    assert_eq!(stable(Provider::Anthropic, GZIP).status, Status::NotSse);
}

#[test]
fn zstd_bytes_are_not_sse() {
    let r = parse_usage(ZSTD, Provider::Auto, DEFAULT_MAX_EVENT_BYTES);
    assert_eq!(r.status, Status::NotSse);
    assert!(
        r.error_message.as_deref().unwrap_or("").contains("zstd"),
        "{r:?}"
    );
}

#[test]
fn zstd_diagnosis_does_not_depend_on_chunking() {
    stable(Provider::Auto, ZSTD);
}

#[test]
fn garbage_is_not_sse() {
    let r = stable(
        Provider::Auto,
        b"hello world\nthis is not an event stream\n",
    );
    assert_eq!(r.status, Status::NotSse);
    assert!(r.error_message.is_some());
    let r = stable(Provider::Auto, b"{\"truncated\": ");
    assert_eq!(r.status, Status::NotSse);
    assert_eq!(r.body_kind, BodyKind::NotSse);
    let r = stable(Provider::Auto, br#"{"some":"other json"}"#);
    assert_eq!(r.status, Status::NotSse);
}

#[test]
fn empty_body_is_no_usage() {
    for body in [&b""[..], b"\n\n", b"\r\n", b" "] {
        let r = stable(Provider::Auto, body);
        assert_eq!(r.status, Status::NoUsage, "{body:?}");
        assert_eq!(r.body_kind, BodyKind::EventStream, "{body:?}");
        assert_eq!(r.error_type, None);
        assert!(!r.tokens.any());
        assert_eq!(r.events, 0);
    }
    let r = feed_chunks(Provider::Anthropic, DEFAULT_MAX_EVENT_BYTES, []);
    assert_eq!(r.status, Status::NoUsage);
    assert!(r.error_message.as_deref().unwrap_or("").contains("empty"));
}

#[test]
fn done_and_comments_only_is_no_usage() {
    let r = stable(Provider::Auto, b": keep-alive\n\ndata: [DONE]\n\n");
    assert_eq!(r.status, Status::NoUsage);
    assert_eq!(r.body_kind, BodyKind::EventStream);
}

// ---------------------------------------------------------------------------------------------
// Bounds.

#[test]
fn oversized_event_is_an_error_and_earlier_usage_is_kept() {
    for by_lines in [false, true] {
        let body = oversized(1024, by_lines);
        let r = stable_with(Provider::Anthropic, 1024, &body);
        assert_eq!(r.status, Status::Error, "by_lines={by_lines}");
        assert_eq!(r.error_type.as_deref(), Some("event_too_large"));
        assert_eq!(
            r.tokens.input,
            Some(472),
            "usage before the oversized event"
        );
        assert_eq!(r.tokens.cache_creation_5m, Some(1000));
        assert_eq!(r.tokens.output, Some(50), "usage after it is still read");
        assert!(
            r.output_text.is_empty(),
            "the oversized event's text was not counted"
        );
        // The same stream under the default bound is complete.
        let r = stable(Provider::Anthropic, &body);
        assert_eq!(r.status, Status::Complete);
    }
}

#[test]
fn oversized_json_body_is_an_error() {
    let r = parse_usage(A_BODY.as_bytes(), Provider::Auto, 100);
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.error_type.as_deref(), Some("event_too_large"));
    stable_with(Provider::Auto, 100, A_BODY.as_bytes());
}

#[test]
fn oversized_event_memory_is_bounded() {
    const MAX: usize = 64 << 10;
    const TOTAL: usize = 8 << 20;
    let chunk = [b'z'; 4096];
    let mut core = UsageCore::new(Provider::Anthropic, MAX);
    core.feed(&sse(&[("message_start", A_START)]));
    let start = mark();
    // One 8 MiB data line, then one 8 MiB event of short data lines.
    core.feed(b"event: content_block_delta\ndata: ");
    for _ in 0..TOTAL / chunk.len() {
        core.feed(&chunk);
    }
    core.feed(b"\n\nevent: content_block_delta\n");
    let line = [b"data: ".as_slice(), &[b'w'; 1000], b"\n"].concat();
    for _ in 0..TOTAL / line.len() {
        core.feed(&line);
    }
    core.feed(b"\n");
    let peak = peak_since(start);
    assert!(
        peak < 4 * MAX as isize,
        "peak {peak} bytes buffered for a {MAX}-byte bound"
    );
    let r = core.finish();
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.error_type.as_deref(), Some("event_too_large"));
    assert_eq!(r.tokens.input, Some(472));
}

#[test]
fn event_at_the_bound_is_read() {
    // `data` of exactly max - 1 bytes (plus its LF) fits; one more byte does not.
    let data = r#"{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}"#;
    let body = format!("data: {data}\n\n");
    let fits = stable_with(Provider::Anthropic, data.len() + 1, body.as_bytes());
    assert_eq!(fits.status, Status::Complete, "{fits:?}");
    assert_eq!(fits.tokens.output, Some(5));
    let over = stable_with(Provider::Anthropic, data.len(), body.as_bytes());
    assert_eq!(over.status, Status::Error);
    assert_eq!(over.error_type.as_deref(), Some("event_too_large"));
}

// ---------------------------------------------------------------------------------------------
// Chunking invariance, for every fixture, named provider and auto.

#[test]
fn every_fixture_reads_the_same_however_chunked() {
    for (name, provider, max, body) in fixtures() {
        let named = stable_with(provider, max, &body);
        let auto = stable_with(Provider::Auto, max, &body);
        assert_eq!(named.status, auto.status, "{name}");
        assert_eq!(named.tokens, auto.tokens, "{name}");
    }
}

#[test]
fn bom_and_blank_prefix_do_not_change_the_figures() {
    let plain = stable(Provider::Auto, &anthropic_full());
    for prefix in [
        &b"\xEF\xBB\xBF"[..],
        b"\n",
        b"\r\n\r\n",
        b": hi\n\n",
        b"\xEF\xBB\xBF\r\n",
    ] {
        let body = [prefix, &anthropic_full()].concat();
        let r = stable(Provider::Auto, &body);
        assert_eq!(r.status, Status::Complete, "{prefix:?}");
        assert_eq!(r.tokens, plain.tokens, "{prefix:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Whole JSON bodies of the other providers, and their terminal states.

const CHAT_BODY: &str = r#"{"id":"chatcmpl-BvR2","object":"chat.completion","created":1753187200,"model":"o3-2025-04-16","service_tier":"default","choices":[{"index":0,"message":{"role":"assistant","content":"Hello! How can I help?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1536,"completion_tokens":90,"total_tokens":1626,"prompt_tokens_details":{"cached_tokens":1024},"completion_tokens_details":{"reasoning_tokens":64}}}"#;

const RESPONSES_BODY: &str = r#"{"id":"resp_68a1","object":"response","status":"completed","model":"gpt-5-2025-08-07","output":[],"usage":{"input_tokens":2000,"input_tokens_details":{"cached_tokens":1500},"output_tokens":300,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":2300}}"#;

const GEMINI_BODY: &str = r#"{"candidates":[{"content":{"parts":[{"text":"The sky looks blue because of Rayleigh scattering. Done."}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":4011,"cachedContentTokenCount":4000,"candidatesTokenCount":27,"totalTokenCount":4152,"thoughtsTokenCount":114},"modelVersion":"gemini-2.5-flash","responseId":"kPx_aOr3"}"#;

#[test]
fn json_bodies_equal_their_streams() {
    for (provider, body, stream) in [
        (Provider::OpenAiChat, CHAT_BODY, openai_chat()),
        (
            Provider::OpenAiResponses,
            RESPONSES_BODY,
            openai_responses(),
        ),
        (Provider::Gemini, GEMINI_BODY, gemini_crlf()),
    ] {
        let b = stable_both(provider, body.as_bytes());
        let s = stable(provider, &stream);
        assert_eq!(b.body_kind, BodyKind::Json, "{provider:?}");
        assert_eq!(b.status, Status::Complete, "{provider:?}");
        assert_eq!(b.tokens, s.tokens, "{provider:?}");
        assert_eq!(b.model, s.model, "{provider:?}");
        assert_eq!(b.message_id, s.message_id, "{provider:?}");
        assert_eq!(b.stop_reason, s.stop_reason, "{provider:?}");
        assert!(b.output_final, "{provider:?}");
    }
}

/// What a non-SSE `streamGenerateContent` returns: a JSON array of response chunks.
fn gemini_array() -> Vec<u8> {
    let text = String::from_utf8(gemini_crlf()).unwrap();
    let items: Vec<&str> = text
        .split("\r\n\r\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .collect();
    format!("[{}]", items.join(",\r\n")).into_bytes()
}

#[test]
fn gemini_json_array_body_named() {
    let r = stable(Provider::Gemini, &gemini_array());
    assert_eq!(r.body_kind, BodyKind::Json);
    assert_eq!(r.status, Status::Complete);
    assert_eq!(r.tokens, stable(Provider::Gemini, &gemini_crlf()).tokens);
}

#[test]
fn gemini_json_array_body_auto() {
    let r = stable(Provider::Auto, &gemini_array());
    assert_eq!(r.status, Status::Complete, "{r:?}");
    assert_eq!(r.tokens, stable(Provider::Gemini, &gemini_crlf()).tokens);
}

#[test]
fn openai_responses_incomplete_failed_and_error() {
    let incomplete = sse(&[(
        "response.incomplete",
        r#"{"type":"response.incomplete","response":{"id":"resp_2","object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"model":"gpt-5","usage":{"input_tokens":10,"output_tokens":64,"output_tokens_details":{"reasoning_tokens":64}}}}"#,
    )]);
    let r = stable_both(Provider::OpenAiResponses, &incomplete);
    assert_eq!(r.status, Status::Complete);
    assert_eq!(r.stop_reason.as_deref(), Some("max_output_tokens"));
    assert_eq!(r.tokens.output, Some(64));
    assert_eq!(r.tokens.cache_read, Some(0));

    let failed = sse(&[(
        "response.failed",
        r#"{"type":"response.failed","response":{"id":"resp_3","object":"response","status":"failed","error":{"code":"server_error","message":"The model failed"},"model":"gpt-5","usage":{"input_tokens":10,"output_tokens":3}}}"#,
    )]);
    let r = stable_both(Provider::OpenAiResponses, &failed);
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.error_type.as_deref(), Some("server_error"));
    assert_eq!(r.tokens.input, Some(10), "usage kept");

    let mut error = openai_responses();
    let cut = String::from_utf8(error.clone()).unwrap();
    let at = cut.find("event: response.completed").unwrap();
    error.truncate(at);
    error.extend_from_slice(&sse(&[(
        "error",
        r#"{"type":"error","code":"rate_limit_exceeded","message":"Slow down","param":null}"#,
    )]));
    let r = stable(Provider::OpenAiResponses, &error);
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.error_type.as_deref(), Some("rate_limit_exceeded"));
    assert_eq!(r.error_message.as_deref(), Some("Slow down"));
}

#[test]
fn openai_chat_error_event_mid_stream() {
    let mut body = openai_chat();
    let text = String::from_utf8(body.clone()).unwrap();
    body.truncate(text.find("data: {\"id\":\"chatcmpl-BvR2\",\"object\":\"chat.completion.chunk\",\"created\":1753187200,\"model\":\"o3-2025-04-16\",\"service_tier\":\"default\",\"system_fingerprint\":null,\"choices\":[],").unwrap());
    body.extend_from_slice(b"data: {\"error\":{\"message\":\"The server had an error\",\"type\":\"server_error\",\"code\":null}}\n\n");
    let r = stable_both(Provider::OpenAiChat, &body);
    assert_eq!(r.status, Status::Error);
    assert_eq!(r.error_type.as_deref(), Some("server_error"));
    assert!(!r.output_text.is_empty());
}

/// Gemini's thought signatures are counted as encrypted reasoning (characters, not bytes;
/// an empty one is no item), from streamed chunks and from a whole body alike.
#[test]
fn gemini_thought_signatures_count_as_encrypted_reasoning() {
    let call = r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"CiQBé+/="}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash"}"#;
    let text = r#"{"candidates":[{"content":{"parts":[{"text":"Sunny.","thoughtSignature":""},{"text":"x","thoughtSignature":"Ab"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":20,"candidatesTokenCount":9,"thoughtsTokenCount":40},"modelVersion":"gemini-2.5-flash"}"#;
    let expected = crate::record::Sealed {
        chars: 10,
        items: 2,
    };
    let streamed = stable_both(Provider::Gemini, &sse(&[("", call), ("", text)]));
    assert_eq!(streamed.encrypted_reasoning, expected);
    assert_eq!(streamed.tokens.reasoning, Some(40));
    let body = format!("[{call},{text}]");
    let whole = stable(Provider::Gemini, body.as_bytes());
    assert_eq!(whole.encrypted_reasoning, expected);
}
