from . import errorpb_pb2 as _errorpb_pb2
from . import metapb_pb2 as _metapb_pb2
from . import raft_serverpb_pb2 as _raft_serverpb_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeerChangeKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADD_VOTER: _ClassVar[PeerChangeKind]
    ADD_LEARNER: _ClassVar[PeerChangeKind]
    REMOVE: _ClassVar[PeerChangeKind]

class ConsistencyVerdict(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    UNVERIFIED: _ClassVar[ConsistencyVerdict]
    MATCHED: _ClassVar[ConsistencyVerdict]
    MISMATCH: _ClassVar[ConsistencyVerdict]
ADD_VOTER: PeerChangeKind
ADD_LEARNER: PeerChangeKind
REMOVE: PeerChangeKind
UNVERIFIED: ConsistencyVerdict
MATCHED: ConsistencyVerdict
MISMATCH: ConsistencyVerdict

class Context(_message.Message):
    __slots__ = ("region_id", "region_epoch", "peer")
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_EPOCH_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    region_id: int
    region_epoch: _metapb_pb2.RegionEpoch
    peer: _metapb_pb2.Peer
    def __init__(self, region_id: _Optional[int] = ..., region_epoch: _Optional[_Union[_metapb_pb2.RegionEpoch, _Mapping]] = ..., peer: _Optional[_Union[_metapb_pb2.Peer, _Mapping]] = ...) -> None: ...

class KvPair(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    value: bytes
    def __init__(self, key: _Optional[bytes] = ..., value: _Optional[bytes] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("context", "key")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    context: Context
    key: bytes
    def __init__(self, context: _Optional[_Union[Context, _Mapping]] = ..., key: _Optional[bytes] = ...) -> None: ...

class GetResponse(_message.Message):
    __slots__ = ("region_error", "error", "value", "not_found")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    NOT_FOUND_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    value: bytes
    not_found: bool
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ..., value: _Optional[bytes] = ..., not_found: _Optional[bool] = ...) -> None: ...

class PutRequest(_message.Message):
    __slots__ = ("context", "key", "value")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    context: Context
    key: bytes
    value: bytes
    def __init__(self, context: _Optional[_Union[Context, _Mapping]] = ..., key: _Optional[bytes] = ..., value: _Optional[bytes] = ...) -> None: ...

class PutResponse(_message.Message):
    __slots__ = ("region_error", "error")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("context", "key")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    context: Context
    key: bytes
    def __init__(self, context: _Optional[_Union[Context, _Mapping]] = ..., key: _Optional[bytes] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ("region_error", "error")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class CompareAndSwapRequest(_message.Message):
    __slots__ = ("context", "key", "expected", "expect_missing", "value")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_FIELD_NUMBER: _ClassVar[int]
    EXPECT_MISSING_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    context: Context
    key: bytes
    expected: bytes
    expect_missing: bool
    value: bytes
    def __init__(self, context: _Optional[_Union[Context, _Mapping]] = ..., key: _Optional[bytes] = ..., expected: _Optional[bytes] = ..., expect_missing: _Optional[bool] = ..., value: _Optional[bytes] = ...) -> None: ...

class CompareAndSwapResponse(_message.Message):
    __slots__ = ("region_error", "error", "swapped", "previous", "previous_exists")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SWAPPED_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_EXISTS_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    swapped: bool
    previous: bytes
    previous_exists: bool
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ..., swapped: _Optional[bool] = ..., previous: _Optional[bytes] = ..., previous_exists: _Optional[bool] = ...) -> None: ...

class ScanRequest(_message.Message):
    __slots__ = ("context", "start_key", "end_key", "limit")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    START_KEY_FIELD_NUMBER: _ClassVar[int]
    END_KEY_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    context: Context
    start_key: bytes
    end_key: bytes
    limit: int
    def __init__(self, context: _Optional[_Union[Context, _Mapping]] = ..., start_key: _Optional[bytes] = ..., end_key: _Optional[bytes] = ..., limit: _Optional[int] = ...) -> None: ...

class ScanResponse(_message.Message):
    __slots__ = ("region_error", "error", "pairs", "truncated")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    pairs: _containers.RepeatedCompositeFieldContainer[KvPair]
    truncated: bool
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ..., pairs: _Optional[_Iterable[_Union[KvPair, _Mapping]]] = ..., truncated: _Optional[bool] = ...) -> None: ...

class BatchPutRequest(_message.Message):
    __slots__ = ("context", "pairs")
    CONTEXT_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    context: Context
    pairs: _containers.RepeatedCompositeFieldContainer[KvPair]
    def __init__(self, context: _Optional[_Union[Context, _Mapping]] = ..., pairs: _Optional[_Iterable[_Union[KvPair, _Mapping]]] = ...) -> None: ...

class BatchPutResponse(_message.Message):
    __slots__ = ("region_error", "error")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class GetRegionRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    def __init__(self, key: _Optional[bytes] = ...) -> None: ...

class GetRegionResponse(_message.Message):
    __slots__ = ("region_error", "error", "region", "leader", "stores")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    STORES_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    region: _metapb_pb2.Region
    leader: _metapb_pb2.Peer
    stores: _containers.RepeatedCompositeFieldContainer[_metapb_pb2.Store]
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ..., region: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ..., leader: _Optional[_Union[_metapb_pb2.Peer, _Mapping]] = ..., stores: _Optional[_Iterable[_Union[_metapb_pb2.Store, _Mapping]]] = ...) -> None: ...

class BatchCommandsRequest(_message.Message):
    __slots__ = ("requests", "request_ids")
    class Request(_message.Message):
        __slots__ = ("get", "put", "delete", "cas", "scan", "batch_put", "get_region")
        GET_FIELD_NUMBER: _ClassVar[int]
        PUT_FIELD_NUMBER: _ClassVar[int]
        DELETE_FIELD_NUMBER: _ClassVar[int]
        CAS_FIELD_NUMBER: _ClassVar[int]
        SCAN_FIELD_NUMBER: _ClassVar[int]
        BATCH_PUT_FIELD_NUMBER: _ClassVar[int]
        GET_REGION_FIELD_NUMBER: _ClassVar[int]
        get: GetRequest
        put: PutRequest
        delete: DeleteRequest
        cas: CompareAndSwapRequest
        scan: ScanRequest
        batch_put: BatchPutRequest
        get_region: GetRegionRequest
        def __init__(self, get: _Optional[_Union[GetRequest, _Mapping]] = ..., put: _Optional[_Union[PutRequest, _Mapping]] = ..., delete: _Optional[_Union[DeleteRequest, _Mapping]] = ..., cas: _Optional[_Union[CompareAndSwapRequest, _Mapping]] = ..., scan: _Optional[_Union[ScanRequest, _Mapping]] = ..., batch_put: _Optional[_Union[BatchPutRequest, _Mapping]] = ..., get_region: _Optional[_Union[GetRegionRequest, _Mapping]] = ...) -> None: ...
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_IDS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[BatchCommandsRequest.Request]
    request_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, requests: _Optional[_Iterable[_Union[BatchCommandsRequest.Request, _Mapping]]] = ..., request_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class BatchCommandsResponse(_message.Message):
    __slots__ = ("responses", "request_ids")
    class Response(_message.Message):
        __slots__ = ("get", "put", "delete", "cas", "scan", "batch_put", "get_region")
        GET_FIELD_NUMBER: _ClassVar[int]
        PUT_FIELD_NUMBER: _ClassVar[int]
        DELETE_FIELD_NUMBER: _ClassVar[int]
        CAS_FIELD_NUMBER: _ClassVar[int]
        SCAN_FIELD_NUMBER: _ClassVar[int]
        BATCH_PUT_FIELD_NUMBER: _ClassVar[int]
        GET_REGION_FIELD_NUMBER: _ClassVar[int]
        get: GetResponse
        put: PutResponse
        delete: DeleteResponse
        cas: CompareAndSwapResponse
        scan: ScanResponse
        batch_put: BatchPutResponse
        get_region: GetRegionResponse
        def __init__(self, get: _Optional[_Union[GetResponse, _Mapping]] = ..., put: _Optional[_Union[PutResponse, _Mapping]] = ..., delete: _Optional[_Union[DeleteResponse, _Mapping]] = ..., cas: _Optional[_Union[CompareAndSwapResponse, _Mapping]] = ..., scan: _Optional[_Union[ScanResponse, _Mapping]] = ..., batch_put: _Optional[_Union[BatchPutResponse, _Mapping]] = ..., get_region: _Optional[_Union[GetRegionResponse, _Mapping]] = ...) -> None: ...
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_IDS_FIELD_NUMBER: _ClassVar[int]
    responses: _containers.RepeatedCompositeFieldContainer[BatchCommandsResponse.Response]
    request_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, responses: _Optional[_Iterable[_Union[BatchCommandsResponse.Response, _Mapping]]] = ..., request_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class SnapshotFileChunk(_message.Message):
    __slots__ = ("file", "offset", "data", "checksum")
    FILE_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    file: int
    offset: int
    data: bytes
    checksum: int
    def __init__(self, file: _Optional[int] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ..., checksum: _Optional[int] = ...) -> None: ...

class SnapshotRequest(_message.Message):
    __slots__ = ("message", "chunk")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    message: _raft_serverpb_pb2.RaftMessage
    chunk: SnapshotFileChunk
    def __init__(self, message: _Optional[_Union[_raft_serverpb_pb2.RaftMessage, _Mapping]] = ..., chunk: _Optional[_Union[SnapshotFileChunk, _Mapping]] = ...) -> None: ...

class SnapshotResponse(_message.Message):
    __slots__ = ("resume", "done")
    RESUME_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    resume: _containers.RepeatedScalarFieldContainer[int]
    done: bool
    def __init__(self, resume: _Optional[_Iterable[int]] = ..., done: _Optional[bool] = ...) -> None: ...

class PeerChangeRequest(_message.Message):
    __slots__ = ("region_id", "kind", "store_id")
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    region_id: int
    kind: PeerChangeKind
    store_id: int
    def __init__(self, region_id: _Optional[int] = ..., kind: _Optional[_Union[PeerChangeKind, str]] = ..., store_id: _Optional[int] = ...) -> None: ...

class PeerChangeResponse(_message.Message):
    __slots__ = ("region_error", "error", "region")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    region: _metapb_pb2.Region
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ..., region: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ...) -> None: ...

class SplitRegionRequest(_message.Message):
    __slots__ = ("region_id", "split_key")
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    SPLIT_KEY_FIELD_NUMBER: _ClassVar[int]
    region_id: int
    split_key: bytes
    def __init__(self, region_id: _Optional[int] = ..., split_key: _Optional[bytes] = ...) -> None: ...

class SplitRegionResponse(_message.Message):
    __slots__ = ("region_error", "error", "left", "right")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LEFT_FIELD_NUMBER: _ClassVar[int]
    RIGHT_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    left: _metapb_pb2.Region
    right: _metapb_pb2.Region
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ..., left: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ..., right: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ...) -> None: ...

class TransferLeaderRequest(_message.Message):
    __slots__ = ("region_id", "store_id")
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    region_id: int
    store_id: int
    def __init__(self, region_id: _Optional[int] = ..., store_id: _Optional[int] = ...) -> None: ...

class TransferLeaderResponse(_message.Message):
    __slots__ = ("region_error", "error", "leader")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    leader: _metapb_pb2.Peer
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ..., leader: _Optional[_Union[_metapb_pb2.Peer, _Mapping]] = ...) -> None: ...

class ConsistencyStatus(_message.Message):
    __slots__ = ("present", "index", "hash", "verdict")
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    VERDICT_FIELD_NUMBER: _ClassVar[int]
    present: bool
    index: int
    hash: bytes
    verdict: ConsistencyVerdict
    def __init__(self, present: _Optional[bool] = ..., index: _Optional[int] = ..., hash: _Optional[bytes] = ..., verdict: _Optional[_Union[ConsistencyVerdict, str]] = ...) -> None: ...

class RegionStatus(_message.Message):
    __slots__ = ("region", "peer", "leader", "role", "term", "commit", "applied", "last_index", "truncated_index", "hibernated", "raft_state", "apply_state", "region_state", "consistency")
    REGION_FIELD_NUMBER: _ClassVar[int]
    PEER_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    LAST_INDEX_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_INDEX_FIELD_NUMBER: _ClassVar[int]
    HIBERNATED_FIELD_NUMBER: _ClassVar[int]
    RAFT_STATE_FIELD_NUMBER: _ClassVar[int]
    APPLY_STATE_FIELD_NUMBER: _ClassVar[int]
    REGION_STATE_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_FIELD_NUMBER: _ClassVar[int]
    region: _metapb_pb2.Region
    peer: _metapb_pb2.Peer
    leader: _metapb_pb2.Peer
    role: str
    term: int
    commit: int
    applied: int
    last_index: int
    truncated_index: int
    hibernated: bool
    raft_state: _raft_serverpb_pb2.RaftLocalState
    apply_state: _raft_serverpb_pb2.RaftApplyState
    region_state: _raft_serverpb_pb2.RegionLocalState
    consistency: ConsistencyStatus
    def __init__(self, region: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ..., peer: _Optional[_Union[_metapb_pb2.Peer, _Mapping]] = ..., leader: _Optional[_Union[_metapb_pb2.Peer, _Mapping]] = ..., role: _Optional[str] = ..., term: _Optional[int] = ..., commit: _Optional[int] = ..., applied: _Optional[int] = ..., last_index: _Optional[int] = ..., truncated_index: _Optional[int] = ..., hibernated: _Optional[bool] = ..., raft_state: _Optional[_Union[_raft_serverpb_pb2.RaftLocalState, _Mapping]] = ..., apply_state: _Optional[_Union[_raft_serverpb_pb2.RaftApplyState, _Mapping]] = ..., region_state: _Optional[_Union[_raft_serverpb_pb2.RegionLocalState, _Mapping]] = ..., consistency: _Optional[_Union[ConsistencyStatus, _Mapping]] = ...) -> None: ...

class ListRegionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListRegionsResponse(_message.Message):
    __slots__ = ("error", "regions")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    error: str
    regions: _containers.RepeatedCompositeFieldContainer[RegionStatus]
    def __init__(self, error: _Optional[str] = ..., regions: _Optional[_Iterable[_Union[RegionStatus, _Mapping]]] = ...) -> None: ...

class RegionStatusRequest(_message.Message):
    __slots__ = ("region_id",)
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    region_id: int
    def __init__(self, region_id: _Optional[int] = ...) -> None: ...

class RegionStatusResponse(_message.Message):
    __slots__ = ("region_error", "error", "status")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    status: RegionStatus
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ..., status: _Optional[_Union[RegionStatus, _Mapping]] = ...) -> None: ...

class StoreStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StoreStatusResponse(_message.Message):
    __slots__ = ("error", "store_id", "address", "cluster_id", "region_count", "leader_count", "hibernated_count", "consistency_mismatches", "regions", "stores")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    REGION_COUNT_FIELD_NUMBER: _ClassVar[int]
    LEADER_COUNT_FIELD_NUMBER: _ClassVar[int]
    HIBERNATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    CONSISTENCY_MISMATCHES_FIELD_NUMBER: _ClassVar[int]
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    STORES_FIELD_NUMBER: _ClassVar[int]
    error: str
    store_id: int
    address: str
    cluster_id: int
    region_count: int
    leader_count: int
    hibernated_count: int
    consistency_mismatches: int
    regions: _containers.RepeatedCompositeFieldContainer[RegionStatus]
    stores: _containers.RepeatedCompositeFieldContainer[_metapb_pb2.Store]
    def __init__(self, error: _Optional[str] = ..., store_id: _Optional[int] = ..., address: _Optional[str] = ..., cluster_id: _Optional[int] = ..., region_count: _Optional[int] = ..., leader_count: _Optional[int] = ..., hibernated_count: _Optional[int] = ..., consistency_mismatches: _Optional[int] = ..., regions: _Optional[_Iterable[_Union[RegionStatus, _Mapping]]] = ..., stores: _Optional[_Iterable[_Union[_metapb_pb2.Store, _Mapping]]] = ...) -> None: ...

class ConsistencyCheckRequest(_message.Message):
    __slots__ = ("region_id",)
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    region_id: int
    def __init__(self, region_id: _Optional[int] = ...) -> None: ...

class ReplicaConsistency(_message.Message):
    __slots__ = ("store_id", "peer_id", "state", "error")
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    PEER_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    store_id: int
    peer_id: int
    state: ConsistencyStatus
    error: str
    def __init__(self, store_id: _Optional[int] = ..., peer_id: _Optional[int] = ..., state: _Optional[_Union[ConsistencyStatus, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class ConsistencyCheckResponse(_message.Message):
    __slots__ = ("region_error", "error", "index", "hash", "replicas", "identical")
    REGION_ERROR_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    REPLICAS_FIELD_NUMBER: _ClassVar[int]
    IDENTICAL_FIELD_NUMBER: _ClassVar[int]
    region_error: _errorpb_pb2.Error
    error: str
    index: int
    hash: bytes
    replicas: _containers.RepeatedCompositeFieldContainer[ReplicaConsistency]
    identical: bool
    def __init__(self, region_error: _Optional[_Union[_errorpb_pb2.Error, _Mapping]] = ..., error: _Optional[str] = ..., index: _Optional[int] = ..., hash: _Optional[bytes] = ..., replicas: _Optional[_Iterable[_Union[ReplicaConsistency, _Mapping]]] = ..., identical: _Optional[bool] = ...) -> None: ...

class JoinRequest(_message.Message):
    __slots__ = ("cluster_id", "store")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    store: _metapb_pb2.Store
    def __init__(self, cluster_id: _Optional[int] = ..., store: _Optional[_Union[_metapb_pb2.Store, _Mapping]] = ...) -> None: ...

class JoinResponse(_message.Message):
    __slots__ = ("error", "cluster_id", "stores", "conflict")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    STORES_FIELD_NUMBER: _ClassVar[int]
    CONFLICT_FIELD_NUMBER: _ClassVar[int]
    error: str
    cluster_id: int
    stores: _containers.RepeatedCompositeFieldContainer[_metapb_pb2.Store]
    conflict: bool
    def __init__(self, error: _Optional[str] = ..., cluster_id: _Optional[int] = ..., stores: _Optional[_Iterable[_Union[_metapb_pb2.Store, _Mapping]]] = ..., conflict: _Optional[bool] = ...) -> None: ...

class GossipRequest(_message.Message):
    __slots__ = ("cluster_id", "from_store", "stores")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_STORE_FIELD_NUMBER: _ClassVar[int]
    STORES_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    from_store: int
    stores: _containers.RepeatedCompositeFieldContainer[_metapb_pb2.Store]
    def __init__(self, cluster_id: _Optional[int] = ..., from_store: _Optional[int] = ..., stores: _Optional[_Iterable[_Union[_metapb_pb2.Store, _Mapping]]] = ...) -> None: ...

class GossipResponse(_message.Message):
    __slots__ = ("error", "stores")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STORES_FIELD_NUMBER: _ClassVar[int]
    error: str
    stores: _containers.RepeatedCompositeFieldContainer[_metapb_pb2.Store]
    def __init__(self, error: _Optional[str] = ..., stores: _Optional[_Iterable[_Union[_metapb_pb2.Store, _Mapping]]] = ...) -> None: ...
