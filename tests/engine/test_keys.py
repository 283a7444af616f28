"""Tests of raftstore.engine.keys: TiKV's key layout byte for byte (components/keys/src/lib.rs).

Expected keys are written out as hex from the layout in ARCHITECTURE.md, not computed with the code under
test; TiKV's own unit tests (test_region_id_key, test_raft_log_sort, test_region_key, test_raft_log_key,
test_data_key, the next_key doc examples) are re-expressed at the end.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from raftstore.engine import EngineError, keys
from raftstore.engine.keys import InvalidKeyError
from raftstore.proto import metapb_pb2

U64_MAX = 2**64 - 1
u64s = st.integers(min_value=0, max_value=U64_MAX)


def h(*parts: str) -> bytes:
    return bytes.fromhex("".join(parts))


# Constants.


def test_prefix_constants() -> None:
    assert keys.LOCAL_PREFIX == 0x01
    assert keys.REGION_RAFT_PREFIX == 0x02
    assert keys.REGION_META_PREFIX == 0x03
    assert keys.DATA_PREFIX == 0x7A == ord("z")
    assert keys.DATA_PREFIX_KEY == b"z"
    assert keys.MIN_KEY == b""
    assert keys.MAX_KEY == b"\xff"
    assert keys.EMPTY_KEY == b""


def test_suffix_constants() -> None:
    assert keys.RAFT_LOG_SUFFIX == 0x01
    assert keys.RAFT_STATE_SUFFIX == 0x02
    assert keys.APPLY_STATE_SUFFIX == 0x03
    assert keys.SNAPSHOT_RAFT_STATE_SUFFIX == 0x04
    assert keys.REGION_STATE_SUFFIX == 0x01


def test_key_constants() -> None:
    assert keys.LOCAL_MIN_KEY == h("01")
    assert keys.LOCAL_MAX_KEY == h("02")
    assert keys.DATA_MIN_KEY == b"z"
    assert keys.DATA_MAX_KEY == b"{"
    assert keys.STORE_IDENT_KEY == h("0101")
    assert keys.PREPARE_BOOTSTRAP_KEY == h("0102")
    assert keys.RECOVER_STATE_KEY == h("0103")
    assert keys.REGION_RAFT_PREFIX_KEY == h("0102")
    assert keys.REGION_RAFT_MIN_KEY == h("0102")
    assert keys.REGION_RAFT_MAX_KEY == h("0103")
    assert keys.REGION_META_PREFIX_KEY == h("0103")
    assert keys.REGION_META_MIN_KEY == h("0103")
    assert keys.REGION_META_MAX_KEY == h("0104")


def test_all_key_constants_are_bytes() -> None:
    for name in keys.__all__:
        if name.endswith("_KEY"):
            assert type(getattr(keys, name)) is bytes, name


# Key builders, byte for byte.


def test_raft_log_key_bytes() -> None:
    assert keys.raft_log_key(1, 5) == h("0102", "0000000000000001", "01", "0000000000000005")
    assert keys.raft_log_key(0, 0) == h("0102", "0000000000000000", "01", "0000000000000000")
    assert keys.raft_log_key(0x0102030405060708, 0x1112131415161718) == h(
        "0102", "0102030405060708", "01", "1112131415161718"
    )
    assert keys.raft_log_key(U64_MAX, U64_MAX) == h("0102", "ffffffffffffffff", "01", "ffffffffffffffff")
    assert len(keys.raft_log_key(7, 7)) == 19
    assert type(keys.raft_log_key(1, 1)) is bytes


def test_region_raft_keys_bytes() -> None:
    assert keys.raft_state_key(1) == h("0102", "0000000000000001", "02")
    assert keys.apply_state_key(1) == h("0102", "0000000000000001", "03")
    assert keys.snapshot_raft_state_key(1) == h("0102", "0000000000000001", "04")
    assert keys.raft_log_prefix(1) == h("0102", "0000000000000001", "01")
    assert keys.region_raft_prefix(1) == h("0102", "0000000000000001")
    assert keys.raft_state_key(1024) == h("0102", "0000000000000400", "02")
    assert keys.apply_state_key(U64_MAX) == h("0102", "ffffffffffffffff", "03")
    assert keys.region_raft_prefix_len() == 11


def test_region_meta_keys_bytes() -> None:
    assert keys.region_state_key(1) == h("0103", "0000000000000001", "01")
    assert keys.region_state_key(1024) == h("0103", "0000000000000400", "01")
    assert keys.region_meta_prefix(1) == h("0103", "0000000000000001")
    assert keys.region_meta_prefix(U64_MAX) == h("0103", "ffffffffffffffff")


def test_data_keys_bytes() -> None:
    assert keys.data_key(b"") == b"z"
    assert keys.data_key(b"abc") == b"zabc"
    assert keys.data_key(h("00ff")) == h("7a00ff")
    assert keys.data_end_key(b"") == b"{"
    assert keys.data_end_key(b"k") == b"zk"
    assert keys.origin_key(b"zabc") == b"abc"
    assert keys.origin_key(b"z") == b""
    assert keys.origin_end_key(b"{") == b""
    assert keys.origin_end_key(b"zk") == b"k"
    for f in (keys.data_key, keys.data_end_key, keys.origin_key, keys.origin_end_key):
        assert type(f(b"zq")) is bytes


def test_data_key_with_buffer() -> None:
    buf = bytearray(b"junk that is longer")
    keys.data_key_with_buffer(b"abc", buf)
    assert bytes(buf) == keys.data_key(b"abc")
    keys.data_key_with_buffer(b"cde", buf)
    assert bytes(buf) == keys.data_key(b"cde")


def test_validate_data_key() -> None:
    assert not keys.validate_data_key(b"abc")
    assert not keys.validate_data_key(b"")
    assert keys.validate_data_key(b"z")
    assert keys.validate_data_key(keys.data_key(b"abc"))
    assert not keys.validate_data_key(keys.raft_state_key(1))


# Ranges.


def test_raft_log_range() -> None:
    start, end = keys.raft_log_range(3)
    assert start == keys.raft_log_key(3, 0)
    assert end == keys.raft_state_key(3)
    assert start <= keys.raft_log_key(3, U64_MAX) < end
    assert keys.raft_log_range(3, 5, 9) == (keys.raft_log_key(3, 5), keys.raft_log_key(3, 9))
    # Nothing of the region's other raft keys, nor of a neighbouring region's log, is in range.
    for other in (keys.raft_state_key(3), keys.apply_state_key(3), keys.raft_log_key(2, U64_MAX), keys.raft_log_key(4, 0)):
        assert not start <= other < end
    with pytest.raises(InvalidKeyError):
        keys.raft_log_range(3, 0, 2**64)
    with pytest.raises(InvalidKeyError):
        keys.raft_log_range(3, -1)


def test_region_raft_and_meta_ranges() -> None:
    start, end = keys.region_raft_range(7)
    assert (start, end) == (h("0102", "0000000000000007"), h("0102", "0000000000000008"))
    for k in (keys.raft_log_key(7, 0), keys.raft_log_key(7, U64_MAX), keys.raft_state_key(7), keys.apply_state_key(7)):
        assert start <= k < end
    assert not start <= keys.raft_state_key(8) < end
    assert keys.region_raft_range(U64_MAX) == (h("0102", "ffffffffffffffff"), h("0103"))
    assert keys.region_meta_range(7) == (h("0103", "0000000000000007"), h("0103", "0000000000000008"))
    assert keys.region_meta_range(U64_MAX) == (h("0103", "ffffffffffffffff"), h("0104"))


# Decoders.


def test_decode_raft_log_key() -> None:
    assert keys.decode_raft_log_key(h("0102", "0000000000000001", "01", "0000000000000005")) == (1, 5)
    assert keys.decode_raft_log_key(h("0102", "ffffffffffffffff", "01", "ffffffffffffffff")) == (U64_MAX, U64_MAX)
    assert keys.raft_log_index(h("0102", "0000000000000001", "01", "0000000000000005")) == 5


@pytest.mark.parametrize(
    "key",
    [
        b"",
        h("0102", "0000000000000001", "02"),  # raft state key: too short
        h("0102", "0000000000000001", "01", "00000000000005"),  # 18 bytes
        h("0102", "0000000000000001", "01", "0000000000000005", "00"),  # 20 bytes
        h("0102", "0000000000000001", "02", "0000000000000002"),  # suffix 02
        h("0103", "0000000000000001", "01", "0000000000000002"),  # meta prefix
        h("0202", "0000000000000001", "01", "0000000000000002"),  # not local
        b"z" + bytes(18),  # data key
    ],
)
def test_decode_raft_log_key_rejects(key: bytes) -> None:
    with pytest.raises(InvalidKeyError, match="not a valid raft log key"):
        keys.decode_raft_log_key(key)


def test_raft_log_index_checks_length_only_as_tikv() -> None:
    with pytest.raises(InvalidKeyError, match="not a valid raft log key"):
        keys.raft_log_index(keys.raft_state_key(1))
    with pytest.raises(InvalidKeyError):
        keys.raft_log_index(b"")
    # TiKV's raft_log_index reads the last 8 bytes of any 19-byte key.
    assert keys.raft_log_index(keys.raft_state_key(1) + h("0000000000000002")) == 2


def test_decode_raft_key() -> None:
    assert keys.decode_raft_key(keys.raft_log_key(9, 3)) == (9, keys.RAFT_LOG_SUFFIX)
    assert keys.decode_raft_key(keys.raft_state_key(9)) == (9, keys.RAFT_STATE_SUFFIX)
    assert keys.decode_raft_key(keys.snapshot_raft_state_key(9)) == (9, keys.SNAPSHOT_RAFT_STATE_SUFFIX)
    with pytest.raises(InvalidKeyError, match="length"):
        keys.decode_raft_key(keys.region_raft_prefix(9))
    with pytest.raises(InvalidKeyError, match="prefix"):
        keys.decode_raft_key(keys.region_state_key(9))


def test_decode_region_raft_key() -> None:
    assert keys.decode_region_raft_key(h("0102", "0000000000000400", "03")) == (1024, keys.APPLY_STATE_SUFFIX)
    assert keys.decode_region_raft_key(keys.raft_state_key(5)) == (5, keys.RAFT_STATE_SUFFIX)
    with pytest.raises(InvalidKeyError, match="invalid region raft key length"):
        keys.decode_region_raft_key(keys.raft_log_key(5, 1))
    with pytest.raises(InvalidKeyError, match="invalid region raft key length"):
        keys.decode_region_raft_key(keys.region_raft_prefix(5))
    with pytest.raises(InvalidKeyError, match="invalid region raft prefix"):
        keys.decode_region_raft_key(keys.region_state_key(5))


def test_decode_region_meta_key() -> None:
    assert keys.decode_region_meta_key(h("0103", "0000000000000001", "01")) == (1, keys.REGION_STATE_SUFFIX)
    with pytest.raises(InvalidKeyError, match="invalid region meta key length"):
        keys.decode_region_meta_key(h("0103", "0000000000000001"))
    with pytest.raises(InvalidKeyError, match="invalid region meta key length"):
        keys.decode_region_meta_key(b"")
    with pytest.raises(InvalidKeyError, match="invalid region meta prefix"):
        keys.decode_region_meta_key(keys.apply_state_key(1))


def test_error_messages_show_the_key_in_hex() -> None:
    with pytest.raises(InvalidKeyError, match="0102000000000000000102"):
        keys.decode_raft_log_key(keys.raft_state_key(1))
    with pytest.raises(InvalidKeyError, match="616263"):
        keys.origin_key(b"abc")


def test_origin_key_rejects_non_data_keys() -> None:
    for bad in (b"", b"abc", keys.raft_state_key(1), b"{"):
        with pytest.raises(InvalidKeyError, match="invalid data key"):
            keys.origin_key(bad)
    with pytest.raises(InvalidKeyError):
        keys.origin_end_key(b"abc")


def test_invalid_key_error_is_value_error_and_engine_error() -> None:
    assert issubclass(InvalidKeyError, ValueError)
    assert issubclass(InvalidKeyError, EngineError)


# u64 range checks.


BAD_U64 = [-1, 2**64, 2**70, 1.0, "1", None]


@pytest.mark.parametrize("bad", BAD_U64)
def test_builders_reject_non_u64(bad: object) -> None:
    one_arg = [
        keys.raft_state_key,
        keys.apply_state_key,
        keys.snapshot_raft_state_key,
        keys.raft_log_prefix,
        keys.region_raft_prefix,
        keys.region_meta_prefix,
        keys.region_state_key,
        keys.region_raft_range,
        keys.region_meta_range,
        keys.raft_log_range,
    ]
    for f in one_arg:
        with pytest.raises(InvalidKeyError, match="u64"):
            f(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError, match="u64"):
        keys.raft_log_key(bad, 1)  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError, match="u64"):
        keys.raft_log_key(1, bad)  # type: ignore[arg-type]


def test_u64_bounds_are_accepted() -> None:
    """0 and 2**64 - 1 are valid ids and indexes, encoded big-endian in 8 bytes and decoded back."""
    for v in (0, U64_MAX):
        assert keys.decode_raft_log_key(keys.raft_log_key(v, v)) == (v, v)
        assert keys.raft_state_key(v) == b"\x01\x02" + v.to_bytes(8, "big") + b"\x02"
        assert keys.decode_region_meta_key(keys.region_state_key(v)) == (v, keys.REGION_STATE_SUFFIX)


# Regions.


def test_enc_keys_of_region() -> None:
    region = metapb_pb2.Region(id=1)
    # An uninitialized region (no peers) has no encoded range: TiKV asserts.
    with pytest.raises(InvalidKeyError, match="not initialized"):
        keys.enc_start_key(region)
    with pytest.raises(InvalidKeyError, match="not initialized"):
        keys.enc_end_key(region)
    region.peers.append(metapb_pb2.Peer(id=1, store_id=1))
    assert keys.enc_start_key(region) == h("7a")
    assert keys.enc_end_key(region) == h("7b")
    region.start_key = h("01")
    region.end_key = h("02")
    assert keys.enc_start_key(region) == h("7a01")
    assert keys.enc_end_key(region) == h("7a02")
    assert type(keys.enc_start_key(region)) is bytes and type(keys.enc_end_key(region)) is bytes


# next_key: TiKV's doc examples.


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (b"123", b"124"),
        (b"12\xff", b"13"),
        (b"\xff\xff", b""),
        (b"\xff\xfe", b"\xff\xff"),
        (b"T", b"U"),
        (b"", b""),
    ],
)
def test_next_key(key: bytes, expected: bytes) -> None:
    assert keys.next_key(key) == expected


# Properties.


@given(u64s, u64s)
def test_raft_log_key_round_trip(region_id: int, index: int) -> None:
    key = keys.raft_log_key(region_id, index)
    assert keys.decode_raft_log_key(key) == (region_id, index)
    assert keys.raft_log_index(key) == index
    assert keys.decode_raft_key(key) == (region_id, keys.RAFT_LOG_SUFFIX)
    assert key.startswith(keys.raft_log_prefix(region_id))
    assert key.startswith(keys.region_raft_prefix(region_id))
    start, end = keys.raft_log_range(region_id)
    assert start <= key < end


@given(u64s)
def test_region_keys_round_trip(region_id: int) -> None:
    assert keys.decode_region_raft_key(keys.raft_state_key(region_id)) == (region_id, keys.RAFT_STATE_SUFFIX)
    assert keys.decode_region_raft_key(keys.apply_state_key(region_id)) == (region_id, keys.APPLY_STATE_SUFFIX)
    assert keys.decode_region_raft_key(keys.snapshot_raft_state_key(region_id)) == (
        region_id,
        keys.SNAPSHOT_RAFT_STATE_SUFFIX,
    )
    assert keys.decode_region_meta_key(keys.region_state_key(region_id)) == (region_id, keys.REGION_STATE_SUFFIX)


@given(u64s, u64s, u64s, u64s)
def test_raft_log_key_order_is_numeric_order(r1: int, i1: int, r2: int, i2: int) -> None:
    a, b = keys.raft_log_key(r1, i1), keys.raft_log_key(r2, i2)
    assert (a < b) == ((r1, i1) < (r2, i2))
    assert (a == b) == ((r1, i1) == (r2, i2))


@given(u64s, u64s)
def test_region_key_order_is_numeric_order(r1: int, r2: int) -> None:
    for f in (keys.raft_state_key, keys.apply_state_key, keys.region_state_key, keys.region_raft_prefix):
        assert (f(r1) < f(r2)) == (r1 < r2)


@given(st.binary())
def test_data_key_round_trip(key: bytes) -> None:
    dk = keys.data_key(key)
    assert keys.validate_data_key(dk)
    assert keys.origin_key(dk) == key
    assert keys.DATA_MIN_KEY <= dk < keys.DATA_MAX_KEY
    if key:
        assert keys.origin_end_key(keys.data_end_key(key)) == key


@given(st.binary(), st.binary())
def test_data_key_preserves_order(a: bytes, b: bytes) -> None:
    assert (keys.data_key(a) < keys.data_key(b)) == (a < b)


@given(st.binary(max_size=8))
def test_next_key_is_least_key_above_the_prefix(key: bytes) -> None:
    n = keys.next_key(key)
    if n:
        assert n > key
        assert not n.startswith(key)
        assert key + b"\xff" * 16 < n
    else:
        assert key.rstrip(b"\xff") == b""


def test_local_keys_sort_before_data_keys() -> None:
    for k in (keys.STORE_IDENT_KEY, keys.raft_log_key(U64_MAX, U64_MAX), keys.region_state_key(U64_MAX)):
        assert keys.LOCAL_MIN_KEY <= k < keys.LOCAL_MAX_KEY <= keys.DATA_MIN_KEY
    assert keys.raft_log_key(U64_MAX, U64_MAX) < keys.REGION_RAFT_MAX_KEY <= keys.region_state_key(0)


# TiKV's keys crate tests, re-expressed.


def test_tikv_region_id_key() -> None:
    for region_id in (0, 1, 1024, U64_MAX):
        prefix = keys.region_raft_prefix(region_id)
        assert keys.raft_log_prefix(region_id).startswith(prefix)
        assert keys.raft_log_key(region_id, 1).startswith(prefix)
        assert keys.raft_state_key(region_id).startswith(prefix)
        assert keys.apply_state_key(region_id).startswith(prefix)
    for lid, rid, cmp in ((1, 0, 1), (1, 1, 0), (1, 2, -1)):
        for f in (keys.region_raft_prefix, keys.raft_state_key, keys.apply_state_key):
            lhs, rhs = f(lid), f(rid)
            assert ((lhs > rhs) - (lhs < rhs)) == cmp


def test_tikv_raft_log_sort() -> None:
    for lid, lidx, rid, ridx, cmp in ((1, 1, 1, 2, -1), (2, 1, 1, 2, 1), (1, 1, 1, 1, 0)):
        lhs, rhs = keys.raft_log_key(lid, lidx), keys.raft_log_key(rid, ridx)
        assert ((lhs > rhs) - (lhs < rhs)) == cmp


def test_tikv_region_key() -> None:
    for region_id in (1, 1024, U64_MAX):
        assert keys.region_state_key(region_id).startswith(keys.region_meta_prefix(region_id))
        assert keys.decode_region_meta_key(keys.region_state_key(region_id)) == (region_id, keys.REGION_STATE_SUFFIX)
        assert keys.apply_state_key(region_id).startswith(keys.region_raft_prefix(region_id))
        assert keys.decode_region_raft_key(keys.apply_state_key(region_id)) == (region_id, keys.APPLY_STATE_SUFFIX)
    for lid, rid, cmp in ((1, 2, -1), (1, 1, 0), (2, 1, 1)):
        for f in (keys.region_state_key, keys.apply_state_key):
            lhs, rhs = f(lid), f(rid)
            assert ((lhs > rhs) - (lhs < rhs)) == cmp


def test_tikv_raft_log_key() -> None:
    for region_id in range(1, 10):
        for index in range(1, 10):
            key = keys.raft_log_key(region_id, index)
            assert keys.raft_log_index(key) == index
            assert keys.decode_raft_log_key(key) == (region_id, index)
    state_key = keys.raft_state_key(1)
    with pytest.raises(InvalidKeyError):  # invalid length
        keys.decode_raft_log_key(state_key)
    with pytest.raises(InvalidKeyError):  # invalid suffix
        keys.decode_raft_log_key(state_key + (2).to_bytes(8, "big"))
    with pytest.raises(InvalidKeyError):  # invalid prefix
        keys.decode_raft_log_key(keys.region_state_key(1) + (2).to_bytes(8, "big"))


@pytest.mark.parametrize(("region_id", "low", "high"), [(1, 5, 9), (7, 0, 0), (2**64 - 1, 2**64 - 3, 2**64)])
def test_raft_log_keys_are_raft_log_key_per_index(region_id: int, low: int, high: int) -> None:
    """raft_log_keys(r, lo, hi) is [raft_log_key(r, i) for lo <= i < hi], byte for byte."""
    assert list(keys.raft_log_keys(region_id, low, high)) == [keys.raft_log_key(region_id, i) for i in range(low, high)]


@pytest.mark.parametrize(("low", "high"), [(-1, 3), (5, 4), (0, 2**64 + 1)])
def test_raft_log_keys_rejects_bad_ranges(low: int, high: int) -> None:
    """raft_log_keys rejects ranges outside u64 or reversed with InvalidKeyError."""
    with pytest.raises(keys.InvalidKeyError):
        keys.raft_log_keys(1, low, high)
