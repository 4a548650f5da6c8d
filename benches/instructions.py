"""Instructions an event of the Rust core, by cachegrind: the figures the README's speed notes
give ("cachegrind instructions an event, AVX2, 16 KiB / one read per event, from making the
parser to the core's record").

    python benches/instructions.py                       # every layout and the captures
    python benches/instructions.py anthropic_api captures
    python benches/instructions.py --rechunk 0 anthropic_api   # one read a stream

Each layout's corpus is the one `compare.py --layouts` times (`layouts.layout_corpus`, seed
and size as there), cut the same two ways; `benches/instructions.rs` feeds it to the core, under
cachegrind once with one pass and once with none (loading the file), and the difference is
divided by the events. Instruction counts hold still on a shared machine where the clock does
not, so they tell small changes apart; whether fewer instructions are less time is for
`compare.py` to say. Needs valgrind and a release build of the example (built here).
"""

from __future__ import annotations

import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import corpus
import layouts

ROOT = Path(__file__).resolve().parent.parent
SEED, MIB = 20261128, 1.0  # compare.py's defaults for the layouts table
CHUNKINGS = ("16k", "event")


def streams_of(key: str) -> list[corpus.Stream]:
    if key == "captures":
        return layouts.capture_corpus(int(MIB * corpus.MIB))
    layout = next((layout for layout in layouts.LAYOUTS if layout.key == key), None)
    if layout is None:
        keys = ", ".join([*(layout.key for layout in layouts.LAYOUTS), "captures"])
        raise SystemExit(f"no layout {key!r}: one of {keys}")
    return layouts.layout_corpus(layout, SEED, int(MIB * corpus.MIB))


def corpus_file(reads: list[list[bytes]]) -> bytes:
    """The format `instructions.rs` reads: u32 streams, u32 reads each, u32 length + bytes."""
    parts = [struct.pack("<I", len(reads))]
    for stream in reads:
        parts.append(struct.pack("<I", len(stream)))
        for read in stream:
            parts += [struct.pack("<I", len(read)), read]
    return b"".join(parts)


def events(streams: list[corpus.Stream]) -> int:
    # The corpora frame events with LF or CRLF line ends.
    return sum(s.body.count(b"\n\n") + s.body.count(b"\r\n\r\n") for s in streams)


def instructions(binary: Path, path: Path, passes: int, env: dict[str, str]) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
        + [str(binary), str(path), str(passes)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stderr
    found = re.search(r"I\s+refs:\s+([\d,]+)", out)
    if found is None:
        raise SystemExit(f"no instruction count from cachegrind:\n{out}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("keys", nargs="*", help="layouts (layouts.LAYOUTS keys) and/or 'captures'")
    ap.add_argument("--rechunk", type=int, help="feed reads of this many bytes (0: one a stream)")
    ap.add_argument("--no-finish", action="store_true", help="leave finish() out")
    args = ap.parse_args(argv)
    keys = args.keys or [*(layout.key for layout in layouts.LAYOUTS), "captures"]

    subprocess.run(
        ["cargo", "build", "--quiet", "--release", "--example", "instructions"],
        cwd=ROOT,
        check=True,
    )
    binary = ROOT / "target" / "release" / "examples" / "instructions"
    env = dict(os.environ)
    if args.rechunk is not None:
        env["SSEUSAGE_RECHUNK"] = str(args.rechunk)
    if args.no_finish:
        env["SSEUSAGE_NO_FINISH"] = "1"

    print(f"{'layout':<28}" + "".join(f"{c + ' reads':>14}" for c in CHUNKINGS))
    with tempfile.TemporaryDirectory() as tmp:
        for key in keys:
            streams = streams_of(key)
            n = events(streams)
            row = f"{key:<28}"
            for chunking in CHUNKINGS:
                path = Path(tmp) / f"{key}_{chunking}.bin"
                path.write_bytes(corpus_file(corpus.cut_corpus(streams, chunking)))
                spent = instructions(binary, path, 1, env) - instructions(binary, path, 0, env)
                row += f"{spent / n:>14.0f}"
            print(row, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
