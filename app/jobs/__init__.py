"""Background work on procrastinate, a PostgreSQL-backed job queue (docs/operations.md: background jobs).

- `queue`: the procrastinate app, its connection, running a worker, listing jobs;
- `work`: what each job does, as plain functions of (database, now) that tests call;
- `tasks`: the procrastinate tasks and their schedules, thin wrappers over `work`.
"""
