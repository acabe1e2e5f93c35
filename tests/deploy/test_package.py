"""The package as pip builds it from a clean clone and installs it into a fresh environment."""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from autoscaler_pauser import __version__
from tests.support.tool import ROOT


@pytest.mark.slow
def test_wheel_from_a_clean_clone_holds_the_package_only_and_runs(tmp_path):
    clone, dist, venv = tmp_path / "clone", tmp_path / "dist", tmp_path / "venv"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, timeout=120)
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist)]
    r = subprocess.run([*build, str(clone)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        top = {name.split("/")[0] for name in z.namelist()}
    assert top == {"autoscaler_pauser", f"autoscaler_pauser-{__version__}.dist-info"}, top

    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    r = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    r = subprocess.run(
        [str(venv / "bin" / "autoscaler-pauser"), "--version"], capture_output=True, text=True
    )
    assert r.returncode == 0 and r.stdout.strip() == f"autoscaler-pauser {__version__}", r
    r = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "autoscaler_pauser", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0 and "usage: autoscaler-pauser" in r.stdout, r.stderr
    r = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import reconcile"], capture_output=True, cwd=tmp_path
    )
    assert r.returncode == 1, "the wheel must not install a top-level reconcile module"
