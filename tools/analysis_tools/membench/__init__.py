"""The modules of ``tools/analysis_tools/benchmark_memory.py``.

``runner`` (the parent: one subprocess per measurement) and ``failures``
(oom or error), ``child`` (the ``--one`` mode) with ``models`` (what is
built from a config), ``batch`` (the synthetic batch), ``measure`` (the
measured stages) and ``phases`` (``--breakdown``), then ``records``
(the JSON records and the table) and ``plot``. The script imports them
through its own folder, which Python puts first on ``sys.path``.
"""
