"""Rates and quotes: rate cards as data, sourced advice, a rate calculator and quotes built from a scope.

Transport-free: every function takes plain values and returns JSON-ready dicts; `render` turns them into
markdown for the fronts. Nothing here logs a person's inputs or figures.
"""
