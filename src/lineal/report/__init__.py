"""`lineal report`: one self-contained document answering an auditor about a model or dataset."""
