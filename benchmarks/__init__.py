"""Benchmarks: one command each, figures and ratios against a baseline run in the same process."""
