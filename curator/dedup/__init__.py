"""Dedup algorithms (no state, no policy): shingling and vectorised MinHash."""
