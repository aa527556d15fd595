"""Chapter-level experiments: each module turns a frozen config into tidy DataFrames and claims.

Layering: notebooks -> ``replication.experiments.*`` -> core modules -> torch/numpy.
"""
