"""The TensorRT-RTX build step, run in a child process by engines.tensorrt_rtx_build.

    python -m engines.tensorrt_rtx_child GRAPH.onnx ENGINE_OUT '{"input": ..., "profile": [...], "capabilities": [...]}'

Why a child: TensorRT-RTX 1.7's builder orders some internal names by memory address, so the
same graph gives different bytes from build to build (seen here: four builds, four engines; 364
bytes apart, in names such as "__mye6638"). Started with address-space randomisation off (Linux),
the child builds the same bytes every time; it also returns the builder's memory. Imports
tensorrt_rtx only, never torch.
Exit 0 with the engine written; exit 2 with one line on stderr saying why not.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def build(graph: Path, plan: dict) -> bytes:
    import tensorrt_rtx as trt

    logger = trt.Logger(trt.Logger.ERROR)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # strongly typed: the graph's own precision
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(graph.read_bytes()):
        errors = "; ".join(parser.get_error(i).desc() for i in range(parser.num_errors))
        raise ValueError(f"TensorRT-RTX cannot parse the exported graph: {errors}")
    config = builder.create_builder_config()
    if plan["capabilities"]:
        config.num_compute_capabilities = len(plan["capabilities"])
        for i, name in enumerate(plan["capabilities"]):
            config.set_compute_capability(getattr(trt.ComputeCapability, name), i)
    profile = builder.create_optimization_profile()
    profile.set_shape(plan["input"], *(tuple(shape) for shape in plan["profile"]))
    config.add_optimization_profile(profile)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ValueError("TensorRT-RTX's builder returned no engine")
    return bytes(serialized)


def main() -> None:
    graph, out, plan = Path(sys.argv[1]), Path(sys.argv[2]), json.loads(sys.argv[3])
    try:
        out.write_bytes(build(graph, plan))
    except (ValueError, OSError, AttributeError, TypeError) as exc:
        print(str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
