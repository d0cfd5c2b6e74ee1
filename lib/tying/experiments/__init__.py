"""The experiments behind the chapters, as functions that return plain results.

A notebook calls ``run_...`` and plots what comes back with :mod:`tying.viz`;
the tests call the same functions at a tiny size, so the book's numbers and the
tested code cannot drift apart.
"""
