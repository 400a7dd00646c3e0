"""Content-addressed storage: objects, manifests, hashing, stat cache, remotes.

Imports only lineal.model; never knows about ledgers or stores.
"""
