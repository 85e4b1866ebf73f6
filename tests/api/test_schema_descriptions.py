"""GraphiQL's docs explorer shows our descriptions: every type and field of the API has one."""

from graphql import (
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
)

from app.api.schema import schema

# The root types speak through their fields; GraphQL's own scalars are described by the spec.
# Arguments and enum values are not required (yet): the fields' descriptions cover them.
EXEMPT = {"Query", "Mutation", "Subscription", "String", "Int", "Float", "Boolean", "ID"}


def undescribed() -> list[str]:
    missing = []
    for name, graphql_type in schema._schema.type_map.items():
        if name.startswith("__") or name in EXEMPT:
            continue
        if not (graphql_type.description or "").strip():
            missing.append(name)
        if isinstance(graphql_type, (GraphQLObjectType, GraphQLInterfaceType,
                                     GraphQLInputObjectType)):
            missing += [f"{name}.{field_name}" for field_name, field in graphql_type.fields.items()
                        if not (field.description or "").strip()]
    for root in (schema._schema.query_type, schema._schema.mutation_type,
                 schema._schema.subscription_type):
        if root is not None:
            missing += [f"{root.name}.{field_name}" for field_name, field in root.fields.items()
                        if not (field.description or "").strip()]
    return missing


def test_every_type_and_field_has_a_description():
    assert undescribed() == []


def test_our_scalars_say_what_they_carry():
    scalars = {name: graphql_type.description for name, graphql_type
               in schema._schema.type_map.items() if isinstance(graphql_type, GraphQLScalarType)}
    assert "offset" in scalars["DateTime"]
    assert "HH:MM" in scalars["LocalTime"]
