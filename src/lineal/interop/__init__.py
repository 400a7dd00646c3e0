"""Every standard in and out of one graph: OpenLineage (ingest and emit), the MLflow tracking
API and store importer, the DVC importer, and the PROV, Croissant, in-toto/SLSA and CycloneDX
exports.

A service layer beside tracking, lineage and registry: each module works on a ``Lineal``
(any Store) and imports its standard's package lazily, naming the ``pip install`` a missing
extra needs (:func:`lineal.interop.extras.require`).
"""
