"""The README's first command: `certcopy demo` creates its instance once and serves the app."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(proc, seconds: float = 120) -> str:
    """Read the server's output until it says it serves; returns what it printed."""
    lines = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "Serving on" in line:
            break
    output = "".join(lines)
    assert "Serving on" in output, output
    return output


def test_demo_serves_and_prints_accounts(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "demo", "--instance", str(tmp_path / "inst"),
                             "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)
    try:
        output = wait_until_serving(proc)
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


def _token(port: int, username: str, password: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/token", method="POST",
                                     data=json.dumps({"username": username, "password": password}).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        return urllib.request.urlopen(request, timeout=30).status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_serve_runs_a_fresh_installation_without_demo_data(tmp_path):
    """Production: `certcopy create-admin` then `certcopy serve`: the schema is made, no demo account exists."""
    port = free_port()
    instance = str(tmp_path / "prod")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    made = subprocess.run([sys.executable, "-m", "app.cli", "create-admin", "quantri", "--full-name", "Quản Trị Viên",
                           "--password-stdin", "--instance", instance], input="mot-mat-khau-dai\n", text=True,
                          capture_output=True, env=env, timeout=120)
    assert made.returncode == 0, made.stderr
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--instance", instance, "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        wait_until_serving(proc)
        assert _token(port, "quantri", "mot-mat-khau-dai") == 200
        assert _token(port, "signer.pcc1", "demo") == 401
        assert json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/agencies", timeout=30)) == []
    finally:
        proc.terminate()
        proc.wait(timeout=30)
