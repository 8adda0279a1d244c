"""`aigc demo --quick --serve`: after the story the stack stays up and the web app at the printed
URL shows the demo's images (a real process, stopped with Ctrl-C as a person would)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow

AIGC = Path(sys.executable).with_name("aigc")


def test_demo_serve_keeps_the_web_app_open_with_the_demos_images(tmp_path):
    proc = subprocess.Popen(
        [str(AIGC), "demo", "--quick", "--chain", "embedded", "--out", str(tmp_path), "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    lines: list[str] = []
    found = threading.Event()
    url: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            m = re.search(r"web app: (http://\S+/)", line)
            if m and not url:
                url.append(m.group(1))
                found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert found.wait(timeout=900), "".join(lines)[-3000:]
        page = httpx.get(url[0], timeout=30)
        assert page.status_code == 200 and "AIGC marketplace" in page.text
        assert httpx.get(url[0] + "app/app.js", timeout=30).status_code == 200
        products = httpx.get(url[0] + "v1/products", timeout=30).json()["items"]
        shown = [p for p in products if p["has_image"]]  # the story uploads its producers' images
        assert shown, products
        image = httpx.get(f"{url[0]}v1/products/{shown[0]['token_id']}/image", timeout=30)
        assert image.headers["content-type"] == "image/png"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            # a hang guard, not a speed check: on a loaded 2-core CI machine the stack's
            # shutdown (API thread, indexer, chain) once took more than 60 s
            proc.wait(timeout=240)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    assert proc.returncode == 0, "".join(lines)[-3000:]
    assert "stopping the stack" in "".join(lines)
