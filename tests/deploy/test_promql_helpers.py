from __future__ import annotations

from ._promql import metric_names, substitute


def test_metric_names_skip_functions_labels_and_numbers() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le, table) (rate(ghgwatch_store_write_duration_seconds_bucket"
        '{table=~"read.*"}[5m]))) / clamp_min(sum(up{job="x"}), 1e-9) and on (group) ghgwatch:lag:max'
    )
    assert metric_names(expr) == {"ghgwatch_store_write_duration_seconds_bucket", "up", "ghgwatch:lag:max"}


def test_substitute_grafana_variables() -> None:
    expr = 'rate(x{facility=~"$facility", s=~"${sensor}"}[$__rate_interval])'
    assert substitute(expr) == 'rate(x{facility=~".*", s=~".*"}[1m])'
    assert substitute('y{f=~"$facility"}', {"facility": "mine-1"}) == 'y{f=~"mine-1"}'
