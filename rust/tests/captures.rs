//! The real recorded SSE responses of `tests/captures/` (other projects' cassettes and
//! fixtures): which of their events leave the fast readers for the serde tree. The records are
//! checked against the recordings' expected figures by the Python conformance suite on both
//! backends; this holds the speed design to real traffic: an event a fast reader should take
//! but declines costs ten times as much and changes no figure, so only a count shows it.

use std::path::{Path, PathBuf};

use crate::meter::{UsageCore, DEFAULT_MAX_EVENT_BYTES};
use crate::providers::facts::Provider;

fn recordings() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/captures");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(root).expect("tests/captures") {
        let dir = dir.expect("a directory entry").path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(dir).expect("a provider's directory") {
            let file = file.expect("a directory entry").path();
            if file.extension().is_some_and(|e| e == "sse") {
                files.push(file);
            }
        }
    }
    files.sort();
    files
}

/// The data lines of `body` holding `needle`.
fn data_lines_with(body: &[u8], needle: &str) -> u64 {
    let text = String::from_utf8_lossy(body);
    let lines = text.split(['\n', '\r']);
    lines
        .filter(|line| line.starts_with("data:") && line.contains(needle))
        .count() as u64
}

/// Every recording fed in 16 KiB reads: the events the tree reads are Cohere's (no fast reader
/// yet), nothing of Anthropic's, OpenAI's (Chat, Responses, the compatible servers) or
/// Gemini's (function-call chunks too).
#[test]
fn real_streams_leave_the_fast_readers_only_where_they_decline() {
    let files = recordings();
    assert!(files.len() > 60, "{} recordings", files.len());
    let mut fast = 0;
    for file in files {
        let body = std::fs::read(&file).expect("a recording");
        let mut core = UsageCore::new(Provider::Auto, DEFAULT_MAX_EVENT_BYTES);
        for read in body.chunks(16 * 1024) {
            core.feed(read);
        }
        let provider = core.sink.facts.provider;
        let expected = match provider {
            Provider::Cohere => data_lines_with(&body, "{"),
            _ => 0,
        };
        let name = file.display();
        assert_eq!(core.sink.tree_read, expected, "{name} ({provider:?})");
        fast += core.sink.facts.events - core.sink.tree_read;
    }
    assert!(fast > 1000, "{fast} events read by the fast readers");
}
