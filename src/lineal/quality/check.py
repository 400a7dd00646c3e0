"""`lineal check`: dataset versions against the validation rules of `lineal.toml`, and runs
and models against train/eval leakage; the same rules guard `lineal add`.

Measures only what the store already knows (the version's manifest, the annotation statistics
`lineal add` recorded); reads only, never prints. A rule it cannot measure is ``skipped``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from lineal import datasets
from lineal.client import Lineal
from lineal.errors import InvalidInput, LinealError
from lineal.labels.images import SUFFIXES
from lineal.model.entities import Artifact, Run
from lineal.quality import leakage as leaks
from lineal.quality.rules import Rules, load, matching

PASS, FAIL, SKIPPED = "pass", "fail", "skipped"
#: Keys an artifact may state after it was recorded, as a tag (`lineal tag REF license=…`);
#: as lineal.registry.stated reads them.
STATED_BY_TAG = ("license", "source")


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule measured on one dataset version (or one run's leakage)."""

    rule: str
    ref: str
    measured: Any
    bound: Any
    verdict: str  # pass | fail | skipped
    message: str
    enforce: bool = False

    @property
    def failed(self) -> bool:
        return self.verdict == FAIL

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "ref": self.ref,
            "measured": self.measured,
            "bound": self.bound,
            "verdict": self.verdict,
            "message": self.message,
            "enforce": self.enforce,
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    """What `lineal check` found: every finding, and what was checked."""

    checked: tuple[str, ...]
    findings: tuple[Finding, ...] = ()
    leakage: tuple[leaks.Leakage, ...] = field(default_factory=tuple)

    @property
    def violations(self) -> list[Finding]:
        return [one for one in self.findings if one.failed]

    @property
    def ok(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": list(self.checked),
            "violations": len(self.violations),
            "findings": [one.as_dict() for one in self.findings],
            "leakage": [one.as_dict() for one in self.leakage],
        }


class RuleViolation(InvalidInput):
    """A dataset version broke an enforced validation rule: nothing was recorded."""


# -- what a version is known to hold ------------------------------------------------------
@dataclass(slots=True)
class _Measures:
    files: int | None = None
    image_files: int | None = None
    duplicates: int | None = None
    labelled: bool = False
    images: int = 0
    per_class: Counter[str] = field(default_factory=Counter)
    sizes: Counter[str] = field(default_factory=Counter)
    boxes_checked: int | None = None
    boxes_outside: int = 0
    label_files: int | None = None
    empty_label_files: int = 0


def _measure(repo: Lineal, artifact: Artifact) -> _Measures:
    found = _Measures()
    files = artifact.meta.get("files")
    found.files = files if isinstance(files, int) else None
    try:
        manifest = datasets.manifest_of(repo, artifact)
    except LinealError:
        manifest = None
    if manifest is not None:
        found.files = len(manifest)
        found.image_files = sum(
            1 for e in manifest.entries if PurePosixPath(e.path).suffix.lower() in SUFFIXES
        )
        found.duplicates = len(manifest) - len({e.digest for e in manifest.entries})
    labels = artifact.meta.get("labels")
    schemas = labels.get("schemas") if isinstance(labels, dict) else None
    for one in schemas if isinstance(schemas, list) else ():
        stats = one.get("stats") if isinstance(one, dict) else None
        if not isinstance(stats, dict):
            continue
        found.labelled = True
        found.images += int(stats.get("images", 0))
        found.per_class.update({str(k): int(v) for k, v in stats.get("per_class", {}).items()})
        found.sizes.update({str(k): int(v) for k, v in stats.get("image_sizes", {}).items()})
        if "boxes_checked" in stats:  # versions recorded before lineal counted them lack it
            found.boxes_checked = (found.boxes_checked or 0) + int(stats["boxes_checked"])
            found.boxes_outside += int(stats.get("boxes_outside", 0))
            found.label_files = (found.label_files or 0) + int(stats.get("label_files", 0))
            found.empty_label_files += int(stats.get("empty_label_files", 0))
    return found


def _stated(repo: Lineal, artifact: Artifact, key: str) -> str | None:
    if key in STATED_BY_TAG and (tagged := repo.store.tags(repo.node(artifact)).get(key)):
        return tagged
    value = artifact.meta.get(key)
    if value is None and isinstance(artifact.meta.get("extra"), dict):
        value = artifact.meta["extra"].get(key)
    return str(value) if value not in (None, "") else None


# -- the rules ------------------------------------------------------------------------------
Make = Callable[[str, Any, Any, str, str], Finding]


def _minimum(make: Make, rule: str, value: int | None, bound: int, what: str) -> Finding:
    if value is None:
        return make(rule, None, bound, SKIPPED, f"the number of {what} is not known")
    verdict = PASS if value >= bound else FAIL
    return make(rule, value, bound, verdict, f"{value:,} {what}; needs at least {bound:,}")


def _classes(make: Make, rules: Rules, m: _Measures) -> Iterable[Finding]:
    if rules.required_classes:
        wanted = list(rules.required_classes)
        if not m.labelled:
            yield make("required_classes", None, wanted, SKIPPED, "no annotations recorded")
        else:
            missing = [name for name in wanted if m.per_class[name] == 0]
            text = f"no annotation of {', '.join(missing)}" if missing else "every class present"
            yield make("required_classes", missing, wanted, FAIL if missing else PASS, text)
    if rules.class_balance:
        bound = dict(rules.class_balance)
        total = sum(m.per_class.values())
        if not total:
            yield make("class_balance", None, bound, SKIPPED, "no annotations recorded")
            return
        counts = {name: n for name, n in m.per_class.items() if n}
        low, high = min(counts, key=counts.__getitem__), max(counts, key=counts.__getitem__)
        shares = {"min_share": counts[low] / total, "max_share": counts[high] / total}
        measured = {k: round(v, 6) for k, v in shares.items()}
        measured["max_ratio"] = round(counts[high] / counts[low], 6)
        bad = [
            f"{key} {measured[key]:g} ({low if key == 'min_share' else high})"
            for key in ("min_share",)
            if key in bound and shares[key] < bound[key]
        ] + [
            f"{key} {measured[key]:g} ({high if key == 'max_share' else f'{high}/{low}'})"
            for key in ("max_share", "max_ratio")
            if key in bound and measured[key] > bound[key]
        ]
        text = "; ".join(bad) + " out of bounds" if bad else "class shares within bounds"
        yield make("class_balance", measured, bound, FAIL if bad else PASS, text)


def _sizes(make: Make, bound: dict[str, float], m: _Measures) -> Finding:
    known = {k: n for k, n in m.sizes.items() if "x" in k}
    if not known:
        return make("image_size", None, bound, SKIPPED, "no image sizes recorded")
    out = 0
    for text, count in known.items():
        width, height = (float(v) for v in text.split("x", 1))
        if not (
            bound.get("min_width", 0) <= width <= bound.get("max_width", float("inf"))
            and bound.get("min_height", 0) <= height <= bound.get("max_height", float("inf"))
        ):
            out += count
    seen = sum(known.values())
    text = f"{out:,} of {seen:,} images with a recorded size are out of bounds"
    return make(
        "image_size", {"out_of_bounds": out, "images": seen}, bound, FAIL if out else PASS, text
    )


def _sanity(make: Make, rules: Rules, m: _Measures) -> Iterable[Finding]:
    if m.boxes_checked is None:
        yield make("annotation_sanity", None, True, SKIPPED, "no annotation checks recorded")
        return
    if m.boxes_checked:
        text = f"{m.boxes_outside:,} of {m.boxes_checked:,} boxes reach past their image"
        verdict = FAIL if m.boxes_outside else PASS
        yield make("boxes_inside", m.boxes_outside, 0, verdict, text)
    if m.label_files and not rules.allow_empty_label_files:
        text = f"{m.empty_label_files:,} of {m.label_files:,} label files are empty"
        verdict = FAIL if m.empty_label_files else PASS
        yield make("empty_label_files", m.empty_label_files, 0, verdict, text)


def check_version(repo: Lineal, artifact: Artifact, tables: Sequence[Rules]) -> list[Finding]:
    """Every rule of ``tables`` measured on the dataset version ``artifact``."""
    m = _measure(repo, artifact) if tables else _Measures()
    found: list[Finding] = []
    for rules in tables:

        def make(rule: str, measured: Any, bound: Any, verdict: str, message: str) -> Finding:
            return Finding(rule, artifact.ref, measured, bound, verdict, message, rules.enforce)  # noqa: B023 - used at once

        if rules.min_files is not None:
            found.append(_minimum(make, "min_files", m.files, rules.min_files, "files"))
        if rules.min_images is not None:
            images = m.image_files or (m.images if m.labelled else m.image_files)
            found.append(_minimum(make, "min_images", images, rules.min_images, "images"))
        found += _classes(make, rules, m)
        if rules.max_duplicate_share is not None:
            bound = rules.max_duplicate_share
            if m.duplicates is None or not m.files:
                found.append(make("max_duplicate_share", None, bound, SKIPPED, "no file list here"))
            else:
                share = round(m.duplicates / m.files, 6)
                text = (
                    f"{m.duplicates:,} of {m.files:,} files repeat another's content ({share:.2%})"
                )
                found.append(
                    make(
                        "max_duplicate_share", share, bound, PASS if share <= bound else FAIL, text
                    )
                )
        if rules.image_size:
            found.append(_sizes(make, dict(rules.image_size), m))
        for key in rules.required_meta:
            value = _stated(repo, artifact, key)
            text = (
                f"{key} = {value}"
                if value
                else f"no {key} recorded (lineal add --meta {key}=…, or lineal tag REF {key}=…)"
            )
            found.append(
                make(f"required_meta {key}", value, "present", PASS if value else FAIL, text)
            )
        if rules.annotation_sanity:
            found += _sanity(make, rules, m)
    return found


def leak_findings(found: Iterable[leaks.Leakage]) -> list[Finding]:
    """One ``no_leakage`` finding per comparison: fail (shared files), skipped (a file list
    not here) or pass."""
    findings = []
    for one in found:
        if one.leaked:
            verdict = FAIL
        elif one.unknown:
            verdict = SKIPPED
        else:
            verdict = PASS
        message = one.detail()
        if one.unknown:
            message += f" (file lists not here: {', '.join(one.unknown)})"
        findings.append(Finding("no_leakage", one.run, one.shared, 0, verdict, message, True))
    return findings


def _latest_datasets(repo: Lineal) -> list[Artifact]:
    found = []
    for name in repo.names("dataset"):
        artifact = datasets.latest(repo, name)
        if artifact is not None:
            found.append(artifact)
    return found


def check(repo: Lineal, ref: str | None = None, *, every: bool = False) -> CheckReport:
    """Check ``ref`` (a dataset version against its rules; a run or model for leakage) or,
    with ``every``, the latest version of every dataset a rule names; what failed alerts."""
    report = _check(repo, ref, every=every)
    _alert(repo, report.findings, "lineal check")
    return report


def _check(repo: Lineal, ref: str | None, *, every: bool) -> CheckReport:
    if (ref is None) == (not every):
        raise InvalidInput("check what?", hint="give one REF, or --all for every dataset")
    tables = load(repo.workspace)
    if every:
        checked = [a for a in _latest_datasets(repo) if matching(tables, a.name)]
        findings = [f for a in checked for f in check_version(repo, a, matching(tables, a.name))]
        return CheckReport(tuple(a.ref for a in checked), tuple(findings))
    assert ref is not None  # noqa: S101 - the test above
    found = repo.resolve(ref if "/" in ref or ref.startswith("sha256:") else f"dataset/{ref}")
    if isinstance(found, Run):
        got = tuple(leaks.run_leaks(repo, found))
        return CheckReport((found.ref,), tuple(leak_findings(got)), got)
    if found.kind == "model":
        got = tuple(leaks.model_leakage(repo, found))
        return CheckReport((found.ref,), tuple(leak_findings(got)), got)
    if found.kind != "dataset":
        raise InvalidInput(
            f"{found.ref} is a {found.kind}: lineal check takes a dataset, run or model",
            hint="e.g. lineal check dataset/NAME@v2",
        )
    applied = matching(tables, found.name)
    if not applied:
        raise InvalidInput(
            f"no validation rule in lineal.toml names {found.ref}",
            hint=f'add a [rules."{found.name}"] table (see docs/quality.md)',
        )
    return CheckReport((found.ref,), tuple(check_version(repo, found, applied)))


def _alert(repo: Lineal, findings: Iterable[Finding], where: str) -> None:
    """Alert (lineal.quality.alerts: queued, never blocking) about the failed findings: one
    alert per kind (``leakage`` for the no-leakage check, else ``validation``) and subject."""
    from lineal.quality.alerts import Alert, notify

    grouped: dict[tuple[str, str], list[Finding]] = {}
    for one in findings:
        if one.failed:
            kind = "leakage" if one.rule == "no_leakage" else "validation"
            grouped.setdefault((kind, one.ref), []).append(one)
    for (kind, subject), failed in grouped.items():
        said = "; ".join(f"{f.rule}: {f.message}" for f in failed)
        body = tuple(f.as_dict() for f in failed)
        notify(Alert(kind, subject, f"{subject} ({where}): {said}", body), repo)


@dataclass(slots=True)
class AddGuard:
    """The rules `lineal add` checks a new version against, inside the transaction that
    records it: a failing enforced rule (every rule with ``strict``) raises RuleViolation,
    so nothing is recorded; the others are kept in ``findings`` as warnings."""

    repo: Lineal
    strict: bool = False
    findings: list[Finding] = field(default_factory=list)
    #: Read before the snapshot: a bad rule fails before anything is hashed.
    tables: tuple[Rules, ...] = ()

    def __post_init__(self) -> None:
        self.tables = load(self.repo.workspace)

    def __call__(self, artifact: Artifact) -> None:
        tables = matching(self.tables, artifact.name)
        if artifact.kind != "dataset" or not tables:
            return
        self.findings = check_version(self.repo, artifact, tables)
        refused = [f for f in self.findings if f.failed and (f.enforce or self.strict)]
        _alert(self.repo, self.findings, "refused by lineal add" if refused else "lineal add")
        if refused:
            why = "; ".join(f"{f.rule}: {f.message}" for f in refused)
            raise RuleViolation(
                f"{artifact.name} breaks {len(refused)} validation rule(s), nothing was "
                f"recorded: {why}",
                hint="fix the data, or the rule in lineal.toml (lineal check shows the rest)",
            )

    @property
    def warnings(self) -> list[Finding]:
        return [one for one in self.findings if one.failed]
