"""Mutual TLS for both services: certificates made here with the openssl command; a 3-store cluster whose
stores talk TLS to each other serves a client with a certificate of the cluster's CA and refuses one
without (or with another CA's)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from raftstore.cli import main
from raftstore.client import Client, ClientError
from raftstore.server.security import load_security

from .helpers import ProcCluster

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(d: Path, name: str) -> None:
    """make_ca writes d/name.pem and d/name.key, a self-signed CA (EC P-256, one day)."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.pem"), "-days", "1", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")


def make_cert(d: Path, name: str, ca: str) -> None:
    """make_cert writes d/name.pem and d/name.key signed by d/ca, valid for 127.0.0.1 and localhost."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.csr"), "-subj", f"/CN={name}")
    ext = d / f"{name}.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / f"{ca}.pem"), "-CAkey", str(d / f"{ca}.key"),
            "-CAcreateserial", "-out", str(d / f"{name}.pem"), "-days", "1", "-extfile", str(ext))


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("certs")
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "store", "ca")
    make_cert(d, "client", "ca")
    make_cert(d, "stranger", "other-ca")
    return d


def tls(d: Path, name: str, ca: str = "ca") -> dict[str, Path]:
    return {"ca_path": d / f"{ca}.pem", "cert_path": d / f"{name}.pem", "key_path": d / f"{name}.key"}


def test_mutual_tls_serves_only_clients_with_a_certificate(
    certs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = f"""
[security]
ca-path = "{certs / 'ca.pem'}"
cert-path = "{certs / 'store.pem'}"
key-path = "{certs / 'store.key'}"
"""
    security = load_security(**tls(certs, "client"))
    with ProcCluster(tmp_path, 3, extra_config=config, security=security) as cluster:
        cluster.start_all()
        addrs = list(cluster.addrs.values())
        with Client(addrs, timeout=15, **tls(certs, "client")) as client:  # replication itself runs over TLS
            client.put(b"tls-k", b"v")
            assert client.get(b"tls-k") == b"v"
        for refused in [{}, tls(certs, "stranger", "other-ca"), tls(certs, "stranger")]:
            with Client(addrs, timeout=2, **refused) as client, pytest.raises(ClientError):  # type: ignore[arg-type]
                client.get(b"tls-k")
        flags = [f"--{k.replace('_', '-')}={v}" for k, v in tls(certs, "client").items()]
        assert main(["ctl", "--addr", addrs[0], *flags, "status"]) == 0
        assert capsys.readouterr().out.startswith("store 1 at ")
        assert main(["ctl", "--addr", addrs[0], "--timeout", "2", "status"]) == 1
        assert "cannot reach the store" in capsys.readouterr().err


def test_tls_needs_all_three_files(certs: Path) -> None:
    with pytest.raises(ClientError, match="TLS needs ca-path, cert-path and key-path together; missing key-path"):
        Client("127.0.0.1:1", ca_path=certs / "ca.pem", cert_path=certs / "client.pem")
