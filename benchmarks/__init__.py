"""Benchmarks and evaluations; each script prints its figures and the command that made them."""
