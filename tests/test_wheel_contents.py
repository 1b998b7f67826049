"""The wheel ships every file the app reads at run time: a package-data glob that misses one fails here, in the
ordinary test run, before an installation finds out (`.ci/run` also installs the wheel and serves from it)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What the build never reads; `build/` is left out too, because setuptools packs stale files it finds there.
NOT_BUILD_INPUTS = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
                                          "instance", ".pytest_cache", "test-artifacts", "tests", "bench", "docs")

# (folder in the source tree, where the wheel puts it, file name pattern)
RUNTIME_DATA = [
    ("processes", "app/resources/processes", "*.bpmn"),
    ("forms", "app/resources/forms", "*.json"),
    ("scenarios", "app/resources/scenarios", "*.json"),
    ("app/templates", "app/templates", "**/*"),
    ("app/static", "app/static", "**/*"),
    ("app/adapters/migrations", "app/adapters/migrations", "**/*"),
    ("signing/fonts", "signing/fonts", "*"),
]


def build_wheel(into: Path) -> zipfile.ZipFile:
    """`pip wheel --no-deps` of a clean copy of the checkout (no install)."""
    source = into / "source"
    shutil.copytree(ROOT, source, ignore=NOT_BUILD_INPUTS)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(into / "dist"),
                           str(source)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    [wheel] = (into / "dist").glob("certcopy-*.whl")
    return zipfile.ZipFile(wheel)


def expected_files(folder: str, target: str, pattern: str) -> set[str]:
    source = ROOT / folder
    return {f"{target}/{path.relative_to(source).as_posix()}" for path in source.glob(pattern)
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}


def test_wheel_ships_every_runtime_file(tmp_path):
    shipped = set(build_wheel(tmp_path).namelist())
    for folder, target, pattern in RUNTIME_DATA:
        expected = expected_files(folder, target, pattern)
        assert expected, f"nothing in {folder}/ matches {pattern}"
        missing = sorted(expected - shipped)
        assert not missing, f"the wheel lacks files of {folder}/: {missing}"
    counts = {kind: sum(name.startswith(f"app/resources/{kind}/") and name.endswith(ext) for name in shipped)
              for kind, ext in (("processes", ".bpmn"), ("forms", ".json"), ("scenarios", ".json"))}
    assert counts["processes"] == 3 and counts["forms"] >= 9 and counts["scenarios"] >= 27, counts
    assert {"app/adapters/migrations/env.py", "app/adapters/migrations/script.py.mako",
            "signing/fonts/NotoSans-Regular.ttf", "signing/fonts/NotoSans-Bold.ttf",
            "app/templates/base.html", "app/static/style.css"} <= shipped
    assert not [name for name in shipped if name.startswith("tests/")], "the wheel must not ship the tests"
