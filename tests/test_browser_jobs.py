"""A 按天 sync in Debian's Chromium: enterprise1 opens 报关单同步 from the left menu, chooses 按天,
confirms, and the run's page shows the job's progress bar moving to its end, then the run 已同步
with its counts; 我的任务 lists the job.  Screenshots: tests/artifacts/jobs-*.png."""

from __future__ import annotations

import threading
import time

import pytest

from models import customs_sync

from .browser_support import no_page_errors, open_function
from .helpers import numbered_messages

pytestmark = pytest.mark.browser
FILES = 150


@pytest.fixture
def inbox(live, api, tmp_path):
    root = tmp_path / "exchange"
    for sub in ("inbox", "outbox", "rejected", "done"):
        (root / sub).mkdir(parents=True)
    live.app.config["EXCHANGE_DIR"] = str(root)
    xml = api("enterprise1").get("/api/v1/cd_declaration/5/message").get_data(as_text=True)
    for i, (_seq, body) in enumerate(numbered_messages(xml, "E2026777", FILES)):
        (root / "inbox" / f"dec-{i:04d}.xml").write_bytes(body)
    return root


@pytest.fixture
def held_sync(monkeypatch):
    """The sync takes at least 20 ms a file and, two thirds through, waits (60 s at most) until
    the test has seen the bar between its ends: the page sees the job running however fast the
    machine reads the files and however slowly the browser opens the page (under CI's load the
    whole job once ended before the page's first look)."""
    one_file = customs_sync._one_file
    files = []
    seen_moving = threading.Event()

    def slowed(*args, **kwargs):
        files.append(1)
        if len(files) == FILES * 2 // 3:
            seen_moving.wait(60)
        time.sleep(0.02)
        return one_file(*args, **kwargs)

    monkeypatch.setattr(customs_sync, "_one_file", slowed)
    yield seen_moving
    seen_moving.set()


def test_a_sync_by_day_shows_its_progress_bar_to_the_end(user, inbox, held_sync):
    tab = user("enterprise1")
    page = tab.page
    tab.goto("/")
    open_function(page, "数据同步", "报关单同步")
    page.check("input[name=mode][value=day]")
    page.fill("input[name=op_from]", "2000-01-01")
    page.fill("input[name=op_to]", "2099-12-31")
    tab.submit("button[data-transition=run]")
    bar = page.locator(".record-jobs .progress-bar")
    bar.wait_for()
    assert "同步已在后台开始" in page.locator(".alert").first.inner_text()
    # the bar moves while the job runs (the page asks the server once a second) … — looked at
    # for up to 90 seconds by the clock, not for a number of looks (each look takes longer on a
    # loaded machine, and the job may take its time to start)
    seen = set()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        status = page.locator(".record-jobs .job-progress").get_attribute("data-status")
        if status in ("done", "failed", "stale"):
            break
        value = int(bar.get_attribute("aria-valuenow") or 0)
        if 0 < value < 100 and not seen - {0}:
            tab.shot("jobs-sync-running", full_page=False)
            held_sync.set()
        seen.add(value)
        page.wait_for_timeout(100)
    assert len(seen - {0}) >= 1, f"the bar never moved: {seen}, status {status}"
    # … to its end: the page comes back with the outcome
    page.wait_for_function(
        "() => document.querySelector('.state-label') &&"
        " document.querySelector('.state-label').textContent.includes('已同步')",
        timeout=120_000)
    assert bar.get_attribute("aria-valuenow") == "100"
    assert page.locator(".record-jobs .job-status").inner_text().strip() == "已完成"
    assert f"新增 {FILES}" in page.locator(".record-jobs .job-message").inner_text()
    tab.shot("jobs-sync-done", full_page=False)
    tab.goto("/jobs/")
    assert "报关单同步（按天）" in page.locator(".jobs-table").inner_text()
    tab.shot("jobs-my-jobs")
    no_page_errors(user)
