"""Benchmarks: figures are printed, never asserted. Run with `make bench`."""
