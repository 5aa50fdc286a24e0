"""Live mode: one source (webcam, network stream or real-time file), one stylize stage, many sinks.

The stylize stage always takes the newest captured frame; older ones are dropped and counted,
so latency stays bounded however slow the engine is.
"""

from artify_stream.live.session import LiveOptions, LiveSession, run_live
from artify_stream.live.stats import LiveStats

__all__ = ["LiveOptions", "LiveSession", "LiveStats", "run_live"]
