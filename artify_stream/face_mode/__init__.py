"""Face mode: every face detected, aligned on its landmarks, stylized as a large aligned crop and put
back with a feathered mask over the whole-frame cartoon; tracked and smoothed across video frames.

    stylizer = FaceStylizer(engine)            # the engine interface, so every pipeline takes it
    cartoon = stylizer(frames_uint8_nhwc)

detect.py finds faces and their 5 landmarks (dlib), align.py maps a face to the canonical crop and
back, track.py follows faces across frames (one-euro smoothing, identities kept apart) and
stylizer.py puts it together. The runtime's own: it is given an engine, never builds one.
"""

from artify_stream.face_mode.stylizer import FaceOptions, FaceStylizer

__all__ = ["FaceOptions", "FaceStylizer"]
