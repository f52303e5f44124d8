"""Insights for admins: is the community connecting?

`history.py` reads what happened (a few grouped queries), `figures.py` turns it into numbers and
`graph.py` into a connection map, `picture.py` draws the PNG (matplotlib, imported on first use
only) and `summary.py` writes the same figures as text. `service.py` runs everything but the
reads in a worker thread. Nothing here names a member or counts anything per member.
"""
