"""Study pipelines: multi-step analyses that train, measure and write plots and JSON into a directory.

They serve the ``boltzlab reproduce`` entries and the study commands of the CLI (``boltzlab field ...``,
``boltzlab theory report``, ``boltzlab reciprocal replicas``); the library underneath returns data and
matplotlib Figures.
"""
