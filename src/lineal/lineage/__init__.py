"""Lineage answers: upstream, downstream and paths as of any moment, as Graph objects."""
