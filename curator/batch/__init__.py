"""Batch jobs over files: the local engine's decisions, computed on a Ray cluster.

``plan`` finds the input and cuts it into pieces, ``measure`` runs every per-sample check and computes
every index feature of a piece (on Ray actors), ``shuffle`` finds candidate pairs (hash and LSH band
shuffles, a blocked vector search), ``resolve`` decides in input order, and ``engine`` ties them
together with resumable outputs and admission into the collection.
"""
