//! `cargo bench`: framing + usage extraction throughput of the core, against a plain `memchr`
//! newline count over the same bytes (the practical limit of anything that looks at lines).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sseusage_fast::{Provider, UsageCore, DEFAULT_MAX_EVENT_BYTES};

/// A deterministic Anthropic stream (text and thinking deltas, some CJK, padded JSON) and an
/// OpenAI chat stream with the include_usage chunk, about `target` bytes each.
fn corpus(target: usize) -> Vec<(&'static str, Vec<u8>)> {
    let words = [
        "the", "stream", "meter", "token", "usage", "proxy", "你好", "世界", "latency", "é",
    ];
    let mut seed = 20_261_128u32;
    let mut next_text = move || {
        let mut text = String::new();
        for _ in 0..6 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            text.push_str(words[(seed >> 16) as usize % words.len()]);
            text.push(' ');
        }
        text
    };
    let mut anthropic = String::from(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":472,\"cache_read_input_tokens\":5120,\"output_tokens\":1}}}\n\n",
    );
    let mut openai = String::new();
    while anthropic.len() < target {
        let text = next_text();
        anthropic.push_str(&format!(
            "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":\"{text}\"}}       }}\n\n"
        ));
    }
    anthropic.push_str("event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":12345}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    while openai.len() < target {
        let text = next_text();
        openai.push_str(&format!(
            "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1769279197,\"model\":\"gpt-4.1\",\"system_fingerprint\":\"fp_a9cb\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{text}\"}},\"logprobs\":null,\"finish_reason\":null}}],\"usage\":null}}\n\n"
        ));
    }
    openai.push_str("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1769279197,\"model\":\"gpt-4.1\",\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":20,\"total_tokens\":30}}\n\ndata: [DONE]\n\n");
    // Layouts relays write (see `benches/corpus.py`, `LAYOUTS`), for profiling each apart.
    let no_event: String = anthropic
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.lines()
                .filter(|l| !l.starts_with("event:"))
                .collect::<Vec<_>>()
                .join("\n")
                + "\n\n"
        })
        .collect();
    let id_lines: String = anthropic
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .enumerate()
        .map(|(n, e)| format!("id: {n}\n{e}\n\n"))
        .collect();
    let obfuscation: String = openai
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .enumerate()
        .map(|(n, e)| match e.strip_suffix('}') {
            Some(head) if head.starts_with("data: {") => {
                format!(
                    "{head},\"obfuscation\":\"{}\"}}\n\n",
                    &"aB3xYz9QwErTy7Ui"[..1 + n % 15]
                )
            }
            _ => format!("{e}\n\n"),
        })
        .collect();
    vec![
        ("anthropic", anthropic.into_bytes()),
        ("anthropic_no_event", no_event.into_bytes()),
        ("anthropic_id", id_lines.into_bytes()),
        ("openai", openai.into_bytes()),
        ("openai_obfuscation", obfuscation.into_bytes()),
    ]
}

fn throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("meter");
    for (name, stream) in corpus(4 << 20) {
        group.throughput(Throughput::Bytes(stream.len() as u64));
        group.bench_with_input(BenchmarkId::new("usage_16KiB", name), &stream, |b, s| {
            b.iter(|| {
                let mut core = UsageCore::new(Provider::Auto, DEFAULT_MAX_EVENT_BYTES);
                for chunk in s.chunks(16 << 10) {
                    core.feed(chunk);
                }
                core.finish()
            })
        });
        group.bench_with_input(
            BenchmarkId::new("memchr_newlines", name),
            &stream,
            |b, s| {
                b.iter(|| {
                    s.chunks(16 << 10)
                        .map(|c| memchr::memchr_iter(b'\n', c).count())
                        .sum::<usize>()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
