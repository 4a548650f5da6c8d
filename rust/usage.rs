//! `UsageCore`: feed it the bytes of one response, get one `RawRecord` at the end.
//!
//! The body is sniffed from its first significant byte: an event stream is framed and each
//! event handed to the provider's extractor; a JSON body is kept (bounded) and read whole at
//! the end; an HTML page or compressed bytes are reported as `not_sse` without being kept.

use serde_json::Value;

use crate::anthropic_events;
use crate::event::{EventBuilder, EventSink, Lines};
use crate::framer::{Framer, BOM};
use crate::gemini::{self, GeminiCounts};
use crate::json::{self, Object};
use crate::record::{Billing, BodyKind, Framing, RawRecord, Status, Tokens};
use crate::textstats::TextStats;
use crate::{anthropic, openai_chat, openai_responses};

pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 << 20;

const ZSTD_MAGIC: &[u8; 4] = b"\x28\xb5\x2f\xfd";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Auto,
    Anthropic,
    OpenAiChat,
    OpenAiResponses,
    Gemini,
}

impl Provider {
    pub fn parse(name: &str) -> Option<Provider> {
        match name {
            "auto" => Some(Provider::Auto),
            "anthropic" => Some(Provider::Anthropic),
            "openai" => Some(Provider::OpenAiChat),
            "openai-responses" => Some(Provider::OpenAiResponses),
            "gemini" => Some(Provider::Gemini),
            _ => None,
        }
    }

    pub fn name(self) -> Option<&'static str> {
        match self {
            Provider::Auto => None,
            Provider::Anthropic => Some("anthropic"),
            Provider::OpenAiChat => Some("openai"),
            Provider::OpenAiResponses => Some("openai-responses"),
            Provider::Gemini => Some("gemini"),
        }
    }

    /// Which provider wrote this event or body (`Auto` when it cannot tell yet).
    fn detect(value: &Value) -> Provider {
        if let Value::Array(items) = value {
            // Gemini's non-SSE streamGenerateContent answers with an array of chunks.
            return items.first().map_or(Provider::Auto, Provider::detect);
        }
        if anthropic::looks_like(value) {
            Provider::Anthropic
        } else if openai_responses::looks_like(value) {
            Provider::OpenAiResponses
        } else if openai_chat::looks_like(value) {
            Provider::OpenAiChat
        } else if gemini::looks_like(value) {
            Provider::Gemini
        } else {
            Provider::Auto
        }
    }
}

/// `{"error": {"type" | "status" | "code", "message"}}`, the error shape every provider uses.
pub fn read_error(ex: &mut Extract, obj: &Object) {
    let error = json::object(obj, "error");
    let field = |key| error.and_then(|e| e.get(key)).filter(|v| !v.is_null());
    let error_type = ["type", "status", "code"]
        .into_iter()
        .find_map(|key| match field(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    let message = field("message").and_then(Value::as_str).map(str::to_owned);
    ex.set_error(
        error_type.as_deref().unwrap_or("error"),
        message.unwrap_or_else(|| "the provider reported an error".to_owned()),
    );
}

/// What the provider reported so far; the sink of the event builder.
#[derive(Debug)]
pub struct Extract {
    pub provider: Provider,
    /// The AVX2 paths may run ([`crate::simd::wide`]).
    pub wide: bool,
    pub tokens: Tokens,
    pub output_final: bool,
    /// Final figures seen (Anthropic `message_delta`, a whole response body).
    pub final_usage: bool,
    pub model: Option<String>,
    pub message_id: Option<String>,
    pub stop_reason: Option<String>,
    pub service_tier: Option<String>,
    pub speed: Option<String>,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    /// The last usage object, as a tree; see `last_usage_text`.
    pub last_usage: Option<Value>,
    /// Or, when the skim reader read it, its JSON text, parsed only when the record is made
    /// (a stream's earlier usage objects never need a tree). At most one of the two is set.
    pub last_usage_text: Option<String>,
    pub output_text: TextStats,
    pub saw_thinking: bool,
    pub saw_tool_use: bool,
    pub events: u64,
    pub notes: Vec<String>,
    pub gemini: GeminiCounts,
    pub chat_template: Option<openai_chat::ChunkTemplate>,
    /// Events whose data is not valid JSON (the usage they held, if any, is lost).
    pub invalid_events: u64,
    /// A line of the event-stream format was seen.
    saw_sse_line: bool,
    /// What was billed beyond the token buckets.
    pub billing: Billing,
    /// Set by a framing other than SSE or one JSON body.
    pub framing: Option<Framing>,
}

impl Extract {
    /// The record's status once the body, read as `body_kind`, is over.
    pub(crate) fn status(&self, body_kind: BodyKind) -> Status {
        if body_kind == BodyKind::NotSse && self.error_type.is_none() {
            Status::NotSse
        } else if self.error_type.is_some() {
            Status::Error
        } else if self.final_usage {
            Status::Complete
        } else if self.tokens.any() {
            Status::Partial
        } else {
            Status::NoUsage
        }
    }

    /// The last usage object, as a tree.
    pub fn set_raw_usage(&mut self, usage: Value) {
        self.last_usage = Some(usage);
        self.last_usage_text = None;
    }

    /// The last usage object, as JSON text that the skim reader checked.
    pub fn set_raw_usage_text(&mut self, text: &str) {
        self.last_usage = None;
        self.last_usage_text = Some(text.to_owned());
    }

    pub(crate) fn new(provider: Provider) -> Self {
        Extract {
            provider,
            wide: crate::simd::wide(),
            tokens: Tokens::default(),
            output_final: false,
            final_usage: false,
            model: None,
            message_id: None,
            stop_reason: None,
            service_tier: None,
            speed: None,
            error_type: None,
            error_message: None,
            last_usage: None,
            last_usage_text: None,
            output_text: TextStats::default(),
            saw_thinking: false,
            saw_tool_use: false,
            events: 0,
            notes: Vec::new(),
            gemini: GeminiCounts::default(),
            chat_template: None,
            invalid_events: 0,
            saw_sse_line: false,
            billing: Billing::default(),
            framing: None,
        }
    }

    pub fn set_error(&mut self, error_type: &str, message: String) {
        self.error_type = Some(error_type.to_owned());
        self.error_message = Some(message);
    }

    /// Reads one event's data.
    fn handle(&mut self, event_type: &[u8], data: &[u8]) {
        self.events += 1;
        if matches!(self.provider, Provider::Auto | Provider::Anthropic)
            && anthropic::fast_path(self, data)
        {
            return;
        }
        if data == b"[DONE]"
            || (matches!(self.provider, Provider::OpenAiChat | Provider::Auto)
                && openai_chat::fast_path(self, data))
        {
            return;
        }
        let Some(value) = json::parse(data) else {
            self.invalid_events += 1;
            return;
        };
        if self.provider == Provider::Auto {
            self.provider = Provider::detect(&value);
        }
        match self.provider {
            Provider::Anthropic => anthropic::on_event(self, event_type, &value),
            Provider::OpenAiChat => openai_chat::on_event(self, &value),
            Provider::OpenAiResponses => openai_responses::on_event(self, &value),
            Provider::Gemini => gemini::on_event(self, &value),
            Provider::Auto => {
                if let Some(obj) = value
                    .as_object()
                    .filter(|o| json::object(o, "error").is_some())
                {
                    read_error(self, obj);
                }
            }
        }
    }
}

impl EventSink for Extract {
    fn event(&mut self, event_type: &[u8], data: &[u8], _last_event_id: &[u8]) {
        self.handle(event_type, data);
    }

    fn oversized_event(&mut self) {
        self.set_error(
            "event_too_large",
            "an event exceeded max_event_bytes and was dropped".to_owned(),
        );
    }

    fn sse_line(&mut self) {
        self.saw_sse_line = true;
    }

    fn whole_event(&mut self, rest: &[u8], max_event_bytes: usize) -> usize {
        if self.provider == Provider::OpenAiChat {
            // Plain content chunks that match the stream's template, read from the framer.
            let run = openai_chat::whole_events(self, rest, max_event_bytes);
            if run.events > 0 {
                self.events += run.events;
                self.saw_sse_line = true;
            }
            return run.used;
        }
        if !matches!(self.provider, Provider::Auto | Provider::Anthropic) {
            return 0;
        }
        // Quiet events are taken only once the stream is known to be Anthropic's: the line
        // path does not decide the provider on a ping.
        let quiet = self.provider == Provider::Anthropic;
        let run = anthropic_events::anthropic_events(
            rest,
            &mut self.output_text,
            max_event_bytes,
            quiet,
            self.wide,
        );
        if run.events > 0 {
            self.events += run.events;
            self.saw_sse_line = true;
            self.provider = Provider::Anthropic;
            self.saw_thinking |= run.thinking;
            self.saw_tool_use |= run.tool_use;
        }
        run.used
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Mode {
    /// Nothing but white space seen yet.
    Sniff,
    EventStream,
    Json,
    NotSse(String),
}

#[derive(Debug)]
pub struct UsageCore {
    framer: Framer,
    events: EventBuilder,
    extract: Extract,
    mode: Mode,
    /// A JSON body, kept whole until the end (bounded by `max_event_bytes`).
    body: Vec<u8>,
    max_event_bytes: usize,
    /// Anything but white space arrived.
    saw_bytes: bool,
    /// The first bytes, while they could still be the start of a BOM or a zstd magic.
    held: Vec<u8>,
    /// The first bytes were checked for a byte order mark.
    bom_seen: bool,
}

impl UsageCore {
    pub fn new(provider: Provider, max_event_bytes: usize) -> Self {
        UsageCore {
            framer: Framer::new(max_event_bytes.saturating_add(64)),
            events: EventBuilder::new(b"", max_event_bytes),
            extract: Extract::new(provider),
            mode: Mode::Sniff,
            body: Vec::new(),
            max_event_bytes,
            saw_bytes: false,
            held: Vec::new(),
            bom_seen: false,
        }
    }

    pub fn feed(&mut self, chunk: &[u8]) {
        match self.mode {
            Mode::EventStream => self.frame(chunk),
            Mode::Sniff => self.sniff(chunk),
            Mode::Json => self.keep_body(chunk),
            Mode::NotSse(_) => {}
        }
    }

    fn frame(&mut self, chunk: &[u8]) {
        let mut lines = Lines {
            builder: &mut self.events,
            sink: &mut self.extract,
        };
        self.framer.feed(chunk, &mut lines);
    }

    fn sniff(&mut self, chunk: &[u8]) {
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
        self.mode = match head[0] {
            b'{' | b'[' => Mode::Json,
            b'<' => Mode::NotSse(
                "an HTML or XML page, not an event stream (an error page from a proxy?)".into(),
            ),
            0x1f => Mode::NotSse(
                "gzip-compressed bytes: the body must be decompressed before metering".into(),
            ),
            _ if head.starts_with(ZSTD_MAGIC) => Mode::NotSse(
                "zstd-compressed bytes: the body must be decompressed before metering".into(),
            ),
            _ => Mode::EventStream,
        };
        match self.mode {
            Mode::EventStream => self.frame(chunk),
            Mode::Json => self.keep_body(head),
            _ => {}
        }
    }

    fn keep_body(&mut self, chunk: &[u8]) {
        if self.body.len() + chunk.len() > self.max_event_bytes {
            self.mode = Mode::NotSse(String::new());
            self.body = Vec::new();
            self.extract.set_error(
                "event_too_large",
                "a JSON body exceeded max_event_bytes and was dropped".to_owned(),
            );
            return;
        }
        self.body.extend_from_slice(chunk);
    }

    /// End of stream. Reads what a cut stream left unfinished, and says what the body was.
    pub fn finish(mut self) -> RawRecord {
        let mut record = self.finish_keeping_text();
        record.parse_usage_text();
        record
    }

    /// As `finish`, but a usage object kept as JSON text stays text (`raw_usage_text`): the
    /// Python binding makes its dict straight from the text. In place (the core, a kilobyte,
    /// is not moved), leaving it spent: drop it after.
    pub(crate) fn finish_keeping_text(&mut self) -> RawRecord {
        if !self.held.is_empty() {
            // A body too short to be zstd: read as what it is, bytes of an event stream.
            let held = std::mem::take(&mut self.held);
            self.frame(&held);
        }
        let kind = match std::mem::replace(&mut self.mode, Mode::Sniff) {
            Mode::EventStream | Mode::Sniff => self.finish_stream(),
            Mode::Json => self.finish_json(),
            Mode::NotSse(why) => self.not_sse(why),
        };
        self.record(kind)
    }

    fn finish_stream(&mut self) -> BodyKind {
        // The spec drops an unfinished event; for metering, its data is still read when it is
        // complete JSON (a cut before the blank line loses nothing then).
        if let Some(tail) = self.framer.take_tail() {
            self.events.line(&tail, &mut self.extract);
        }
        let pending = self
            .events
            .pending()
            .filter(|(_, data)| json::parse(data).is_some())
            .map(|(t, d)| (t.to_vec(), d.to_vec()));
        if let Some((event_type, data)) = pending {
            self.extract.handle(&event_type, &data);
        }
        let ex = &self.extract;
        if ex.saw_sse_line || ex.events > 0 {
            BodyKind::EventStream
        } else if !self.saw_bytes {
            // Nothing arrived (a client that went away at once): no usage, not a bad body.
            self.extract.error_message = Some("empty body: no bytes arrived".to_owned());
            BodyKind::EventStream
        } else if ex.error_type.is_some() {
            BodyKind::NotSse
        } else {
            let why = "neither an event stream nor a JSON body (no SSE fields found)";
            self.not_sse(why.into())
        }
    }

    fn finish_json(&mut self) -> BodyKind {
        let body = std::mem::take(&mut self.body);
        let Some(value) = json::parse(&body) else {
            return self.not_sse("a body that starts like JSON but does not parse".into());
        };
        let ex = &mut self.extract;
        if ex.provider == Provider::Auto {
            ex.provider = Provider::detect(&value);
        }
        let known = match ex.provider {
            Provider::Anthropic => anthropic::on_body(ex, &value),
            Provider::OpenAiChat => openai_chat::on_body(ex, &value),
            Provider::OpenAiResponses => openai_responses::on_body(ex, &value),
            Provider::Gemini => gemini::on_body(ex, &value),
            Provider::Auto => match value.as_object() {
                Some(obj) if json::object(obj, "error").is_some() => {
                    read_error(ex, obj);
                    true
                }
                _ => false,
            },
        };
        if known {
            BodyKind::Json
        } else {
            self.not_sse("a JSON body that is not a provider response".into())
        }
    }

    fn not_sse(&mut self, why: String) -> BodyKind {
        let ex = &mut self.extract;
        if ex.error_type.is_none() {
            ex.error_message = Some(if why.is_empty() {
                "empty body".into()
            } else {
                why
            });
        }
        BodyKind::NotSse
    }

    fn record(&mut self, body_kind: BodyKind) -> RawRecord {
        let ex = &mut self.extract;
        if ex.invalid_events > 0 {
            let n = ex.invalid_events;
            ex.notes
                .push(format!("ignored {n} event(s) whose data is not valid JSON"));
        }
        let status = ex.status(body_kind);
        RawRecord {
            status,
            body_kind,
            provider: ex.provider.name(),
            tokens: ex.tokens.clone(),
            output_final: ex.output_final,
            model: std::mem::take(&mut ex.model),
            message_id: std::mem::take(&mut ex.message_id),
            stop_reason: std::mem::take(&mut ex.stop_reason),
            service_tier: std::mem::take(&mut ex.service_tier),
            speed: std::mem::take(&mut ex.speed),
            error_type: std::mem::take(&mut ex.error_type),
            error_message: std::mem::take(&mut ex.error_message),
            raw_usage: ex.last_usage.take(),
            raw_usage_text: ex.last_usage_text.take(),
            output_text: ex.output_text,
            saw_thinking: ex.saw_thinking,
            saw_tool_use: ex.saw_tool_use,
            events: ex.events,
            notes: std::mem::take(&mut ex.notes),
            billing: std::mem::take(&mut ex.billing),
            framing: ex.framing.or(match body_kind {
                BodyKind::EventStream => Some(Framing::Sse),
                BodyKind::Json => Some(Framing::Json),
                BodyKind::NotSse => None,
            }),
        }
    }
}

/// A whole captured body at once.
pub fn parse_usage(body: &[u8], provider: Provider, max_event_bytes: usize) -> RawRecord {
    let mut core = UsageCore::new(provider, max_event_bytes);
    core.feed(body);
    core.finish()
}
