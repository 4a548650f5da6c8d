//! OpenAI Chat streams against a full parse: whatever fast path a chunk takes (the stream's
//! learned skeletons, from the framer or from a dispatched event; the skim reader), the record
//! is the one that parsing every event's data with serde_json gives. The odd chunks are the
//! shapes a fast path must decline: other keys, order, identity, escapes, bad text, framing.

use super::support::{feed_chunks, show, stable_with, Rng};
use crate::meter::DEFAULT_MAX_EVENT_BYTES;
use crate::providers::facts::{Facts, Provider};
use crate::providers::openai_chat;
use crate::record::{BodyKind, RawRecord};
use crate::scan::tree as json;

const HEAD: &str = r#""id":"chatcmpl-1","object":"chat.completion.chunk","created":1769279197,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_a9""#;

/// A chunk's data as OpenAI writes it (`"usage":null` when the request asked for usage).
fn chunk(delta: &str, finish: &str, usage_key: bool) -> Vec<u8> {
    let usage = if usage_key { r#","usage":null"# } else { "" };
    format!(
        r#"{{{HEAD},"choices":[{{"index":0,"delta":{delta},"logprobs":null,"finish_reason":{finish}}}]{usage}}}"#
    )
    .into_bytes()
}

fn content(text: &str) -> Vec<u8> {
    chunk(&format!(r#"{{"content":"{text}"}}"#), "null", true)
}

/// The first chunk of a stream (not a template: it has a role) and plain content chunks that
/// match the template learned from the first of them.
fn plain() -> Vec<Vec<u8>> {
    vec![
        chunk(
            r#"{"role":"assistant","content":"","refusal":null}"#,
            "null",
            true,
        ),
        content("Hello"),
        content(" world, 你好 é"),
        content(""),
        content(r#"a \"quoted\" \\ line\nnext \u00e9\ud83d\ude00"#),
        content("sixteen bytes!!!sixteen bytes!!!x"),
        content(r#"ends in an escaped quote\""#),
        content(r#"\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}"#),
    ]
}

/// The same stream from a request without `stream_options.include_usage`.
fn bare() -> Vec<Vec<u8>> {
    ["Hi", " there", " é"]
        .iter()
        .map(|t| chunk(&format!(r#"{{"content":"{t}"}}"#), "null", false))
        .collect()
}

fn replace(data: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(data);
    assert!(text.contains(from), "{from:?} not in {text}");
    text.replacen(from, to, 1).into_bytes()
}

fn replace_bytes(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let at = data
        .windows(from.len())
        .position(|w| w == from)
        .expect("present");
    [&data[..at], to, &data[at + from.len()..]].concat()
}

const USAGE: &str = r#"{"prompt_tokens":20,"completion_tokens":30,"total_tokens":50,"prompt_tokens_details":{"cached_tokens":8},"completion_tokens_details":{"reasoning_tokens":4}}"#;

fn usage_chunk() -> Vec<u8> {
    format!(r#"{{{HEAD},"choices":[],"usage":{USAGE}}}"#).into_bytes()
}

/// Chunks that differ from the template in one way each.
fn odd() -> Vec<(&'static str, Vec<u8>)> {
    let c = content("word 你好");
    let tool = |calls: &str| chunk(&format!(r#"{{"tool_calls":{calls}}}"#), "null", true);
    vec![
        ("other_model", replace(&c, "gpt-4.1-2025-04-14", "gpt-4o")),
        ("other_id", replace(&c, "chatcmpl-1", "chatcmpl-2")),
        (
            "identity_after_text",
            br#"{"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"word"}}],"id":"chatcmpl-3","model":"m-3","service_tier":"flex"}"#.to_vec(),
        ),
        (
            "other_id_no_text",
            replace(&chunk("{}", "null", true), "chatcmpl-1", "chatcmpl-2"),
        ),
        (
            "tool_other_id",
            replace(
                &tool(r#"[{"index":0,"function":{"arguments":"word"}}]"#),
                "chatcmpl-1",
                "chatcmpl-2",
            ),
        ),
        (
            "tool_finish",
            chunk(
                r#"{"tool_calls":[{"index":0,"function":{"arguments":"word"}}]}"#,
                r#""tool_calls""#,
                true,
            ),
        ),
        ("other_created", replace(&c, "1769279197", "1769279198")),
        // Differences before `choices` that keep the length: the stream's prefix is read on
        // from only when every byte of it is the same.
        ("escaped_id", replace(&c, "chatcmpl-1", r"chatcmp\n1")),
        ("not_json_created", replace(&c, "1769279197", "17692x9197")),
        (
            "repeated_id",
            replace(&c, r#""usage":null}"#, r#""usage":null,"id":null}"#),
        ),
        ("no_usage_key", bare()[0].clone()),
        (
            "usage_first",
            replace(&c, r#"{"id""#, r#"{"usage":null,"id""#),
        ),
        ("finish", chunk(r#"{"content":"word"}"#, r#""stop""#, true)),
        // Differences that keep the chunk's length: only a byte compare sees them.
        (
            "finish_same_length",
            chunk(r#"{"content":"word"}"#, r#""xy""#, true),
        ),
        (
            "usage_same_length",
            replace(&c, r#""usage":null"#, r#""usage":{  }"#),
        ),
        (
            "other_key_name",
            replace(&c, r#""content":"#, r#""contenx":"#),
        ),
        ("other_index", replace(&c, r#""index":0"#, r#""index":1"#)),
        ("finish_empty", chunk("{}", r#""stop""#, true)),
        (
            "extra_key",
            chunk(r#"{"content":"word","refusal":null}"#, "null", true),
        ),
        (
            "reordered_delta",
            chunk(r#"{"content":"word","role":"assistant"}"#, "null", true),
        ),
        (
            "reordered_top",
            replace(&c, r#""id":"chatcmpl-1","object""#, r#""object""#),
        ),
        (
            "reasoning",
            chunk(r#"{"reasoning_content":"word"}"#, "null", true),
        ),
        ("content_null", chunk(r#"{"content":null}"#, "null", true)),
        (
            "content_parts",
            chunk(
                r#"{"content":[{"type":"text","text":"part"}]}"#,
                "null",
                true,
            ),
        ),
        ("content_number", chunk(r#"{"content":5}"#, "null", true)),
        ("spaced", replace(&c, r#""content":""#, r#""content": ""#)),
        ("trailing_space", [c.as_slice(), b" "].concat()),
        ("trailing_garbage", [c.as_slice(), b"x"].concat()),
        ("cut_json", c[..c.len() - 1].to_vec()),
        (
            "two_choices",
            replace(
                &c,
                r#"}],"usage""#,
                r#"},{"index":1,"delta":{"content":"y"}}],"usage""#,
            ),
        ),
        (
            "invalid_utf8",
            replace_bytes(&c, "你".as_bytes(), b"\xe4\xbd"),
        ),
        ("overlong_utf8", replace_bytes(&c, b"word", b"\xc0\xafrd")),
        ("lone_surrogate", replace(&c, "word", r"\ud800")),
        ("bad_escape", replace(&c, "word", r"\q")),
        ("raw_control", replace(&c, "word", "a\u{1}b")),
        ("raw_tab", replace(&c, "word", "a\tb")),
        (
            "duplicate_usage",
            replace(&c, r#""usage":null}"#, r#""usage":null,"usage":null}"#),
        ),
        (
            "duplicate_content",
            chunk(r#"{"content":"a","content":"b"}"#, "null", true),
        ),
        (
            "usage_object",
            replace(&c, r#""usage":null"#, &USAGE.replace("20", "21")),
        ),
        ("usage_chunk", usage_chunk()),
        (
            "error",
            format!(r#"{{"error":{{"message":"word","type":"server_error"}},{HEAD}}}"#)
                .into_bytes(),
        ),
        ("done", b"[DONE]".to_vec()),
        ("not_json", b"hello".to_vec()),
        (
            "tool_start",
            tool(
                r#"[{"index":0,"id":"call_1","type":"function","function":{"name":"get_word","arguments":""}}]"#,
            ),
        ),
        (
            "tool_arguments",
            tool(r#"[{"index":0,"function":{"arguments":"word{\"city\": \"Par\u00eds\n\"}"}}]"#),
        ),
        (
            "tool_two",
            tool(
                r#"[{"index":0,"function":{"arguments":"{}"}},{"index":1,"function":{"name":"f","arguments":"{\"a\":1}"}}]"#,
            ),
        ),
        (
            "tool_odd_items",
            tool(r#"[1,null,{"index":0,"function":null},{"function":{"name":5}}]"#),
        ),
        (
            "tool_odd_items_one_text",
            tool(r#"[1,null,{"index":0,"function":{"arguments":"word","x":[]}},{"function":{}}]"#),
        ),
        (
            "content_with_odd_tool",
            chunk(
                r#"{"content":"word","tool_calls":[{"index":0,"function":null}]}"#,
                "null",
                true,
            ),
        ),
        (
            "reasoning_plain",
            chunk(r#"{"reasoning":"word","content":null}"#, "null", true),
        ),
        (
            "tool_name",
            tool(r#"[{"index":0,"function":{"name":"word"}}]"#),
        ),
        (
            "tool_arguments_spaced",
            tool(r#"[ {"index": 0, "function": {"arguments": "word"} } ]"#),
        ),
        (
            "tool_arguments_null_name",
            tool(r#"[{"index":0,"function":{"name":null,"arguments":"word"}}]"#),
        ),
        (
            "tool_with_content",
            chunk(
                r#"{"content":"see:","tool_calls":[{"index":0,"function":{"arguments":"word"}}]}"#,
                "null",
                true,
            ),
        ),
    ]
}

/// How one event is framed: its lines' ends and what comes before its `data` line.
const FRAMINGS: [(&str, &str, &str); 11] = [
    ("", "data: ", "\n\n"),
    ("", "data: ", "\r\n\r\n"),
    ("", "data: ", "\n\r\n"),
    ("", "data: ", "\r\n\n"),
    ("", "data: ", "\r\r"),
    ("", "data:", "\n\n"),
    ("", "data:  ", "\n\n"),
    ("id: 7\n", "data: ", "\n\n"),
    (": keep-alive\n", "data: ", "\n\n"),
    ("event: message\n", "data: ", "\n\n"),
    ("\n", "data: ", "\n\n"),
];

fn framed(data: &[u8], (before, field, end): (&str, &str, &str)) -> Vec<u8> {
    [before.as_bytes(), field.as_bytes(), data, end.as_bytes()].concat()
}

/// The data that the event `framed` makes of `data` dispatches (one leading space is the
/// field's; a second one is the data's).
fn dispatched(data: &[u8], (_, field, _): (&str, &str, &str)) -> Vec<u8> {
    let extra = field.strip_prefix("data: ").unwrap_or("").as_bytes();
    [extra, data].concat()
}

fn stream(datas: &[Vec<u8>]) -> Vec<u8> {
    datas.iter().flat_map(|d| framed(d, FRAMINGS[0])).collect()
}

/// What reading each event's data with serde_json gives (no fast path), in `show`'s form.
fn full_parse(datas: &[Vec<u8>]) -> String {
    let mut ex = Facts::new(Provider::OpenAiChat);
    for data in datas {
        ex.events += 1;
        if data.as_slice() == b"[DONE]" {
            continue;
        }
        match json::parse(data) {
            Some(value) => openai_chat::tree::on_event(&mut ex, &value),
            None => ex.invalid_events += 1,
        }
    }
    comparable(
        ex.provider.name(),
        &[
            format!("{:?}", ex.tokens),
            format!(
                "{:?}",
                (&ex.model, &ex.message_id, &ex.stop_reason, &ex.service_tier)
            ),
            format!("{:?}", (&ex.error_type, &ex.error_message, &ex.last_usage)),
            format!("{:?}", ex.output_text.as_tuple()),
            format!("{:?}", (ex.saw_thinking, ex.saw_tool_use, ex.events)),
            format!(
                "{:?}",
                (ex.output_final, ex.status(BodyKind::EventStream).as_str())
            ),
        ],
        &ex.notes,
        ex.invalid_events,
    )
}

/// The fields of a record that `full_parse` shows.
fn from_record(r: &RawRecord) -> String {
    comparable(
        r.provider,
        &[
            format!("{:?}", r.tokens),
            format!(
                "{:?}",
                (&r.model, &r.message_id, &r.stop_reason, &r.service_tier)
            ),
            format!("{:?}", (&r.error_type, &r.error_message, &r.raw_usage)),
            format!("{:?}", r.output_text.as_tuple()),
            format!("{:?}", (r.saw_thinking, r.saw_tool_use, r.events)),
            format!("{:?}", (r.output_final, r.status.as_str())),
        ],
        &r.notes,
        0,
    )
}

fn comparable(provider: Option<&str>, fields: &[String], notes: &[String], invalid: u64) -> String {
    let mut notes = notes.to_vec();
    if invalid > 0 {
        notes.push(format!(
            "ignored {invalid} event(s) whose data is not valid JSON"
        ));
    }
    format!("provider={provider:?} {} notes={notes:?}", fields.join(" "))
}

/// The record of `body` fed whole, in random pieces and one byte at a time (each must agree).
fn read(provider: Provider, max: usize, body: &[u8]) -> String {
    let whole = show(&feed_chunks(provider, max, [body]));
    let mut rng = Rng(body.len() as u64);
    for sizes in [7, 300, 5000] {
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < body.len() {
            let n = rng.below(sizes).min(body.len() - at);
            pieces.push(&body[at..at + n]);
            at += n;
        }
        assert_eq!(
            show(&feed_chunks(provider, max, pieces)),
            whole,
            "pieces of up to {sizes}"
        );
    }
    let bytewise = show(&feed_chunks(provider, max, body.chunks(1)));
    assert_eq!(bytewise, whole, "one byte at a time");
    from_record(&feed_chunks(provider, max, [body]))
}

fn check(datas: &[Vec<u8>], body: &[u8], what: &str) {
    let expected = full_parse(datas);
    for provider in [Provider::OpenAiChat, Provider::Auto] {
        let got = read(provider, DEFAULT_MAX_EVENT_BYTES, body);
        assert_eq!(got, expected, "{what} ({provider:?})");
    }
}

#[test]
fn plain_stream_reads_as_a_full_parse() {
    let mut datas = plain();
    datas.extend([usage_chunk(), b"[DONE]".to_vec()]);
    check(&datas, &stream(&datas), "plain");
    stable_with(
        Provider::OpenAiChat,
        DEFAULT_MAX_EVENT_BYTES,
        &stream(&datas),
    );
    let mut datas = vec![plain()[0].clone()];
    datas.extend(bare());
    check(&datas, &stream(&datas), "bare");
}

/// `data` with the stream's id made `pad` bytes longer: the template's head then ends at each
/// offset of a 16-byte block in turn.
fn padded(data: &[u8], pad: usize) -> Vec<u8> {
    let id = br#""chatcmpl-1""#;
    match data.windows(id.len()).position(|w| w == id) {
        Some(_) => replace_bytes(
            data,
            id,
            format!(r#""chatcmpl-1{}""#, "x".repeat(pad)).as_bytes(),
        ),
        None => data.to_vec(),
    }
}

#[test]
fn odd_chunk_after_the_template_reads_as_a_full_parse() {
    for pad in 0..16 {
        let plain: Vec<Vec<u8>> = plain().iter().map(|d| padded(d, pad)).collect();
        for (name, odd) in odd() {
            for with_usage in [false, true] {
                let mut datas = plain[..4].to_vec();
                datas.push(padded(&odd, pad));
                datas.extend_from_slice(&plain[4..]);
                if with_usage {
                    datas.push(padded(&usage_chunk(), pad));
                }
                check(
                    &datas,
                    &stream(&datas),
                    &format!("{name}, id padded by {pad}"),
                );
            }
        }
    }
}

/// `data` with its first `word` replaced by `text`.
fn with_text(data: &[u8], text: &str) -> Option<Vec<u8>> {
    let at = data.windows(4).position(|w| w == b"word")?;
    Some([&data[..at], text.as_bytes(), &data[at + 4..]].concat())
}

/// Strings to put in place of a chunk's text: plain, empty, escaped, non-ASCII, one that looks
/// like the rest of a chunk, and invalid ones (the reader must decline those).
const TEXTS: [&str; 9] = [
    "other words",
    "",
    r#"a \"quoted\" \\ \n\u00e9\ud83d\ude00"#,
    "你好, é",
    r#"\"},\"logprobs\":null,\"finish_reason\":null}]}"#,
    r"\ud800",
    "a\u{1}b",
    "x\"y",
    "x\\",
];

/// Each odd chunk that has a text, repeated with other texts: a reader that learns the odd
/// layout must read each repeat as a full parse does, and decline the invalid ones.
#[test]
fn odd_layout_repeated_with_other_texts_reads_as_a_full_parse() {
    let plain = plain();
    for (name, odd) in odd() {
        if with_text(&odd, "").is_none() {
            continue;
        }
        for pad in [0, 5] {
            let mut datas = plain[..3].to_vec();
            datas.push(padded(&odd, pad));
            for text in TEXTS {
                let repeat = with_text(&odd, text).expect("a text");
                datas.push(padded(&repeat, pad));
                datas.push(padded(&plain[3], pad)); // back to the plain layout and again
                datas.push(padded(&repeat, pad));
            }
            check(
                &datas,
                &stream(&datas),
                &format!("{name}, id padded by {pad}"),
            );
        }
    }
}

/// Two layouts in turn, each chunk with another text: whatever a reader keeps of the first
/// layout (its identity, finish reason, usage) must give way to what the other one says.
#[test]
fn odd_layouts_in_turn_read_as_a_full_parse() {
    let plain = plain();
    let odd = odd();
    let c = content("word");
    let firsts = std::iter::once(("plain", c)).chain(odd.iter().cloned());
    for (first_name, first) in firsts {
        if with_text(&first, "").is_none() {
            continue;
        }
        for (second_name, second) in &odd {
            let mut datas = plain[..2].to_vec();
            for text in ["a", "bb", "ccc"] {
                datas.push(with_text(&first, text).expect("a text"));
                datas.push(with_text(second, text).unwrap_or_else(|| second.clone()));
            }
            datas.push(with_text(&first, "dddd").expect("a text"));
            let what = format!("{first_name} then {second_name}");
            check(&datas, &stream(&datas), &what);
        }
    }
}

/// A template chunk's data line without a blank line after it: the next event's data joins
/// it (one more line, or a bare CR and another line: CR then one byte is not a CRLF). A bare
/// CR then a CR is a blank line.
#[test]
fn a_data_line_without_a_blank_line_joins_the_next() {
    let plain = plain();
    for between in ["\n", "\r\n", "\rx\n", "\r:\n", "\r\r"] {
        let mut body = stream(&plain[..3]);
        body.extend(framed(&plain[3], ("", "data: ", between)));
        body.extend(stream(&plain[4..]));
        let mut datas = plain[..3].to_vec();
        if between == "\r\r" {
            datas.extend_from_slice(&plain[3..]);
        } else {
            datas.push([&plain[3][..], b"\n", &plain[4]].concat());
            datas.extend_from_slice(&plain[5..]);
        }
        check(&datas, &body, between);
    }
}

#[test]
fn every_framing_reads_as_a_full_parse() {
    let plain = plain();
    for framing in FRAMINGS {
        // The framing of one template chunk, then of every chunk.
        let mut body = stream(&plain[..3]);
        body.extend(framed(&plain[3], framing));
        body.extend(stream(&plain[4..]));
        let mut datas = plain.clone();
        datas[3] = dispatched(&plain[3], framing);
        check(&datas, &body, &format!("{framing:?} once"));
        let body: Vec<u8> = plain.iter().flat_map(|d| framed(d, framing)).collect();
        let datas: Vec<Vec<u8>> = plain.iter().map(|d| dispatched(d, framing)).collect();
        check(&datas, &body, &format!("{framing:?} throughout"));
    }
}

#[test]
fn a_stream_cut_anywhere_reads_as_its_whole_events() {
    let mut datas = plain();
    datas.push(usage_chunk());
    let body = stream(&datas);
    let mut ends = vec![0];
    for data in &datas {
        ends.push(ends.last().unwrap() + framed(data, FRAMINGS[0]).len());
    }
    // Before the first line ends, the body is not yet an event stream.
    for cut in ends[1]..=body.len() {
        // The events whose blank line arrived, and a last one whose data line is complete
        // JSON (salvaged at the end).
        let whole = ends.iter().filter(|&&e| e > 0 && e <= cut).count();
        let mut read = datas[..whole].to_vec();
        if whole < datas.len() && cut >= ends[whole + 1] - 2 {
            read.push(datas[whole].clone());
        }
        let got = from_record(&feed_chunks(
            Provider::OpenAiChat,
            DEFAULT_MAX_EVENT_BYTES,
            [&body[..cut]],
        ));
        assert_eq!(got, full_parse(&read), "cut at {cut}");
    }
}

#[test]
fn random_mixes_read_as_a_full_parse() {
    let kinds: Vec<Vec<u8>> = plain()
        .into_iter()
        .chain(bare())
        .chain(odd().into_iter().map(|(_, d)| d))
        .collect();
    let mut rng = Rng(0x0E7A1);
    for round in 0..300 {
        // A stream starts with the role chunk (which also names the provider for `Auto`).
        let n = 1 + rng.below(14);
        let datas: Vec<Vec<u8>> = std::iter::once(kinds[0].clone())
            .chain((1..n).map(|_| kinds[rng.below(kinds.len())].clone()))
            .collect();
        let framings: Vec<_> = (0..n)
            .map(|_| {
                FRAMINGS[if rng.below(3) == 0 {
                    rng.below(FRAMINGS.len())
                } else {
                    0
                }]
            })
            .collect();
        let body: Vec<u8> = datas
            .iter()
            .zip(&framings)
            .flat_map(|(d, &f)| framed(d, f))
            .collect();
        let datas: Vec<Vec<u8>> = datas
            .iter()
            .zip(&framings)
            .map(|(d, &f)| dispatched(d, f))
            .collect();
        check(
            &datas,
            &body,
            &format!("round {round} {:?}", String::from_utf8_lossy(&body)),
        );
    }
}

/// A template chunk of `max - 1` bytes of data is read; one of `max` bytes is dropped as too
/// large, on the whole-event path as on the line path.
#[test]
fn template_chunk_at_the_size_bound() {
    let plain = plain();
    let big = content(&"long text ".repeat(100));
    let mut datas = plain[..3].to_vec();
    datas.push(big.clone());
    datas.push(plain[3].clone());
    let body = stream(&datas);
    let fits = read(Provider::OpenAiChat, big.len() + 1, &body);
    assert_eq!(fits, full_parse(&datas));
    stable_with(Provider::OpenAiChat, big.len() + 1, &body);
    let over = feed_chunks(Provider::OpenAiChat, big.len(), [&body[..]]);
    assert_eq!(
        read(Provider::OpenAiChat, big.len(), &body),
        from_record(&over)
    );
    assert_eq!(over.error_type.as_deref(), Some("event_too_large"));
    datas.remove(3);
    let mut ex = Facts::new(Provider::OpenAiChat);
    for data in &datas {
        openai_chat::tree::on_event(&mut ex, &json::parse(data).expect("JSON"));
    }
    assert_eq!(
        over.output_text, ex.output_text,
        "the dropped chunk is not counted"
    );
}

/// A long chunk (a long field after its text), then many short chunks in one read that start
/// like it and are not layouts to learn (they finish): reading takes time in proportion to
/// the bytes, not to the chunks times the long one's length (a layout is kept only for a
/// chunk whose head and end are short, and is compared only as far as it matches).
#[test]
fn a_long_layout_costs_only_what_matches_of_it() {
    let pad = "a".repeat(2 << 20);
    let long = format!(r#"{{"choices":[{{"index":0,"delta":{{"content":"x"}}}}],"pad":"{pad}"}}"#);
    let short = br#"{"choices":[{"index":0,"delta":{"content":"y"},"finish_reason":"stop"}]}"#;
    let n = 40_000;
    let mut body = stream(&[long.into_bytes()]);
    for _ in 0..n {
        body.extend(framed(short, FRAMINGS[0]));
    }
    let started = std::time::Instant::now();
    let got = feed_chunks(Provider::OpenAiChat, DEFAULT_MAX_EVENT_BYTES, [&body[..]]);
    let took = started.elapsed();
    let mut expected = crate::textstats::TextStats::default();
    expected.add("x");
    (0..n).for_each(|_| expected.add("y"));
    assert_eq!(got.output_text, expected);
    assert_eq!(
        (got.events, got.stop_reason.as_deref()),
        (n + 1, Some("stop"))
    );
    // Comparing the whole layout with each short chunk would take minutes.
    assert!(took.as_secs() < 30, "{took:?} for {n} short chunks");
}

/// Usage objects in the shapes a reader may meet, odd ones included: read without a tree
/// when each count is plain, else (a value to note, a repeated name, an escaped name) by the
/// full parse; either way as the full parse reads them, raw usage and notes included.
const USAGE_SHAPES: [&str; 27] = [
    USAGE,
    r#"{"prompt_tokens":6687,"completion_tokens":114,"total_tokens":6801,"prompt_tokens_details":{"cached_tokens":3328,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}"#,
    r#"{}"#,
    r#"{ "prompt_tokens" : 7 , "completion_tokens" : 8 }"#,
    r#"{"prompt_tokens":null,"completion_tokens":null,"prompt_tokens_details":null}"#,
    r#"{"prompt_tokens":"20","completion_tokens":30}"#,
    r#"{"prompt_tokens":-1,"completion_tokens":3}"#,
    r#"{"prompt_tokens":1.0,"completion_tokens":3}"#,
    r#"{"prompt_tokens":1e3,"completion_tokens":3}"#,
    r#"{"prompt_tokens":99999999999999999999,"completion_tokens":3}"#,
    r#"{"prompt_tokens":1000000000001,"completion_tokens":1000000000000}"#,
    r#"{"prompt_tokens":01}"#,
    r#"{"prompt_tokens":20,"prompt_tokens":21}"#,
    r#"{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":1},"prompt_tokens_details":{}}"#,
    r#"{"prompt_tokens":5,"prompt_tokens_details":[1]}"#,
    r#"{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":null}}"#,
    r#"{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":9}}"#,
    r#"{"prompt_tokens":5,"prompt_tokens_details":{"cached_tokens":"1"}}"#,
    r#"{"completion_tokens":4,"completion_tokens_details":{"reasoning_tokens":3,"reasoning_tokens":4}}"#,
    r#"{"completion_tokens":4,"completion_tokens_details":{"reasoning_tokens":3},"completion_tokens_details":null}"#,
    r#"{"completion_tokens":4,"completion_tokens_details":{"reasoning_tokens":true}}"#,
    r#"{"completion_tokens":4,"completion_tokens_details":"x"}"#,
    r#"{"x":{"y":[1,{"z":null}],"s":"a\"b"},"prompt_tokens":7}"#,
    r#"{"prompt\u005ftokens":7}"#,
    r#"5"#,
    r#"[]"#,
    r#"{"prompt_tokens":7,"completion_tokens":8"#,
];

#[test]
fn usage_shapes_read_as_a_full_parse() {
    let usage_chunk =
        |usage: &str| format!(r#"{{{HEAD},"choices":[],"usage":{usage}}}"#).into_bytes();
    let plain = plain();
    for shape in USAGE_SHAPES {
        // The shape alone, then before and after another usage object (the last one wins).
        for (first, second) in [(shape, None), (USAGE, Some(shape)), (shape, Some(USAGE))] {
            let mut datas = plain[..3].to_vec();
            datas.push(usage_chunk(first));
            datas.extend_from_slice(&plain[3..5]);
            datas.extend(second.map(usage_chunk));
            check(&datas, &stream(&datas), &format!("{first} then {second:?}"));
        }
    }
}
