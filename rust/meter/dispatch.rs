//! Each event of a stream to its provider's readers: the fast readers first, the serde tree
//! for what they decline; whole events straight from the framer where a reader takes them.

use crate::providers::anthropic;
use crate::providers::error::read_error;
use crate::providers::facts::{Facts, Provider};
use crate::providers::{
    self, bedrock, cohere, gemini, ollama, openai_chat, openai_responses, State,
};
use crate::scan::holes::{Hole, Holes, MAX_HOLES};
use crate::scan::skeleton::{Skeleton, Skeletons};
use crate::scan::tree;
use crate::sse::{EventSink, Taken};

/// What an event of a learned layout says beside its text, per provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Seen {
    Anthropic(anthropic::reader::Seen),
    OpenAiChat(openai_chat::reader::Seen),
}

/// The sink of the event builder: the facts, and what the readers keep between events.
#[derive(Debug)]
pub(crate) struct Dispatch {
    pub facts: Facts,
    pub state: State,
    /// The AVX2 paths may run ([`crate::simd::wide`]).
    pub wide: bool,
    /// A line of the event-stream format was seen.
    pub saw_sse_line: bool,
    /// The layouts of the stream's events that the fast readers read, learned.
    skeletons: Skeletons<Seen>,
    /// What the last event read said and the holes in its data, when its layout may be learned.
    seen: Option<Seen>,
    holes: Holes,
    /// Events read by the skeletons (for the tests: that the fast path is taken).
    pub taken: u64,
    /// The skeleton whose identity fields the facts hold (OpenAI), set once after each event
    /// read otherwise (which may have set others).
    identity_of: Option<usize>,
}

impl Dispatch {
    pub fn new(provider: Provider) -> Self {
        Dispatch {
            facts: Facts::new(provider),
            state: State::default(),
            wide: crate::simd::wide(),
            saw_sse_line: false,
            skeletons: Skeletons::default(),
            seen: None,
            holes: Holes::default(),
            identity_of: None,
            taken: 0,
        }
    }

    /// Reads one event's data.
    pub fn handle(&mut self, event_type: &[u8], data: &[u8]) {
        let ex = &mut self.facts;
        let chat = &mut self.state.openai_chat;
        ex.events += 1;
        (self.seen, self.identity_of) = (None, None);
        if matches!(ex.provider, Provider::Auto | Provider::Anthropic) {
            if let Some(seen) = anthropic::reader::fast_path(ex, data, &mut self.holes) {
                self.seen = seen.map(Seen::Anthropic);
                return;
            }
        }
        if data == b"[DONE]" {
            return;
        }
        if matches!(ex.provider, Provider::OpenAiChat | Provider::Auto) {
            let read = openai_chat::reader::fast_path(ex, &mut chat.prefix, data, &mut self.holes);
            if let Some(seen) = read {
                self.seen = seen.map(Seen::OpenAiChat);
                return;
            }
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

    fn whole_event(&mut self, rest: &[u8], max_event_bytes: usize) -> Taken {
        let ex = &mut self.facts;
        let provider = ex.provider;
        if self.skeletons.is_empty()
            || !matches!(
                provider,
                Provider::Auto | Provider::Anthropic | Provider::OpenAiChat
            )
        {
            return Taken::default();
        }
        // Each kind only where the general path would give its event to the same reader.
        let fits = |seen: &Seen| match seen {
            Seen::Anthropic(_) => matches!(provider, Provider::Auto | Provider::Anthropic),
            Seen::OpenAiChat(_) => provider == Provider::OpenAiChat,
        };
        let mut stats = ex.output_text;
        let identity_of = &mut self.identity_of;
        let hit = |seen: &Seen, at: usize| match seen {
            Seen::Anthropic(seen) => seen.apply(ex),
            Seen::OpenAiChat(seen) => {
                seen.apply(ex, *identity_of != Some(at));
                *identity_of = Some(at);
            }
        };
        let run = self
            .skeletons
            .run(rest, &mut stats, max_event_bytes, self.wide, fits, hit);
        ex.output_text = stats;
        if run.events > 0 {
            ex.events += run.events;
            self.taken += run.events;
            self.saw_sse_line = true;
        }
        Taken {
            used: run.used,
            last_id: run.last_id,
        }
    }

    fn read_whole(&mut self, event: &[u8], data: (usize, usize), id: Option<(usize, usize)>) {
        let Some(seen) = self.seen.take() else {
            return;
        };
        let Some(noted) = self.holes.spans() else {
            return;
        };
        // The data's holes, the id's, and the padding before the data's closing brace.
        let mut holes = [(0, 0, Hole::End); MAX_HOLES + 2];
        let mut n = 0;
        if let Some((start, end)) = id {
            holes[0] = (start, end, Hole::Id);
            n = 1;
        }
        for &(start, end, hole) in noted {
            holes[n] = (data.0 + start, data.0 + end, hole);
            n += 1;
        }
        // Noted in the order read (an OpenAI chunk's counted texts last): in byte order.
        holes[..n].sort_unstable_by_key(|h| h.0);
        let last_end = holes[..n].last().map_or(data.0, |h| h.1);
        if data.1 > data.0 && event[data.1 - 1] == b'}' {
            let brace = data.1 - 1;
            let mut pad = brace;
            while pad > last_end && matches!(event[pad - 1], b' ' | b'\t') {
                pad -= 1;
            }
            holes[n] = (pad, brace, Hole::Blanks);
            n += 1;
        }
        if let Some(skeleton) = Skeleton::learn(event, &holes[..n], seen) {
            self.skeletons.learn(skeleton);
            self.identity_of = None;
        }
    }
}
