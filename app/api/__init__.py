"""The GraphQL layer: types, resolvers and the request context. Domain code never imports it.

One package per domain (people, organizations, scheduling, credits, appointments), each with
types.py (object types), inputs.py (inputs and payloads), queries.py (its Query fields and node
resolvers) and mutations.py (its Mutation fields); common.py holds what they share, and
schema.py assembles them. The packages import one way only: scheduling and credits build on
people, appointments on all three; supplied.py serves the fields that point the other way.
"""
