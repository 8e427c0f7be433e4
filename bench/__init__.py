"""Benchmarks (`make bench`): each measure is printed next to its reference, as a ratio."""
