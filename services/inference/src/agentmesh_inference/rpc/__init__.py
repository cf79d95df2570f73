"""The gRPC seam: servicer and proto <-> domain mapping."""
