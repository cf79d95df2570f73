"""Use cases and models of the agents service.

Nothing here imports grpc, protobuf, nats, sqlalchemy or temporalio: the
domain talks to the world only through the Protocols in `ports`.
"""
