"""One module per exercise: ``<exercise id>.py`` holds that exercise's questions and checks.

The module's name is the exercise id, which is also the name of the notebooks
``solutions/<id>.ipynb`` and ``exercises/<id>.ipynb``.  Ids start with a number
(``01_counting_tied_layers``), so load them with
:func:`tying.grading.load_exercise`, not an ``import`` statement.
"""
