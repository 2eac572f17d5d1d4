"""Leak quantification from UAV flights: reading flights, mass balance, Gaussian plume inversion, a simulator.

Works on files alone (no database): ``ghgwatch uav quantify --input flight.csv``. See docs/uav.md.
"""

from ghgwatch.uav.flight import COLUMNS, REQUIRED, Flight, FlightFileError, flight_to_csv, parse_flight, read_flight
from ghgwatch.uav.prepare import Limits
from ghgwatch.uav.quantify import quantify
from ghgwatch.uav.result import CannotQuantify, Method, Quantification, Refusal

__all__ = [
    "COLUMNS",
    "REQUIRED",
    "CannotQuantify",
    "Flight",
    "FlightFileError",
    "Limits",
    "Method",
    "Quantification",
    "Refusal",
    "flight_to_csv",
    "parse_flight",
    "quantify",
    "read_flight",
]
