"""The team server: `lineal server` answers the Store protocol's reads of several projects over
HTTP (FastAPI), for HttpStore (lineal.store.http) and any HTTP client."""
