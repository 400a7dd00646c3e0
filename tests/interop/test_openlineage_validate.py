"""Checking OpenLineage events against the spec and each facet's schema (the real spec files
in ../shared/data), and the basic rules that hold without them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from openlineage_support import dataset, event, facet, new_run_id, ol_root, spec_dir

from lineal.errors import InvalidInput
from lineal.interop.openlineage_validate import validator


@pytest.fixture
def full() -> Any:
    return validator(spec_dir())


def _error(check: Any, bad: object) -> str:
    with pytest.raises(InvalidInput) as caught:
        check.check(bad)
    return caught.value.message


def test_the_spec_examples_pass_both_ways(full: Any) -> None:
    basic = validator(None)
    assert full.full
    assert not basic.full
    for path in (
        "spec/tests/example_full_event.json",
        "client/python/tests/example_full_event.json",
    ):
        one = json.loads((ol_root() / path).read_text())
        assert full.check(one) == basic.check(one) == "run"


def test_a_facet_is_checked_against_the_schema_its_url_names(full: Any) -> None:
    schema = facet("1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet", fields=[{"nam": "x"}])
    bad = event("START", new_run_id(), inputs=[dataset("db", "t", schema=schema)])
    message = _error(full, bad)
    assert "$.inputs[0].facets.schema.fields[0]" in message
    assert "'name' is a required property" in message
    assert "SchemaDatasetFacet.json" in message  # which schema's rule
    assert validator(None).check(bad) == "run"  # the basic rules cannot see it
    good = copy.deepcopy(bad)
    good["inputs"][0]["facets"]["schema"]["fields"] = [{"name": "x", "type": "int"}]
    assert full.check(good) == "run"
    assert full.facet_checked(good["inputs"][0]["facets"]["schema"])
    custom = facet("custom.json")
    assert not full.facet_checked(custom)  # kept, checked as a BaseFacet only


@pytest.mark.parametrize(
    ("change", "where", "rule"),
    [
        (lambda e: e.pop("producer"), "$.producer", "required"),
        (lambda e: e["run"].update(runId="not-a-uuid"), "$.run.runId", "format"),
        (lambda e: e.update(eventTime="2026-12-01"), "$.eventTime", "format"),
        (lambda e: e.update(eventTime="2026-12-01T10:00:00"), "$.eventTime", "format"),
        (lambda e: e.update(eventType="DONE"), "$.eventType", "enum"),
        (lambda e: e["job"].pop("name"), "$.job", "required"),
        (lambda e: e["run"]["facets"].update(x={"a": 1}), "$.run.facets.x", "required"),
    ],
)
def test_an_invalid_event_names_its_path_and_rule(
    full: Any, change: Any, where: str, rule: str
) -> None:
    for check in (full, validator(None)):
        bad = event("START", new_run_id())
        change(bad)
        message = _error(check, bad)
        assert f"at {where}" in message, message
        assert f"(rule: {rule}" in message, message


def test_dataset_and_job_events(full: Any) -> None:
    for name in ("serde_example_dataset_event.json", "serde_example_job_event.json"):
        one = json.loads((ol_root() / "client/python/tests" / name).read_text())
        one["eventTime"] += "Z"  # the old client wrote no offset, which the spec asks for
        assert full.check(one) == ("dataset" if "dataset" in name else "job")
    assert "expected a JSON object" in _error(full, [1, 2])


def test_a_folder_without_the_spec_is_refused_in_one_line(tmp_path: Any) -> None:
    with pytest.raises(InvalidInput, match=r"no OpenLineage\.json"):
        validator(tmp_path)
    with pytest.raises(InvalidInput, match="does not exist"):
        validator(tmp_path / "absent")
