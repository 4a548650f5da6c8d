//! The body's kind, decided from its first significant byte: an event stream is framed, a JSON
//! body is kept (bounded) and read whole at the end, an HTML page or compressed bytes are
//! reported as `not_sse` without being kept.

use serde_json::Value;

use super::UsageCore;
use crate::providers::facts::Provider;
use crate::record::Framing;
use crate::scan::tree;
use crate::sse::BOM;

const ZSTD_MAGIC: &[u8; 4] = b"\x28\xb5\x2f\xfd";

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Nothing but white space seen yet.
    Sniff,
    EventStream,
    Json,
    /// Newline-delimited JSON (Ollama).
    Ndjson,
    /// The AWS binary event stream (Bedrock).
    AwsEventStream,
    /// A JSON array read element by element (Gemini without `alt=sse`).
    JsonArray,
    NotSse(String),
}

/// What the response's content type says about the framing: a hint, read once at the first
/// significant byte, where the bytes leave the choice open. The bytes win where they decide
/// (an HTML page, compressed bytes, a JSON body are what they are, whatever the label).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Hint {
    #[default]
    None,
    /// `text/event-stream`: an event stream, also where the provider's default is another.
    Sse,
    /// `application/x-ndjson` (and `application/ndjson`, `application/jsonl`): one JSON value
    /// a line, read line by line from the first.
    Ndjson,
    /// `application/vnd.amazon.eventstream`: the AWS event stream, whatever its first byte.
    AwsEventStream,
    /// `application/json` (and `+json` types): a JSON body or array, as the first byte says.
    Json,
}

impl Hint {
    /// The hint of a `Content-Type` value: its media type, parameters dropped, ASCII case
    /// ignored; anything else is no hint.
    pub fn from_content_type(content_type: &str) -> Hint {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if !media.is_ascii() {
            return Hint::None;
        }
        match media.to_ascii_lowercase().as_str() {
            "text/event-stream" => Hint::Sse,
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => Hint::Ndjson,
            "application/vnd.amazon.eventstream" => Hint::AwsEventStream,
            "application/json" => Hint::Json,
            m if m.starts_with("application/") && m.ends_with("+json") => Hint::Json,
            _ => Hint::None,
        }
    }
}

impl UsageCore {
    pub(super) fn sniff(&mut self, chunk: &[u8]) {
        if !self.held.is_empty() {
            // The start of a possible BOM or zstd magic, held back: decide with the next bytes.
            let mut joined = std::mem::take(&mut self.held);
            joined.extend_from_slice(chunk);
            return self.sniff(&joined);
        }
        // A byte order mark at the very start is text encoding, not content: a JSON body may
        // carry one too. The framer strips it from an event stream itself.
        let mut skip = 0;
        if !self.bom_seen && !chunk.is_empty() {
            if chunk.len() < BOM.len() && BOM.starts_with(chunk) {
                self.held = chunk.to_vec(); // too few bytes to tell: wait for the next read
                return;
            }
            self.bom_seen = true;
            if chunk.starts_with(BOM) {
                skip = BOM.len();
            }
        }
        let Some(at) = chunk[skip..].iter().position(|b| !b.is_ascii_whitespace()) else {
            // White space only: harmless to frame (blank lines), and needed if SSE follows.
            self.frame(chunk);
            return;
        };
        let at = skip + at;
        self.saw_bytes = true;
        let head = &chunk[at..];
        if head.len() < ZSTD_MAGIC.len() && ZSTD_MAGIC.starts_with(head) {
            // Too few bytes to tell zstd from anything else: keep them for the next read.
            self.frame(&chunk[..at]);
            self.held = head.to_vec();
            return;
        }
        let (provider, hint) = (self.sink.facts.provider, self.hint);
        self.mode = match head[0] {
            b'{' if provider == Provider::Ollama || hint == Hint::Ndjson => Mode::Ndjson,
            // A message's total length: its first byte is 0 below 16 MiB, never text.
            0 if provider == Provider::Auto => Mode::AwsEventStream,
            b'{' => Mode::Json,
            b'[' => Mode::JsonArray,
            _ if provider == Provider::Bedrock && hint != Hint::Sse => Mode::AwsEventStream,
            b'<' => Mode::NotSse(
                "an HTML or XML page, not an event stream (an error page from a proxy?)".into(),
            ),
            0x1f => Mode::NotSse(
                "gzip-compressed bytes: the body must be decompressed before metering".into(),
            ),
            _ if head.starts_with(ZSTD_MAGIC) => Mode::NotSse(
                "zstd-compressed bytes: the body must be decompressed before metering".into(),
            ),
            // A message of 16 MiB or more starts with a non-zero byte: the label tells.
            _ if provider == Provider::Auto && hint == Hint::AwsEventStream => Mode::AwsEventStream,
            _ => Mode::EventStream,
        };
        match self.mode {
            Mode::EventStream => self.frame(chunk),
            Mode::Json => self.keep_body(head),
            Mode::Ndjson => {
                self.sink.facts.framing = Some(Framing::Ndjson);
                self.ndjson_lines(head);
            }
            Mode::JsonArray => {
                self.sink.facts.framing = Some(Framing::JsonArray);
                self.array_elements(head);
            }
            Mode::AwsEventStream => {
                self.aws_sniffed = provider == Provider::Auto;
                self.sink.facts.framing = Some(Framing::AwsEventStream);
                self.sink.facts.provider = Provider::Bedrock;
                // The length's zero bytes are not white space to skip.
                self.aws_messages(head);
            }
            _ => {}
        }
    }

    pub(super) fn keep_body(&mut self, chunk: &[u8]) {
        // The bytes within the bound first: the NDJSON test may decide within them, as it
        // does when the same bytes come a few at a time (the record must not depend on the
        // reads).
        let room = self.max_event_bytes.saturating_sub(self.body.len());
        let (within, over) = chunk.split_at(chunk.len().min(room));
        self.body.extend_from_slice(within);
        self.check_ndjson();
        if over.is_empty() {
            return;
        }
        if matches!(self.mode, Mode::Ndjson) {
            return self.ndjson_lines(over);
        }
        self.mode = Mode::NotSse(String::new());
        self.body = Vec::new();
        self.sink.facts.set_error(
            "event_too_large",
            "a JSON body exceeded max_event_bytes and was dropped".to_owned(),
        );
    }

    /// A body of several JSON objects, one a line, is newline-delimited JSON: told apart from
    /// one JSON body at the start of its second line, when its first line is a whole object
    /// and the second starts another.
    /// Until then the body is kept as one JSON body (a pretty-printed body's first line is
    /// never a whole object).
    fn check_ndjson(&mut self) {
        if self.json_checked == usize::MAX || self.body.first() != Some(&b'{') {
            return;
        }
        let from = self.json_checked;
        let Some(nl) = memchr::memchr(b'\n', &self.body[from..]).map(|at| from + at) else {
            self.json_checked = self.body.len();
            return;
        };
        let Some(next) = self.body[nl + 1..]
            .iter()
            .find(|b| !b.is_ascii_whitespace())
        else {
            self.json_checked = nl; // the next read decides
            return;
        };
        self.json_checked = usize::MAX; // decided, either way
        if *next == b'{' && matches!(tree::parse(&self.body[..nl]), Some(Value::Object(_))) {
            let body = std::mem::take(&mut self.body);
            self.mode = Mode::Ndjson;
            self.sink.facts.framing = Some(Framing::Ndjson);
            self.ndjson_lines(&body);
        }
    }
}
