import datetime

from agentmesh.common.v1 import participant_pb2 as _participant_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MessageStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MESSAGE_STATUS_UNSPECIFIED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_QUEUED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_DELIVERED: _ClassVar[MessageStatus]
    MESSAGE_STATUS_PROCESSING: _ClassVar[MessageStatus]
    MESSAGE_STATUS_COMPLETE: _ClassVar[MessageStatus]
    MESSAGE_STATUS_ERROR: _ClassVar[MessageStatus]

class ConversationEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONVERSATION_EVENT_TYPE_UNSPECIFIED: _ClassVar[ConversationEventType]
    CONVERSATION_EVENT_TYPE_STATUS: _ClassVar[ConversationEventType]
    CONVERSATION_EVENT_TYPE_TOKEN: _ClassVar[ConversationEventType]
    CONVERSATION_EVENT_TYPE_REPLY: _ClassVar[ConversationEventType]
    CONVERSATION_EVENT_TYPE_ERROR: _ClassVar[ConversationEventType]
MESSAGE_STATUS_UNSPECIFIED: MessageStatus
MESSAGE_STATUS_QUEUED: MessageStatus
MESSAGE_STATUS_DELIVERED: MessageStatus
MESSAGE_STATUS_PROCESSING: MessageStatus
MESSAGE_STATUS_COMPLETE: MessageStatus
MESSAGE_STATUS_ERROR: MessageStatus
CONVERSATION_EVENT_TYPE_UNSPECIFIED: ConversationEventType
CONVERSATION_EVENT_TYPE_STATUS: ConversationEventType
CONVERSATION_EVENT_TYPE_TOKEN: ConversationEventType
CONVERSATION_EVENT_TYPE_REPLY: ConversationEventType
CONVERSATION_EVENT_TYPE_ERROR: ConversationEventType

class Message(_message.Message):
    __slots__ = ("id", "project_id", "conversation_id", "sender", "receiver", "content", "performative", "status", "error", "parent_id", "correlation_id", "idempotency_key", "create_time", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    PROJECT_ID_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    SENDER_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    PERFORMATIVE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    project_id: str
    conversation_id: str
    sender: _participant_pb2.Participant
    receiver: _participant_pb2.Participant
    content: _struct_pb2.Value
    performative: str
    status: MessageStatus
    error: str
    parent_id: str
    correlation_id: str
    idempotency_key: str
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., project_id: _Optional[str] = ..., conversation_id: _Optional[str] = ..., sender: _Optional[_Union[_participant_pb2.Participant, _Mapping]] = ..., receiver: _Optional[_Union[_participant_pb2.Participant, _Mapping]] = ..., content: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., performative: _Optional[str] = ..., status: _Optional[_Union[MessageStatus, str]] = ..., error: _Optional[str] = ..., parent_id: _Optional[str] = ..., correlation_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConversationEvent(_message.Message):
    __slots__ = ("sequence", "type", "conversation_id", "message_id", "agent_id", "text", "reply", "status", "error", "create_time")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    type: ConversationEventType
    conversation_id: str
    message_id: str
    agent_id: str
    text: str
    reply: Message
    status: MessageStatus
    error: str
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, sequence: _Optional[int] = ..., type: _Optional[_Union[ConversationEventType, str]] = ..., conversation_id: _Optional[str] = ..., message_id: _Optional[str] = ..., agent_id: _Optional[str] = ..., text: _Optional[str] = ..., reply: _Optional[_Union[Message, _Mapping]] = ..., status: _Optional[_Union[MessageStatus, str]] = ..., error: _Optional[str] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
