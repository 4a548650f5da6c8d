"""`sseusage reconcile`: the ledger against the provider's usage report (sseusage_fast.reconcile)."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    from sseusage_fast.reconcile.cli import add_reconcile_parser

    p: argparse.ArgumentParser = add_reconcile_parser(subparsers)
    return p
