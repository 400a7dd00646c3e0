"""The model registry: registered models and their versions, promotions to aliases under
policies from `lineal.toml`, approvals, and the history of who held which alias when."""
