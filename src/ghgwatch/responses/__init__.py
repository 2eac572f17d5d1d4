"""Automated responses to alerts: signed commands to equipment with tracked acknowledgement, and work orders."""
