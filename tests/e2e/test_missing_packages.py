"""reconcile.py under a Python without the tool's packages, as on a host where `pip install` was
forgotten: one line naming what to install, exit 2, no traceback."""

from __future__ import annotations

import subprocess
import sys

from tests.support.tool import ROOT, base_env, tool_env


def test_a_run_without_its_packages_names_them_in_one_line(tmp_path):
    # -S: no site-packages, so none of boto3, PyYAML or filelock; the package itself is found
    # beside reconcile.py, as in a checkout.
    result = subprocess.run(
        [sys.executable, "-S", str(ROOT / "reconcile.py")],
        env=tool_env(base_env(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr == (
        "autoscaler-pauser: missing Python packages boto3, PyYAML, filelock: pip install boto3 "
        "PyYAML filelock (or install the tool: pip install . in its source folder)\n"
    )
    assert result.stdout == ""
    assert not (tmp_path / "state").exists()
