"""The pure domain of lineal: references, entities, ops, canonical encoding and digests.

Nothing here does I/O, reads the clock or draws randomness that is not passed in.
"""
