"""Bias audits: the lexicon and its matcher, per-sample findings, the collection report and its HTML.

See docs/bias.md. The ``bias`` check itself is curator.checks.bias.
"""
