"""The OpenCV baselines the model is measured against."""

import json
import subprocess
import sys

import numpy as np

from tests.conftest import make_picture


def test_filters_run_on_numpy_without_importing_torch():
    """bench/cpu_realtime.py reports their memory: torch (~600 MiB) must not be in it."""
    code = (
        "import json, sys, numpy as np\n"
        "from artify_stream.evaluation.baselines import BASELINES\n"
        "frames = np.random.default_rng(0).integers(0, 256, (2, 40, 64, 3), dtype=np.uint8)\n"
        "outs = {name: f(frames) for name, f in BASELINES.items()}\n"
        "print(json.dumps({'torch': 'torch' in sys.modules,\n"
        "                  'kinds': sorted({type(o).__name__ for o in outs.values()}),\n"
        "                  'shapes': sorted({o.shape for o in outs.values()})}))\n"
    )
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert out == {"torch": False, "kinds": ["ndarray"], "shapes": [[2, 40, 64, 3]]}


def test_filters_flatten_a_picture_and_keep_torch_in_torch_out():
    import torch

    from artify_stream.evaluation.baselines import BASELINES

    picture = make_picture(64, 96, seed=3)
    for name, f in BASELINES.items():
        out = f(torch.from_numpy(picture[None]))
        assert isinstance(out, torch.Tensor) and out.shape == (1, 64, 96, 3) and out.dtype == torch.uint8, name
        assert not np.array_equal(out[0].numpy(), picture), f"{name} changed nothing"
