"""The tamper-evident ledger: hash chain, signed commits, Merkle checkpoints, verification.

Builds only on lineal.model; never knows which database holds the records.
"""
