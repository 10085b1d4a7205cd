"""Every script in bench/ starts both ways the README and bench/__init__.py give: `python bench/NAME.py` and
`python -m bench.NAME` (run from the project folder). Only the imports run here; the benchmarks themselves are long."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if "__main__" in p.read_text(encoding="utf-8"))

# Load the script with the sys.path Python gives it, under a name other than "__main__" so only its imports run. As
# a script, sys.path[0] is bench/ (not the project folder); as a module, it is the current folder.
AS_SCRIPT = ("import importlib.util, sys; sys.path[0] = sys.argv[1]; "
             "spec = importlib.util.spec_from_file_location('imports_only', sys.argv[2]); "
             "module = sys.modules['imports_only'] = importlib.util.module_from_spec(spec); "
             "spec.loader.exec_module(module)")
AS_MODULE = "import importlib, sys; sys.path[0] = ''; importlib.import_module(sys.argv[1])"


def test_the_scripts_are_found() -> None:
    assert {"can_i_accuracy", "campaign_fanout", "fuzz", "load", "storage", "understanding"} <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_bench_script_starts_as_a_script_and_as_a_module(name: str) -> None:
    script = subprocess.run([sys.executable, "-c", AS_SCRIPT, str(ROOT / "bench"), str(ROOT / "bench" / f"{name}.py")],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert script.returncode == 0, script.stderr[-2000:]
    module = subprocess.run([sys.executable, "-c", AS_MODULE, f"bench.{name}"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert module.returncode == 0, module.stderr[-2000:]
