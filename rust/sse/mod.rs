//! Bytes to lines to events, per WHATWG HTML "interpreting an event stream"; knows no provider.
//!
//! - [`framer`]: bytes to lines (CR, LF, CRLF; BOM; bounded).
//! - [`events`]: lines to events (field rules, the event builder, the sink trait).

pub mod events;
pub mod framer;

pub use events::{EventBuilder, EventSink, Lines, Taken, MAX_RETRY_DIGITS};
pub use framer::{Framer, LineSink, BOM};
