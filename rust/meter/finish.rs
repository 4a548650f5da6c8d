//! End of stream: what a cut stream left unfinished, a JSON body read whole, and the record.

use super::{Mode, UsageCore};
use crate::providers::error::read_error;
use crate::providers::facts::Provider;
use crate::providers::{
    self, anthropic, bedrock, cohere, gemini, ollama, openai_chat, openai_responses,
};
use crate::record::{BodyKind, Framing, RawRecord};
use crate::scan::tree;
use crate::sse::Lines;

impl UsageCore {
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
            Mode::Ndjson => self.finish_ndjson(),
            Mode::AwsEventStream => self.finish_aws(),
            Mode::JsonArray => self.finish_array(),
            Mode::NotSse(why) => self.not_sse(why),
        };
        self.record(kind)
    }

    fn finish_stream(&mut self) -> BodyKind {
        // The spec drops an unfinished event; for metering, its data is still read when it is
        // complete JSON (a cut before the blank line loses nothing then).
        let mut lines = Lines {
            builder: &mut self.events,
            sink: &mut self.sink,
        };
        self.framer.flush_held(&mut lines);
        if self.framer.in_overlong_line() {
            self.events.overlong_line();
        }
        if let Some(tail) = self.framer.take_tail() {
            self.events.line(&tail, &mut self.sink);
        }
        // An event cut inside after it outgrew the bound says so, as a finished one would.
        self.events.end_oversized(&mut self.sink);
        let pending = self
            .events
            .pending()
            .filter(|(_, data)| tree::parse(data).is_some())
            .map(|(t, d)| (t.to_vec(), d.to_vec()));
        if let Some((event_type, data)) = pending {
            self.sink.handle(&event_type, &data);
        }
        let ex = &self.sink.facts;
        if self.sink.saw_sse_line || ex.events > 0 {
            BodyKind::EventStream
        } else if !self.saw_bytes {
            // Nothing arrived (a client that went away at once): no usage, not a bad body.
            self.sink.facts.error_message = Some("empty body: no bytes arrived".to_owned());
            BodyKind::EventStream
        } else if ex.error_type.is_some() {
            BodyKind::NotSse
        } else {
            let why = "neither an event stream nor a JSON body (no SSE fields found)";
            self.not_sse(why.into())
        }
    }

    fn finish_array(&mut self) -> BodyKind {
        // A cut inside the last element: read if it is whole JSON (it rarely is).
        if let Some(tail) = self.array.take_tail() {
            if tree::parse(&tail).is_some() {
                self.sink.handle(b"", &tail);
            }
        }
        let ex = &self.sink.facts;
        if ex.provider == Provider::Auto && ex.error_type.is_none() {
            return self.not_sse("a JSON body that is not a provider response".into());
        }
        BodyKind::Json
    }

    fn finish_aws(&mut self) -> BodyKind {
        let left = self.aws.unfinished();
        let ex = &mut self.sink.facts;
        if left > 0 && ex.error_type.is_none() {
            let why = format!("AWS event stream: the stream ended inside a message ({left} bytes)");
            if ex.final_usage {
                json_note(ex, why);
            } else {
                ex.set_error("truncated_event_stream", why);
            }
        }
        BodyKind::EventStream
    }

    fn finish_ndjson(&mut self) -> BodyKind {
        // The last line, when the body did not end with a newline, and is whole JSON.
        if let Some(tail) = self.ndjson.take_tail() {
            if tree::parse(&tail).is_some() {
                self.sink.handle(b"", &tail);
            }
        }
        match self.sink.facts.events {
            0 if self.sink.facts.error_type.is_none() => {
                self.not_sse("a body that starts like JSON but does not parse".into())
            }
            // One value: a whole JSON body, as `auto` reads it.
            1 => {
                self.sink.facts.framing = Some(Framing::Json);
                BodyKind::Json
            }
            _ => BodyKind::EventStream,
        }
    }

    fn finish_json(&mut self) -> BodyKind {
        let body = std::mem::take(&mut self.body);
        let Some(value) = tree::parse(&body) else {
            return self.not_sse("a body that starts like JSON but does not parse".into());
        };
        let ex = &mut self.sink.facts;
        if ex.provider == Provider::Auto {
            ex.provider = providers::detect(&value);
        }
        let known = match ex.provider {
            Provider::Anthropic => anthropic::tree::on_body(ex, &value),
            Provider::OpenAiChat => openai_chat::tree::on_body(ex, &value),
            Provider::OpenAiResponses => openai_responses::tree::on_body(ex, &value),
            Provider::Gemini => gemini::tree::on_body(ex, &mut self.sink.state.gemini, &value),
            Provider::Cohere => cohere::tree::on_body(ex, &value),
            Provider::Ollama => ollama::tree::on_body(ex, &value),
            Provider::Bedrock => bedrock::tree::on_body(ex, &value),
            Provider::Auto => match value.as_object() {
                Some(obj) if tree::object(obj, "error").is_some() => {
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
        let ex = &mut self.sink.facts;
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
        let ex = &mut self.sink.facts;
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
            // Lower-case, whatever the provider's spelling (ASCII only, as the pure twin).
            service_tier: std::mem::take(&mut ex.service_tier).map(|t| {
                if t.is_ascii() {
                    t.to_ascii_lowercase()
                } else {
                    t
                }
            }),
            speed: std::mem::take(&mut ex.speed),
            error_type: std::mem::take(&mut ex.error_type),
            error_message: std::mem::take(&mut ex.error_message),
            raw_usage: ex.last_usage.take(),
            raw_usage_text: ex.last_usage_text.take(),
            output_text: ex.output_text,
            saw_thinking: ex.saw_thinking,
            saw_tool_use: ex.saw_tool_use,
            encrypted_reasoning: ex.encrypted_reasoning,
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

/// A note on the record (once).
fn json_note(ex: &mut crate::providers::facts::Facts, why: String) {
    tree::note(&mut ex.notes, why);
}
