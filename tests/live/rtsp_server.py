"""A real RTSP server for the tests: GStreamer's RTSP server playing an H.264 clip in a loop.

Run with the system python3 (it needs `gi`: Debian's python3-gi and gir1.2-gst-rtsp-server-1.0):

    python3 rtsp_server.py CLIP.h264 FPS PORT /PATH

CLIP is a raw Annex-B H.264 stream (short keyframe interval). multifilesrc re-reads it at its end
and h264parse stamps frames at FPS, so the loop plays on in real time. A CLIP ending in .mp4 is
served as a file is: demuxed, with its duration advertised (SDP range npt=0-D), played once.
Prints "ready" when listening.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    clip, fps, port, path = sys.argv[1:5]
    Gst.init(None)
    factory = GstRtspServer.RTSPMediaFactory()
    if clip.endswith(".mp4"):
        source = f"filesrc location={clip} ! qtdemux"
    else:
        source = (f'multifilesrc location={clip} loop=true '
                  f'caps="video/x-h264,stream-format=byte-stream,framerate={fps}/1"')
    factory.set_launch(f"( {source} ! h264parse config-interval=-1 ! rtph264pay name=pay0 pt=96 config-interval=1 )")
    factory.set_shared(True)  # every client sees the same loop; default transports: UDP and TCP
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(port)
    server.get_mount_points().add_factory(path, factory)
    if server.attach(None) == 0:
        print(f"cannot listen on 127.0.0.1:{port}", flush=True)
        sys.exit(1)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
