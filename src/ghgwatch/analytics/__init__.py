"""Analytics: forecasting with intervals, multivariate models, correlations, gap filling and drift.

Pure functions and classes over numpy/pandas; the CLI (:mod:`ghgwatch.cli.analytics`) and the analytics
role call them. Heavy libraries (scikit-learn, scipy) are imported where they are used.
"""

from __future__ import annotations
