"""The demo's model: classify each labelled object of a rendered COCO dataset from its pixels.

Features are the object's box (with a margin of background) resized to 6 by 6 RGB pixels; the
model is a small scikit-learn multilayer perceptron trained epoch by epoch, saved as plain arrays
(``.npz``: standardisation, weights, class names) and evaluated from that file, so the metrics
are those of the recorded model. Records nothing and never prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

CROP = 6
Floats = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Samples:
    features: Floats
    labels: NDArray[np.str_]
    images: int


def samples(folder: Path) -> Samples:
    """Every annotated object of a COCO dataset folder, as features and its class name."""
    coco = json.loads((folder / "annotations.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    files = {i["id"]: i["file_name"] for i in coco["images"]}
    rows, labels = [], []
    opened: dict[int, Image.Image] = {}
    for one in coco["annotations"]:
        image_id = one["image_id"]
        if image_id not in opened:
            opened.clear()  # annotations come image by image
            with Image.open(folder / files[image_id]) as file:
                opened[image_id] = file.convert("RGB")
        image = opened[image_id]
        x, y, w, h = one["bbox"]
        margin = 0.15 * max(w, h)
        box = (
            max(0, round(x - margin)),
            max(0, round(y - margin)),
            min(image.width, round(x + w + margin)),
            min(image.height, round(y + h + margin)),
        )
        crop = image.crop(box).resize((CROP, CROP), Image.Resampling.BILINEAR)
        rows.append(np.asarray(crop, dtype=np.float64).ravel() / 255.0)
        labels.append(names[one["category_id"]])
    return Samples(np.array(rows), np.array(labels), len(files))


def train(
    data: Samples,
    *,
    seed: int,
    epochs: int,
    hidden: int,
    path: Path,
    log: Callable[[int, dict[str, float]], None],
) -> dict[str, float]:
    """Fit the classifier, calling ``log(epoch, {"loss", "train_accuracy"})`` after each
    epoch; save it to ``path`` and return its final training figures."""
    from sklearn.neural_network import MLPClassifier

    mean = data.features.mean(axis=0)
    std = data.features.std(axis=0) + 1e-6
    x = (data.features - mean) / std
    classes = np.unique(data.labels)
    model = MLPClassifier(hidden_layer_sizes=(hidden,), learning_rate_init=0.003,
                          alpha=1e-3, random_state=seed)  # fmt: skip
    order = np.random.default_rng(seed)
    figures: dict[str, float] = {}
    for epoch in range(epochs):
        shuffled = order.permutation(len(x))
        for batch in np.array_split(shuffled, max(1, len(x) // 64)):
            model.partial_fit(x[batch], data.labels[batch], classes=classes)
        accuracy = float((model.predict(x) == data.labels).mean())
        figures = {"loss": float(model.loss_), "train_accuracy": accuracy}
        log(epoch, figures)
    weights = {
        "mean": mean,
        "std": std,
        "w0": model.coefs_[0],
        "b0": model.intercepts_[0],
        "w1": model.coefs_[1],
        "b1": model.intercepts_[1],
        "classes": np.array([str(c) for c in model.classes_]),
    }
    with path.open("wb") as file:
        np.savez(file, **weights)
    saved = probabilities(path, data.features)[1]
    if not np.allclose(saved, model.predict_proba(x), atol=1e-9):
        raise RuntimeError(f"{path} does not reproduce the trained model's predictions")
    return figures


def probabilities(path: Path, features: Floats) -> tuple[list[str], Floats]:
    """The saved model's class names and its probability of each class for each sample."""
    with np.load(path, allow_pickle=False) as saved:
        x = (features - saved["mean"]) / saved["std"]
        hidden = np.maximum(x @ saved["w0"] + saved["b0"], 0.0)  # relu, scikit-learn's default
        scores = hidden @ saved["w1"] + saved["b1"]
        classes = [str(c) for c in saved["classes"]]
    scores -= scores.max(axis=1, keepdims=True)
    exp = np.exp(scores)
    return classes, exp / exp.sum(axis=1, keepdims=True)


def evaluate(path: Path, data: Samples) -> dict[str, float]:
    """Average precision of each class (``AP/CLASS``), their mean (``mAP``) and accuracy of
    the saved model on ``data``; a class the model never saw scores 0."""
    from sklearn.metrics import average_precision_score

    classes, scores = probabilities(path, data.features)
    found: dict[str, float] = {}
    for name in sorted(set(data.labels)):
        truth = data.labels == name
        column = scores[:, classes.index(name)] if name in classes else np.zeros(len(truth))
        found[f"AP/{name}"] = round(float(average_precision_score(truth, column)), 4)
    predicted = np.array(classes)[scores.argmax(axis=1)]
    per_class = [v for k, v in found.items() if k.startswith("AP/")]
    found["mAP"] = round(float(np.mean(per_class)), 4)
    found["accuracy"] = round(float((predicted == data.labels).mean()), 4)
    return found
