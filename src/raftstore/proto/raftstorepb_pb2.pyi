from . import errorpb_pb2 as _errorpb_pb2
from . import metapb_pb2 as _metapb_pb2
from . import raft_serverpb_pb2 as _raft_serverpb_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

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
