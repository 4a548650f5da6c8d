"""Bytes to lines to events, per WHATWG (twin of sse/): `framer` and `events`; knows no provider."""
