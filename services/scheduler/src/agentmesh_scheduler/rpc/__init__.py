"""The gRPC seam: SchedulerService servicer and proto <-> domain mapping."""
