"""Stores: where the ledger and its projections live (SQLite embedded, PostgreSQL for teams).

Chosen by URI scheme; never imported by lineal.model or lineal.ledger.
"""
