"""Comparing two runs' captured environments: Python, packages (ML ones ranked higher), OS,
container. Pure over the recorded ``env`` meta; never reads a store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from lineal.lineage.changes import Change

#: Packages whose version plausibly moves a model's metrics (PEP 503 names).
ML_PACKAGES = frozenset((
    "torch", "torchvision", "torchaudio", "tensorflow", "tensorflow-gpu", "tf-keras", "keras",
    "jax", "jaxlib", "flax", "optax", "numpy", "scipy", "scikit-learn", "pandas", "numba", "cupy",
    "triton", "onnx", "onnxruntime", "onnxruntime-gpu", "opencv-python", "pillow", "pillow-simd",
    "opencv-python-headless", "opencv-contrib-python", "transformers", "tokenizers", "timm",
    "accelerate", "safetensors", "albumentations", "xgboost", "lightgbm", "catboost",
    "pytorch-lightning", "lightning", "mxnet", "paddlepaddle", "einops",
))  # fmt: skip
_CUDA = re.compile(r"(^nvidia-|^cuda-|cuda|cudnn|cublas|nccl|^cupy-)")


def is_ml_package(name: str) -> bool:
    """Is ``name`` (PEP 503 spelling) a package whose version can move a model's metrics?"""
    return name in ML_PACKAGES or bool(_CUDA.search(name))


def _version_gap(old: str | None, new: str | None) -> int:
    """3 when a package came or went or its major version moved, 2 for minor, else 1."""
    if old is None or new is None:
        return 3
    parts = [re.findall(r"[0-9]+", v.split("+")[0])[:2] for v in (old, new)]
    for index, bump in ((0, 3), (1, 2)):
        mine = [p[index] if len(p) > index else "" for p in parts]
        if mine[0] != mine[1]:
            return bump
    return 1


def _python(env: Mapping[str, Any]) -> Any:
    python = env.get("python")
    return python.get("version") if isinstance(python, Mapping) else python


def env_changes(a: Mapping[str, Any], b: Mapping[str, Any]) -> Iterable[Change]:
    for subject, category, score, old, new in (
        ("python", "python", 24.0, _python(a), _python(b)),
        ("container", "container", 12.0, a.get("container"), b.get("container")),
        ("os", "os", 10.0, a.get("os"), b.get("os")),
    ):
        if old != new:
            yield Change.of(category, subject, old, new, score)
    packages = [p if isinstance(p, Mapping) else {} for p in (a.get("packages"), b.get("packages"))]
    for name in sorted(set(packages[0]) | set(packages[1])):
        old, new = packages[0].get(name), packages[1].get(name)
        if old == new:
            continue
        ml = is_ml_package(name)
        change = "added" if old is None else "removed" if new is None else "changed"
        score = (20.0 if ml else 5.0) + _version_gap(old, new)
        yield Change.of("package", name, old, new, score, change=change, ml=ml)
