"""The README's first command: `certcopy demo` creates its instance once and serves the app."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_and_prints_accounts(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "demo", "--instance", str(tmp_path / "inst"),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    try:
        lines = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Serving on" in line:
                break
        output = "".join(lines)
        assert "Serving on" in output, output
        assert "signer.giaohieu" in output and "justice_officer.giaohieu" in output and "demo" in output
        agencies = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/agencies", timeout=30))
        assert {a["slug"] for a in agencies} == {"pcc1", "pacnam", "giaohieu"}
        login = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/token", method="POST",
                                       data=json.dumps({"username": "signer.pcc1", "password": "demo"}).encode(),
                                       headers={"Content-Type": "application/json"})
        assert json.load(urllib.request.urlopen(login, timeout=30))["user"]["roles"] == ["signer"]
        assert (tmp_path / "inst" / "pki").is_dir() and (tmp_path / "inst" / "certcopy.db").is_file()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
