from . import eraftpb_pb2 as _eraftpb_pb2
from . import metapb_pb2 as _metapb_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ExtraMessageType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MsgRegionWakeUp: _ClassVar[ExtraMessageType]
    MsgCheckStalePeer: _ClassVar[ExtraMessageType]
    MsgCheckStalePeerResponse: _ClassVar[ExtraMessageType]
    MsgHibernateRequest: _ClassVar[ExtraMessageType]
    MsgHibernateResponse: _ClassVar[ExtraMessageType]

class PeerState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    Normal: _ClassVar[PeerState]
    Applying: _ClassVar[PeerState]
    Tombstone: _ClassVar[PeerState]
    Merging: _ClassVar[PeerState]
    Unavailable: _ClassVar[PeerState]
MsgRegionWakeUp: ExtraMessageType
MsgCheckStalePeer: ExtraMessageType
MsgCheckStalePeerResponse: ExtraMessageType
MsgHibernateRequest: ExtraMessageType
MsgHibernateResponse: ExtraMessageType
Normal: PeerState
Applying: PeerState
Tombstone: PeerState
Merging: PeerState
Unavailable: PeerState

class RaftMessage(_message.Message):
    __slots__ = ("region_id", "from_peer", "to_peer", "message", "region_epoch", "is_tombstone", "start_key", "end_key", "extra_msg")
    REGION_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_PEER_FIELD_NUMBER: _ClassVar[int]
    TO_PEER_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    REGION_EPOCH_FIELD_NUMBER: _ClassVar[int]
    IS_TOMBSTONE_FIELD_NUMBER: _ClassVar[int]
    START_KEY_FIELD_NUMBER: _ClassVar[int]
    END_KEY_FIELD_NUMBER: _ClassVar[int]
    EXTRA_MSG_FIELD_NUMBER: _ClassVar[int]
    region_id: int
    from_peer: _metapb_pb2.Peer
    to_peer: _metapb_pb2.Peer
    message: _eraftpb_pb2.Message
    region_epoch: _metapb_pb2.RegionEpoch
    is_tombstone: bool
    start_key: bytes
    end_key: bytes
    extra_msg: ExtraMessage
    def __init__(self, region_id: _Optional[int] = ..., from_peer: _Optional[_Union[_metapb_pb2.Peer, _Mapping]] = ..., to_peer: _Optional[_Union[_metapb_pb2.Peer, _Mapping]] = ..., message: _Optional[_Union[_eraftpb_pb2.Message, _Mapping]] = ..., region_epoch: _Optional[_Union[_metapb_pb2.RegionEpoch, _Mapping]] = ..., is_tombstone: _Optional[bool] = ..., start_key: _Optional[bytes] = ..., end_key: _Optional[bytes] = ..., extra_msg: _Optional[_Union[ExtraMessage, _Mapping]] = ...) -> None: ...

class ExtraMessage(_message.Message):
    __slots__ = ("type", "check_peers", "forcely_awaken")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CHECK_PEERS_FIELD_NUMBER: _ClassVar[int]
    FORCELY_AWAKEN_FIELD_NUMBER: _ClassVar[int]
    type: ExtraMessageType
    check_peers: _containers.RepeatedCompositeFieldContainer[_metapb_pb2.Peer]
    forcely_awaken: bool
    def __init__(self, type: _Optional[_Union[ExtraMessageType, str]] = ..., check_peers: _Optional[_Iterable[_Union[_metapb_pb2.Peer, _Mapping]]] = ..., forcely_awaken: _Optional[bool] = ...) -> None: ...

class BatchRaftMessage(_message.Message):
    __slots__ = ("msgs", "last_observed_time")
    MSGS_FIELD_NUMBER: _ClassVar[int]
    LAST_OBSERVED_TIME_FIELD_NUMBER: _ClassVar[int]
    msgs: _containers.RepeatedCompositeFieldContainer[RaftMessage]
    last_observed_time: int
    def __init__(self, msgs: _Optional[_Iterable[_Union[RaftMessage, _Mapping]]] = ..., last_observed_time: _Optional[int] = ...) -> None: ...

class RaftTruncatedState(_message.Message):
    __slots__ = ("index", "term")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    TERM_FIELD_NUMBER: _ClassVar[int]
    index: int
    term: int
    def __init__(self, index: _Optional[int] = ..., term: _Optional[int] = ...) -> None: ...

class SnapshotCFFile(_message.Message):
    __slots__ = ("cf", "size", "checksum")
    CF_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_FIELD_NUMBER: _ClassVar[int]
    cf: str
    size: int
    checksum: int
    def __init__(self, cf: _Optional[str] = ..., size: _Optional[int] = ..., checksum: _Optional[int] = ...) -> None: ...

class SnapshotMeta(_message.Message):
    __slots__ = ("cf_files", "for_balance", "for_witness", "start", "generate_duration_sec", "tablet_snap_path", "commit_index_hint")
    CF_FILES_FIELD_NUMBER: _ClassVar[int]
    FOR_BALANCE_FIELD_NUMBER: _ClassVar[int]
    FOR_WITNESS_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    GENERATE_DURATION_SEC_FIELD_NUMBER: _ClassVar[int]
    TABLET_SNAP_PATH_FIELD_NUMBER: _ClassVar[int]
    COMMIT_INDEX_HINT_FIELD_NUMBER: _ClassVar[int]
    cf_files: _containers.RepeatedCompositeFieldContainer[SnapshotCFFile]
    for_balance: bool
    for_witness: bool
    start: int
    generate_duration_sec: int
    tablet_snap_path: str
    commit_index_hint: int
    def __init__(self, cf_files: _Optional[_Iterable[_Union[SnapshotCFFile, _Mapping]]] = ..., for_balance: _Optional[bool] = ..., for_witness: _Optional[bool] = ..., start: _Optional[int] = ..., generate_duration_sec: _Optional[int] = ..., tablet_snap_path: _Optional[str] = ..., commit_index_hint: _Optional[int] = ...) -> None: ...

class SnapshotChunk(_message.Message):
    __slots__ = ("message", "data")
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    message: RaftMessage
    data: bytes
    def __init__(self, message: _Optional[_Union[RaftMessage, _Mapping]] = ..., data: _Optional[bytes] = ...) -> None: ...

class Done(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class KeyValue(_message.Message):
    __slots__ = ("key", "value")
    KEY_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    key: bytes
    value: bytes
    def __init__(self, key: _Optional[bytes] = ..., value: _Optional[bytes] = ...) -> None: ...

class RaftSnapshotData(_message.Message):
    __slots__ = ("region", "file_size", "data", "version", "meta", "removed_records")
    REGION_FIELD_NUMBER: _ClassVar[int]
    FILE_SIZE_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    META_FIELD_NUMBER: _ClassVar[int]
    REMOVED_RECORDS_FIELD_NUMBER: _ClassVar[int]
    region: _metapb_pb2.Region
    file_size: int
    data: _containers.RepeatedCompositeFieldContainer[KeyValue]
    version: int
    meta: SnapshotMeta
    removed_records: _containers.RepeatedCompositeFieldContainer[_metapb_pb2.Peer]
    def __init__(self, region: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ..., file_size: _Optional[int] = ..., data: _Optional[_Iterable[_Union[KeyValue, _Mapping]]] = ..., version: _Optional[int] = ..., meta: _Optional[_Union[SnapshotMeta, _Mapping]] = ..., removed_records: _Optional[_Iterable[_Union[_metapb_pb2.Peer, _Mapping]]] = ...) -> None: ...

class StoreIdent(_message.Message):
    __slots__ = ("cluster_id", "store_id")
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    STORE_ID_FIELD_NUMBER: _ClassVar[int]
    cluster_id: int
    store_id: int
    def __init__(self, cluster_id: _Optional[int] = ..., store_id: _Optional[int] = ...) -> None: ...

class RaftLocalState(_message.Message):
    __slots__ = ("hard_state", "last_index")
    HARD_STATE_FIELD_NUMBER: _ClassVar[int]
    LAST_INDEX_FIELD_NUMBER: _ClassVar[int]
    hard_state: _eraftpb_pb2.HardState
    last_index: int
    def __init__(self, hard_state: _Optional[_Union[_eraftpb_pb2.HardState, _Mapping]] = ..., last_index: _Optional[int] = ...) -> None: ...

class RaftApplyState(_message.Message):
    __slots__ = ("applied_index", "last_commit_index", "commit_index", "commit_term", "truncated_state")
    APPLIED_INDEX_FIELD_NUMBER: _ClassVar[int]
    LAST_COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    COMMIT_INDEX_FIELD_NUMBER: _ClassVar[int]
    COMMIT_TERM_FIELD_NUMBER: _ClassVar[int]
    TRUNCATED_STATE_FIELD_NUMBER: _ClassVar[int]
    applied_index: int
    last_commit_index: int
    commit_index: int
    commit_term: int
    truncated_state: RaftTruncatedState
    def __init__(self, applied_index: _Optional[int] = ..., last_commit_index: _Optional[int] = ..., commit_index: _Optional[int] = ..., commit_term: _Optional[int] = ..., truncated_state: _Optional[_Union[RaftTruncatedState, _Mapping]] = ...) -> None: ...

class MergeState(_message.Message):
    __slots__ = ("min_index", "target", "commit")
    MIN_INDEX_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    COMMIT_FIELD_NUMBER: _ClassVar[int]
    min_index: int
    target: _metapb_pb2.Region
    commit: int
    def __init__(self, min_index: _Optional[int] = ..., target: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ..., commit: _Optional[int] = ...) -> None: ...

class RegionLocalState(_message.Message):
    __slots__ = ("state", "region", "merge_state", "tablet_index", "removed_records")
    STATE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    MERGE_STATE_FIELD_NUMBER: _ClassVar[int]
    TABLET_INDEX_FIELD_NUMBER: _ClassVar[int]
    REMOVED_RECORDS_FIELD_NUMBER: _ClassVar[int]
    state: PeerState
    region: _metapb_pb2.Region
    merge_state: MergeState
    tablet_index: int
    removed_records: _containers.RepeatedCompositeFieldContainer[_metapb_pb2.Peer]
    def __init__(self, state: _Optional[_Union[PeerState, str]] = ..., region: _Optional[_Union[_metapb_pb2.Region, _Mapping]] = ..., merge_state: _Optional[_Union[MergeState, _Mapping]] = ..., tablet_index: _Optional[int] = ..., removed_records: _Optional[_Iterable[_Union[_metapb_pb2.Peer, _Mapping]]] = ...) -> None: ...
