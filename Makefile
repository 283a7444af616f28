# raftstore — `make demo` and `make test` work on a fresh machine: both create .venv and install first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test soak bench proto typecheck clean chaos crashpoints

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/raftstore demo --data ./data

# test runs the default suite with the derandomized hypothesis profile "ci" (a failure replays as is);
# soak runs the slow tests with the random search of the "soak" profile (see tests/conftest.py).
test: $(STAMP)
	RAFTSTORE_HYPOTHESIS_PROFILE=ci $(PY) -m pytest -q

soak: $(STAMP)
	RAFTSTORE_HYPOTHESIS_PROFILE=soak $(PY) -m pytest -q -m slow

# BENCH_STAMP: the bench extra (pysyncobj, matplotlib) installed into .venv for bench_cluster; etcd comes
# from Debian (`apt-get install etcd-server`): without it bench_cluster says so and runs the others.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) bench/bench_storage.py
	$(PY) bench/bench_raft.py
	$(PY) bench/bench_snapshot.py
	$(PY) bench/bench_store.py
	$(PY) bench/bench_cluster.py

# chaos (not part of test): seeds 1-3 x 120 fault cycles on 3 stores (216 SIGKILLs, 72 pauses, 72 partitions)
# and seed 4 x 20 cycles on 5 stores, histories and reports under CHAOS_OUT; then the bug-injection check,
# which must FAIL (exit 1) on a deliberately broken build (failpoint ack_write_before_commit).
# See docs/reliability.md.
CHAOS_STAMP := $(shell date -u +%Y%m%dT%H%M%SZ)
CHAOS_OUT ?= ./data/chaos/$(CHAOS_STAMP)

chaos: $(STAMP)
	$(VENV)/bin/raftstore chaos --seeds 3 --cycles 120 --out $(CHAOS_OUT)/3-stores
	$(VENV)/bin/raftstore chaos --nodes 5 --seed 4 --cycles 20 --out $(CHAOS_OUT)/5-stores
	status=0; $(VENV)/bin/raftstore chaos --bug early-ack --faults partition-leader --cycles 4 \
		--out $(CHAOS_OUT)/bug-early-ack || status=$$?; \
	if [ $$status -eq 1 ]; then echo "bug-injection check: chaos caught the broken build (exit 1), as it must"; \
	else echo "bug-injection check FAILED: chaos exited $$status on the broken build"; exit 1; fi

# crashpoints: a store killed at every failpoint of the source in turn, restarted, invariants checked.
crashpoints: $(STAMP)
	$(VENV)/bin/raftstore chaos --crash-points --out ./data/crashpoints/$(CHAOS_STAMP)

typecheck: $(STAMP)
	$(VENV)/bin/mypy

# proto regenerates src/raftstore/proto/*_pb2.py from proto/*.proto (the generated code is committed).
proto: $(STAMP)
	$(PY) -m grpc_tools.protoc -I proto --python_out=src/raftstore/proto --pyi_out=src/raftstore/proto proto/*.proto
	sed -i -E 's/^import (eraftpb|metapb|raft_serverpb|errorpb|raft_cmdpb|raftstorepb)_pb2 as /from . import \1_pb2 as /' src/raftstore/proto/*_pb2.py src/raftstore/proto/*_pb2.pyi

clean:
	rm -rf $(VENV) data
