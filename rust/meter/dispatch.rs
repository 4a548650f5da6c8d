//! Each event of a stream to its provider's readers: the fast readers first, the serde tree
//! for what they decline; whole events straight from the framer where a reader takes them.

use crate::providers::anthropic;
use crate::providers::error::read_error;
use crate::providers::facts::{Facts, Provider};
use crate::providers::{
    self, bedrock, cohere, gemini, ollama, openai_chat, openai_responses, State,
};
use crate::scan::tree;
use crate::sse::EventSink;

/// The sink of the event builder: the facts, and what the readers keep between events.
#[derive(Debug)]
pub(crate) struct Dispatch {
    pub facts: Facts,
    pub state: State,
    /// The AVX2 paths may run ([`crate::simd::wide`]).
    pub wide: bool,
    /// A line of the event-stream format was seen.
    pub saw_sse_line: bool,
}

impl Dispatch {
    pub fn new(provider: Provider) -> Self {
        Dispatch {
            facts: Facts::new(provider),
            state: State::default(),
            wide: crate::simd::wide(),
            saw_sse_line: false,
        }
    }

    /// Reads one event's data.
    pub fn handle(&mut self, event_type: &[u8], data: &[u8]) {
        let ex = &mut self.facts;
        let chat = &mut self.state.openai_chat;
        ex.events += 1;
        if matches!(ex.provider, Provider::Auto | Provider::Anthropic)
            && anthropic::reader::fast_path(ex, data)
        {
            return;
        }
        if data == b"[DONE]"
            || (matches!(ex.provider, Provider::OpenAiChat | Provider::Auto)
                && openai_chat::reader::fast_path(ex, &mut chat.layouts, &mut chat.prefix, data))
        {
            return;
        }
        let Some(value) = tree::parse(data) else {
            ex.invalid_events += 1;
            return;
        };
        if ex.provider == Provider::Auto {
            ex.provider = providers::detect(&value);
        }
        match ex.provider {
            Provider::Anthropic => anthropic::tree::on_event(ex, event_type, &value),
            Provider::OpenAiChat => openai_chat::tree::on_event(ex, &value),
            Provider::OpenAiResponses => openai_responses::tree::on_event(ex, &value),
            Provider::Gemini => gemini::tree::on_event(ex, &mut self.state.gemini, &value),
            Provider::Cohere => cohere::tree::on_event(ex, &value),
            Provider::Ollama => ollama::tree::on_event(ex, &value),
            // Bedrock's SSE-free streams are read by the AWS event-stream framing; a JSON
            // event here is a Converse body's shape.
            Provider::Bedrock => {
                bedrock::tree::on_body(ex, &value);
            }
            Provider::Auto => {
                if let Some(obj) = value
                    .as_object()
                    .filter(|o| tree::object(o, "error").is_some())
                {
                    read_error(ex, obj);
                }
            }
        }
    }
}

impl EventSink for Dispatch {
    fn event(&mut self, event_type: &[u8], data: &[u8], _last_event_id: &[u8]) {
        self.handle(event_type, data);
    }

    fn oversized_event(&mut self) {
        self.facts.set_error(
            "event_too_large",
            "an event exceeded max_event_bytes and was dropped".to_owned(),
        );
    }

    fn sse_line(&mut self) {
        self.saw_sse_line = true;
    }

    fn whole_event(&mut self, rest: &[u8], max_event_bytes: usize) -> usize {
        let ex = &mut self.facts;
        if ex.provider == Provider::OpenAiChat {
            // Plain content chunks that match the stream's template, read from the framer.
            let layouts = &mut self.state.openai_chat.layouts;
            let run =
                openai_chat::layouts::whole_events(ex, layouts, rest, max_event_bytes, self.wide);
            if run.events > 0 {
                ex.events += run.events;
                self.saw_sse_line = true;
            }
            return run.used;
        }
        if !matches!(ex.provider, Provider::Auto | Provider::Anthropic) {
            return 0;
        }
        // Quiet events are taken only once the stream is known to be Anthropic's: the general
        // path does not decide the provider on a ping.
        let quiet = ex.provider == Provider::Anthropic;
        let run = anthropic::layouts::anthropic_events(
            rest,
            &mut ex.output_text,
            max_event_bytes,
            quiet,
            self.wide,
        );
        if run.events > 0 {
            ex.events += run.events;
            self.saw_sse_line = true;
            ex.provider = Provider::Anthropic;
            ex.saw_thinking |= run.thinking;
            ex.saw_tool_use |= run.tool_use;
        }
        run.used
    }
}
