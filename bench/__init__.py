"""Benchmarks: speed, memory, accuracy and load, each against a baseline measured in the same run.

Run each as ``python bench/NAME.py`` from the project folder (``python -m bench.NAME`` works too); the README's
*How well it works* table says which figure each one gives. Profiles (``--profile``) are ignored by git.
"""
