"""The demo site: a real Kuzbass underground mine from the GEM data, a boiler house, users, a device."""

from ghgwatch.demo.seed import DEMO_MINE_ID, DEMO_ORG, seed_demo

__all__ = ["DEMO_MINE_ID", "DEMO_ORG", "seed_demo"]
