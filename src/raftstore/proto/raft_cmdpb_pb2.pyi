from . import eraftpb_pb2 as _eraftpb_pb2
from . import errorpb_pb2 as _errorpb_pb2
from . import metapb_pb2 as _metapb_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CmdType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Invalid: _ClassVar[CmdType]
    Get: _ClassVar[CmdType]
    Put: _ClassVar[CmdType]
    Delete: _ClassVar[CmdType]
    Snap: _ClassVar[CmdType]
    Prewrite: _ClassVar[CmdType]
    DeleteRange: _ClassVar[CmdType]
    IngestSST: _ClassVar[CmdType]
    ReadIndex: _ClassVar[CmdType]
    CompareAndSwap: _ClassVar[CmdType]

class AdminCmdType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    InvalidAdmin: _ClassVar[AdminCmdType]
    ChangePeer: _ClassVar[AdminCmdType]
    Split: _ClassVar[AdminCmdType]
    CompactLog: _ClassVar[AdminCmdType]
    TransferLeader: _ClassVar[AdminCmdType]
    ComputeHash: _ClassVar[AdminCmdType]
    VerifyHash: _ClassVar[AdminCmdType]
    PrepareMerge: _ClassVar[AdminCmdType]
    CommitMerge: _ClassVar[AdminCmdType]
    RollbackMerge: _ClassVar[AdminCmdType]
    BatchSplit: _ClassVar[AdminCmdType]
    ChangePeerV2: _ClassVar[AdminCmdType]
    PrepareFlashback: _ClassVar[AdminCmdType]
    FinishFlashback: _ClassVar[AdminCmdType]
    BatchSwitchWitness: _ClassVar[AdminCmdType]
    UpdateGcPeer: _ClassVar[AdminCmdType]
Invalid: CmdType
Get: CmdType
Put: CmdType
Delete: CmdType
Snap: CmdType
Prewrite: CmdType
DeleteRange: CmdType
IngestSST: CmdType
ReadIndex: CmdType
CompareAndSwap: CmdType
InvalidAdmin: AdminCmdType
ChangePeer: AdminCmdType
Split: AdminCmdType
CompactLog: AdminCmdType
TransferLeader: AdminCmdType
ComputeHash: AdminCmdType
VerifyHash: AdminCmdType
PrepareMerge: AdminCmdType
CommitMerge: AdminCmdType
RollbackMerge: AdminCmdType
BatchSplit: AdminCmdType
ChangePeerV2: AdminCmdType
PrepareFlashback: AdminCmdType
FinishFlashback: AdminCmdType
BatchSwitchWitness: AdminCmdType
UpdateGcPeer: AdminCmdType

class GetRequest(_message.Message):
    __slots__ = ("cf", "key")
    CF_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    cf: str
    key: bytes
    def __init__(self, cf: _Optional[str] = ..., key: _Optional[bytes] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("value", "not_found")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    NOT_FOUND_FIELD_NUMBER: _ClassVar[int]
    value: bytes
    not_found: bool
    def __init__(self, value: _Optional[bytes] = ..., not_found: _Optional[bool] = ...) -> None: ...

class PutRequest(_message.Message):
    __slots__ = ("cf", "key", "value")
    CF_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    cf: str
    key: bytes
    value: bytes
    def __init__(self, cf: _Optional[str] = ..., key: _Optional[bytes] = ..., value: _Optional[bytes] = ...) -> None: ...

class PutResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("cf", "key")
    CF_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    cf: str
    key: bytes
    def __init__(self, cf: _Optional[str] = ..., key: _Optional[bytes] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeleteRangeRequest(_message.Message):
    __slots__ = ("cf", "start_key", "end_key", "notify_only")
    CF_FIELD_NUMBER: _ClassVar[int]
    START_KEY_FIELD_NUMBER: _ClassVar[int]
    END_KEY_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_ONLY_FIELD_NUMBER: _ClassVar[int]
    cf: str
    start_key: bytes
    end_key: bytes
    notify_only: bool
    def __init__(self, cf: _Optional[str] = ..., start_key: _Optional[bytes] = ..., end_key: _Optional[bytes] = ..., notify_only: _Optional[bool] = ...) -> None: ...

class DeleteRangeResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SnapRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SnapResponse(_message.Message):
    __slots__ = ("region",)
    REGION_FIELD_NUMBER: _ClassVar[int]
    region: _metapb_pb2.Region
    def __init__(self, region: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ...) -> None: ...

class ReadIndexRequest(_message.Message):
    __slots__ = ("start_ts",)
    START_TS_FIELD_NUMBER: _ClassVar[int]
    start_ts: int
    def __init__(self, start_ts: _Optional[int] = ...) -> None: ...

class ReadIndexResponse(_message.Message):
    __slots__ = ("read_index",)
    READ_INDEX_FIELD_NUMBER: _ClassVar[int]
    read_index: int
    def __init__(self, read_index: _Optional[int] = ...) -> None: ...

class CompareAndSwapRequest(_message.Message):
    __slots__ = ("cf", "key", "expected", "expect_missing", "value")
    CF_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    EXPECT_MISSING_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    cf: str
    key: bytes
    expected: bytes
    expect_missing: bool
    value: bytes
    def __init__(self, cf: _Optional[str] = ..., key: _Optional[bytes] = ..., expected: _Optional[bytes] = ..., expect_missing: _Optional[bool] = ..., value: _Optional[bytes] = ...) -> None: ...

class CompareAndSwapResponse(_message.Message):
    __slots__ = ("swapped", "previous", "previous_exists")
    SWAPPED_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_EXISTS_FIELD_NUMBER: _ClassVar[int]
    swapped: bool
    previous: bytes
    previous_exists: bool
    def __init__(self, swapped: _Optional[bool] = ..., previous: _Optional[bytes] = ..., previous_exists: _Optional[bool] = ...) -> None: ...

class Request(_message.Message):
    __slots__ = ("cmd_type", "get", "put", "delete", "snap", "delete_range", "read_index", "cas")
    CMD_TYPE_FIELD_NUMBER: _ClassVar[int]
    GET_FIELD_NUMBER: _ClassVar[int]
    PUT_FIELD_NUMBER: _ClassVar[int]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    SNAP_FIELD_NUMBER: _ClassVar[int]
    DELETE_RANGE_FIELD_NUMBER: _ClassVar[int]
    READ_INDEX_FIELD_NUMBER: _ClassVar[int]
    CAS_FIELD_NUMBER: _ClassVar[int]
    cmd_type: CmdType
    get: GetRequest
    put: PutRequest
    delete: DeleteRequest
    snap: SnapRequest
    delete_range: DeleteRangeRequest
    read_index: ReadIndexRequest
    cas: CompareAndSwapRequest
    def __init__(self, cmd_type: _Optional[_Union[CmdType, str]] = ..., get: _Optional[_Union[GetRequest, _Mapping]] = ..., put: _Optional[_Union[PutRequest, _Mapping]] = ..., delete: _Optional[_Union[DeleteRequest, _Mapping]] = ..., snap: _Optional[_Union[SnapRequest, _Mapping]] = ..., delete_range: _Optional[_Union[DeleteRangeRequest, _Mapping]] = ..., read_index: _Optional[_Union[ReadIndexRequest, _Mapping]] = ..., cas: _Optional[_Union[CompareAndSwapRequest, _Mapping]] = ...) -> None: ...

class Response(_message.Message):
    __slots__ = ("cmd_type", "get", "put", "delete", "snap", "delte_range", "read_index", "cas")
    CMD_TYPE_FIELD_NUMBER: _ClassVar[int]
    GET_FIELD_NUMBER: _ClassVar[int]
    PUT_FIELD_NUMBER: _ClassVar[int]
    DELETE_FIELD_NUMBER: _ClassVar[int]
    SNAP_FIELD_NUMBER: _ClassVar[int]
    DELTE_RANGE_FIELD_NUMBER: _ClassVar[int]
    READ_INDEX_FIELD_NUMBER: _ClassVar[int]
    CAS_FIELD_NUMBER: _ClassVar[int]
    cmd_type: CmdType
    get: GetResponse
    put: PutResponse
    delete: DeleteResponse
    snap: SnapResponse
    delte_range: DeleteRangeResponse
    read_index: ReadIndexResponse
    cas: CompareAndSwapResponse
    def __init__(self, cmd_type: _Optional[_Union[CmdType, str]] = ..., get: _Optional[_Union[GetResponse, _Mapping]] = ..., put: _Optional[_Union[PutResponse, _Mapping]] = ..., delete: _Optional[_Union[DeleteResponse, _Mapping]] = ..., snap: _Optional[_Union[SnapResponse, _Mapping]] = ..., delte_range: _Optional[_Union[DeleteRangeResponse, _Mapping]] = ..., read_index: _Optional[_Union[ReadIndexResponse, _Mapping]] = ..., cas: _Optional[_Union[CompareAndSwapResponse, _Mapping]] = ...) -> None: ...

class ChangePeerRequest(_message.Message):
    __slots__ = ("change_type", "peer")
    CHANGE_TYPE_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    change_type: _eraftpb_pb2.ConfChangeType
    peer: _metapb_pb2.Peer
    def __init__(self, change_type: _Optional[_Union[_eraftpb_pb2.ConfChangeType, str]] = ..., peer: _Optional[_Union[_metapb_pb2.Peer, _Mapping]] = ...) -> None: ...

class ChangePeerResponse(_message.Message):
    __slots__ = ("region",)
    REGION_FIELD_NUMBER: _ClassVar[int]
    region: _metapb_pb2.Region
    def __init__(self, region: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ...) -> None: ...

class ChangePeerV2Request(_message.Message):
    __slots__ = ("changes",)
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[ChangePeerRequest]
    def __init__(self, changes: _Optional[_Iterable[_Union[ChangePeerRequest, _Mapping]]] = ...) -> None: ...

class ChangePeerV2Response(_message.Message):
    __slots__ = ("region",)
    REGION_FIELD_NUMBER: _ClassVar[int]
    region: _metapb_pb2.Region
    def __init__(self, region: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ...) -> None: ...

class SplitRequest(_message.Message):
    __slots__ = ("split_key", "new_region_id", "new_peer_ids", "right_derive", "share_source_region_size")
    SPLIT_KEY_FIELD_NUMBER: _ClassVar[int]
    NEW_REGION_ID_FIELD_NUMBER: _ClassVar[int]
    NEW_PEER_IDS_FIELD_NUMBER: _ClassVar[int]
    RIGHT_DERIVE_FIELD_NUMBER: _ClassVar[int]
    SHARE_SOURCE_REGION_SIZE_FIELD_NUMBER: _ClassVar[int]
    split_key: bytes
    new_region_id: int
    new_peer_ids: _containers.RepeatedScalarFieldContainer[int]
    right_derive: bool
    share_source_region_size: bool
    def __init__(self, split_key: _Optional[bytes] = ..., new_region_id: _Optional[int] = ..., new_peer_ids: _Optional[_Iterable[int]] = ..., right_derive: _Optional[bool] = ..., share_source_region_size: _Optional[bool] = ...) -> None: ...

class SplitResponse(_message.Message):
    __slots__ = ("left", "right")
    LEFT_FIELD_NUMBER: _ClassVar[int]
    RIGHT_FIELD_NUMBER: _ClassVar[int]
    left: _metapb_pb2.Region
    right: _metapb_pb2.Region
    def __init__(self, left: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ..., right: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ...) -> None: ...

class BatchSplitRequest(_message.Message):
    __slots__ = ("requests", "right_derive", "share_source_region_size")
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    RIGHT_DERIVE_FIELD_NUMBER: _ClassVar[int]
    SHARE_SOURCE_REGION_SIZE_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[SplitRequest]
    right_derive: bool
    share_source_region_size: bool
    def __init__(self, requests: _Optional[_Iterable[_Union[SplitRequest, _Mapping]]] = ..., right_derive: _Optional[bool] = ..., share_source_region_size: _Optional[bool] = ...) -> None: ...

class BatchSplitResponse(_message.Message):
    __slots__ = ("regions",)
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    regions: _containers.RepeatedCompositeFieldContainer[_metapb_pb2.Region]
    def __init__(self, regions: _Optional[_Iterable[_Union[_metapb_pb2.Region, _Mapping]]] = ...) -> None: ...

class CompactLogRequest(_message.Message):
    __slots__ = ("compact_index", "compact_term", "voter_replicated_index")
    COMPACT_INDEX_FIELD_NUMBER: _ClassVar[int]
    COMPACT_TERM_FIELD_NUMBER: _ClassVar[int]
    VOTER_REPLICATED_INDEX_FIELD_NUMBER: _ClassVar[int]
    compact_index: int
    compact_term: int
    voter_replicated_index: int
    def __init__(self, compact_index: _Optional[int] = ..., compact_term: _Optional[int] = ..., voter_replicated_index: _Optional[int] = ...) -> None: ...

class CompactLogResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TransferLeaderRequest(_message.Message):
    __slots__ = ("peer", "peers")
    PEER_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peer: _metapb_pb2.Peer
    peers: _containers.RepeatedCompositeFieldContainer[_metapb_pb2.Peer]
    def __init__(self, peer: _Optional[_Union[_metapb_pb2.Peer, _Mapping]] = ..., peers: _Optional[_Iterable[_Union[_metapb_pb2.Peer, _Mapping]]] = ...) -> None: ...

class TransferLeaderResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ComputeHashRequest(_message.Message):
    __slots__ = ("context",)
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    context: bytes
    def __init__(self, context: _Optional[bytes] = ...) -> None: ...

class VerifyHashRequest(_message.Message):
    __slots__ = ("index", "hash", "context")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    index: int
    hash: bytes
    context: bytes
    def __init__(self, index: _Optional[int] = ..., hash: _Optional[bytes] = ..., context: _Optional[bytes] = ...) -> None: ...

class VerifyHashResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AdminRequest(_message.Message):
    __slots__ = ("cmd_type", "change_peer", "split", "compact_log", "transfer_leader", "verify_hash", "splits", "change_peer_v2", "compute_hash")
    CMD_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PEER_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    COMPACT_LOG_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_LEADER_FIELD_NUMBER: _ClassVar[int]
    VERIFY_HASH_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PEER_V2_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_HASH_FIELD_NUMBER: _ClassVar[int]
    cmd_type: AdminCmdType
    change_peer: ChangePeerRequest
    split: SplitRequest
    compact_log: CompactLogRequest
    transfer_leader: TransferLeaderRequest
    verify_hash: VerifyHashRequest
    splits: BatchSplitRequest
    change_peer_v2: ChangePeerV2Request
    compute_hash: ComputeHashRequest
    def __init__(self, cmd_type: _Optional[_Union[AdminCmdType, str]] = ..., change_peer: _Optional[_Union[ChangePeerRequest, _Mapping]] = ..., split: _Optional[_Union[SplitRequest, _Mapping]] = ..., compact_log: _Optional[_Union[CompactLogRequest, _Mapping]] = ..., transfer_leader: _Optional[_Union[TransferLeaderRequest, _Mapping]] = ..., verify_hash: _Optional[_Union[VerifyHashRequest, _Mapping]] = ..., splits: _Optional[_Union[BatchSplitRequest, _Mapping]] = ..., change_peer_v2: _Optional[_Union[ChangePeerV2Request, _Mapping]] = ..., compute_hash: _Optional[_Union[ComputeHashRequest, _Mapping]] = ...) -> None: ...

class AdminResponse(_message.Message):
    __slots__ = ("cmd_type", "change_peer", "split", "compact_log", "transfer_leader", "verify_hash", "splits", "change_peer_v2")
    CMD_TYPE_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PEER_FIELD_NUMBER: _ClassVar[int]
    SPLIT_FIELD_NUMBER: _ClassVar[int]
    COMPACT_LOG_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_LEADER_FIELD_NUMBER: _ClassVar[int]
    VERIFY_HASH_FIELD_NUMBER: _ClassVar[int]
    SPLITS_FIELD_NUMBER: _ClassVar[int]
    CHANGE_PEER_V2_FIELD_NUMBER: _ClassVar[int]
    cmd_type: AdminCmdType
    change_peer: ChangePeerResponse
    split: SplitResponse
    compact_log: CompactLogResponse
    transfer_leader: TransferLeaderResponse
    verify_hash: VerifyHashResponse
    splits: BatchSplitResponse
    change_peer_v2: ChangePeerV2Response
    def __init__(self, cmd_type: _Optional[_Union[AdminCmdType, str]] = ..., change_peer: _Optional[_Union[ChangePeerResponse, _Mapping]] = ..., split: _Optional[_Union[SplitResponse, _Mapping]] = ..., compact_log: _Optional[_Union[CompactLogResponse, _Mapping]] = ..., transfer_leader: _Optional[_Union[TransferLeaderResponse, _Mapping]] = ..., verify_hash: _Optional[_Union[VerifyHashResponse, _Mapping]] = ..., splits: _Optional[_Union[BatchSplitResponse, _Mapping]] = ..., change_peer_v2: _Optional[_Union[ChangePeerV2Response, _Mapping]] = ...) -> None: ...

class RaftRequestHeader(_message.Message):
    __slots__ = ("region_id", "peer", "read_quorum", "uuid", "region_epoch", "term", "sync_log", "replica_read", "applied_index", "flags", "flag_data", "resource_group_name")
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    READ_QUORUM_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    REGION_EPOCH_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    SYNC_LOG_FIELD_NUMBER: _ClassVar[int]
    REPLICA_READ_FIELD_NUMBER: _ClassVar[int]
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    FLAG_DATA_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_GROUP_NAME_FIELD_NUMBER: _ClassVar[int]
    region_id: int
    peer: _metapb_pb2.Peer
    read_quorum: bool
    uuid: bytes
    region_epoch: _metapb_pb2.RegionEpoch
    term: int
    sync_log: bool
    replica_read: bool
    applied_index: int
    flags: int
    flag_data: bytes
    resource_group_name: str
    def __init__(self, region_id: _Optional[int] = ..., peer: _Optional[_Union[_metapb_pb2.Peer, _Mapping]] = ..., read_quorum: _Optional[bool] = ..., uuid: _Optional[bytes] = ..., region_epoch: _Optional[_Union[_metapb_pb2.RegionEpoch, _Mapping]] = ..., term: _Optional[int] = ..., sync_log: _Optional[bool] = ..., replica_read: _Optional[bool] = ..., applied_index: _Optional[int] = ..., flags: _Optional[int] = ..., flag_data: _Optional[bytes] = ..., resource_group_name: _Optional[str] = ...) -> None: ...

class RaftResponseHeader(_message.Message):
    __slots__ = ("error", "uuid", "current_term")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    CURRENT_TERM_FIELD_NUMBER: _ClassVar[int]
    error: _errorpb_pb2.Error
    uuid: bytes
    current_term: int
    def __init__(self, error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., uuid: _Optional[bytes] = ..., current_term: _Optional[int] = ...) -> None: ...

class RaftCmdRequest(_message.Message):
    __slots__ = ("header", "requests", "admin_request")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    ADMIN_REQUEST_FIELD_NUMBER: _ClassVar[int]
    header: RaftRequestHeader
    requests: _containers.RepeatedCompositeFieldContainer[Request]
    admin_request: AdminRequest
    def __init__(self, header: _Optional[_Union[RaftRequestHeader, _Mapping]] = ..., requests: _Optional[_Iterable[_Union[Request, _Mapping]]] = ..., admin_request: _Optional[_Union[AdminRequest, _Mapping]] = ...) -> None: ...

class RaftCmdResponse(_message.Message):
    __slots__ = ("header", "responses", "admin_response")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    ADMIN_RESPONSE_FIELD_NUMBER: _ClassVar[int]
    header: RaftResponseHeader
    responses: _containers.RepeatedCompositeFieldContainer[Response]
    admin_response: AdminResponse
    def __init__(self, header: _Optional[_Union[RaftResponseHeader, _Mapping]] = ..., responses: _Optional[_Iterable[_Union[Response, _Mapping]]] = ..., admin_response: _Optional[_Union[AdminResponse, _Mapping]] = ...) -> None: ...
