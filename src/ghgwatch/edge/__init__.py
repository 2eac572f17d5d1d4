"""The edge gateway (``ghgwatch edge``, package ``gateway``) and the platform's side of it (config for a gateway,
per-minute summaries and alarm events from it). See docs/edge.md."""
