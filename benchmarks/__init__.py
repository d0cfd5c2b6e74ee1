"""Benchmarks of the `tying` layers against their baselines, and budgets for the book.

Run ``python -m benchmarks`` (full sizes) or ``python -m benchmarks --quick``
(tiny sizes, one repeat: the smoke test the test suite runs).  Results go to
``benchmarks/results.json`` and ``benchmarks/RESULTS.md`` (and the full run also to
``lib/tying/benchmark_results.json``, the copy shipped with the package).
"""
