"""Genesys payloads -> our event vocabulary: plain functions, no I/O (see docs/webhooks.md).

`parsing` (JSON safety, coercion), `times`, `open_messaging` and its `content`,
`notifications`, `cloudevents`; the records they share live in `types`.
"""
