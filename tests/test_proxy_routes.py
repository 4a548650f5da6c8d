"""Routes and settings: several upstreams behind one proxy, the TOML config file, SSEUSAGE_*
variables, and the one clear line (never a traceback) for settings that cannot work."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import anthropic
import httpx
import openai
import pytest
from proxy_harness import wait_rows
from replay_upstream import TEXT, serve
from sseusage_fast.cli import main
from sseusage_fast.ledger import Ledger
from sseusage_fast.proxy import ProxyConfig, create_app
from sseusage_fast.proxy.config import Budget, ConfigError, Route
from sseusage_fast.proxy.routes import match_route
from sseusage_fast.proxy.server import uvicorn_options
from sseusage_fast.proxy.settings import load_settings
from starlette.applications import Starlette

MESSAGES = [{"role": "user", "content": "Say hello to the world."}]

CONFIG = """
db = "usage.db"
port = 9100

[admin]
token = "s3cret-admin"

[[route]]
prefix = "/anthropic"
upstream = "{up}"
provider = "anthropic"

[[route]]
prefix = "/openai/"
upstream = "{up}/"
provider = "openai"
ensure_usage = true

[[route]]
prefix = "/bedrock"
upstream = "{up}/aws"
provider = "bedrock"

[[budget]]
tag = "team=search"
usd = "25.00"
window = "day"

[[budget]]
key = "sha256:0123456789abcdef"
usd = 100
window = "24h"

[limits]
max_body_bytes = 1000000
header_timeout = 5

[logging]
format = "json"
level = "warning"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "proxy.toml"
    path.write_text(text)
    return path


def test_config_file_gives_routes_budgets_limits_and_logging(tmp_path: Path) -> None:
    path = _write(tmp_path, CONFIG.format(up="https://api.example.com"))
    config, serve_options = load_settings({"config": str(path)}, env={})
    assert config.routes == (
        Route("/anthropic", "https://api.example.com", "anthropic"),
        Route("/openai", "https://api.example.com", "openai", ensure_usage=True),
        Route("/bedrock", "https://api.example.com/aws", "bedrock"),
    )
    assert config.budgets == (
        Budget(Decimal("25.00"), "day", tag="team=search"),
        Budget(Decimal(100), "24h", key="sha256:0123456789abcdef"),
    )
    assert config.budgets[1].rolling_hours == 24
    assert config.admin_token == "s3cret-admin"
    assert (config.limits.max_body_bytes, config.limits.header_timeout) == (1000000, 5.0)
    assert (serve_options.db, serve_options.port) == ("usage.db", 9100)
    assert (serve_options.log_format, serve_options.log_level) == ("json", "warning")


def test_environment_overrides_the_file_and_flags_override_both(tmp_path: Path) -> None:
    path = _write(tmp_path, CONFIG.format(up="https://api.example.com"))
    env = {
        "SSEUSAGE_CONFIG": str(path),
        "SSEUSAGE_DB": "postgresql://u@db/ledger",
        "SSEUSAGE_PORT": "9200",
        "SSEUSAGE_ADMIN_TOKEN": "from-env",
        "SSEUSAGE_MAX_BODY_BYTES": "2048",
        "SSEUSAGE_KEEP_FLAGGED_BODIES": "true",
    }
    config, serve_options = load_settings({}, env=env)
    assert serve_options.db == "postgresql://u@db/ledger" and serve_options.port == 9200
    assert config.admin_token == "from-env" and config.limits.max_body_bytes == 2048
    assert config.keep_flagged_bodies is True
    config, serve_options = load_settings({"port": 9300, "db": "x.db"}, env=env)
    assert (serve_options.port, serve_options.db) == (9300, "x.db")


def test_environment_alone_is_enough_for_one_upstream() -> None:
    config, serve_options = load_settings(
        {}, env={"SSEUSAGE_UPSTREAM": "https://api.anthropic.com/", "SSEUSAGE_SPOOL": "off"}
    )
    assert config.all_routes() == (Route("", "https://api.anthropic.com"),)
    assert serve_options.spool is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('upstream = "api.anthropic.com"', "not an http(s) URL"),
        ('upstream = "https://x"\nport = 99999', "port must be 1-65535"),
        ('upstream = "https://x"\nport = "80a"', "port must be a whole number"),
        ('upstream = "https://x"\nverbose = true', "unknown setting 'verbose'"),
        ('[[route]]\nprefix = "/a"', "upstream is required"),
        ('[[route]]\nprefix = "/_sseusage/x"\nupstream = "https://x"', "the proxy's own prefix"),
        ('[[route]]\nprefix = "/a"\nupstream = "https://x"\nprovider = "azure"', "provider must"),
        (
            (
                '[[route]]\nprefix = "/a"\nupstream = "https://x"\n'
                '[[route]]\nprefix = "/a/"\nupstream = "https://y"'
            ),
            "given twice",
        ),
        ('upstream = "https://x"\n[[budget]]\nusd = "5"', "exactly one of `tag` or `key`"),
        ('upstream = "https://x"\n[[budget]]\ntag = "team"\nusd = "5"', "name=value"),
        ('upstream = "https://x"\n[[budget]]\ntag = "a=b"\nusd = "lots"', "usd must be"),
        ('upstream = "https://x"\n[[budget]]\ntag = "a=b"\nusd = 5\nwindow = "week"', "window"),
        ('upstream = "https://x"\n[limits]\nheader_timeout = -1', "a number >= 0"),
        ('upstream = "https://x"\n[logging]\nformat = "xml"', "log format"),
        ("db = [", "not valid TOML"),
        ("", "no upstream"),
    ],
)
def test_bad_settings_are_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=None) as info:
        load_settings({"config": str(path)}, env={})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_route_matching_is_by_whole_segments_and_keeps_the_raw_path() -> None:
    routes = ProxyConfig(
        upstream="https://fallback",
        routes=(Route("/openai", "https://o"), Route("/openai/v2", "https://o2")),
    ).all_routes()
    assert [r.prefix for r in routes] == ["/openai/v2", "/openai", ""]
    route, rest = match_route(routes, b"/openai/v1/chat/completions")  # type: ignore[misc]
    assert (route.upstream, rest) == ("https://o", b"/v1/chat/completions")
    route, rest = match_route(routes, b"/openai/v2/x")  # type: ignore[misc]
    assert (route.upstream, rest) == ("https://o2", b"/x")
    route, rest = match_route(routes, b"/openaiX/v1")  # type: ignore[misc]
    assert (route.upstream, rest) == ("https://fallback", b"/openaiX/v1")
    route, rest = match_route(routes, b"/openai/model/a%3Ab/x")  # type: ignore[misc]
    assert rest == b"/model/a%3Ab/x"
    assert match_route(routes[:2], b"/other") is None


# -- the command line: one line and an exit status ----------------------------------------------


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["proxy", *argv])
    err = capsys.readouterr().err
    return code, err


def test_cli_bad_upstream_is_one_line_and_creates_no_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SSEUSAGE_CONFIG", raising=False)
    db = tmp_path / "ledger.db"
    code, err = _cli(capsys, "--upstream", "api.anthropic.com", "--db", str(db))
    assert code == 2 and err.count("\n") == 1 and "not an http(s) URL" in err
    assert "Traceback" not in err and not db.exists()


def test_cli_bad_port_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _cli(
        capsys, "--upstream", "https://x.test", "--port", "99999", "--db", str(tmp_path / "l.db")
    )
    assert code == 2 and err == "sseusage proxy: --port: port must be 1-65535, not 99999\n"


def test_cli_port_in_use_is_one_line_and_creates_no_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "ledger.db"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = _cli(
            capsys, "--upstream", "https://x.test", "--port", str(port), "--db", str(db)
        )
    assert code == 2 and err == f"sseusage proxy: port {port} on 127.0.0.1 is already in use\n"
    assert not db.exists()


def test_cli_unopenable_ledger_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "no" / "such" / "dir" / "ledger.db"
    code, err = _cli(capsys, "--upstream", "https://x.test", "--port", "0", "--db", str(db))
    assert code == 2 and err.count("\n") == 1  # port 0 is refused before the ledger
    code, err = _cli(
        capsys, "--upstream", "https://x.test", "--port", "1", "--host", "no.such.host.invalid"
    )
    assert code == 2 and err.startswith("sseusage proxy: cannot listen on") and err.count("\n") == 1


# -- several upstreams behind one proxy ----------------------------------------------------------


@pytest.fixture
def routed(upstream: tuple[str, Starlette], ledger: Ledger) -> Iterator[str]:
    up = upstream[0]
    config = ProxyConfig(
        routes=(
            Route("/anthropic", up, "anthropic"),
            Route("/openai", up + "/oai", "openai"),
            Route("/bedrock", up, "bedrock"),
        ),
        trust_env=False,
    )
    with serve(create_app(config, ledger), **uvicorn_options(config)) as url:
        yield url


def test_sdks_reach_their_upstreams_through_one_proxy(
    upstream: tuple[str, Starlette], routed: str, ledger: Ledger
) -> None:
    seen = upstream[1].state.seen
    before = len(seen)
    client = anthropic.Anthropic(base_url=routed + "/anthropic", api_key="sk-ant-a", max_retries=0)
    with client.messages.stream(model="claude-opus-4-6", max_tokens=64, messages=MESSAGES) as s:
        assert "".join(s.text_stream) == TEXT
    gpt = openai.OpenAI(base_url=routed + "/openai/v1", api_key="sk-o", max_retries=0)
    stream = gpt.chat.completions.create(
        model="gpt-4o",
        messages=MESSAGES,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == TEXT
    assert [s["path"] for s in seen[before:]] == ["/v1/messages", "/oai/v1/chat/completions"]
    rows = sorted(wait_rows(ledger, 2), key=lambda r: r.path or "")
    assert [(r.path, r.provider, r.status) for r in rows] == [
        ("/anthropic/v1/messages", "anthropic", "complete"),
        ("/openai/v1/chat/completions", "openai", "complete"),
    ]


def test_a_path_under_no_route_is_404_and_never_forwarded(
    upstream: tuple[str, Starlette], routed: str, ledger: Ledger
) -> None:
    before = len(upstream[1].state.seen)
    r = httpx.post(routed + "/v1/messages", json={"model": "claude-opus-4-6"})
    assert r.status_code == 404 and r.json()["error"]["type"] == "proxy_no_route"
    assert len(upstream[1].state.seen) == before
    (row,) = wait_rows(ledger, 1)
    assert (row.http_status, row.error_type) == (404, "proxy_no_route")


def test_signed_bedrock_request_is_forwarded_byte_for_byte(
    upstream: tuple[str, Starlette], routed: str
) -> None:
    """What SigV4 signs (method, raw path with its escapes, query, signed headers, body) reaches
    the upstream unchanged."""
    body = b'{"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"messages":[]}'
    headers = {
        "authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/bedrock/"
        "aws4_request, SignedHeaders=accept-encoding;content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
        "x-amz-date": "20260101T000000Z",
        "x-amz-security-token": "FwoGZXIvYXdzEXAMPLE",
        "content-type": "application/json",
        "accept-encoding": "zstd",
    }
    seen = upstream[1].state.seen
    before = len(seen)
    path = "/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/invoke"
    r = httpx.post(routed + path + "?x=1%2C2", content=body, headers=headers)
    assert r.status_code == 200
    (got,) = seen[before:]
    assert got["body"] == body and got["query"] == "x=1%2C2"
    assert got["path"] == "/model/anthropic.claude-3-haiku-20240307-v1:0/invoke"
    for name, value in headers.items():
        assert got["headers"][name] == value, name


def test_upstream_date_and_server_replace_the_proxys(routed: str) -> None:
    r = httpx.post(
        routed + "/anthropic/v1/messages",
        json={"model": "claude-opus-4-6", "max_tokens": 5, "messages": MESSAGES},
    )
    names = [k.lower() for k, _ in r.headers.raw]
    assert names.count(b"date") == 1 and names.count(b"server") == 1
    assert r.headers["server"] == "uvicorn"  # the replay upstream's own
    # The proxy's own answers carry a Date (and no Server).
    r = httpx.get(routed + "/elsewhere")
    names = [k.lower() for k, _ in r.headers.raw]
    assert names.count(b"date") == 1 and b"server" not in names
