"""Users, projects and memberships: the data the gateway owns, and its access rules."""
