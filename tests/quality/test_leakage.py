"""Train/eval leakage found by a digest join of the inputs' manifests: on a store built from
the shared sample data, and through the `no_leakage` policy key that blocks a promotion."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lineal.client import Lineal
from lineal.datasets import add
from lineal.model.entities import Artifact, Run
from lineal.quality.leakage import Manifests, join, model_leakage, run_leakage, run_leaks
from lineal.registry.grants import apply
from lineal.registry.promote import PolicyRefused, check, promote
from lineal.tracking.runs import start
from shared_data import SHARED_DATA

YOLO = SHARED_DATA / "yolo/rafaelpadilla__review_object_detection_metrics/data/database/gts"
YOLO = YOLO / "yolo_format"
KITTI = SHARED_DATA / "kitti/open-mmlab__OpenPCDet/data/kitti"
COCO = SHARED_DATA / "coco/openvinotoolkit__datumaro/tests/assets/coco_dataset/coco_instances"


def _run(repo: Lineal, ref: str) -> Run:
    found = repo.resolve(ref)
    assert isinstance(found, Run)
    return found


def _train(
    repo: Lineal, ws: Path, train: Artifact, holdout: Artifact | None, content: str
) -> tuple[Run, Artifact]:
    """A training run (validating on ``holdout``) whose model becomes a version of model/det."""
    run = start(repo, "train", capture_env=False)
    run.use(train, role="train")
    if holdout is not None:
        run.use(holdout, role="val")
    path = ws / f"{content}.pt"
    path.write_text(content)
    model = run.log_model(path, name=f"det-{content}", register="det")
    run.finish()
    return _run(repo, run.ref), model


def _evaluate(repo: Lineal, model: Artifact, data: Artifact) -> Run:
    run = start(repo, "eval", capture_env=False)
    run.use(model, role="model")
    run.use(data, role="eval")
    run.finish()
    return _run(repo, run.ref)


@pytest.fixture
def data(ws: Path, repo: Lineal, shared_data: Path) -> dict[str, Artifact]:
    """KITTI labels for training, YOLO labels held out, and a training folder into which two
    held-out label files were copied under new names (and the label set's names file)."""
    held_out = ws / "held-out"
    shutil.copytree(YOLO, held_out)
    (held_out / "notes.txt").write_text("")  # empty in both: no sample
    clean = ws / "clean"
    shutil.copytree(KITTI, clean)
    (clean / "notes.txt").write_text("")
    leaky = ws / "leaky"
    shutil.copytree(clean, leaky)
    (leaky / "training/more").mkdir()
    for source, name in (("2007_000027.txt", "k_000100.txt"), ("2007_000032.txt", "k_9.txt")):
        shutil.copyfile(held_out / "obj_train_data" / source, leaky / "training/more" / name)
    shutil.copyfile(held_out / "obj.names", leaky / "obj.names")  # a label set, not a sample
    return {
        name: add(
            repo, [ws / name], name=name, license="MIT", source="https://example.org"
        ).artifact
        for name in ("held-out", "clean", "leaky")
    }


def test_the_join_is_a_set_intersection() -> None:
    assert join({"a": "x", "b": "y"}, {"b": "z", "c": "w", "d": "v"}) == {"b"}
    assert join({}, {"a": "x"}) == set()


def test_eval_files_copied_into_training_under_new_names_are_found(
    repo: Lineal, ws: Path, data: dict[str, Artifact]
) -> None:
    run = start(repo, "train", capture_env=False)
    run.use(data["leaky"], role="train")
    run.use(data["held-out"], role="eval")
    run.finish()
    found = run_leakage(repo, _run(repo, run.ref))
    assert found is not None
    assert found.leaked
    assert found.shared == 2  # not obj.names, not the empty notes.txt
    assert found.train == ("dataset/leaky@v1",)
    assert found.eval == ("dataset/held-out@v1",)
    held, leaky = "dataset/held-out@v1:obj_train_data", "dataset/leaky@v1:training/more"
    assert {(s.eval, s.train) for s in found.examples} == {
        (f"{held}/2007_000027.txt", f"{leaky}/k_000100.txt"),
        (f"{held}/2007_000032.txt", f"{leaky}/k_9.txt"),
    }
    assert found.as_dict()["shared"] == 2
    assert "2 file(s) of the eval data (dataset/held-out@v1)" in found.message()
    # The same run on the clean copy shares nothing; a run without eval data is not compared.
    clean = start(repo, "train", capture_env=False)
    clean.use(data["clean"], role="train")
    clean.use(data["held-out"], role="validation")
    clean.finish()
    none = run_leakage(repo, _run(repo, clean.ref))
    assert none is not None
    assert (none.leaked, none.shared, none.examples) == (False, 0, ())
    alone = start(repo, "train", capture_env=False)
    alone.use(data["leaky"], role="train")
    alone.finish()
    assert run_leakage(repo, _run(repo, alone.ref)) is None


def test_an_input_without_its_file_list_is_named_not_guessed(
    repo: Lineal, data: dict[str, Artifact]
) -> None:
    bare = repo.record_artifact("dataset", digest="sha256:" + "cd" * 32, name="bare")
    run = start(repo, "train", capture_env=False)
    run.use(data["clean"], role="train")
    run.use(bare, role="eval")
    run.finish()
    found = run_leakage(repo, _run(repo, run.ref))
    assert found is not None
    assert (found.leaked, found.unknown) == (False, ("dataset/bare@v1",))


def test_evaluating_a_model_on_its_training_data_is_a_leak(
    repo: Lineal, ws: Path, data: dict[str, Artifact]
) -> None:
    trained, model = _train(repo, ws, data["clean"], None, "weights")
    assert model_leakage(repo, model) == []
    fair = _evaluate(repo, model, data["held-out"])
    unfair = _evaluate(repo, model, data["leaky"])  # the training data plus two files
    assert [one.leaked for one in run_leaks(repo, fair)] == [False]
    (leak,) = run_leaks(repo, unfair)
    assert leak.trained_by == trained.ref
    assert leak.shared == len(Manifests(repo).files(data["clean"]) or {})
    found = {(one.run, one.leaked) for one in model_leakage(repo, model)}
    assert found == {(fair.ref, False), (unfair.ref, True)}


def test_no_leakage_policy_blocks_promotion_and_verify_holds(
    repo: Lineal, ws: Path, data: dict[str, Artifact]
) -> None:
    (ws / "lineal.toml").write_text("[policy.production]\nno_leakage = true\n")
    apply(repo)
    _, leaked = _train(repo, ws, data["leaky"], data["held-out"], "leaky")
    with pytest.raises(PolicyRefused) as refused:
        promote(repo, f"det@v{leaked.version}", "production", "try")
    (outcome,) = refused.value.outcomes
    assert (outcome.check, outcome.passed) == ("no leakage", False)
    assert "2 file(s) of the eval data (dataset/held-out@v1)" in outcome.detail
    assert "lineal check RUN" in (outcome.fix or "")
    _, fine = _train(repo, ws, data["clean"], data["held-out"], "clean")
    done = promote(repo, f"det@v{fine.version}", "production", "no leak")
    assert [(c["check"], c["passed"]) for c in done["checks"]] == [("no leakage", True)]
    # Later evaluated on data it was trained on: the policy now fails it.
    _evaluate(repo, fine, data["clean"])
    _, _, outcomes = check(repo, f"det@v{fine.version}", "production")
    assert [(o.check, o.passed) for o in outcomes] == [("no leakage", False)]
    assert repo.verify().ok
