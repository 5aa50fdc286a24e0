"""`artify stylize --ray ADDRESS`: the same batch on a Ray cluster (the `cluster` extra).

    connect.py  ADDRESS -> a connected Ray (or one clear error)
    worker.py   StylizeWorker: a Ray actor holding one engine, stylizing shipped files
    driver.py   RayBatch: the runtime's folder walk and output slots, with files fanned out to
                the actors, a bounded number in flight

Files travel through Ray's object store (bytes in, bytes out), so nodes need no shared folder;
outputs are written by the driver, atomically, as without --ray. The clip segments themselves
(cut, stylized, joined) are the runtime's: `artify_stream.segments`.
"""
