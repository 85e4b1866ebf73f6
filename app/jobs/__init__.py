"""Background work on procrastinate, a PostgreSQL-backed job queue (DOMAIN.md 7).

- `queue`: the procrastinate app, its connection, running a worker, listing jobs;
- `work`: what each job does, as plain functions of (database, now) that tests call;
- `tasks`: the procrastinate tasks and their schedules, thin wrappers over `work`.
"""
