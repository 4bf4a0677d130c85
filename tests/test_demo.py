"""`make demo`'s promise: the demo runs its two documents to the archive, then its people log in
to the web office with the DEMO passwords it printed, and its leaders sign with the PINs beside
them (README, Quick start)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
from fixtures_web import serving

from engine.automation import open_workspace
from engine.core.config import load_settings
from signing.demo import load_demo_pki

PASSWORD_LINE = re.compile(r"^  ([a-z]+)\s+([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})$", re.M)


def test_the_demo_prints_passwords_its_people_log_in_with(tmp_path: Path) -> None:
    home = tmp_path / "demo-agency"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VANTHU_")}
    done = subprocess.run(
        [sys.executable, "-m", "engine", "demo", "--dir", str(home)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "http://127.0.0.1:8000" in done.stdout
    passwords = dict(PASSWORD_LINE.findall(done.stdout))
    assert {"chuyenvien", "truongphong", "phogiamdoc", "vanthu", "luutru", "quantri"} <= set(
        passwords
    )
    pki = load_demo_pki(home / "pki")
    for leader in ("giamdoc", "phogiamdoc"):
        assert f"  {leader:<14} {pki.demo_pin(leader)}" in done.stdout

    ws = open_workspace(load_settings(home, insecure_cookies=True, steps_runner="inline"))
    try:
        with serving(ws) as url, httpx.Client(base_url=url) as browser:
            form = browser.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token is not None
            done_login = browser.post(
                "/login",
                data={
                    "username": "vanthu",
                    "password": passwords["vanthu"],
                    "csrf_token": token.group(1),
                },
            )
            assert done_login.status_code == 303 and done_login.headers["location"] == "/inbox"
            register = browser.get("/registers/outgoing")
            assert register.status_code == 200
            assert "01/QĐ-SNV" in register.text  # the demo's issued Quyết định
    finally:
        ws.db.dispose()
