"""A slow, deliberately literal reading of WHATWG HTML "Server-sent events: parsing an event stream"
and "interpreting an event stream", used as the oracle for `SSEDecoder` tests.

It never streams: it takes the whole byte stream at once, so there are no chunk boundaries to get
wrong. Each block below is annotated with the spec step it transcribes. Speed is irrelevant here;
clarity is everything.

What it returns, per the spec's processing model for web browsers:

* `events`: one `(type, data, last_event_id)` tuple per dispatched `MessageEvent`, in order.
* `last_event_id`: the event source's *last event ID string*. The spec sets it from the last event
  ID buffer at the start of every dispatch (every blank line), whether or not an event is then
  fired. An `id` line that is never followed by a blank line therefore does not change it (WPT
  `format-data-before-final-empty-line` relies on exactly this).
* `retry`: the reconnection time in milliseconds as last set by a valid `retry` field, or `None`
  when no valid one was seen. The spec sets it immediately when the field line is processed.
* `last_event_id_buffer`: the parser's internal buffer at EOF, exposed only for self-checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LF = "\n"
CR = "\r"
COLON = ":"
SPACE = " "
NULL = "\x00"
BOM = "\ufeff"
ASCII_DIGITS = frozenset("0123456789")

EventTuple = tuple[str, str, str]


@dataclass
class ReferenceResult:
    events: list[EventTuple] = field(default_factory=list)
    last_event_id: str = ""
    retry: int | None = None
    last_event_id_buffer: str = ""


def utf8_decode(stream: bytes) -> str:
    """WHATWG Encoding "UTF-8 decode": strip one leading UTF-8 BOM (EF BB BF), then decode with
    replacement. CPython's "replace" handler substitutes one U+FFFD per maximal subpart of an
    ill-formed sequence, which is the same rule the WHATWG UTF-8 decoder follows."""
    text = stream.decode("utf-8", errors="replace")
    # The BOM bytes decode to exactly U+FEFF and nothing else decodes to a leading U+FEFF, so
    # stripping the first decoded character is the same as stripping the three bytes.
    if text.startswith(BOM):
        text = text[1:]
    return text


def split_lines(text: str) -> list[str]:
    """A line ends at CRLF, at an LF not preceded by CR, or at a CR not followed by LF.
    Characters after the last line ending do not form a line: at end of file, "any pending data
    must be discarded"."""
    lines: list[str] = []
    current: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == CR:
            lines.append("".join(current))
            current = []
            if i + 1 < n and text[i + 1] == LF:
                i += 1  # CRLF is one line ending
        elif ch == LF:
            lines.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    # `current` holds an unterminated line: discarded at EOF.
    return lines


def base_ten(digits: str) -> int:
    """The integer written in ASCII `digits`, however many. (Plain `int()` refuses more than
    4300 digits under CPython's int_max_str_digits guard; the spec sets no bound.)"""
    number = 0
    for start in range(0, len(digits), 1000):
        part = digits[start : start + 1000]
        number = number * 10 ** len(part) + int(part, 10)
    return number


class _Parser:
    def __init__(self, last_event_id: str) -> None:
        self.result = ReferenceResult(last_event_id=last_event_id)
        # "data buffer, event type buffer, last event ID buffer ... initialized to the empty
        # string". This API seeds the last event ID (as a reconnecting EventSource does with the
        # ID it already had), so the buffer starts from the seed.
        self.data_buffer = ""
        self.event_type_buffer = ""
        self.last_event_id_buffer = last_event_id

    def process_line(self, line: str) -> None:
        # "If the line is empty (a blank line): Dispatch the event."
        if line == "":
            self.dispatch()
        # "If the line starts with a U+003A COLON character (:): Ignore the line."
        elif line.startswith(COLON):
            pass
        # "If the line contains a U+003A COLON character (:)": the field name is everything before
        # the first colon, the value everything after it; "if value starts with a U+0020 SPACE
        # character, remove it from value" (one space only).
        elif COLON in line:
            name, value = line.split(COLON, 1)
            if value.startswith(SPACE):
                value = value[1:]
            self.process_field(name, value)
        # "Otherwise, the string is not empty but does not contain a U+003A COLON character":
        # the whole line is the field name and the value is the empty string.
        else:
            self.process_field(line, "")

    def process_field(self, name: str, value: str) -> None:
        # Field names compare case-sensitively and literally.
        if name == "event":
            # "Set the event type buffer to field value."
            self.event_type_buffer = value
        elif name == "data":
            # "Append the field value to the data buffer, then append a single U+000A LINE FEED
            # (LF) character to the data buffer."
            self.data_buffer += value + LF
        elif name == "id":
            # "If the field value does not contain U+0000 NULL, then set the last event ID buffer
            # to the field value. Otherwise, ignore the field."
            if NULL not in value:
                self.last_event_id_buffer = value
        elif name == "retry":
            # "If the field value consists of only ASCII digits, then interpret the field value as
            # an integer in base ten, and set the event stream's reconnection time to that
            # integer. Otherwise, ignore the field." An empty value has no digits: ignored.
            if value != "" and all(ch in ASCII_DIGITS for ch in value):
                self.result.retry = base_ten(value)
        else:
            # "Otherwise: The field is ignored."
            pass

    def dispatch(self) -> None:
        # 1. "Set the last event ID string of the event source to the value of the last event ID
        #    buffer. The buffer does not get reset."
        self.result.last_event_id = self.last_event_id_buffer
        # 2. "If the data buffer is an empty string, set the data buffer and the event type buffer
        #    to the empty string and return."
        if self.data_buffer == "":
            self.data_buffer = ""
            self.event_type_buffer = ""
            return
        # 3. "If the data buffer's last character is a U+000A LINE FEED (LF) character, then
        #    remove the last character from the data buffer."
        data = self.data_buffer
        if data.endswith(LF):
            data = data[:-1]
        # 4./5. The event's type is "message", its data the data buffer, its lastEventId the last
        #    event ID string of the event source.
        event_type = "message"
        # 6. "If the event type buffer has a value other than the empty string, change the type of
        #    the newly created event to equal the value of the event type buffer."
        if self.event_type_buffer != "":
            event_type = self.event_type_buffer
        # 7. "Set the data buffer and the event type buffer to the empty string."
        self.data_buffer = ""
        self.event_type_buffer = ""
        # 8. Fire the event.
        self.result.events.append((event_type, data, self.result.last_event_id))


def parse_stream(stream: bytes, last_event_id: str = "") -> ReferenceResult:
    """Interpret a complete event stream (all bytes, EOF after the last one)."""
    parser = _Parser(last_event_id)
    for line in split_lines(utf8_decode(bytes(stream))):
        parser.process_line(line)
    # "Once the end of the file is reached, any pending data must be discarded. (If the file ends
    # in the middle of an event, before the final empty line, the incomplete event is not
    # dispatched.)" Nothing to do: the buffers are simply dropped.
    parser.result.last_event_id_buffer = parser.last_event_id_buffer
    return parser.result
