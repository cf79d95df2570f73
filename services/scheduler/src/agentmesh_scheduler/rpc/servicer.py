"""SchedulerService over gRPC: translate the request, delegate to the domain, translate back.

Errors are domain errors; the server interceptor maps them to status codes.
"""

from __future__ import annotations

import grpc

from agentmesh.scheduler.v1 import scheduler_service_pb2 as pb
from agentmesh.scheduler.v1 import scheduler_service_pb2_grpc as pb_grpc
from agentmesh_grpc.identity import caller
from agentmesh_scheduler.domain.job_service import Jobs
from agentmesh_scheduler.domain.scheduler import Scheduler
from agentmesh_scheduler.rpc import job_mapping, mapping

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SchedulerService"].full_name


class SchedulerServicer(pb_grpc.SchedulerServiceServicer):
    """The SchedulerService RPCs; every call is scoped to the caller's project."""

    def __init__(self, scheduler: Scheduler, jobs: Jobs) -> None:
        self._scheduler = scheduler
        self._jobs = jobs

    async def CreateSchedule(
        self, request: pb.CreateScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateScheduleResponse:
        draft = mapping.draft_from_request(request)
        schedule = await self._scheduler.create(caller(), request.project_id, draft)
        return pb.CreateScheduleResponse(schedule=mapping.schedule_to_proto(schedule))

    async def GetSchedule(
        self, request: pb.GetScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetScheduleResponse:
        schedule = await self._scheduler.get(caller(), request.project_id, request.schedule_id)
        return pb.GetScheduleResponse(schedule=mapping.schedule_to_proto(schedule))

    async def ListSchedules(
        self, request: pb.ListSchedulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListSchedulesResponse:
        items, next_token = await self._scheduler.list_page(
            caller(), request.project_id, request.page_size, request.page_token
        )
        return pb.ListSchedulesResponse(
            schedules=[mapping.schedule_to_proto(s) for s in items], next_page_token=next_token
        )

    async def DeleteSchedule(
        self, request: pb.DeleteScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteScheduleResponse:
        await self._scheduler.delete(caller(), request.project_id, request.schedule_id)
        return pb.DeleteScheduleResponse()

    async def DeleteProjectSchedules(
        self, request: pb.DeleteProjectSchedulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.DeleteProjectSchedulesResponse:
        removed = await self._scheduler.delete_project(caller(), request.project_id)
        # The project is going: its jobs go with it (cancelled first); `removed` counts schedules.
        await self._jobs.delete_project(caller(), request.project_id)
        return pb.DeleteProjectSchedulesResponse(removed=removed)

    async def UpdateSchedule(
        self, request: pb.UpdateScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpdateScheduleResponse:
        patch = mapping.patch_from_request(request)
        schedule = await self._scheduler.update(caller(), request.project_id, request.schedule_id, patch)
        return pb.UpdateScheduleResponse(schedule=mapping.schedule_to_proto(schedule))

    async def TriggerSchedule(
        self, request: pb.TriggerScheduleRequest, context: grpc.aio.ServicerContext
    ) -> pb.TriggerScheduleResponse:
        schedule = await self._scheduler.trigger(caller(), request.project_id, request.schedule_id)
        return pb.TriggerScheduleResponse(schedule=mapping.schedule_to_proto(schedule))

    async def CreateJob(self, request: pb.CreateJobRequest, context: grpc.aio.ServicerContext) -> pb.CreateJobResponse:
        job = await self._jobs.create(caller(), request.project_id, job_mapping.draft_from_request(request))
        return pb.CreateJobResponse(job=job_mapping.job_to_proto(job))

    async def GetJob(self, request: pb.GetJobRequest, context: grpc.aio.ServicerContext) -> pb.GetJobResponse:
        job = await self._jobs.get(caller(), request.project_id, request.job_id)
        return pb.GetJobResponse(job=job_mapping.job_to_proto(job))

    async def ListJobs(self, request: pb.ListJobsRequest, context: grpc.aio.ServicerContext) -> pb.ListJobsResponse:
        status = job_mapping.status_from_proto(request.status)
        jobs, next_token = await self._jobs.list_page(
            caller(), request.project_id, status, request.page_size, request.page_token
        )
        return pb.ListJobsResponse(jobs=[job_mapping.job_to_proto(job) for job in jobs], next_page_token=next_token)

    async def CancelJob(self, request: pb.CancelJobRequest, context: grpc.aio.ServicerContext) -> pb.CancelJobResponse:
        job = await self._jobs.cancel(caller(), request.project_id, request.job_id)
        return pb.CancelJobResponse(job=job_mapping.job_to_proto(job))


def register(server: grpc.aio.Server, servicer: SchedulerServicer) -> None:
    """Add the servicer to a grpc.aio server (ServiceServer.add_servicer calls this)."""
    pb_grpc.add_SchedulerServiceServicer_to_server(servicer, server)
