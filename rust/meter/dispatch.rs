//! Each event of a stream to its provider's readers: the fast readers first, the serde tree
//! for what they decline; whole events straight from the framer where a reader takes them.

use crate::providers::anthropic;
use crate::providers::error::read_error;
use crate::providers::facts::{Facts, Provider};
use crate::providers::{
    self, bedrock, cohere, gemini, ollama, openai_chat, openai_responses, State,
};
use crate::scan::holes::{Hole, Holes, MAX_HOLES};
use crate::scan::skeleton::{RunSink, Skeletons};
use crate::scan::tree;
use crate::sse::{EventSink, Taken};
use crate::textstats::TextStats;

/// What an event of a learned layout says beside its text, per provider. A tag byte of its
/// own: `fits` and `hit` match it for every event a skeleton reads, and the niche layout of
/// three variants took about 15 instructions an event to decode (one read per event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Seen {
    Anthropic(anthropic::reader::Seen),
    OpenAiChat(openai_chat::reader::Seen),
    OpenAiResponses(openai_responses::delta::Seen),
}

/// The sink of the event builder: the facts, and what the readers keep between events.
#[derive(Debug)]
pub(crate) struct Dispatch {
    pub facts: Facts,
    pub state: State,
    /// A line of the event-stream format was seen.
    pub saw_sse_line: bool,
    /// The layouts of the stream's events that the fast readers read, learned: whole events
    /// (framing included) and their data alone.
    skeletons: Skeletons<Seen>,
    data_skeletons: Skeletons<Seen>,
    /// Events have come line by line: their data's layouts are learned too.
    learn_data: bool,
    /// What the last event read said and the holes in its data, when its layout may be learned.
    seen: Option<Seen>,
    holes: Holes,
    /// Events read by the skeletons (for the tests: that the fast path is taken).
    pub taken: u64,
    /// Events the serde tree read, every fast reader having declined them (for the tests:
    /// which events of real streams leave the fast path).
    pub tree_read: u64,
    /// The skeleton whose identity fields the facts hold (OpenAI), set once after each event
    /// read otherwise (which may have set others).
    identity_of: Option<usize>,
}

impl Dispatch {
    pub fn new(provider: Provider) -> Self {
        Dispatch {
            facts: Facts::new(provider),
            state: State::default(),
            saw_sse_line: false,
            skeletons: Skeletons::default(),
            data_skeletons: Skeletons::default(),
            learn_data: false,
            seen: None,
            holes: Holes::default(),
            identity_of: None,
            taken: 0,
            tree_read: 0,
        }
    }

    /// The layouts of whole events learned (for the tests).
    #[cfg(test)]
    pub fn learned(&self) -> usize {
        self.skeletons.len()
    }

    /// Reads one event's data.
    pub fn handle(&mut self, event_type: &[u8], data: &[u8]) {
        let ex = &mut self.facts;
        let chat = &mut self.state.openai_chat;
        ex.events += 1;
        // What the last event said was not taken by `read_whole`: it came line by line, and
        // so may the next ones (events cut by the reads' ends, small reads).
        self.learn_data |= self.seen.is_some();
        (self.seen, self.identity_of) = (None, None);
        let (provider, mut stats) = (ex.provider, ex.output_text);
        let read = self.data_skeletons.read_data(
            data,
            &mut stats,
            |seen| fits(seen, provider),
            |seen| match seen {
                Seen::Anthropic(seen) => seen.apply(ex),
                Seen::OpenAiChat(seen) => seen.apply(ex, true),
                Seen::OpenAiResponses(seen) => seen.apply(ex),
            },
        );
        if read {
            ex.output_text = stats;
            self.taken += 1;
            return;
        }
        // A stream's first Gemini chunk, under `Auto`, is not skimmed by three readers first
        // (one the Gemini reader declines is tried by it again below).
        if ex.provider == Provider::Auto
            && gemini::reader::opens_as_gemini(data)
            && gemini::reader::fast_path(ex, &mut self.state.gemini, data).is_some()
        {
            return;
        }
        if matches!(ex.provider, Provider::Auto | Provider::Anthropic) {
            if let Some(seen) = anthropic::reader::fast_path(ex, data, &mut self.holes) {
                self.seen = seen.map(Seen::Anthropic);
                self.learn_data_layout(data);
                return;
            }
        }
        if data == b"[DONE]" {
            return;
        }
        if matches!(ex.provider, Provider::OpenAiChat | Provider::Auto) {
            let read = openai_chat::reader::fast_path(ex, &mut chat.prefix, data, &mut self.holes);
            if let Some(mut seen) = read {
                // The first chunk that names the role is not learned: OpenAI's only one does
                // (a layout no later chunk has), a relay's that name it in every chunk from
                // the second on.
                if seen.as_ref().is_some_and(|seen| seen.names_role) && !chat.named_role {
                    (chat.named_role, seen) = (true, None);
                }
                self.seen = seen.map(Seen::OpenAiChat);
                self.learn_data_layout(data);
                return;
            }
        }
        if matches!(ex.provider, Provider::OpenAiResponses | Provider::Auto) {
            if let Some(seen) = openai_responses::delta::read_delta(ex, data, &mut self.holes) {
                self.seen = Some(Seen::OpenAiResponses(seen));
                self.learn_data_layout(data);
                return;
            }
            if openai_responses::reader::fast_path(ex, data).is_some() {
                return;
            }
        }
        if matches!(ex.provider, Provider::Gemini | Provider::Auto)
            && gemini::reader::fast_path(ex, &mut self.state.gemini, data).is_some()
        {
            return;
        }
        self.tree_read += 1;
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

/// The holes a reader noted in `data`, in byte order (an OpenAI chunk's counted texts are
/// noted last), and the padding before its closing brace: from index 1 (0 is left for an
/// `id`) to the index returned.
fn data_holes(
    noted: &[(usize, usize, Hole)],
    data: &[u8],
) -> ([(usize, usize, Hole); MAX_HOLES + 2], usize) {
    let mut holes = [(0, 0, Hole::End); MAX_HOLES + 2];
    let n = noted.len();
    holes[1..=n].copy_from_slice(noted);
    holes[1..=n].sort_unstable_by_key(|h| h.0);
    let mut end = n + 1;
    if data.last() == Some(&b'}') {
        let brace = data.len() - 1;
        let last_end = holes[n].1 * usize::from(n > 0);
        let mut pad = brace;
        while pad > last_end && matches!(data[pad - 1], b' ' | b'\t') {
            pad -= 1;
        }
        holes[end] = (pad, brace, Hole::Blanks);
        end += 1;
    }
    (holes, end)
}

/// Whether an event of a layout learned with `seen` would go to the same reader now: each kind
/// only where the general path would give its event to that reader.
fn fits(seen: &Seen, provider: Provider) -> bool {
    match seen {
        Seen::Anthropic(_) => matches!(provider, Provider::Auto | Provider::Anthropic),
        Seen::OpenAiChat(_) => provider == Provider::OpenAiChat,
        Seen::OpenAiResponses(_) => provider == Provider::OpenAiResponses,
    }
}

impl Dispatch {
    /// Learns the layout of `data`, just read by a fast reader, for the events the line path
    /// dispatches, once some have come that way.
    fn learn_data_layout(&mut self, data: &[u8]) {
        let (Some(seen), true) = (&self.seen, self.learn_data) else {
            return;
        };
        let Some((holes, end)) = self.holes.spans().map(|noted| data_holes(noted, data)) else {
            return;
        };
        self.data_skeletons
            .learn_event(data, &holes[1..end], seen.clone());
    }
}

/// The facts a run of learned layouts reads events into (see [`RunSink`]).
struct Taker<'a> {
    ex: &'a mut Facts,
    identity_of: &'a mut Option<usize>,
}

impl RunSink<Seen> for Taker<'_> {
    #[inline(always)]
    fn stats(&mut self) -> &mut TextStats {
        &mut self.ex.output_text
    }

    #[inline(always)]
    fn hit(&mut self, seen: &Seen, at: usize) {
        match seen {
            Seen::Anthropic(seen) => seen.apply(self.ex),
            Seen::OpenAiChat(seen) => {
                seen.apply(self.ex, *self.identity_of != Some(at));
                *self.identity_of = Some(at);
            }
            Seen::OpenAiResponses(seen) => seen.apply(self.ex),
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

    #[inline(always)]
    fn whole_event(&mut self, rest: &[u8], max_event_bytes: usize) -> Taken {
        let ex = &mut self.facts;
        let provider = ex.provider;
        if self.skeletons.is_empty()
            || !matches!(
                provider,
                Provider::Auto
                    | Provider::Anthropic
                    | Provider::OpenAiChat
                    | Provider::OpenAiResponses
            )
        {
            return Taken::default();
        }
        let fits = move |seen: &Seen| fits(seen, provider);
        let sink = Taker {
            ex,
            identity_of: &mut self.identity_of,
        };
        let run = self.skeletons.run(rest, sink, max_event_bytes, fits);
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
        let Some((mut holes, end)) = self
            .holes
            .spans()
            .map(|noted| data_holes(noted, &event[data.0..data.1]))
        else {
            return;
        };
        // The whole event: its framing too, the `id` value a hole.
        for hole in &mut holes[1..end] {
            (hole.0, hole.1) = (data.0 + hole.0, data.0 + hole.1);
        }
        let first = match id {
            Some((start, end)) => {
                holes[0] = (start, end, Hole::Id);
                0
            }
            None => 1,
        };
        if self.skeletons.learn_event(event, &holes[first..end], seen) {
            self.identity_of = None;
        }
    }
}
