//! ConverseStream events read in place by the skim reader, as `tree::on_event` reads their
//! tree: a `contentBlockDelta`'s text, tool input and reasoning text (counted in place), and the
//! events the tree only checks (`messageStart`, `contentBlockStop`). Without this every
//! message of a Bedrock stream went through the serde tree.
//!
//! Declined, for the tree to read: a field read twice (the tree keeps the last), and the events
//! that carry what the tree reads further (`chunk`, `contentBlockStart`, `messageStop`,
//! `metadata`).

use crate::providers::facts::Facts;
use crate::scan::skim::{once, Skim};
use crate::scan::strings::count_string;

/// The event's payload read and applied as `tree::on_event` would; `None` (nothing changed)
/// where the tree must read it.
pub fn read_event(ex: &mut Facts, event_type: &str, payload: &[u8]) -> Option<()> {
    let mut skim = Skim::new(payload);
    match event_type {
        "contentBlockDelta" => {
            let delta = read_delta_event(&mut skim)?;
            if !skim.at_end() {
                return None;
            }
            // In the tree's order: text, tool input, reasoning text.
            let mut stats = ex.output_text;
            for start in [delta.text, delta.tool_input, delta.reasoning]
                .into_iter()
                .flatten()
            {
                count_string(payload, start, &mut stats)?;
            }
            ex.output_text = stats;
            ex.saw_tool_use |= delta.tool_use;
            ex.saw_thinking |= delta.thinking;
        }
        "chunk" | "contentBlockStart" | "messageStop" | "metadata" => return None,
        // Nothing the tree reads: the payload only checked (an invalid one is the tree's to
        // count).
        _ => {
            skim.skip_value()?;
            if !skim.at_end() {
                return None;
            }
        }
    }
    Some(())
}

/// What a `contentBlockDelta` says: where its strings' bodies start, and what it shows.
#[derive(Default)]
struct Delta {
    text: Option<usize>,
    tool_input: Option<usize>,
    reasoning: Option<usize>,
    /// A `toolUse` object with an `input` (of any kind).
    tool_use: bool,
    /// A `reasoningContent` object.
    thinking: bool,
}

fn read_delta_event(skim: &mut Skim) -> Option<Delta> {
    let mut d = Delta::default();
    let mut seen = false;
    skim.object(|skim, key| match key {
        "delta" => {
            once(&mut None::<()>, &mut seen, Some(()))?;
            read_delta(skim, &mut d)
        }
        _ => skim.skip_value(),
    })?;
    Some(d)
}

/// The `delta` object's fields, as `tree::count_delta` reads them (a value that is no object
/// is skipped, as the tree leaves it).
fn read_delta(skim: &mut Skim, d: &mut Delta) -> Option<()> {
    let mut seen = [false; 3];
    skim.object_or_skip(|skim, key| match key {
        "text" => once(&mut d.text, &mut seen[0], skim.string_or_skip()?),
        "toolUse" => {
            once(&mut None::<()>, &mut seen[1], Some(()))?;
            if !skim.at_object() {
                return skim.skip_value();
            }
            let mut seen_input = false;
            skim.object(|skim, key| match key {
                "input" => {
                    d.tool_use = true;
                    once(&mut d.tool_input, &mut seen_input, skim.string_or_skip()?)
                }
                _ => skim.skip_value(),
            })
        }
        "reasoningContent" => {
            once(&mut None::<()>, &mut seen[2], Some(()))?;
            if !skim.at_object() {
                return skim.skip_value();
            }
            d.thinking = true;
            let mut seen_text = false;
            skim.object(|skim, key| match key {
                "text" => once(&mut d.reasoning, &mut seen_text, skim.string_or_skip()?),
                _ => skim.skip_value(),
            })
        }
        _ => skim.skip_value(),
    })
}
