"""curator: filter synthetic LLM training data, with a reason for every decision."""

__version__ = "0.1.0"
