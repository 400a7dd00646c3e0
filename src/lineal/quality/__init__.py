"""Quality: validation, drift, leakage, lineage health, classifications and alerts."""
