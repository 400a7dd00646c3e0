"""What a DVC path becomes in lineal: the name and kind of its versions.

- **Name**: the path in the repository with every character outside ``[A-Za-z0-9._-]`` made
  ``-``, starting with a letter or digit (``data/pool_data`` → ``data-pool_data``).
- **Kind of an out** (of a ``.dvc`` file or a stage): ``model`` when ``dvc.yaml``'s
  ``artifacts`` says ``type: model``, when a folder of its path is ``models`` or ``model``, or
  when its extension is a model format's (``MODEL_SUFFIXES``); else ``dataset`` (``type:
  dataset`` in ``artifacts`` says so too).
- **Kind of a dep no out produces** (a script, a config read by a stage): ``code`` for source
  files (``CODE_SUFFIXES``), ``config`` for YAML, TOML and INI files, else as an out.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

MODEL_SUFFIXES = frozenset({
    ".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt", ".onnx", ".safetensors", ".keras",
    ".tflite", ".pb", ".mlmodel", ".gguf",
})  # fmt: skip
MODEL_FOLDERS = frozenset({"models", "model"})
CODE_SUFFIXES = frozenset({
    ".py", ".ipynb", ".sh", ".bash", ".r", ".jl", ".scala", ".java", ".js", ".ts", ".go",
    ".rs", ".c", ".cc", ".cpp", ".h", ".sql", ".m", ".lua", ".pl", ".rb",
})  # fmt: skip
CONFIG_SUFFIXES = frozenset({".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf"})
_NOT_NAME = re.compile(r"[^A-Za-z0-9._-]")
_PRODUCED = ("dataset", "model")


def lineal_name(path: str) -> str:
    """A lineal name for a DVC path: other characters made ``-``, a letter or digit first."""
    name = _NOT_NAME.sub("-", path).lstrip("._-")[:128]
    return name or "root"


def out_kind(path: str, declared: Mapping[str, Mapping[str, Any]]) -> str:
    """``model`` or ``dataset`` for an out (the rule in the module docstring)."""
    kind = declared.get(path, {}).get("type")
    if kind in _PRODUCED:
        return str(kind)
    folders = path.lower().split("/")[:-1]
    suffix = posixpath.splitext(path.lower())[1]
    return "model" if MODEL_FOLDERS & set(folders) or suffix in MODEL_SUFFIXES else "dataset"


def dep_kind(path: str, declared: Mapping[str, Mapping[str, Any]]) -> str:
    """The kind of a dep no stage produces: ``code``, ``config``, else as an out."""
    suffix = posixpath.splitext(path.lower())[1]
    if suffix in CODE_SUFFIXES:
        return "code"
    return "config" if suffix in CONFIG_SUFFIXES else out_kind(path, declared)
