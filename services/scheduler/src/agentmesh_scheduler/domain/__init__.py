"""The scheduler's use cases and models: no grpc, proto, sqlalchemy or temporalio here."""
