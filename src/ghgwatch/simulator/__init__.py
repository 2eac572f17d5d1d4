"""Realistic coal-mine telemetry for demos and tests: ``ghgwatch simulate`` and ``ghgwatch up --demo``.

The model (values as pure, seeded functions of time) is apart from the transport (HTTP or MQTT senders)
and the runner that paces one against the other.
"""

from ghgwatch.simulator.delivery import SimulationStats
from ghgwatch.simulator.events import Event, EventKind, default_events, describe
from ghgwatch.simulator.model import SiteModel
from ghgwatch.simulator.runner import make_sender, run_simulation
from ghgwatch.simulator.senders import FatalError, HttpSender, MqttSender, RetryableError, Sender, SendResult
from ghgwatch.simulator.sensors import SensorSpec, load_credentials, sensors_from

__all__ = [
    "Event",
    "EventKind",
    "FatalError",
    "HttpSender",
    "MqttSender",
    "RetryableError",
    "SendResult",
    "Sender",
    "SensorSpec",
    "SimulationStats",
    "SiteModel",
    "default_events",
    "describe",
    "load_credentials",
    "make_sender",
    "run_simulation",
    "sensors_from",
]
