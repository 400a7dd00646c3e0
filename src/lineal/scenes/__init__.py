"""OpenUSD scenes as lineage: fingerprints, summaries, diffs, randomization, generation runs.

The SDK entry point for synthetic data is :func:`generation_run` (see lineal.scenes.generation);
pxr is imported only by the functions that read USD files.
"""

from __future__ import annotations

from lineal.scenes.generation import Generated, generation_run

__all__ = ["Generated", "generation_run"]
