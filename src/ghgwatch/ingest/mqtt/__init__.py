"""MQTT in: the bridge that turns device messages into bus records, and an embedded broker."""
