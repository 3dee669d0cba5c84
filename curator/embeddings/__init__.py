"""Sentence embeddings: the model (loaded once per process, offline) and the batcher in front of it."""

from curator.embeddings.batcher import DynamicBatcher
from curator.embeddings.model import Encoder, ModelUnavailable, load_encoder

__all__ = ["DynamicBatcher", "Encoder", "ModelUnavailable", "load_encoder"]
