"""Data quality over the lineage: validation rules, train/eval leakage, drift and health."""
