"""Quality over the lineage: validation rules, train/eval leakage, drift, lineage health,
classifications that propagate, and alerts."""
