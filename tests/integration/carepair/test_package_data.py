"""The installed package holds every file of carepair/, shared/ and services/, not only the Python.

The wheel is built the way deploy/Dockerfile builds the image (`pip install .` of the same
sources), from a copy of the sources in a temporary directory, so that the working tree gets
no build leftovers. Every file under the packages, whatever its kind (migration templates,
the demo county, data catalogues, templates and static files of web pages), must be inside.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
PACKAGES = ("carepair", "shared", "services")
LEFTOVERS = shutil.ignore_patterns("__pycache__", "*.py[cod]", "*.egg-info")


def package_files() -> set[str]:
    """Every file under the packages in the working tree, as a path inside the wheel."""
    found = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*"):
            relative = path.relative_to(REPO)
            leftover = any(p == "__pycache__" or p.endswith(".egg-info") for p in relative.parts)
            if path.is_file() and not leftover and path.suffix not in (".pyc", ".pyo", ".pyd"):
                found.add(relative.as_posix())
    return found


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, source / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, source / package, ignore=LEFTOVERS)
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("carepair-*.whl")
    return zipfile.ZipFile(built)


def test_every_file_under_the_packages_is_in_the_wheel(wheel: zipfile.ZipFile) -> None:
    expected = package_files()
    assert "carepair/demo/county.json" in expected and "shared/migrations/script.py.mako" in expected
    missing = sorted(expected - set(wheel.namelist()))
    assert not missing, f"not in the wheel (add their kind to [tool.setuptools.package-data]): {missing}"


def test_the_carepair_command_is_the_systems_cli(wheel: zipfile.ZipFile) -> None:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    entry_points = configparser.ConfigParser()
    entry_points.read_string(wheel.read(name).decode())
    assert entry_points["console_scripts"]["carepair"].replace(" ", "") == "carepair.cli:main"
