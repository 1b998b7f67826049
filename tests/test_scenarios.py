"""Path replay: every path of every variant, through the API (test client) and through `certcopy replay`."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.replay import Replayer, load_scenario, scenario_library

from .conftest import PG_URL, _pg_create, _pg_drop

SCENARIOS = sorted(scenario_library())


def test_every_variant_has_every_path():
    stems = set(SCENARIOS)
    paths = ["happy", "supplement_once", "supplement_three", "supplement_timeout", "refuse", "return_resubmit",
             "return_cancel", "deadline", "supplement_fifty"]
    assert {f"{v}_{p}" for v in ("province", "district", "commune") for p in paths} <= stems


@pytest.mark.parametrize("name", SCENARIOS)
def test_scenario_through_the_api(app, name, tmp_path):
    scenario = load_scenario(name)
    result = Replayer(app).run(scenario)
    assert result.status == scenario["final_status"]
    if scenario.get("valid_result"):
        pdf = tmp_path / "result.pdf"
        pdf.write_bytes(result.pdf)
        _independent_checks(pdf, app.extensions["certcopy"].keys.trust_roots(), tmp_path)


def _independent_checks(pdf: Path, roots: list[bytes], tmp_path: Path) -> None:
    """poppler's pdfsig, trusting our root through an NSS database, sees two valid, trusted signatures, the
    seal covering the whole document; qpdf finds no structural error."""
    if not all(shutil.which(tool) for tool in ("pdfsig", "qpdf", "certutil")):
        if os.environ.get("CERTCOPY_REQUIRE_TOOLS"):
            pytest.fail("pdfsig/qpdf/certutil missing but CERTCOPY_REQUIRE_TOOLS is set")
        pytest.skip("poppler-utils, qpdf and libnss3-tools are not installed (apt-get install them)")
    nss = tmp_path / "nss"
    nss.mkdir()
    subprocess.run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"], check=True, capture_output=True)
    for n, root in enumerate(roots):
        (tmp_path / f"root{n}.pem").write_bytes(root)
        subprocess.run(["certutil", "-A", "-d", f"sql:{nss}", "-n", f"root{n}", "-t", "CT,C,C", "-a", "-i",
                        str(tmp_path / f"root{n}.pem")], check=True, capture_output=True)
    out = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(pdf)], capture_output=True, text=True).stdout
    assert out.count("Signature Validation: Signature is Valid.") == 2, out
    assert out.count("Certificate Validation: Certificate is Trusted.") == 2, out
    assert "Total document signed" in out, out
    check = subprocess.run(["qpdf", "--check", str(pdf)], capture_output=True, text=True)
    assert check.returncode == 0 and "No syntax or stream encoding errors" in check.stdout, check.stdout


def test_replay_command_runs_every_scenario(tmp_path):
    """`certcopy replay` on fresh instances, in a separate process, as a user would run it (on PostgreSQL
    too when TEST_DATABASE_URL is set: a fresh database, seeded once for the whole run)."""
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    pg_name = None
    if PG_URL:
        pg_name = f"certcopy_replay_{os.getpid()}"
        env["DATABASE_URL"] = _pg_create(pg_name)
    cmd = [sys.executable, "-m", "app.cli", "replay", "--instance", str(tmp_path)]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.stdout.count("PASS") == len(SCENARIOS)
    assert "intake" in run.stdout and "-> returned" in run.stdout
    if pg_name:
        _pg_drop(pg_name)
