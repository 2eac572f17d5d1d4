"""ghgwatch: greenhouse-gas monitoring, inventory, forecasting and reporting."""

__version__ = "0.1.0"
