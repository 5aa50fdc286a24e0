"""The floor plan: layers point one way, and a model is read once where the user names it."""

import ast
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: layer -> the layers it must never import, not even inside a function
FORBIDDEN = {"artify_stream": {"engines", "trainer", "frontends"}, "engines": {"trainer", "frontends"},
             "trainer": {"engines", "frontends"}}


def imported_layers(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layers_point_one_way(layer):
    arrows = [f"{path.relative_to(ROOT)} imports {bad}" for path in sorted((ROOT / layer).rglob("*.py"))
              for bad in sorted(imported_layers(path) & FORBIDDEN[layer])]
    assert arrows == []


def test_the_check_sees_an_import_hidden_in_a_function(tmp_path):
    hidden = tmp_path / "late.py"
    hidden.write_text("def f():\n    from engines import create_engine\n    return create_engine\n")
    assert "engines" in imported_layers(hidden)


def test_an_engine_is_built_from_the_resolved_reference_without_the_file(tiny_model, tmp_path):
    """Once --model is resolved, nothing below opens it again: the file may even be gone."""
    import shutil

    from artify_stream.registry import resolve_model
    from engines import create_engine

    copy = tmp_path / "mine.safetensors"
    shutil.copy(tiny_model, copy)
    ref = resolve_model(str(copy))
    copy.unlink()
    engine = create_engine(ref, "torch", "fp32", "cpu", cache_dir=tmp_path / "cache")
    frames = np.zeros((1, 16, 16, 3), np.uint8)
    assert np.asarray(engine(frames)).shape == (1, 16, 16, 3)
    assert ref.name == str(copy) and len(ref.sha256) == 64
