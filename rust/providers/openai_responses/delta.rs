//! The Responses deltas (text, reasoning, tool input: the bulk of a stream) read in one pass
//! with [`Cursor`], their skipped and counted values noted, so that a stream's later deltas of
//! the same layout are read by a learned skeleton (`scan::skeleton`), as Anthropic's and
//! OpenAI Chat's are. Any other event, or a delta this pass does not take whole, is left
//! (nothing changed) to `reader::fast_path`, which reads it as the tree would.

use super::reader::delta_kind;
use crate::providers::facts::{Facts, Provider};
use crate::scan::cursor::Cursor;
use crate::scan::holes::Holes;

/// What a delta of a learned layout says beside its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub reasoning: bool,
    pub tool_input: bool,
}

impl Seen {
    /// What reading a delta of this layout does beside counting its text.
    #[inline(always)]
    pub fn apply(self, ex: &mut Facts) {
        ex.provider = Provider::OpenAiResponses;
        ex.saw_thinking |= self.reasoning;
        ex.saw_tool_use |= self.tool_input;
    }
}

/// A delta event read whole: its text counted, what it says applied and returned, its values
/// noted in `holes`. `None` (nothing changed) for any other event, a `type` or `delta` twice,
/// a `delta` neither a string nor `null`, or a field that only the other reader reads.
pub fn read_delta(ex: &mut Facts, data: &[u8], holes: &mut Holes) -> Option<Seen> {
    holes.clear();
    let mut counted = ex.output_text.continued();
    let (mut kind, mut delta_seen) = (None, false);
    let mut c = Cursor::new(data);
    let mut more = c.open()?;
    while more {
        match c.name()? {
            // The type first in every stream seen: any other event is left at once.
            b"type" if kind.is_none() => kind = Some(delta_kind(c.plain_string()?)?),
            b"delta" if !delta_seen => {
                delta_seen = true;
                if c.at_string() {
                    c.count_noted(&mut counted, holes)?;
                } else {
                    c.null_or_plain()?.is_none().then_some(())?;
                }
            }
            b"type" | b"delta" | b"response" | b"item" | b"code" | b"message" => return None,
            _ => c.skip_noted(holes)?,
        }
        more = c.next()?;
    }
    let (reasoning, tool_input) = kind.filter(|_| c.at_end())?;
    ex.output_text.append(&counted);
    let seen = Seen {
        reasoning,
        tool_input,
    };
    seen.apply(ex);
    Some(seen)
}
