"""The reporting: claims and the scorecard, statistics, text helpers, the status page.

- :mod:`.claims`: a claim per check, the claims tables, the scorecard.
- :mod:`.stats`: the bootstrap interval, the least-squares slope, the rank correlation, the compute-cost table
  (one copy each).
- :mod:`.text`: number ranges, labels and the machine list for prose and tables.
- :mod:`.status`: where a chapter's results came from; the status page's record.
"""
