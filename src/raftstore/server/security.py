"""raftstore.server.security: optional mutual TLS for both services (clients and store-to-store).

`[security]` in the config file (or the server's --ca-path / --cert-path / --key-path flags) names three
PEM files: the CA that signed every store's and client's certificate, this process's certificate, and its
private key. With them a store serves gRPC over TLS only and requires a client certificate signed by the
CA (mutual TLS); it connects to the other stores the same way. Without them everything is plaintext
(loopback by default). The files are read once, at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from .errors import ConfigError

__all__ = ["Security", "load_security"]


@dataclass(frozen=True, slots=True)
class Security:
    """Security: PEM bytes of the CA, this process's certificate and its key (all three are required)."""

    ca: bytes
    cert: bytes
    key: bytes

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(root_certificates=self.ca, private_key=self.key, certificate_chain=self.cert)

    def server_credentials(self) -> grpc.ServerCredentials:
        """server_credentials require a client certificate signed by the CA (mutual TLS)."""
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)], root_certificates=self.ca, require_client_auth=True
        )


def load_security(ca_path: Path | str | None, cert_path: Path | str | None, key_path: Path | str | None) -> Security | None:
    """load_security reads the three PEM files; None when none is given; ConfigError when only some are,
    or one cannot be read."""
    paths = {"ca-path": ca_path, "cert-path": cert_path, "key-path": key_path}
    given = {name for name, p in paths.items() if p is not None}
    if not given:
        return None
    if len(given) != 3:
        missing = ", ".join(sorted(paths.keys() - given))
        raise ConfigError(f"TLS needs ca-path, cert-path and key-path together; missing {missing}")
    data = {}
    for name, path in paths.items():
        try:
            data[name] = Path(str(path)).read_bytes()
        except OSError as err:
            raise ConfigError(f"cannot read {name} {path}: {err.strerror or err}") from None
    return Security(ca=data["ca-path"], cert=data["cert-path"], key=data["key-path"])
