"""An independent OPC UA implementation (node-opcua, npm) reads from our server, plain and secure."""

import asyncio
import json
import os
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from pace import deadline

from simengine.plc import tagmap_from_dict
from simengine.plc.certificates import SERVER_APPLICATION_URI, make_certificate
from simengine.plc.opcua_server import OpcUaServer, ServerSecurity
from simengine.plc.secrets import Credentials

PEERS = Path(__file__).parent / "peers"
SCRIPT = PEERS / "read_nodes.js"
PASSWORD = "c0rrect-h0rse-opcua"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (PEERS / "node_modules" / "node-opcua").is_dir(),
    reason="node-opcua is not installed: run `npm ci --prefix tests/plc/peers`")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def peer(url, node_ids, writes=(), **env):
    """Run the node-opcua client; returns (exit status, parsed JSON or None, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), url, json.dumps(node_ids), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), "PEER_WRITES": json.dumps(list(writes)), **env})
    out, err = await asyncio.wait_for(proc.communicate(), deadline(30))
    lines = [line for line in out.decode().splitlines() if line.startswith('{"reads"')]  # node-opcua also prints notes
    return proc.returncode, json.loads(lines[-1]) if lines else None, err.decode()


def tagmap():
    dtypes = ["float32", "float64", "int16", "uint16", "int32", "uint32"]
    tags = [{"name": f"{d}_tag", "quantity": "x", "dtype": d, "scale": 0.5 if d == "int16" else 1.0,
             "access": "read_write" if d == "float64" else "read", "opcua": {"node_id": f"ns=2;s=crane07.{d}"}}
            for d in dtypes]
    return tagmap_from_dict({"name": "peer", "endpoint": {"opcua_url": f"opc.tcp://127.0.0.1:{free_port()}/simengine/"},
                             "tags": tags})


def test_node_opcua_reads_what_we_serve_and_respects_access_levels(tmp_path):
    m = tagmap()
    values = [1234.5678, 1 / 3, -12.5, 54321.0, -2_000_000_000.0, 4_000_000_000.0]
    writes = [{"nodeId": "ns=2;s=crane07.float64", "dataType": "Double", "value": 2.75},
              {"nodeId": "ns=2;s=crane07.float32", "dataType": "Float", "value": 9.0}]

    async def main():
        async with OpcUaServer(m) as srv:
            await srv.update(values, t_s=1_700_000_000.5)
            result = await peer(m.endpoint.opcua_url, [t.opcua.node_id for t in m.tags], writes, PEER_PKI=str(tmp_path))
            return result, srv.value("float64_tag"), srv.value("float32_tag")

    (status, out, err), written, unwritten = asyncio.run(main())
    assert status == 0, err
    reads = out["reads"]
    assert [r["dataType"] for r in reads] == ["Float", "Double", "Int16", "UInt16", "Int32", "UInt32"]
    raw = [r["value"] for r in reads]
    np.testing.assert_allclose(raw, [np.float32(1234.5678), 1 / 3, -25, 54321, -2_000_000_000, 4_000_000_000], rtol=1e-15)
    assert all(r["status"] == "Good" and r["sourceTimestamp"] == 1_700_000_000.5 for r in reads)
    assert [r["accessLevel"] for r in reads] == [1, 3, 1, 1, 1, 1]  # CurrentRead, + CurrentWrite for read_write
    assert [w["status"] for w in out["writes"]] == ["Good", "BadUserAccessDenied"]
    assert written == 2.75 and unwritten == pytest.approx(1234.5678, rel=1e-7)


def test_node_opcua_logs_in_securely_and_is_refused_without_the_right_credentials(tmp_path):
    m = tagmap()
    server_pair = make_certificate(tmp_path, SERVER_APPLICATION_URI)
    peer_pair = make_certificate(tmp_path, "urn:simengine:node-opcua-peer")
    pem = tmp_path / "peer.pem"  # node-opcua reads PEM
    pem.write_bytes(x509.load_der_x509_certificate(peer_pair.certificate.read_bytes()).public_bytes(Encoding.PEM))
    secure = {"PEER_SECURITY": "Basic256Sha256_SignAndEncrypt", "PEER_CERT": str(pem), "PEER_KEY": str(peer_pair.private_key),
              "PEER_APPLICATION_URI": peer_pair.application_uri, "PEER_PKI": str(tmp_path / "pki")}
    security = ServerSecurity(server_pair.certificate, server_pair.private_key, (Credentials("operator", PASSWORD),))
    node_ids = [t.opcua.node_id for t in m.tags][:2]

    async def main():
        async with OpcUaServer(m, security=security) as srv:
            await srv.update(np.arange(6.0))
            return await asyncio.gather(
                peer(m.endpoint.opcua_url, node_ids, **secure, PEER_USER="operator", PEER_PASSWORD=PASSWORD),
                peer(m.endpoint.opcua_url, node_ids, **secure, PEER_USER="operator", PEER_PASSWORD="wrong"),
                peer(m.endpoint.opcua_url, node_ids, **secure),
                peer(m.endpoint.opcua_url, node_ids, PEER_USER="operator", PEER_PASSWORD=PASSWORD, PEER_PKI=secure["PEER_PKI"]))

    ok, wrong_password, anonymous, insecure = asyncio.run(main())
    assert ok[0] == 0, ok[2]
    assert [r["value"] for r in ok[1]["reads"]] == [0.0, 1.0]
    assert wrong_password[0] == 2 and "BadUserAccessDenied" in wrong_password[2]
    assert anonymous[0] == 2 and "ANONYMOUS" in anonymous[2]
    assert insecure[0] == 2 and "securityMode = None" in insecure[2]
