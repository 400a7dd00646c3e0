"""The `lineal` command line: one module per command group, all thin shells over lineal.client.

Never runs SQL or touches store files itself; prints only here.
"""
