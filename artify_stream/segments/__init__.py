"""A clip cut at keyframes into segments that stylize independently, then joined into one file.

    cut.py      Segment and SegmentPlan: packets read once, cut at keyframes (the clip's
                `clip_plan.ClipPlan` travels with them)
    stylize.py  one segment's packets -> frames -> the engine -> encoded packets
    join.py     the encoded segments, in order, into the output with the source's other streams

Used by the Ray front end (segments on many nodes); nothing here needs Ray.
"""
