"""Users, projects and memberships: the data the gateway owns (schema `gateway`)."""
