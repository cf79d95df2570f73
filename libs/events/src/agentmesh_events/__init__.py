"""NATS subjects and JetStream helpers shared by the services that use the bus."""
