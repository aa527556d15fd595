"""Test-wide settings: the tests never read or write the committed ``results/`` folder.

They compute at ``ci`` scale in a results cache of their own (a fresh temporary folder per session,
unless ``$REPLICATION_CACHE`` is set), so a stale or missing committed result can never make a test
pass or fail. Notebook executions (nbval) inherit these variables.
"""

import os
import tempfile

os.environ["REPLICATION_RESULTS"] = "off"
os.environ.setdefault("REPLICATION_SCALE", "ci")
if not os.environ.get("REPLICATION_CACHE"):
    os.environ["REPLICATION_CACHE"] = tempfile.mkdtemp(prefix="replication-test-cache-")
