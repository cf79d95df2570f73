from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ParticipantType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PARTICIPANT_TYPE_UNSPECIFIED: _ClassVar[ParticipantType]
    PARTICIPANT_TYPE_USER: _ClassVar[ParticipantType]
    PARTICIPANT_TYPE_AGENT: _ClassVar[ParticipantType]
    PARTICIPANT_TYPE_SYSTEM: _ClassVar[ParticipantType]
PARTICIPANT_TYPE_UNSPECIFIED: ParticipantType
PARTICIPANT_TYPE_USER: ParticipantType
PARTICIPANT_TYPE_AGENT: ParticipantType
PARTICIPANT_TYPE_SYSTEM: ParticipantType

class Participant(_message.Message):
    __slots__ = ("type", "id")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    type: ParticipantType
    id: str
    def __init__(self, type: _Optional[_Union[ParticipantType, str]] = ..., id: _Optional[str] = ...) -> None: ...
