"""The nightly HTML page in headless Chromium with the network off: charts and tables are
there, links resolve, and the page requests nothing (Chromium's NetLog is read).

Skips when Debian's ``chromium`` is not installed. The screenshot is kept in the test's
tmp dir (its path is printed; run with ``-s`` to see it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from test_nightly_days import write_days

from dbtune.nightly import nightly_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCHEMA = Path(__file__).parent.parent / "fixtures" / "marketplace" / "schema.sql"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                "(Debian: apt-get install chromium)")


def _offline_prefix() -> list[str]:
    """``unshare -n`` (a network namespace with no interface) where the kernel allows it."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


def chromium(page: Path, work: Path, *options: str) -> tuple[str, list[str]]:
    """Open ``page`` offline; (stdout, URLs the page asked the network stack for).

    Chromium's own background fetches (updates, clock) are told apart by their network
    isolation key: only requests made for the ``file://`` page count.
    """
    netlog = work / f"{page.stem}-netlog.json"
    offline = _offline_prefix()
    command = offline + [
        CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
        f"--user-data-dir={work / 'profile'}", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-extensions",
        f"--log-net-log={netlog}", *options, page.as_uri()]
    if not offline:  # no namespace: a proxy nobody listens on keeps the network off
        command.insert(-1, "--proxy-server=127.0.0.1:9")
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads(netlog.read_text())
    names = {v: k for k, v in log["constants"]["logEventTypes"].items()}
    asked = [e["params"]["url"] for e in log["events"]
             if names[e["type"]] == "URL_REQUEST_START_JOB"
             and "file://" in e["params"].get("network_isolation_key", "")]
    return done.stdout, asked


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """The HTML report of the last of 7 nights (a regression, a new, a gone, a fixed class)."""
    work = tmp_path_factory.mktemp("nightly-browser")
    for _, log in write_days(work, date(2026, 11, 20), count=7):
        report = nightly_report([log], history=work / "history.sqlite", schemas=[SCHEMA])
    path = work / "report.html"
    path.write_text(report.render("html"), encoding="utf-8")
    return path


def test_the_page_shows_charts_and_tables_and_requests_nothing(page: Path) -> None:
    dom, asked = chromium(page, page.parent, "--dump-dom")
    assert asked == []
    assert len(re.findall(r'<figure class="chart" data-chart="[^"]+"><svg', dom)) == 3
    for chart in ("top classes by total time", "latency distribution", "trends over the history"):
        assert f'data-chart="{chart}"' in dom
    assert dom.count("<table") >= 4  # summary, findings, classes, trends, advice
    assert "critical (exit 3)" in dom
    targets = set(re.findall(r'href="#([^"]+)"', dom))
    anchors = set(re.findall(r'id="([^"]+)"', dom))
    assert targets and targets <= anchors  # every class and advice link lands somewhere
    assert {t for t in targets if t.startswith("class-")} and \
        {t for t in targets if t.startswith("advice-")}


def test_screenshot_is_kept_and_not_blank(page: Path) -> None:
    import numpy as np
    from PIL import Image

    shot = page.parent / "report.png"
    _, asked = chromium(page, page.parent, f"--screenshot={shot}", "--window-size=1280,2400",
                        "--hide-scrollbars")
    assert asked == []
    print(f"\nnightly report screenshot: {shot}")
    image = Image.open(shot).convert("L")
    assert image.size == (1280, 2400)
    assert (np.asarray(image) < 200).mean() > 0.02  # text, tables and bars, not an empty page


def test_a_page_that_fetches_is_caught(tmp_path: Path) -> None:
    page = tmp_path / "fetches.html"
    page.write_text('<!doctype html><img src="http://example.invalid/chart.png">'
                    '<link rel="stylesheet" href="https://cdn.example.invalid/x.css">')
    _, asked = chromium(page, tmp_path, "--dump-dom")
    assert sorted(asked) == ["http://example.invalid/chart.png",
                             "https://cdn.example.invalid/x.css"]
