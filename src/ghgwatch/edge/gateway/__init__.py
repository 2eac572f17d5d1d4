"""The edge gateway (``ghgwatch edge``): takes readings at a site over HTTP, MQTT and CoAP as the platform
does, keeps them in its own durable log, raises alarms locally and forwards to the platform when it can."""
