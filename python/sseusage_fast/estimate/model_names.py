"""The one model-name normaliser, used by pricing and the estimator alike.

Clients name one model many ways: `claude-sonnet-4-5-20250929`, `anthropic/claude-sonnet-4.5`
(OpenRouter), `us.anthropic.claude-sonnet-4-5-20250929-v1:0` (Bedrock), `claude-sonnet-4-5@20250929`
(Vertex), `models/gemini-2.5-pro`. `parse_model_name` takes the decorations off once (cached),
and says what was taken: pricing looks the dated name up first and the undated one next (a dated
snapshot can have its own price), and needs to know whether a Bedrock id was regional;
calibration wants one key per tokenizer (`calibration_key`).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# Routing prefixes of gateways and SDKs (OpenRouter, LiteLLM, Gemini's REST names).
PROVIDER_PREFIXES: tuple[str, ...] = (
    "anthropic/",
    "openai/",
    "models/",
    "gemini/",
    "google/",
    "vertex_ai/",
    "bedrock/",
    "openrouter/",
)
# Vertex resource names: projects/p/locations/l/publishers/anthropic/models/claude-...
_RESOURCE_PATH = re.compile(r"^(?:projects/[^/]+/locations/[^/]+/)?publishers/[^/]+/models/")
# Bedrock model and inference-profile ids: an optional geography, then "anthropic.".
_BEDROCK_PREFIX = re.compile(r"^(?:(us|eu|apac|jp|au|ca|us-gov|global)\.)?anthropic\.")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")
_VERTEX_SNAPSHOT = re.compile(r"@(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")
# Claude's dotted versions (OpenRouter's `claude-sonnet-4.5`, `claude-3.5-sonnet`) are the
# dashed ids. Only Claude: `gpt-4.1` and `gemini-2.5-pro` are dotted by their makers.
_CLAUDE_DOT = re.compile(r"(?<=\d)\.(?=\d)")
# Suffixes that name a dated snapshot (or the moving "latest" alias) of the very same model and
# price. "-preview-…", "-001" or "-mini" are different models or prices: never cut for pricing.
_DATED_SUFFIX = re.compile(r"-(?:\d{8}|\d{4}-\d{2}-\d{2}|latest)$")
# For calibration (one tokenizer) more is cut: OpenAI's older MMDD snapshots (-0613) and the
# dates of previews (-preview-05-20), but not "-latest".
_CALIBRATION_DATE = re.compile(
    r"(?:-(?:\d{8}|\d{4}-\d{2}-\d{2})|-(?:0[1-9]|1[0-2])\d{2}|(?<=-preview)-\d{2}-\d{2})$"
)


@dataclass(frozen=True, slots=True)
class ModelName:
    """A model name taken apart: `raw` lower case as given, `base` without prefixes and
    Bedrock/Vertex decorations (a dated suffix kept), `undated` the base without its dated
    suffix when it had one, `bedrock_regional` for a geographic or in-Region Bedrock id."""

    raw: str
    base: str
    undated: str | None
    bedrock_regional: bool


# Names repeat from request to request: each resolved once (bounded, as clients choose them).
@functools.lru_cache(maxsize=4096)
def parse_model_name(model: str) -> ModelName | None:
    raw = model.strip().lower()
    if not raw:
        return None
    name = _RESOURCE_PATH.sub("", raw)
    stripped = True
    while stripped:
        stripped = False
        for prefix in PROVIDER_PREFIXES:
            if name.startswith(prefix):
                name = name[len(prefix) :]
                stripped = True
    bedrock_regional = False
    match = _BEDROCK_PREFIX.match(name)
    if match:
        # Bedrock's global profile is priced like the first-party API; geographic and
        # in-Region ids are not, for the models that carry a regional premium.
        bedrock_regional = match.group(1) != "global"
        name = _BEDROCK_VERSION.sub("", name[match.end() :])
    name = _VERTEX_SNAPSHOT.sub("", name)
    if name.startswith("claude"):
        name = _CLAUDE_DOT.sub("-", name)
    if not name:
        return None
    undated = _DATED_SUFFIX.sub("", name)
    return ModelName(raw, name, undated if undated != name and undated else None, bedrock_regional)


def normalize_model_name(model: str) -> str:
    """A model name without provider prefixes and Bedrock/Vertex decorations, lower case:
    ``"us.anthropic.claude-sonnet-4-5-20250929-v1:0"`` gives ``"claude-sonnet-4-5-20250929"``;
    dated suffixes are kept (pricing looks them up first)."""
    parts = parse_model_name(model)
    return parts.base if parts else ""


# Claude 4 and later are named tier first (`claude-sonnet-4-6`); some gateways keep the Claude 3
# order (`claude-4.6-sonnet-20260217`, seen from OpenRouter's Bedrock route). Calibration only.
_CLAUDE_VERSION_FIRST = re.compile(r"^claude-([4-9]|[1-9]\d)((?:-\d+)?)-(opus|sonnet|haiku)\b")


@functools.lru_cache(maxsize=4096)  # called for every record; a deployment has few models
def calibration_key(model: str | None) -> str | None:
    """The calibration key of a model: its base name without snapshot dates, so that
    `claude-sonnet-4-5-20250929`, `anthropic/claude-sonnet-4.5` and
    `us.anthropic.claude-sonnet-4-5-20250929-v1:0` share one calibration (same tokenizer), and
    Claude 4 or later named version first (`claude-4.6-sonnet`) shares its model's."""
    if not model:
        return None
    parts = parse_model_name(model)
    if parts is None:
        return None
    key = _CALIBRATION_DATE.sub("", parts.base)
    key = _CLAUDE_VERSION_FIRST.sub(r"claude-\3-\1\2", key)
    return key or None
