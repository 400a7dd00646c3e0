"""`lineal export prov`: REF's upstream as W3C PROV, read back with the `prov` package and
rdflib, every node and edge of `lineal upstream` accounted for, on every store."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import rdflib
from prov.constants import PROV
from prov.model import (
    PROV_TYPE,
    ProvActivity,
    ProvAgent,
    ProvAssociation,
    ProvAttribution,
    ProvCommunication,
    ProvDerivation,
    ProvDocument,
    ProvEntity,
    ProvGeneration,
    ProvRecord,
    ProvUsage,
)
from prov_croissant_support import record_history

from lineal.client import Lineal
from lineal.interop import prov as prov_export
from lineal.store.base import Store

if TYPE_CHECKING:
    from conftest import Cli

LINEAL = "https://lineal.dev/ns#"
#: The PROV relation each lineal edge kind becomes.
RELATION = {
    "used": ProvUsage,
    "generated": ProvGeneration,
    "derived_from": ProvDerivation,
    "labeled_with": ProvDerivation,
    "rendered_from": ProvDerivation,
    "informed_by": ProvCommunication,
    "associated_with": ProvAssociation,
}


def _ident(node: str) -> str:
    return LINEAL + node.replace("sha256:", "sha256-")


def _of(doc: ProvDocument, kind: type[ProvRecord]) -> list[Any]:
    return list(doc.get_records(kind))


def _record(doc: ProvDocument, node: str) -> Any:
    (found,) = doc.get_record(
        doc.valid_qualified_name("lineal:" + node.replace("sha256:", "sha256-"))
    )
    return found


def _attr(record: ProvRecord, name: str) -> Any:
    values = [v for k, v in record.attributes if str(k.uri) == name or k.localpart == name]
    return values[0] if len(values) == 1 else values


def _ends(record: ProvRecord) -> tuple[str, str]:
    """(upstream, downstream) identifiers of a relation, as lineal's edges point."""
    # The downstream end comes first in each: used(activity, entity), wasGeneratedBy(entity,
    # activity), wasDerivedFrom(new, old), wasInformedBy(informed, informant),
    # wasAssociatedWith(activity, agent).
    formal = [v for _, v in record.formal_attributes]
    return str(formal[1].uri), str(formal[0].uri)


@pytest.fixture
def history_repo(store: Store) -> Lineal:
    return Lineal(store)


def test_prov_json_round_trips_and_holds_every_node_and_edge(history_repo: Lineal) -> None:
    from lineal.lineage.queries import upstream

    history = record_history(history_repo)
    graph = upstream(history_repo, "model/net")
    built = prov_export.build(history_repo, "model/net")
    text = prov_export.export(history_repo, "model/net", flavor="json")
    back = ProvDocument.deserialize(content=text.decode())
    assert back == built
    # every node: artifacts as entities, runs as activities, agents as agents
    entities = {str(r.identifier.uri) for r in _of(back, ProvEntity)}
    activities = {str(r.identifier.uri) for r in _of(back, ProvActivity)}
    agents = {str(r.identifier.uri) for r in _of(back, ProvAgent)}
    by_type = Counter(n.type for n in graph.nodes.values())
    assert len(entities) == by_type["artifact"] == 6
    assert len(activities) == by_type["run"] == 2
    assert {_ident(n) for n, node in graph.nodes.items() if node.type == "artifact"} == entities
    assert {_ident(n) for n, node in graph.nodes.items() if node.type == "run"} == activities
    assert {_ident(n) for n, node in graph.nodes.items() if node.type == "agent"} <= agents
    assert agents == {_ident("agent/alice"), _ident("agent/ci-bot")}
    # every edge: one relation of the kind it maps to, between the same two nodes
    relations: Counter[tuple[type, str, str]] = Counter()
    for kind in set(RELATION.values()):
        for record in _of(back, kind):
            if isinstance(record, ProvAssociation) and _attr(record, "edgeKind") == "author":
                continue
            relations[(kind, *_ends(record))] += 1
    expected = Counter((RELATION[e.kind], _ident(e.parent), _ident(e.child)) for e in graph.edges)
    assert relations == expected
    assert len(graph.edges) == 9
    # the run's author is associated with it, the recorder of every artifact attributed
    attributions = _of(back, ProvAttribution)
    assert len(attributions) == len(entities)
    authors = [r for r in _of(back, ProvAssociation) if _attr(r, "edgeKind") == "author"]
    assert {str(r.formal_attributes[0][1].uri) for r in authors} == activities
    # attributes that carry what lineal knows
    model = back.get_record(
        back.valid_qualified_name(f"lineal:{history.model.node.replace('sha256:', 'sha256-')}")
    )[0]
    assert _attr(model, "digest") == history.model.digest
    assert _attr(model, "version") == 1
    assert str(_attr(model, PROV_TYPE.uri)) == "lineal:Model"
    assert json.loads(_attr(model, "tags")) == {"stage": "candidate"}
    assert _attr(model, "alias") == "model/net:candidate"
    train = _record(back, history.train.ref)
    assert _attr(train, "param.lr") == 0.1
    assert _attr(train, "status") == "finished"
    assert json.loads(_attr(train, "params"))["odd key"] == 1
    assert int(_attr(train, "param.seed")) == 2**40
    assert json.loads(_attr(train, "metrics")) == {"accuracy": 0.9, "loss": 0.25}
    usage = next(
        r
        for r in _of(back, ProvUsage)
        if str(r.formal_attributes[1][1].uri) == _ident(history.raw.node)
    )
    assert _attr(usage, str(PROV["role"].uri)) == "train"


# prov 3.2's RDF reader calls rdflib 7 APIs that rdflib calls deprecated.
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_turtle_and_jsonld_parse_back_with_rdflib_and_prov(history_repo: Lineal) -> None:
    record_history(history_repo)
    built = prov_export.build(history_repo, "model/net")
    for flavor, rdf_format in (("turtle", "turtle"), ("jsonld", "json-ld")):
        text = prov_export.export(history_repo, "model/net", flavor=flavor).decode()
        graph = rdflib.Graph().parse(data=text, format=rdf_format)
        activities = set(graph.subjects(rdflib.RDF.type, rdflib.URIRef(str(PROV["Activity"].uri))))
        assert len(activities) == 2
        back = ProvDocument.deserialize(content=text, format="rdf", rdf_format=rdf_format)
        assert back == built, flavor


def test_a_run_ci_ran_has_a_software_agent(history_repo: Lineal) -> None:
    record_history(history_repo, ci=True)
    doc = prov_export.build(history_repo, "model/net")
    kinds = {str(r.identifier.uri): str(_attr(r, PROV_TYPE.uri)) for r in _of(doc, ProvAgent)}
    assert kinds == {
        _ident("agent/alice"): "prov:SoftwareAgent",
        _ident("agent/ci-bot"): "prov:SoftwareAgent",
    }


def test_the_cli_writes_each_flavor_and_counts_match_upstream(
    lineal_cli: Cli, ws: Path, repo: Lineal
) -> None:
    record_history(repo)
    up = lineal_cli("upstream", "model/net", "--json", cwd=ws)
    assert up.returncode == 0, up.stderr
    graph = json.loads(up.stdout)
    done = lineal_cli("export", "prov", "model/net", cwd=ws)
    assert done.returncode == 0, done.stderr
    doc = ProvDocument.deserialize(content=done.stdout)
    assert (
        len(_of(doc, ProvEntity))
        == graph["counts"]["dataset"]
        + graph["counts"]["model"]
        + graph["counts"]["schema"]
        + graph["counts"]["code"]
    )
    assert len(_of(doc, ProvActivity)) == graph["counts"]["run"]
    out = ws / "lineage.ttl"
    done = lineal_cli("export", "prov", "model/net", "--as", "turtle", "-o", str(out), cwd=ws)
    assert done.returncode == 0, done.stderr
    assert "Wrote prov (turtle)" in done.stdout
    assert len(rdflib.Graph().parse(out, format="turtle")) > 50
    provn = lineal_cli("export", "prov", "model/net", "--as", "provn", cwd=ws)
    assert provn.stdout.startswith("document\n")
    for node in graph["nodes"]:
        assert f"lineal:{node['id'].replace('sha256:', 'sha256-')}" in provn.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model/nope"], "no model named 'nope'"),
        (["model/net", "--as", "xml"], "prov has no variant 'xml'"),
        (["dataset/x@vv"], "bad"),
    ],
)
def test_bad_input_gets_one_clear_line(
    lineal_cli: Cli, ws: Path, repo: Lineal, args: list[str], message: str
) -> None:
    record_history(repo)
    done = lineal_cli("export", "prov", *args, cwd=ws)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
