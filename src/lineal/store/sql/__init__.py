"""The SQL stores (SQLite embedded, PostgreSQL for teams): the only place lineal writes SQL.

Everything here answers the Store protocol (lineal.store.base); services never import it.
"""
