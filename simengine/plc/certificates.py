"""Self-signed OPC UA application certificates for the virtual PLC, clients and tests.

An OPC UA application instance certificate (OPC 10000-4 §6.1, OPC 10000-6
§6.2.2) names its application URI in the subjectAltName; a peer refuses a
certificate whose URI differs from the ApplicationUri the application
announces. `make_certificate` writes one RSA-2048/SHA-256 pair, usable as both
client and server, with that URI, the DNS names and the IP addresses given
(loopback by default), so Basic256Sha256 works on 127.0.0.1 without warnings.
Built on asyncua's own generator (`asyncua.crypto.cert_gen`).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path

from asyncua.crypto import cert_gen
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

SERVER_APPLICATION_URI = "urn:simengine:virtual-plc"
CLIENT_APPLICATION_URI = "urn:simengine:client"


@dataclass(frozen=True)
class CertificatePair:
    """A certificate (DER) and its private key (PEM, mode 0600) for one application URI."""

    certificate: Path
    private_key: Path
    application_uri: str


def make_certificate(directory: str | Path, application_uri: str, *, name: str | None = None,
                     hostnames: tuple[str, ...] | None = None, ips: tuple[str, ...] = ("127.0.0.1",),
                     days: int = 365) -> CertificatePair:
    """Write ``<name>.der`` and ``<name>_key.pem`` into `directory` and return their paths.

    `name` defaults to the last part of the URI; `hostnames` to localhost and this
    machine's name; the certificate is valid for `days` days from now.
    """
    if days <= 0:
        raise ValueError(f"days = {days}: a certificate must be valid for at least one day")
    if not application_uri.startswith("urn:") and "://" not in application_uri:
        raise ValueError(f"application_uri = {application_uri!r}: must be a URI such as 'urn:simengine:client'")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    name = name or application_uri.rsplit(":", 1)[-1].replace("/", "_") or "application"
    hostnames = hostnames or tuple(dict.fromkeys(("localhost", socket.gethostname())))
    key = cert_gen.generate_private_key()
    alt_names: list[x509.GeneralName] = [x509.UniformResourceIdentifier(application_uri)]
    alt_names += [x509.DNSName(h) for h in hostnames]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = cert_gen.generate_self_signed_app_certificate(
        key, name, {}, alt_names, [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH], days=days)
    cert_path = directory / f"{name}.der"
    key_path = directory / f"{name}_key.pem"
    cert_path.write_bytes(cert.public_bytes(Encoding.DER))
    # The key is created 0600 from the start: no window in which others could read it.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(cert_gen.dump_private_key_as_pem(key))
    return CertificatePair(cert_path, key_path, application_uri)


def application_uri_of(certificate: str | Path) -> str:
    """The first URI in a certificate's subjectAltName (DER or PEM file)."""
    data = Path(certificate).read_bytes()
    cert = x509.load_pem_x509_certificate(data) if data.startswith(b"-----") else x509.load_der_x509_certificate(data)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise ValueError(f"certificate {certificate}: has no subjectAltName, so no OPC UA application URI") from None
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    if not uris:
        raise ValueError(f"certificate {certificate}: its subjectAltName names no application URI")
    return uris[0]
