"""A bare Django project: the floor the gateway's webhook path is measured against.

Same Django, same PostgreSQL, same gunicorn shape as the gateway, but no middleware, no
authentication, no normalising: parse the JSON body, INSERT it in one transaction, answer.
Run by benchmarks/ingest.py as `gunicorn benchmarks.bare.wsgi`.
"""
