"""raftstore.engine.keys: TiKV's key layout (the `keys` crate), byte for byte.

Layout (u64 fields are big-endian, so byte order is numeric order)::

    01 01                               STORE_IDENT_KEY
    01 02                               PREPARE_BOOTSTRAP_KEY
    01 03                               RECOVER_STATE_KEY
    01 02 <region_id> 01 <index>        raft_log_key            (raft engine)
    01 02 <region_id> 02                raft_state_key          (raft engine)
    01 02 <region_id> 03                apply_state_key         (KV engine, CF raft)
    01 02 <region_id> 04                snapshot_raft_state_key (KV engine, CF raft)
    01 03 <region_id> 01                region_state_key        (KV engine, CF raft)
    'z' <user key>                      data_key                (KV engine, data CFs)

Single-byte constants that are `u8` in TiKV (LOCAL_PREFIX, DATA_PREFIX, the suffixes) are ints here;
constants that are `&[u8]` in TiKV (DATA_MIN_KEY, STORE_IDENT_KEY, ...) are bytes. Every function returns
bytes. Where TiKV returns an error or panics (a malformed key, an uninitialized region, an id that is not a
u64), these functions raise `InvalidKeyError`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from itertools import repeat
from typing import TYPE_CHECKING

from raftstore.engine.errors import EngineError

if TYPE_CHECKING:
    from raftstore.proto.metapb_pb2 import Region

__all__ = [
    "InvalidKeyError",
    "MIN_KEY",
    "MAX_KEY",
    "EMPTY_KEY",
    "LOCAL_PREFIX",
    "LOCAL_MIN_KEY",
    "LOCAL_MAX_KEY",
    "DATA_PREFIX",
    "DATA_PREFIX_KEY",
    "DATA_MIN_KEY",
    "DATA_MAX_KEY",
    "STORE_IDENT_KEY",
    "PREPARE_BOOTSTRAP_KEY",
    "RECOVER_STATE_KEY",
    "REGION_RAFT_PREFIX",
    "REGION_RAFT_PREFIX_KEY",
    "REGION_RAFT_MIN_KEY",
    "REGION_RAFT_MAX_KEY",
    "REGION_META_PREFIX",
    "REGION_META_PREFIX_KEY",
    "REGION_META_MIN_KEY",
    "REGION_META_MAX_KEY",
    "RAFT_LOG_SUFFIX",
    "RAFT_STATE_SUFFIX",
    "APPLY_STATE_SUFFIX",
    "SNAPSHOT_RAFT_STATE_SUFFIX",
    "UNINIT_HARD_STATE_SUFFIX",
    "REGION_STATE_SUFFIX",
    "U64_MAX",
    "region_raft_prefix",
    "region_raft_prefix_len",
    "raft_log_key",
    "raft_state_key",
    "snapshot_raft_state_key",
    "apply_state_key",
    "uninit_hard_state_key",
    "raft_log_index",
    "decode_raft_log_key",
    "decode_raft_key",
    "raft_log_prefix",
    "raft_log_keys",
    "raft_state_keys",
    "decode_region_raft_key",
    "decode_region_meta_key",
    "region_meta_prefix",
    "region_state_key",
    "validate_data_key",
    "data_key",
    "data_key_with_buffer",
    "origin_key",
    "enc_start_key",
    "enc_end_key",
    "data_end_key",
    "origin_end_key",
    "next_key",
    "raft_log_range",
    "region_raft_range",
    "region_meta_range",
]


class InvalidKeyError(EngineError, ValueError):
    """InvalidKeyError: a malformed key, an uninitialized region, or an id/index outside [0, 2**64).

    It is a ValueError (the public contract of the keys functions) and an EngineError.
    """


MIN_KEY = b""
MAX_KEY = b"\xff"
EMPTY_KEY = b""

# LOCAL_PREFIX: local (non-data) keys are in [LOCAL_MIN_KEY, LOCAL_MAX_KEY).
LOCAL_PREFIX = 0x01
LOCAL_MIN_KEY = bytes([LOCAL_PREFIX])
LOCAL_MAX_KEY = bytes([LOCAL_PREFIX + 1])

# DATA_PREFIX: every user key is stored as DATA_PREFIX_KEY + key; data keys are in [DATA_MIN_KEY, DATA_MAX_KEY).
DATA_PREFIX = ord("z")
DATA_PREFIX_KEY = bytes([DATA_PREFIX])
DATA_MIN_KEY = bytes([DATA_PREFIX])
DATA_MAX_KEY = bytes([DATA_PREFIX + 1])

STORE_IDENT_KEY = bytes([LOCAL_PREFIX, 0x01])
PREPARE_BOOTSTRAP_KEY = bytes([LOCAL_PREFIX, 0x02])
RECOVER_STATE_KEY = bytes([LOCAL_PREFIX, 0x03])

# REGION_RAFT_PREFIX: per-region raft data (log, raft state, apply state); REGION_META_PREFIX: region
# metadata, kept apart so that a store start can scan all region states without touching raft data.
REGION_RAFT_PREFIX = 0x02
REGION_RAFT_PREFIX_KEY = bytes([LOCAL_PREFIX, REGION_RAFT_PREFIX])
REGION_RAFT_MIN_KEY = bytes([LOCAL_PREFIX, REGION_RAFT_PREFIX])
REGION_RAFT_MAX_KEY = bytes([LOCAL_PREFIX, REGION_RAFT_PREFIX + 1])
REGION_META_PREFIX = 0x03
REGION_META_PREFIX_KEY = bytes([LOCAL_PREFIX, REGION_META_PREFIX])
REGION_META_MIN_KEY = bytes([LOCAL_PREFIX, REGION_META_PREFIX])
REGION_META_MAX_KEY = bytes([LOCAL_PREFIX, REGION_META_PREFIX + 1])

# Suffixes after 01 02 <region_id>.
RAFT_LOG_SUFFIX = 0x01
RAFT_STATE_SUFFIX = 0x02
APPLY_STATE_SUFFIX = 0x03
SNAPSHOT_RAFT_STATE_SUFFIX = 0x04
UNINIT_HARD_STATE_SUFFIX = 0x05  # raftstore's addition (KV engine, CF raft): see uninit_hard_state_key

# Suffixes after 01 03 <region_id>.
REGION_STATE_SUFFIX = 0x01

U64_MAX = (1 << 64) - 1

_PREFIX_LEN = 2  # len(REGION_RAFT_PREFIX_KEY) == len(REGION_META_PREFIX_KEY)
_SUFFIX_IDX = _PREFIX_LEN + 8  # offset of the suffix byte
_REGION_KEY_LEN = _SUFFIX_IDX + 1  # 01 02 <id> <suffix>
_RAFT_LOG_KEY_LEN = _REGION_KEY_LEN + 8  # 01 02 <id> 01 <index>

# _REGION_KEY packs (p0, p1, id, suffix); _RAFT_LOG_KEY packs (p0, p1, id, suffix, index).
_REGION_KEY = struct.Struct(">BBQB")
_RAFT_LOG_KEY = struct.Struct(">BBQBQ")
_REGION_PREFIX = struct.Struct(">BBQ")
_U64 = struct.Struct(">Q")
_U64_AT_2 = struct.Struct(">2xQ")


def _hex(key: bytes) -> str:
    return bytes(key).hex()


def _not_u64(what: str, *values: object) -> InvalidKeyError:
    for v in values:
        if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= U64_MAX:
            return InvalidKeyError(f"{what}: {v!r} is not a u64 (0 <= x < 2**64)")
    return InvalidKeyError(f"{what}: arguments {values!r} are not u64s")


def _check_u64(what: str, v: int) -> None:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= U64_MAX:
        raise _not_u64(what, v)


def region_raft_prefix(region_id: int) -> bytes:
    """region_raft_prefix is 01 02 <region_id>: every raft key of the region starts with it."""
    try:
        return _REGION_PREFIX.pack(LOCAL_PREFIX, REGION_RAFT_PREFIX, region_id)
    except struct.error:
        raise _not_u64("region_raft_prefix", region_id) from None


def region_raft_prefix_len() -> int:
    """region_raft_prefix_len is the length of 01 02 <region_id> <suffix>: 11."""
    return _REGION_KEY_LEN


def _region_raft_key(what: str, region_id: int, suffix: int) -> bytes:
    try:
        return _REGION_KEY.pack(LOCAL_PREFIX, REGION_RAFT_PREFIX, region_id, suffix)
    except struct.error:
        raise _not_u64(what, region_id) from None


def raft_log_key(region_id: int, log_index: int) -> bytes:
    """raft_log_key is 01 02 <region_id> 01 <log_index>: the key of one raft log entry."""
    try:
        return _RAFT_LOG_KEY.pack(LOCAL_PREFIX, REGION_RAFT_PREFIX, region_id, RAFT_LOG_SUFFIX, log_index)
    except struct.error:
        raise _not_u64("raft_log_key", region_id, log_index) from None


def raft_state_key(region_id: int) -> bytes:
    """raft_state_key is 01 02 <region_id> 02: the region's RaftLocalState."""
    return _region_raft_key("raft_state_key", region_id, RAFT_STATE_SUFFIX)


def snapshot_raft_state_key(region_id: int) -> bytes:
    """snapshot_raft_state_key is 01 02 <region_id> 04: the RaftLocalState written while applying a snapshot."""
    return _region_raft_key("snapshot_raft_state_key", region_id, SNAPSHOT_RAFT_STATE_SUFFIX)


def uninit_hard_state_key(region_id: int) -> bytes:
    """uninit_hard_state_key: (KV engine, CF raft) the HardState of this store's uninitialized peer of the
    region. raftstore's addition: TiKV persists no hard state for a peer that has not applied its first
    snapshot, so such a voter forgets its vote when its store restarts and may vote twice in one term
    (tikv#3572, #8381). The store writes it instead, and a peer created again reads it back."""
    return _region_raft_key("uninit_hard_state_key", region_id, UNINIT_HARD_STATE_SUFFIX)


def apply_state_key(region_id: int) -> bytes:
    """apply_state_key is 01 02 <region_id> 03: the region's RaftApplyState."""
    return _region_raft_key("apply_state_key", region_id, APPLY_STATE_SUFFIX)


def raft_log_prefix(region_id: int) -> bytes:
    """raft_log_prefix is 01 02 <region_id> 01: every raft log key of the region starts with it."""
    return _region_raft_key("raft_log_prefix", region_id, RAFT_LOG_SUFFIX)


def raft_log_keys(region_id: int, low: int, high: int) -> Iterator[bytes]:
    """raft_log_keys yields raft_log_key(region_id, i) for low <= i < high, built without a Python call per
    key (the append path builds one key per entry)."""
    if not 0 <= low <= high <= U64_MAX + 1:
        raise _not_u64("raft_log_keys", low, high - 1)
    return map(raft_log_prefix(region_id).__add__, map(_U64.pack, range(low, high)))


def raft_state_keys(region_ids: Iterable[int]) -> list[bytes]:
    """raft_state_keys is [raft_state_key(id) for id in region_ids], built without a Python call per key
    (a round writes one raft state per region)."""
    ids = list(region_ids)
    n = len(ids)
    try:
        prefix, raft, suffix = repeat(LOCAL_PREFIX, n), repeat(REGION_RAFT_PREFIX, n), repeat(RAFT_STATE_SUFFIX, n)
        return list(map(_REGION_KEY.pack, prefix, raft, ids, suffix))
    except struct.error:
        raise _not_u64("raft_state_keys", *ids) from None


def raft_log_index(key: bytes) -> int:
    """raft_log_index is the log index of a raft log key.

    As in TiKV only the length (19) is checked; use decode_raft_log_key to check prefix and suffix too.
    """
    if len(key) != _RAFT_LOG_KEY_LEN:
        raise InvalidKeyError(f"{_hex(key)} is not a valid raft log key: length {len(key)} != {_RAFT_LOG_KEY_LEN}")
    return int(_U64.unpack_from(key, _REGION_KEY_LEN)[0])


def decode_raft_log_key(key: bytes) -> tuple[int, int]:
    """decode_raft_log_key is (region_id, index) of a raft log key; any other key raises InvalidKeyError."""
    if len(key) != _RAFT_LOG_KEY_LEN:
        raise InvalidKeyError(f"{_hex(key)} is not a valid raft log key: length {len(key)} != {_RAFT_LOG_KEY_LEN}")
    p0, p1, region_id, suffix, index = _RAFT_LOG_KEY.unpack(key)
    if p0 != LOCAL_PREFIX or p1 != REGION_RAFT_PREFIX:
        raise InvalidKeyError(f"{_hex(key)} is not a valid raft log key: prefix is not 0102")
    if suffix != RAFT_LOG_SUFFIX:
        raise InvalidKeyError(f"{_hex(key)} is not a valid raft log key: suffix {suffix:#04x} != 0x01")
    return region_id, index


def decode_raft_key(key: bytes) -> tuple[int, int]:
    """decode_raft_key is (region_id, suffix) of any region raft key (a raft log key included)."""
    if len(key) < _REGION_KEY_LEN:
        raise InvalidKeyError(f"{_hex(key)} is not a valid raft key: length {len(key)} < {_REGION_KEY_LEN}")
    if key[:_PREFIX_LEN] != REGION_RAFT_PREFIX_KEY:
        raise InvalidKeyError(f"{_hex(key)} is not a valid raft key: prefix is not 0102")
    return int(_U64_AT_2.unpack_from(key)[0]), key[_SUFFIX_IDX]


def _decode_region_key(prefix: bytes, key: bytes, category: str) -> tuple[int, int]:
    if len(key) != _REGION_KEY_LEN:
        raise InvalidKeyError(
            f"invalid region {category} key length for key {_hex(key)}: {len(key)} != {_REGION_KEY_LEN}"
        )
    if key[:_PREFIX_LEN] != prefix:
        raise InvalidKeyError(f"invalid region {category} prefix for key {_hex(key)}: expected {prefix.hex()}")
    return int(_U64_AT_2.unpack_from(key)[0]), key[_SUFFIX_IDX]


def decode_region_raft_key(key: bytes) -> tuple[int, int]:
    """decode_region_raft_key is (region_id, suffix) of an 11-byte key 01 02 <region_id> <suffix>."""
    return _decode_region_key(REGION_RAFT_PREFIX_KEY, key, "raft")


def decode_region_meta_key(key: bytes) -> tuple[int, int]:
    """decode_region_meta_key is (region_id, suffix) of an 11-byte key 01 03 <region_id> <suffix>."""
    return _decode_region_key(REGION_META_PREFIX_KEY, key, "meta")


def region_meta_prefix(region_id: int) -> bytes:
    """region_meta_prefix is 01 03 <region_id>: every meta key of the region starts with it."""
    try:
        return _REGION_PREFIX.pack(LOCAL_PREFIX, REGION_META_PREFIX, region_id)
    except struct.error:
        raise _not_u64("region_meta_prefix", region_id) from None


def region_state_key(region_id: int) -> bytes:
    """region_state_key is 01 03 <region_id> 01: the region's RegionLocalState."""
    try:
        return _REGION_KEY.pack(LOCAL_PREFIX, REGION_META_PREFIX, region_id, REGION_STATE_SUFFIX)
    except struct.error:
        raise _not_u64("region_state_key", region_id) from None


def validate_data_key(key: bytes) -> bool:
    """validate_data_key is whether key starts with the data prefix 'z'."""
    return key[:1] == DATA_PREFIX_KEY


def data_key(key: bytes) -> bytes:
    """data_key is 'z' + key: where a user key is stored in the KV engine."""
    return DATA_PREFIX_KEY + key


def data_key_with_buffer(key: bytes, buffer: bytearray) -> None:
    """data_key_with_buffer replaces the contents of buffer with data_key(key)."""
    buffer[:] = DATA_PREFIX_KEY
    buffer += key


def origin_key(key: bytes) -> bytes:
    """origin_key is the user key of a data key; a key without the 'z' prefix raises InvalidKeyError."""
    if key[:1] != DATA_PREFIX_KEY:
        raise InvalidKeyError(f"invalid data key {_hex(key)}: does not start with 'z'")
    return bytes(key[1:])


def data_end_key(key: bytes) -> bytes:
    """data_end_key is the encoded end of a region whose end key is `key`: DATA_MAX_KEY when key is empty."""
    if not key:
        return DATA_MAX_KEY
    return DATA_PREFIX_KEY + key


def origin_end_key(key: bytes) -> bytes:
    """origin_end_key inverts data_end_key: DATA_MAX_KEY gives the empty (unbounded) end key."""
    if key == DATA_MAX_KEY:
        return b""
    return origin_key(key)


def _check_initialized(region: Region, what: str) -> None:
    if len(region.peers) == 0:
        raise InvalidKeyError(f"{what}: region {region.id} is not initialized (it has no peers)")


def enc_start_key(region: Region) -> bytes:
    """enc_start_key is data_key(region.start_key); the region must be initialized (have peers)."""
    _check_initialized(region, "enc_start_key")
    return DATA_PREFIX_KEY + region.start_key


def enc_end_key(region: Region) -> bytes:
    """enc_end_key is data_end_key(region.end_key); the region must be initialized (have peers)."""
    _check_initialized(region, "enc_end_key")
    return data_end_key(region.end_key)


def next_key(key: bytes) -> bytes:
    """next_key is the smallest key greater than every key with prefix `key`; b'' when there is none.

    next_key(b"123") == b"124", next_key(b"12\\xff") == b"13", next_key(b"\\xff\\xff") == b"".
    """
    stripped = key.rstrip(b"\xff")
    if not stripped:
        return b""
    return stripped[:-1] + bytes([stripped[-1] + 1])


def raft_log_range(region_id: int, low: int = 0, high: int | None = None) -> tuple[bytes, bytes]:
    """raft_log_range is the half-open key range [start, end) of the region's log entries low <= i < high.

    high None means every index from low on: end is then raft_state_key(region_id), the first key after
    every raft log key of the region (so even index 2**64 - 1 is included).
    """
    start = raft_log_key(region_id, low)
    if high is None:
        return start, raft_state_key(region_id)
    _check_u64("raft_log_range", high)
    return start, raft_log_key(region_id, high)


def region_raft_range(region_id: int) -> tuple[bytes, bytes]:
    """region_raft_range is [start, end) of every raft key of the region (log, raft/apply/snapshot states)."""
    start = region_raft_prefix(region_id)
    if region_id == U64_MAX:
        return start, REGION_RAFT_MAX_KEY
    return start, region_raft_prefix(region_id + 1)


def region_meta_range(region_id: int) -> tuple[bytes, bytes]:
    """region_meta_range is [start, end) of every meta key of the region."""
    start = region_meta_prefix(region_id)
    if region_id == U64_MAX:
        return start, REGION_META_MAX_KEY
    return start, region_meta_prefix(region_id + 1)
