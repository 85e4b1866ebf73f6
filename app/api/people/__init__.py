"""Users, students and professionals in the GraphQL layer: the domain the others build on."""
