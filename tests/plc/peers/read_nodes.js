// An independent OPC UA client (node-opcua, not asyncua) for simengine's interoperability tests.
//
//   node read_nodes.js <endpoint-url> '<JSON array of node ids>'
//
// Reads Value, DataType, AccessLevel and UserAccessLevel of each node, then tries the
// writes listed in PEER_WRITES (JSON: [{"nodeId", "dataType", "value"}]) and prints one JSON
// object: {"reads": [...], "writes": [...]}. Security and login come from the environment
// (so that no password appears on a command line):
//   PEER_SECURITY=Basic256Sha256_SignAndEncrypt  PEER_CERT=<pem>  PEER_KEY=<pem>
//   PEER_APPLICATION_URI=<uri in PEER_CERT>  PEER_USER=<name>  PEER_PASSWORD=<password>
// Exit status 2 with a one-line message on stderr when the connection or session is refused.
"use strict";
const path = require("path");
const os = require("os");
const {
    OPCUAClient, OPCUACertificateManager, MessageSecurityMode, SecurityPolicy,
    AttributeIds, DataType, UserTokenType,
} = require("node-opcua");

async function main() {
    const [url, nodesJson] = process.argv.slice(2);
    if (!url || !nodesJson) {
        throw new Error("usage: node read_nodes.js <endpoint-url> '<JSON array of node ids>'");
    }
    const nodeIds = JSON.parse(nodesJson);
    const writes = JSON.parse(process.env.PEER_WRITES || "[]");
    const secure = process.env.PEER_SECURITY === "Basic256Sha256_SignAndEncrypt";
    const options = {
        applicationName: "simengine-peer",
        endpointMustExist: false,
        connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
        securityMode: secure ? MessageSecurityMode.SignAndEncrypt : MessageSecurityMode.None,
        securityPolicy: secure ? SecurityPolicy.Basic256Sha256 : SecurityPolicy.None,
        clientCertificateManager: new OPCUACertificateManager({
            rootFolder: process.env.PEER_PKI || path.join(os.tmpdir(), "simengine-peer-pki"),
            automaticallyAcceptUnknownCertificate: true,
        }),
    };
    if (process.env.PEER_CERT) {
        options.certificateFile = process.env.PEER_CERT;
        options.privateKeyFile = process.env.PEER_KEY;
        options.applicationUri = process.env.PEER_APPLICATION_URI;
    }
    const client = OPCUAClient.create(options);
    client.on("backoff", () => { throw new Error(`cannot connect to ${url}`); });
    const identity = process.env.PEER_USER
        ? { type: UserTokenType.UserName, userName: process.env.PEER_USER, password: process.env.PEER_PASSWORD }
        : { type: UserTokenType.Anonymous };
    let session;
    try {
        await client.connect(url);
        session = await client.createSession(identity);
    } catch (err) {
        process.stderr.write(`refused: ${err.message.split("\n")[0]}\n`);
        await client.disconnect().catch(() => undefined);
        process.exit(2);
    }
    const attributes = [AttributeIds.Value, AttributeIds.DataType, AttributeIds.AccessLevel, AttributeIds.UserAccessLevel];
    const toRead = nodeIds.flatMap((nodeId) => attributes.map((attributeId) => ({ nodeId, attributeId })));
    const dvs = await session.read(toRead);
    const reads = nodeIds.map((nodeId, i) => {
        const [value, dataType, access, userAccess] = dvs.slice(4 * i, 4 * i + 4);
        return {
            nodeId,
            value: value.value.value,
            status: value.statusCode.name,
            sourceTimestamp: value.sourceTimestamp ? value.sourceTimestamp.getTime() / 1000 : null,
            dataType: DataType[dataType.value.value.value],
            accessLevel: access.value.value,
            userAccessLevel: userAccess.value.value,
        };
    });
    const statuses = writes.length ? await session.write(writes.map((w) => ({
        nodeId: w.nodeId,
        attributeId: AttributeIds.Value,
        value: { value: { dataType: DataType[w.dataType], value: w.value } },
    }))) : [];
    const written = writes.map((w, i) => ({ nodeId: w.nodeId, status: statuses[i].name }));
    await session.close();
    await client.disconnect();
    process.stdout.write(JSON.stringify({ reads, writes: written }) + "\n");
}

main().catch((err) => {
    process.stderr.write(`error: ${err.stack || err}\n`);
    process.exit(1);
});
