"""The framings other than the event stream (twin of framing/): newline-delimited JSON."""
