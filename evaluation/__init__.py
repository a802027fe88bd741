"""Evaluation of retrieval and answers on question sets written by others."""
