"""The dashboard: the page's figures equal `report --json`, nothing is loaded from elsewhere,
the standard-library server, budgets; and the page in headless Chromium (Debian's package):
no console message, the same figures in the DOM, screenshots at 1280 and 390 px written to
tests/artifacts/ (ignored by git)."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from ledger_data import NEXT_DAY, fill, reconcile_json, report_json
from sseusage_fast.dashboard.page import render_page
from sseusage_fast.dashboard.server import respond, serve
from sseusage_fast.ledger.reader import open_reader
from sseusage_fast.proxy.config import Budget, ConfigError
from sseusage_fast.proxy.settings import budgets_in_file, load_settings

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
FIGURES = (
    "requests",
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "requires_manual_review",
    "estimated_requests",
    "cost_usd",
    "estimated_cost_usd",
)


def page_ranges(page: str, what: str) -> list[tuple[str, str | None]]:
    """The ranges shown beside the `what` figures, in page order: (low, high or None)."""
    found = re.findall(rf'data-range="{what}" data-low="([^"]*)" data-high="([^"]*)"', page)
    return [(html.unescape(low), html.unescape(high) or None) for low, high in found]


def page_figures(page: str) -> dict[str, str]:
    """The totals the page shows, as their plain values ("1,223" -> "1223", "$0.1" -> "0.1")."""
    found = re.findall(r'data-figure="([a-z_]+)">([^<]*)<', page)
    return {name: html.unescape(text).replace(",", "").lstrip("$") for name, text in found}


def page_costs(page: str, dim: str) -> dict[str, str]:
    rows = re.findall(rf'<tr data-{dim}="([^"]*)">.*?data-cost="([^"]*)"', page)
    return {html.unescape(name): cost for name, cost in rows}


COMPARED = (
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "output_tokens",
)


def page_drift(page: str) -> dict[tuple[str, str], dict[str, str]]:
    """The "Last reconciliation" cells: (day, model) -> their data and the drift shown."""
    section = page[page.index('id="reconcile"') :]
    cells = {}
    for attrs, shown in re.findall(
        r'<td class="drift"[^>]*? (data-day=[^>]*)><b>([^<]*)</b>', section
    ):
        data = {k: html.unescape(v) for k, v in re.findall(r'data-([a-z-]+)="([^"]*)"', attrs)}
        data["shown"] = html.unescape(shown)
        cells[(data["day"], data["model"])] = data
    return cells


def check_drift_matches_reconcile(page: str, doc: dict) -> None:
    """Each day x model cell is its line of `reconcile --json` (daily lines by model: one each)."""
    from sseusage_fast.dashboard.drift import shown

    cells = page_drift(page)
    assert len(cells) == len(doc["lines"]) > 0
    for line in doc["lines"]:
        cell = cells[(line["bucket_start"][:10], line["model"])]
        assert cell["provider"] == doc["provider"]
        assert cell["verdict"] == line["verdict"]
        assert cell["drift"] == (line["drift"] or "")
        assert cell["ledger-tokens"] == str(sum(line["ledger"][n] for n in COMPARED))
        assert cell["provider-tokens"] == str(sum(line["provider"][n] for n in COMPARED))
        assert cell["shown"] == shown(line["drift"], line["verdict"])


def check_page_matches_report(page: str, dsn: str) -> None:
    report = report_json(dsn)
    assert page_figures(page) == {name: str(report[name]) for name in FIGURES}
    assert page_costs(page, "model") == {m: v["cost_usd"] for m, v in report["by_model"].items()}
    by_tag = report_json(dsn, "--by", "tag")["groups"]
    assert page_costs(page, "tag") == {g["tag"]: g["cost_usd"] for g in by_tag}


def test_page_figures_equal_the_report(dsn: str) -> None:
    fill(dsn)
    with open_reader(dsn) as reader:
        page = render_page(reader, now=datetime(2026, 5, 6, tzinfo=timezone.utc))
    check_page_matches_report(page, dsn)
    by_key = report_json(dsn, "--by", "key")["groups"]
    assert page_costs(page, "key") == {g["key"]: g["cost_usd"] for g in by_key}
    assert set(page_costs(page, "provider")) == {"anthropic", "openai"}
    # The flagged row, with why and what was estimated.
    flagged = page[page.index('id="flagged"') :]
    assert "r3" in flagged and "no usage reported" in flagged
    assert "input_tokens 12 (10\u201315), output_tokens 40 (30\u201360)" in flagged
    # The flagged spend as a range beside its point figure: in the cards, in each breakdown
    # row that holds estimates, and in the flagged row.
    report = report_json(dsn)
    estimated = (report["estimated_cost_low_usd"], report["estimated_cost_high_usd"])
    assert page_ranges(page, "estimated_cost_usd")[0] == estimated
    assert page_ranges(page, "cost_usd")[0] == (report["cost_low_usd"], report["cost_high_usd"])
    haiku = page[page.index('<tr data-model="claude-haiku-4-5">') :]
    assert page_ranges(haiku, "estimated_cost_usd")[0] == estimated
    (row,) = report_json(dsn, "--flagged")["flagged_rows"]
    assert page_ranges(flagged, "cost_usd") == [(row["cost_low_usd"], row["cost_high_usd"])]
    assert "uncertain: tool_calls" in flagged
    # Every chart is drawn here; nothing is fetched from anywhere.
    assert page.count("<svg") == 4
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<script" not in page and "@import" not in page and "url(" not in page
    assert "No budgets configured" in page
    assert "Never reconciled" in page[page.index('id="reconcile"') :]


def test_the_last_reconciliation_equals_reconcile_json(dsn: str, tmp_path: Path) -> None:
    fill(dsn)
    doc = reconcile_json(dsn, tmp_path)
    verdicts = {
        (line["bucket_start"][:10], line["model"]): line["verdict"] for line in doc["lines"]
    }
    assert verdicts == {
        ("2026-05-04", "claude-sonnet-4-5"): "within_tolerance",
        ("2026-05-04", "claude-haiku-4-5"): "under_metered",
        ("2026-05-05", "claude-opus-4-1"): "missing_in_ledger",
        ("2026-05-05", "no-such-model"): "within_tolerance",  # 2 tokens: under the floor
    }
    with open_reader(dsn) as reader:
        page = render_page(reader, now=datetime(2026, 5, 6, tzinfo=timezone.utc))
    check_drift_matches_reconcile(page, doc)
    cells = page_drift(page)
    assert cells[("2026-05-04", "claude-haiku-4-5")]["shown"] == "27.78% under"
    assert cells[("2026-05-05", "claude-opus-4-1")]["shown"] == "100.00% not metered"
    assert cells[("2026-05-05", "no-such-model")]["shown"] == "ok"  # no share of nothing
    section = page[page.index('id="reconcile"') :]
    assert "Never reconciled" not in section and "anthropic at " in section
    # The newest day first; a model without a line that day is an empty cell.
    assert section.index("2026-05-05</td>") < section.index("2026-05-04</td>")
    assert section.count('<td class="drift"></td>') == 4
    check_page_matches_report(page, dsn)  # the rest of the page is as before


def test_strings_from_the_ledger_are_escaped(tmp_path: Path) -> None:
    from ledger_data import flagged

    db = str(tmp_path / "l.db")
    fill(db, [flagged('<img src=x onerror="alert(1)">', "<b>r</b>")], attribution=False)
    with open_reader(db) as reader:
        page = render_page(reader)
    assert "<img src=x" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert "<b>r</b>" not in page


def test_budgets(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    fill(db)
    config = tmp_path / "proxy.toml"
    config.write_text(
        'db = "usage.db"\n'
        '[[budget]]\ntag = "team=search"\nusd = "0.01"\nwindow = "month"\n'
        '[[budget]]\nkey = "key-b"\nusd = "25.00"\nwindow = "24h"\n'
    )
    budgets = budgets_in_file(config)
    assert budgets[0] == Budget(usd=Decimal("0.01"), window="month", tag="team=search")
    with open_reader(db) as reader:
        page = render_page(reader, budgets=budgets, now=NEXT_DAY)
    section = page[page.index('id="budgets"') :]
    search = report_json(db, "--tag", "team=search", "--since", "2026-05-01")["cost_usd"]
    assert f"tag team=search (month)</td><td>${search}</td><td>$0.01</td>" in section
    assert 'class="over"' in section  # 0.0205 of 0.01 spent
    assert "key key-b (24h)</td><td>$0</td><td>$25.00</td><td>0%" in section  # r2 is older
    config.write_text('[[budget]]\ntag = "x"\nusd = "lots"\n')
    with pytest.raises(ValueError, match="budget 1: usd"):
        budgets_in_file(config)


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ('usd = "5"', "exactly one of `tag` or `key`"),  # the proxy has no budget for all
        ('tag = "team=a"\nusd = "5"\nwindow = "7d"', "window must be"),
        ('tag = "team=a"\nusd = "5"\nlimit = "7"', "unknown setting 'limit'"),
    ],
)
def test_the_dashboard_takes_the_budgets_the_proxy_takes(
    tmp_path: Path, table: str, says: str
) -> None:
    # One Budget type and one reader of the file: what the proxy refuses to start with, the
    # dashboard refuses too (it used to show budgets the proxy never enforced).
    config = tmp_path / "proxy.toml"
    config.write_text("[[budget]]\n" + table + "\n")
    with pytest.raises(ConfigError, match=says):
        load_settings({"config": str(config)}, env={})
    with pytest.raises(ConfigError, match=says):
        budgets_in_file(config)


def test_the_server(tmp_path: Path) -> None:
    db = str(tmp_path / "l.db")
    fill(db)
    with running(db) as base:
        with urllib.request.urlopen(base + "/?since=2026-05-05") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
            page = resp.read().decode()
        assert page_figures(page)["requests"] == "2"
        for path, status in (("/nothing", 404), ("/?since=soon", 400)):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(base + path)
            assert err.value.code == status
    status, _, body = respond(str(tmp_path / "missing.db"))
    assert status == 503 and b"does not exist" in body


def test_dashboard_command_refuses_a_missing_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sseusage_fast.cli import main

    assert main(["dashboard", "--db", str(tmp_path / "none.db"), "--port", "0"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


class running:
    """The dashboard server on a free loopback port, in a thread, for the `with` block."""

    def __init__(self, db: str) -> None:
        self.server = serve(db, host="127.0.0.1", port=0)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


# -- in a real browser --------------------------------------------------------------------


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("SSEUSAGE_REQUIRE_BROWSER") == "1":
        pytest.fail("chromium is not installed (CI installs Debian's package)")
    pytest.skip("chromium is not installed (apt-get install chromium)")


@pytest.fixture
def browser_ledger(tmp_path: Path) -> Iterator[str]:
    db = str(tmp_path / "l.db")
    fill(db)
    yield db


def run_chromium(
    exe: str, profile: Path, width: int, *args: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            exe,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            f"--window-size={width},1600",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )


def test_in_headless_chromium(browser_ledger: str, tmp_path: Path) -> None:
    exe = chromium()
    reconciled = reconcile_json(browser_ledger, tmp_path)
    ARTIFACTS.mkdir(exist_ok=True)
    with running(browser_ledger) as base:
        url = base + "/"
        dom = run_chromium(exe, tmp_path / "profile", 1280, "--dump-dom", url)
        assert dom.returncode == 0, dom.stderr[-2000:]
        shots = {}
        for width in (1280, 390):
            shot = ARTIFACTS / f"dashboard-{width}.png"
            shot.unlink(missing_ok=True)
            proc = run_chromium(exe, tmp_path / "profile", width, f"--screenshot={shot}", url)
            assert proc.returncode == 0, proc.stderr[-2000:]
            shots[width] = proc
            assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    # No console message at all: a blocked request (CSP), a failed load or a script error
    # would each print one.
    for proc in (dom, *shots.values()):
        console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
        assert console == [], console
    check_page_matches_report(dom.stdout, browser_ledger)
    check_drift_matches_reconcile(dom.stdout, reconciled)
    assert "Flagged for review" in dom.stdout and "Last reconciliation" in dom.stdout


def test_respond_for_an_open_ledger(dsn: str) -> None:
    from sseusage_fast.dashboard.server import ledger_dsn
    from sseusage_fast.ledger import open_ledger

    fill(dsn)
    ledger = open_ledger(dsn, spool=False)
    try:
        status, headers, body = respond(ledger_dsn(ledger), "model=gpt-4o")
    finally:
        ledger.close()
    assert status == 200 and ("Content-Type", "text/html; charset=utf-8") in headers
    assert page_figures(body.decode())["requests"] == "1"
    with pytest.raises(TypeError):
        ledger_dsn(object())


def test_dashboard_command_serves_until_interrupted(tmp_path: Path) -> None:
    import signal
    import socket
    import sys
    import time

    db = str(tmp_path / "l.db")
    fill(db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Ctrl-C as a terminal sends it. A run started in the background by a shell (CI under `&`)
    # inherits SIGINT ignored, which Python keeps (POSIX background jobs): the command is run
    # with Python's own handler put back first.
    interruptible = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'sseusage'; runpy.run_module('sseusage_fast.cli', run_name='__main__')"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", interruptible, "dashboard", "--db", db, "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
                    page = resp.read().decode()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "not serving"
                time.sleep(0.1)
        assert page_figures(page)["requests"] == "5"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and f"http://127.0.0.1:{port}/" in err


def test_the_reconciliation_section_escapes_and_caps(tmp_path: Path) -> None:
    """Model names come from the provider's report: escaped. Two providers are told apart, a
    reconciliation without the model is one column, and only the newest days are drawn."""
    from datetime import timedelta

    from sseusage_fast.dashboard.drift import DAYS_SHOWN
    from sseusage_fast.ledger.reconcile_table import StoredLine

    db = str(tmp_path / "l.db")
    fill(db, attribution=False)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def line(provider: str, day: int, model: str | None) -> StoredLine:
        when = (start + timedelta(days=day)).strftime("%Y-%m-%dT00:00:00Z")
        return StoredLine(
            provider, "2026-03-01T00:00:00Z", when, "1d", model, None, None,
            "over_metered", 110, 100, 10, None, None,
        )  # fmt: skip

    with open_reader(db, write=True) as writer:
        writer.replace_reconcile_lines(
            "anthropic", [line("anthropic", day, "<script>x</script>") for day in range(40)]
        )
        writer.replace_reconcile_lines("openai", [line("openai", 39, None)])
    with open_reader(db) as reader:
        page = render_page(reader)
    section = page[page.index('id="reconcile"') :]
    assert (
        "<script>" not in section and "&lt;script&gt;x&lt;/script&gt; <small>(anthropic)" in section
    )
    assert "(all models) <small>(openai)</small>" in section
    cells = page_drift(page)
    assert len(cells) == DAYS_SHOWN + 1
    assert min(day for day, _ in cells) == (start + timedelta(days=40 - DAYS_SHOWN)).strftime(
        "%Y-%m-%d"
    )
    assert f"The newest {DAYS_SHOWN} of 40 days." in section
    assert {c["shown"] for c in cells.values()} == {"10.00% over"}


def test_dashboard_budgets_need_no_proxy_stack(tmp_path: Path) -> None:
    # `sseusage dashboard --config` works on the base install: the proxy's config types and
    # file reader are plain Python, the Starlette/anyio side is not imported.
    config = tmp_path / "proxy.toml"
    config.write_text('[[budget]]\ntag = "team=a"\nusd = "5"\nwindow = "24h"\n')
    code = (
        "import sys; import sseusage_fast.cli.dashboard, sseusage_fast.dashboard.server; "
        "from sseusage_fast.proxy.settings import budgets_in_file; "
        f"print(budgets_in_file({str(config)!r})[0].window); "
        "print('HEAVY', [m for m in ('starlette', 'anyio', 'uvicorn', 'httpx') "
        "if m in sys.modules])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:2] == ["24h", "HEAVY []"]


def test_an_open_range_is_shown_as_open(tmp_path: Path) -> None:
    from ledger_data import flagged

    db = str(tmp_path / "l.db")
    fill(db, [flagged("claude-sonnet-4-5", "open", high=None)], attribution=False)
    with open_reader(db) as reader:
        page = render_page(reader, now=datetime(2026, 5, 6, tzinfo=timezone.utc))
    report = report_json(db)
    assert report["estimated_cost_high_usd"] is None
    low = report["estimated_cost_low_usd"]
    assert page_ranges(page, "estimated_cost_usd")[0] == (low, None)
    assert f"(${low} or more)" in html.unescape(page)
    assert "output_tokens 40 (30 or more)" in page
    assert "1 estimated request(s) have billed work the stream never shows" in page
