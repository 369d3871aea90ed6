"""The transactional outbox: rows written with each webhook, published to RabbitMQ in order.

services: enqueue, replay, purge. claim: which rows a relay may publish next (the SQL).
relay: one batch (claim, publish, record) and the drain loop. publisher: AMQP with confirms.
daemon: the foreground `manage.py relay` loop and the per-process publisher of Celery
workers. wakeup: the Celery wake-up sent on commit. metrics: Prometheus. See docs/relay.md.
"""
