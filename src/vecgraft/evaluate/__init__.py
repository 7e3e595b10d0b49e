"""Evaluation: classification metrics and plots, similarity and analogy scores.

Submodules are imported on use (`vecgraft.evaluate.classification`, `.plots`, ...), so
importing this package stays cheap.
"""
