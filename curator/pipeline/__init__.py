"""Runs a collection's checks over a batch and turns their scores into decisions."""

from curator.pipeline.pipeline import Pipeline

__all__ = ["Pipeline"]
