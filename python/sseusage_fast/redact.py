"""Text that came from a client or an upstream, made safe to store, log or print.

`scrub_secrets` removes credentials: the request's own (passed as `known`) and anything shaped
like a provider key or a bearer token, wherever it appears (an upstream that echoes the key in
its error message, a model name, a path). `escape_control` makes a string one inert line: no
newline can forge a log line, no escape sequence reaches a terminal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "***"

# Key shapes, each long enough that ordinary text does not match: Anthropic (sk-ant-...),
# OpenAI (sk-..., sk-proj-...), Google (AIza + 35), AWS access key ids (AKIA/ASIA + 16), GitHub
# tokens, Slack tokens, a bearer credential after its scheme, and `key=`/`api_key:` values.
_KEY_SHAPES = re.compile(
    r"""
    sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{16,}
  | AIza[0-9A-Za-z_\-]{35}
  | \b(?:AKIA|ASIA)[0-9A-Z]{16}\b
  | \bgh[pousr]_[A-Za-z0-9]{30,}
  | \bxox[abprs]-[A-Za-z0-9\-]{10,}
  | (?P<scheme>\b[Bb]earer\s+)[A-Za-z0-9._~+/=\-]{8,}
  | (?P<name>(?i:aws_secret_access_key|api[_-]?key|access[_-]token)["']?\s*[=:]\s*["']?)
      [A-Za-z0-9._/+=\-]{8,}
  | (?P<param>[?&]key=)[^&\s"']{8,}
    """,
    re.VERBOSE,
)


# Every key shape above holds one of these (lower-cased): text without any is left at once.
_HINTS = ("sk-", "aiza", "akia", "asia", "gh", "xox", "bearer", "key", "token")


def _redact(match: re.Match[str]) -> str:
    # A named prefix (the scheme, the parameter's name) stays: it says what was removed.
    keep = match.group("scheme") or match.group("name") or match.group("param") or ""
    return keep + REDACTED


# C0 controls (tab and newline included), DEL, C1 controls, and the Unicode line and
# paragraph separators: each would end or rewrite a line somewhere.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def scrub_secrets(text: str, known: Iterable[str] = ()) -> str:
    """`text` with every `known` secret (the request's own key and auth header values) and
    every key-shaped token replaced by `***`. Known values shorter than 4 characters are
    ignored: replacing them would blank out ordinary text."""
    for secret in sorted({s for s in known if s and len(s) >= 4}, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _KEY_SHAPES.sub(_redact, text) if has_secret_shape(text) else text


def has_secret_shape(text: str) -> bool:
    """Whether `text` holds something `scrub_secrets` would replace without `known`."""
    lowered = text.lower()
    if not any(hint in lowered for hint in _HINTS):
        return False
    return _KEY_SHAPES.search(text) is not None


def escape_control(text: str) -> str:
    """`text` as one printable line: control characters become `\\n`, `\\r`, `\\t` or
    `\\xNN` / `\\uNNNN`, and backslashes are left as they are (the escapes are for reading,
    not for parsing back)."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(_escape_one, text)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str | None, known: Iterable[str] = (), limit: int | None = None) -> str:
    """For a log line or a terminal: scrubbed, escaped, and cut to `limit` characters."""
    if text is None:
        return "-"
    out = escape_control(scrub_secrets(text, known))
    if limit is not None and len(out) > limit:
        out = out[:limit] + f"...(+{len(out) - limit})"
    return out
