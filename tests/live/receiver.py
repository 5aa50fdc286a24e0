"""Receive a stream with PyAV in its own process and print what arrived as JSON.

    python receiver.py URL OPTIONS_JSON SECONDS

A separate process, not a thread: PyAV holds the GIL in parts of the RTSP handshake, so a
listener and a publisher in one interpreter can wait on each other.
"""

import json
import sys

import av

url, options, seconds = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3])
frames, shape = 0, None
print("listening", flush=True)
try:
    with av.open(url, options=options, timeout=(seconds, 3)) as container:
        for frame in container.decode(video=0):
            frames += 1
            shape = shape or list(frame.to_ndarray(format="rgb24").shape)
except (av.FFmpegError, OSError):
    pass  # the publisher hung up: the end of the test stream
print(json.dumps({"frames": frames, "shape": shape}), flush=True)
