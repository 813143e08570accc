"""slither on contracts/Heitje.sol: every High/Medium finding explained by the triage file.

Plain pytest, no brownie plugin and no chain:
    .venv/bin/python -m pytest -p no:pytest-brownie tests/tools
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_slither_findings_are_all_explained():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "slither_check.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert proc.returncode == 0, (
        f"tools/slither_check.py exited {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )
