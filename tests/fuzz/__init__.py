"""Coverage-guided fuzz targets (atheris), one module per input surface.

Each ``fuzz_<target>.py`` has ``test_one_input(data)``, which raises (an
``AssertionError`` or whatever escaped the code under test) only when the
property it checks is broken, and ``seeds()``, the real encoded inputs its
committed corpus under ``corpus/<target>/`` is made from. ``run`` starts one
target under atheris; ``campaign`` runs them all for longer (``make fuzz``).
"""
