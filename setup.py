"""Packages of the wheel: `app` and `signing`, and the top-level data folders mapped into `app.resources`
(metadata, dependencies and package data are in pyproject.toml)."""
from setuptools import find_packages, setup

DATA_PACKAGES = {
    "app.resources.processes": "processes",
    "app.resources.forms": "forms",
    "app.resources.scenarios": "scenarios",
}

setup(packages=find_packages(include=["app", "app.*", "signing", "signing.*"]) + list(DATA_PACKAGES),
      package_dir=DATA_PACKAGES)
