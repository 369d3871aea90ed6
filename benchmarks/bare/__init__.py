"""A bare Django project: the floors the gateway is measured against.

Same Django, same PostgreSQL, same gunicorn shape as the gateway, but no middleware, no
authentication, no validation: for webhooks, parse the JSON body and INSERT it in one
transaction (benchmarks/ingest.py); for a synchronous message, claim it, forward it to
the Genesys emulator and store the answer (`forward`, benchmarks/outbound.py). Run as
`gunicorn benchmarks.bare.wsgi` by benchmarks.harness.bare_gunicorn.
"""
