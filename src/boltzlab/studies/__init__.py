"""Reproductions of the source papers' figures, each checking itself (``boltzlab reproduce NAME``).

Every module of this package other than the framework (:mod:`.figures`, :mod:`.registry`, :mod:`.runner`)
holds entries and is imported by :func:`load_entries`.  A new entry is a module here with::

    from .registry import Study, entry

    @entry("my-entry", "what it reproduces (Fig. 3 of Author et al., Journal 2020)")
    def my_entry(study: Study) -> dict:
        n = study.size(quick=1_000, full=100_000)
        ...
        study.figure("ln Z error", value, reference=0.0, tolerance=3, kind="stderr", stderr=se,
                     source="exact enumeration")
        study.save(fig, "my_entry.png")
        return {"further": numbers}

The entry's JSON ``{"entry", "ok", "figures": [{"name", "value", "reference", "tolerance", "kind", "ok",
...}], ...}`` and its PNGs go into its output directory; ``ok`` of each figure is computed by the framework.
"""

from .figures import KINDS, Figure, holds
from .registry import ENTRIES, Entry, Study, entry, load_entries
from .runner import figure_table, run_all, run_entry, summary_table

__all__ = ["KINDS", "Figure", "holds", "ENTRIES", "Entry", "Study", "entry", "load_entries", "figure_table",
           "run_all", "run_entry", "summary_table"]
