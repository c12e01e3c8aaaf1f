"""Scaling out: scope jobs on Celery workers through Redis (`scope.engine: celery`).

`celery_app` configures Celery (JSON only, late acks, one job per worker slot), `channel` holds what
travels through Redis besides Celery's own message (the upload, the job's spec, its events, a
heartbeat, a cancel flag), `client` is the bot side (`Core.scope` uses it like the local runner) and
`worker` is `mlbot worker`. Importing this package needs celery and redis (the `scale` extra);
nothing else in the bot imports it unless the celery engine is configured.
"""
