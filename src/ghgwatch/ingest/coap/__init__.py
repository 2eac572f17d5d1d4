"""CoAP ingest (role ``coap``): ``POST coap://host:5683/readings`` with the HTTP ingest's JSON body.

The server module imports aiocoap only when started, so this package imports without the ``coap`` extra.
"""
