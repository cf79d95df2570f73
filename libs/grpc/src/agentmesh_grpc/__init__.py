"""gRPC plumbing shared by every service: server factory, channels, errors, identity."""
