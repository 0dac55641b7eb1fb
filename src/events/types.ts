// GraphQL types and fields of this feature.
