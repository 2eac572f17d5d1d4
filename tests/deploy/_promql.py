"""Just enough PromQL and Grafana-variable handling to check dashboard queries."""

from __future__ import annotations

import re

# Grafana's built-in and dashboard variables, replaced by values Prometheus accepts.
_GRAFANA_VARS = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
}
_KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "inf", "nan", "atan2",
}  # fmt: skip


def substitute(expr: str, variables: dict[str, str] | None = None) -> str:
    """Replace Grafana variables: built-ins by durations, dashboard ones by ``.*`` (or given values)."""
    for name, value in _GRAFANA_VARS.items():
        expr = expr.replace(name, value)
    for name, value in (variables or {}).items():
        expr = expr.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return re.sub(r"\$\{?[A-Za-z_]\w*\}?", ".*", expr)


def metric_names(expr: str) -> set[str]:
    """Metric names referenced by a PromQL expression (not functions, labels or keywords)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # range and subquery selectors
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        token = match.group(0)
        following = text[match.end() :].lstrip()
        if token.lower() in _KEYWORDS or following.startswith("("):
            continue
        prev = text[: match.start()]
        if prev and (prev[-1].isdigit() or prev[-1] == "."):
            continue  # part of a number such as 1e-9
        names.add(token)
    return names
