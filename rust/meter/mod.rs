//! The meter: feed it the bytes of one response, get one `RawRecord` at the end.
//!
//! - [`sniff`]: the body's kind, from its first significant byte (event stream, JSON body,
//!   an HTML page or compressed bytes).
//! - [`dispatch`]: each event of a stream to its provider's readers.
//! - [`finish`]: what a cut stream left, a JSON body read whole, and the record.

mod dispatch;
mod finish;
mod sniff;

use crate::framing::aws_eventstream::{EventStream, Fault, Message};
use crate::framing::json_array::JsonArray;
use crate::framing::ndjson::Ndjson;
use crate::providers::bedrock;
use crate::providers::facts::Provider;
use crate::record::RawRecord;
use crate::sse::{EventBuilder, Framer, Lines};

use dispatch::Dispatch;
pub use sniff::Hint;
use sniff::Mode;

pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 << 20;

#[derive(Debug)]
pub struct UsageCore {
    pub(crate) framer: Framer,
    pub(crate) events: EventBuilder,
    pub(crate) sink: Dispatch,
    pub(crate) mode: Mode,
    /// A JSON body, kept whole until the end (bounded by `max_event_bytes`).
    pub(crate) body: Vec<u8>,
    pub(crate) max_event_bytes: usize,
    /// Anything but white space arrived.
    pub(crate) saw_bytes: bool,
    /// The first bytes, while they could still be the start of a BOM or a zstd magic.
    pub(crate) held: Vec<u8>,
    /// The first bytes were checked for a byte order mark.
    pub(crate) bom_seen: bool,
    /// Newline-delimited JSON lines (Ollama), in `Mode::Ndjson`.
    pub(crate) ndjson: Ndjson,
    /// The AWS event stream's unfinished message (Bedrock), in `Mode::AwsEventStream`.
    pub(crate) aws: EventStream,
    /// The AWS event stream was told from the first bytes (`auto`), not asked for.
    pub(crate) aws_sniffed: bool,
    /// A JSON array's unfinished element (Gemini without `alt=sse`), in `Mode::JsonArray`.
    pub(crate) array: JsonArray,
    /// How far the JSON body was searched for the end of a first line (`Mode::Json`).
    pub(crate) json_checked: usize,
    /// The response's content type, as a framing hint (read once, at the first byte).
    pub(crate) hint: Hint,
}

impl UsageCore {
    pub fn new(provider: Provider, max_event_bytes: usize) -> Self {
        UsageCore {
            framer: Framer::new(max_event_bytes.saturating_add(64)).holding_cut_events(),
            events: EventBuilder::new(b"", max_event_bytes),
            sink: Dispatch::new(provider),
            mode: Mode::Sniff,
            body: Vec::new(),
            max_event_bytes,
            saw_bytes: false,
            held: Vec::new(),
            bom_seen: false,
            ndjson: Ndjson::default(),
            aws: EventStream::default(),
            aws_sniffed: false,
            array: JsonArray::default(),
            json_checked: 0,
            hint: Hint::None,
        }
    }

    /// The same, told the response's `Content-Type` (see [`Hint`]).
    pub fn with_content_type(mut self, content_type: Option<&str>) -> Self {
        self.set_content_type(content_type);
        self
    }

    /// The same, in place (a core made in a box is not moved out and back).
    pub fn set_content_type(&mut self, content_type: Option<&str>) {
        self.hint = content_type.map_or(Hint::None, Hint::from_content_type);
    }

    #[inline]
    pub fn feed(&mut self, chunk: &[u8]) {
        if chunk.is_empty() {
            return; // changes nothing in any mode (and a fresh framer's BOM check costs a call)
        }
        if matches!(self.mode, Mode::EventStream) {
            return self.frame(chunk);
        }
        self.feed_other(chunk);
    }

    /// [`UsageCore::feed`] in any mode but a stream under way: out of line, so that the usual
    /// read's function keeps a small frame.
    #[inline(never)]
    fn feed_other(&mut self, chunk: &[u8]) {
        match self.mode {
            Mode::EventStream => self.frame(chunk),
            Mode::Sniff => self.sniff(chunk),
            Mode::Json => self.keep_body(chunk),
            Mode::Ndjson => self.ndjson_lines(chunk),
            Mode::AwsEventStream => self.aws_messages(chunk),
            Mode::JsonArray => self.array_elements(chunk),
            Mode::NotSse(_) => {}
        }
    }

    /// Each line of newline-delimited JSON to the provider's reader, as an event.
    pub(crate) fn ndjson_lines(&mut self, chunk: &[u8]) {
        let (sink, max) = (&mut self.sink, self.max_event_bytes);
        let mut long = 0;
        let mut line = |line: &[u8]| sink.handle(b"", line);
        self.ndjson.feed(chunk, max, &mut line, &mut || long += 1);
        if long > 0 {
            self.sink.facts.set_error(
                "event_too_large",
                "a JSON line exceeded max_event_bytes and was dropped".to_owned(),
            );
        }
    }

    /// Each element of a JSON array to the provider's reader, as an event.
    pub(crate) fn array_elements(&mut self, chunk: &[u8]) {
        let (sink, max) = (&mut self.sink, self.max_event_bytes);
        let mut long = 0;
        let mut element = |element: &[u8]| sink.handle(b"", element);
        self.array.feed(chunk, max, &mut element, &mut || long += 1);
        if long > 0 {
            self.sink.facts.set_error(
                "event_too_large",
                "a JSON array element exceeded max_event_bytes and was dropped".to_owned(),
            );
        }
    }

    /// Each message of an AWS event stream to the Bedrock reader; the first fault ends it.
    pub(crate) fn aws_messages(&mut self, chunk: &[u8]) {
        let facts = &mut self.sink.facts;
        let mut message = |msg: &Message| bedrock::tree::on_message(facts, msg);
        if let Err(fault) = self.aws.feed(chunk, self.max_event_bytes, &mut message) {
            if self.aws_sniffed && self.sink.facts.events == 0 {
                // Told from a zero first byte, and its first message does not check: bytes of
                // something else.
                let why = format!(
                    "neither an event stream nor a JSON body ({})",
                    fault.message()
                );
                self.mode = Mode::NotSse(why);
                self.sink.facts.provider = Provider::Auto;
                self.sink.facts.framing = None;
                return;
            }
            let kind = match fault {
                Fault::TooLarge { .. } => "event_too_large",
                _ => "invalid_event_stream",
            };
            self.sink.facts.set_error(kind, fault.message());
        }
    }

    #[inline(always)]
    pub(crate) fn frame(&mut self, chunk: &[u8]) {
        let mut lines = Lines {
            builder: &mut self.events,
            sink: &mut self.sink,
        };
        self.framer.feed(chunk, &mut lines);
    }
}

/// A whole captured body at once.
pub fn parse_usage(body: &[u8], provider: Provider, max_event_bytes: usize) -> RawRecord {
    let mut core = UsageCore::new(provider, max_event_bytes);
    core.feed(body);
    core.finish()
}
