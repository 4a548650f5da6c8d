"""`sseusage proxy`: registered here, defined in `sseusage_fast.proxy.command`."""

from __future__ import annotations

import argparse
from typing import Any

from sseusage_fast.proxy.command import DESCRIPTION, add_arguments, run_command


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = subparsers.add_parser(
        "proxy",
        help="run a metering reverse proxy in front of a provider API",
        description=DESCRIPTION,
    )
    add_arguments(p)
    p.set_defaults(func=run_command)
    return p
