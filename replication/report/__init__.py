"""The reporting: claims and the scorecard, statistics, text helpers, the status page.

- :mod:`.claims`: a claim per check, the claims tables, the scorecard.
- :mod:`.stats`: bootstrap intervals, regressions, rank and paired tests (one copy each).
- :mod:`.text`: number ranges and labels for prose and tables.
- :mod:`.status`: where a chapter's results came from; the status page's record.
"""
