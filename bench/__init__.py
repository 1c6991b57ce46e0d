"""Benchmarks and cross-checks, each run by its file path (`.venv/bin/python bench/parse.py`, see README.md).

A package so that its scripts import each other as `bench.<name>` (with the repository root on sys.path) and
mypy names them apart from the packages some of them share a name with (bench/sharing.py, bench/gateway.py).
"""
