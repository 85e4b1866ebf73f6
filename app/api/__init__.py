"""The GraphQL layer: types, resolvers and the request context. Domain code never imports it."""
