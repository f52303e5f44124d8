"""A member's data in one guild: show it, forget it, and forget it after they leave.

* `rules.py`      how a table's member columns are treated; each feature declares its own;
* `data.py`       the data engine: find, show and erase a member's rows by schema convention;
* `departures.py` a member leaving: features wind down, data purged 30 days later unless back;
* `reconcile.py`  a daily per-guild check for members who left while Kindred was not listening.
"""
