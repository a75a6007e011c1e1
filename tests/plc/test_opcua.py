"""OPC UA end to end on 127.0.0.1: our client and our server, drops, security, outages, writes, shards."""

import asyncio
import logging
import os
import socket
import time

import numpy as np
import pytest
from asyncua import Client, ua
from pace import deadline

from simengine.config import ConfigError
from simengine.plc import Quality, tagmap_from_dict
from simengine.plc.certificates import CLIENT_APPLICATION_URI, SERVER_APPLICATION_URI, application_uri_of, make_certificate
from simengine.plc.opcua_client import SECURE, OpcUaClient, OpcUaClientConfig
from simengine.plc.opcua_server import OpcUaServer, ServerSecurity
from simengine.plc.opcua_shards import ProcessShards
from simengine.plc.secrets import Credentials, Secret, credentials_from_env, credentials_from_file, load_credentials

PASSWORD = "Tr0ub4dor&3-opcua"
FAST = OpcUaClientConfig(publishing_interval_ms=100, reconnect_initial_s=0.2, reconnect_max_s=1.0, watchdog_s=0.5)


def run(coro, timeout_s=30.0):
    return asyncio.run(asyncio.wait_for(coro, deadline(timeout_s)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def until(condition, quiet_s, what):
    """Wait (asynchronously) for `condition()`; fail after deadline(quiet_s)."""
    end = time.monotonic() + deadline(quiet_s)
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"{what} did not happen within {deadline(quiet_s):.1f} s")
        await asyncio.sleep(0.02)


def tagmap(n=4, **overrides):
    """n tags on a free port: float32 by default, `overrides` maps a tag index to its fields."""
    tags = [{"name": f"t{i}", "quantity": "x", "asset": i % 3, "opcua": {"node_id": f"ns=2;s=crane.t{i}"},
             **overrides.get(f"t{i}", {})} for i in range(n)]
    return tagmap_from_dict({"name": "test", "endpoint": {"opcua_url": f"opc.tcp://127.0.0.1:{free_port()}/simengine/"},
                             "tags": tags})


async def drain(client, quiet_s=0.4):
    """Every block until none arrives for `quiet_s` seconds (on a quiet machine)."""
    blocks = []
    while (block := await client.next_block(deadline(quiet_s))) is not None:
        blocks.append(block)
    return blocks


async def wait_for(client, predicate, timeout_s=8.0):
    """Blocks until one satisfies `predicate` (within `timeout_s` on a quiet machine); returns all of them."""
    timeout_s = deadline(timeout_s)
    blocks, end = [], time.monotonic() + timeout_s
    while time.monotonic() < end:
        block = await client.next_block(0.1)
        if block is not None:
            blocks.append(block)
            if predicate(block):
                return blocks
    raise AssertionError(f"no matching block within {timeout_s} s; got {blocks}")


def test_values_timestamps_and_qualities_arrive():
    m = tagmap(6, t0={"dtype": "int16", "scale": 0.1, "offset": -40.0}, t1={"valid_max": 100.0},
               t2={"dtype": "float64"}, t3={"dtype": "uint32"}, t4={"dtype": "int16"})

    async def main():
        async with OpcUaServer(m) as srv, OpcUaClient(m, FAST) as client:
            first = await client.next_block(deadline(5))  # nothing written yet: the server says so
            await srv.update([21.5, 150.0, 1 / 3, 4e9, np.nan, np.inf], t_s=1_700_000_000.25)
            return first, await wait_for(client, lambda b: b.t_s == 1_700_000_000.25)

    first, blocks = run(main())
    assert (first.quality == Quality.COMM_FAILURE).all() and np.isnan(first.values).all()
    b = blocks[-1]
    assert b.tags.tolist() == [0, 1, 2, 3, 4, 5]
    np.testing.assert_allclose(b.values[:4], [21.5, 150.0, 1 / 3, 4e9], rtol=1e-12)
    assert np.isnan(b.values[4]) and b.values[5] == np.inf
    assert b.quality.tolist() == [Quality.GOOD, Quality.OUT_OF_RANGE, Quality.GOOD, Quality.GOOD,
                                  Quality.COMM_FAILURE,  # NaN in an int16 tag: served as BadSensorFailure
                                  Quality.NOT_FINITE]


@pytest.mark.parametrize("discard_oldest", [True, False])
def test_a_burst_faster_than_publishing_is_flagged_dropped(discard_oldest):
    m = tagmap(5)
    cfg = OpcUaClientConfig(publishing_interval_ms=400, queue_size=3, discard_oldest=discard_oldest)

    async def main():
        async with OpcUaServer(m) as srv, OpcUaClient(m, cfg) as client:
            await srv.update(np.zeros(5), t_s=100.0)
            await wait_for(client, lambda b: b.t_s == 100.0)
            for k in range(1, 9):  # 8 updates within one publishing interval, 3 queue slots
                await srv.update(np.full(5, float(k)), t_s=100.0 + k)
            return await drain(client, quiet_s=1.0), client.drops

    blocks, drops = run(main())
    got = {tag: [] for tag in range(5)}
    for b in blocks:
        for tag, v, q in zip(b.tags.tolist(), b.values.tolist(), b.quality.tolist()):
            got[tag].append((b.t_s, v, Quality(q)))
    kept = [(106.0, 6.0), (107.0, 7.0), (108.0, 8.0)] if discard_oldest else [(101.0, 1.0), (102.0, 2.0), (108.0, 8.0)]
    flagged = 0 if discard_oldest else 2  # the value after the gap carries the flag
    for tag in range(5):
        assert [(t, v) for t, v, _ in got[tag]] == kept
        assert [q for _, _, q in got[tag]] == [Quality.DROPPED if i == flagged else Quality.GOOD for i in range(3)]
    assert drops == 5


def test_a_missing_notification_message_is_flagged_dropped():
    m = tagmap(3)

    async def main():
        async with OpcUaServer(m) as srv, OpcUaClient(m, FAST) as client:
            await srv.update(np.zeros(3), t_s=1.0)
            await wait_for(client, lambda b: b.t_s == 1.0)
            for sub in srv._server.iserver.subscription_service.subscriptions.values():
                sub._notification_seq += 1  # the server "loses" the next message
            await srv.update(np.ones(3), t_s=2.0)
            return await wait_for(client, lambda b: b.t_s == 2.0), client.lost_messages

    blocks, lost = run(main())
    assert lost == 1
    assert blocks[-2].tags.tolist() == [0, 1, 2] and (blocks[-2].quality == Quality.DROPPED).all()
    assert blocks[-1].values.tolist() == [1.0, 1.0, 1.0] and (blocks[-1].quality == Quality.GOOD).all()


def test_a_queue_of_one_is_refused_since_it_coalesces_silently():
    with pytest.raises(ConfigError, match="queue_size = 1"):
        OpcUaClient(tagmap(1), OpcUaClientConfig(queue_size=1))


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    return make_certificate(d, SERVER_APPLICATION_URI), make_certificate(d, CLIENT_APPLICATION_URI)


def test_certificates_carry_the_application_uri_and_a_private_key(pki):
    server, client = pki
    assert application_uri_of(server.certificate) == SERVER_APPLICATION_URI
    assert application_uri_of(client.certificate) == CLIENT_APPLICATION_URI
    assert os.stat(client.private_key).st_mode & 0o777 == 0o600


def test_secure_login_works_and_wrong_or_missing_credentials_are_refused(pki, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    server_pair, client_pair = pki
    m = tagmap(2)
    operator = Credentials("operator", PASSWORD)
    security = ServerSecurity(server_pair.certificate, server_pair.private_key, (operator,))
    secure = OpcUaClientConfig(security=SECURE, certificate=str(client_pair.certificate),
                               private_key=str(client_pair.private_key))

    async def refused(config, credentials):
        with pytest.raises(PermissionError) as err:
            await OpcUaClient(m, config, credentials=credentials).start()
        return str(err.value)

    async def main():
        async with OpcUaServer(m, security=security) as srv:
            await srv.update([1.0, 2.0], t_s=5.0)
            async with OpcUaClient(m, secure, credentials=operator) as client:
                block = await wait_for(client, lambda b: b.t_s == 5.0)
            errors = [await refused(secure, Credentials("operator", "not-" + PASSWORD)),
                      await refused(secure, None),
                      await refused(OpcUaClientConfig(), operator),
                      await refused(OpcUaClientConfig(), None)]
            token = ua.UserTokenPolicy(PolicyId="username", TokenType=ua.UserTokenType.UserName)
            monkeypatch.setattr(Client, "find_endpoint",  # a client that skips the endpoint check
                                staticmethod(lambda *a: ua.EndpointDescription(UserIdentityTokens=[token])))
            lenient = await password_on_an_unsecured_channel(m.endpoint.opcua_url)
            return block, errors, lenient

    blocks, errors, lenient = run(main())
    assert blocks[-1].values.tolist() == [1.0, 2.0]
    assert "refused user 'operator': BadUserAccessDenied (wrong user name or password)" in errors[0]
    assert "refused an anonymous login: BadIdentityTokenRejected" in errors[1]
    assert all("offers no endpoint for security = 'none'" in e for e in errors[2:])
    assert lenient == "BadSecurityModeRejected"
    assert PASSWORD not in caplog.text and PASSWORD not in " ".join(errors)
    assert PASSWORD not in repr(operator) + str(operator) + f"{operator.password}" + repr(security)


async def password_on_an_unsecured_channel(url):
    client = Client(url)
    client.set_user("operator")
    client.set_password(PASSWORD)
    try:
        await client.connect()
    except ua.UaStatusCodeError as exc:
        return type(exc).__name__
    await client.disconnect()
    return "connected"


def test_a_server_with_a_trust_list_refuses_other_client_certificates(pki, tmp_path):
    server_pair, trusted = pki
    stranger = make_certificate(tmp_path / "stranger", "urn:simengine:stranger")
    (tmp_path / "trusted").mkdir()
    (tmp_path / "trusted" / "client.der").write_bytes(trusted.certificate.read_bytes())
    operator = Credentials("operator", PASSWORD)
    m = tagmap(1)
    security = ServerSecurity(server_pair.certificate, server_pair.private_key, (operator,), tmp_path / "trusted")

    def config(pair):
        return OpcUaClientConfig(security=SECURE, certificate=str(pair.certificate), private_key=str(pair.private_key))

    async def main():
        async with OpcUaServer(m, security=security):
            async with OpcUaClient(m, config(trusted), credentials=operator) as client:
                assert (await client.next_block(deadline(5))) is not None
            with pytest.raises(PermissionError, match="does not trust this client's certificate"):
                await OpcUaClient(m, config(stranger), credentials=operator).start()

    run(main())


def test_credentials_come_from_the_environment_or_a_private_file(tmp_path, caplog):
    env = {"SIMENGINE_OPCUA_USER": "operator", "SIMENGINE_OPCUA_PASSWORD": PASSWORD}
    assert credentials_from_env(environ=env) == Credentials("operator", PASSWORD)
    assert credentials_from_env(environ={}) is None
    with pytest.raises(ConfigError, match="SIMENGINE_OPCUA_PASSWORD"):
        credentials_from_env(environ={"SIMENGINE_OPCUA_USER": "operator"})
    private = tmp_path / "plc.cred"
    private.write_text(f"# the crane PLC\nuser: operator\npassword: '{PASSWORD}'\n")
    private.chmod(0o600)
    with caplog.at_level(logging.WARNING):
        creds = load_credentials(private, environ=env)
        assert caplog.text == ""
        shared = tmp_path / "shared.cred"
        shared.write_text(private.read_text())
        shared.chmod(0o644)
        credentials_from_file(shared)
    assert creds.user == "operator" and creds.password.reveal() == PASSWORD
    assert "has mode 644: others may read it" in caplog.text and PASSWORD not in caplog.text
    assert repr(creds) == "Credentials(user='operator', password='********')" and repr(Secret("x")) == "Secret('********')"
    bad = tmp_path / "bad.cred"
    bad.write_text(f"{PASSWORD}\n")
    with pytest.raises(ConfigError) as err:
        credentials_from_file(bad)
    assert "expected 'user: NAME'" in str(err.value) and "password" in str(err.value) and PASSWORD not in str(err.value)


def test_after_a_server_restart_the_client_reconnects_and_records_the_gap():
    m = tagmap(3)

    async def main():
        async with OpcUaServer(m) as srv, OpcUaClient(m, FAST) as client:
            await srv.update([1.0, 2.0, 3.0], t_s=10.0)
            await wait_for(client, lambda b: b.t_s == 10.0)
            await srv.stop()
            outage = await wait_for(client, lambda b: (b.quality == Quality.COMM_FAILURE).all())
            await asyncio.sleep(1.5)  # the server stays down a while
            await srv.start()
            back_at = time.time()
            await srv.update([4.0, 5.0, 6.0], t_s=20.0)
            after = await wait_for(client, lambda b: b.t_s == 20.0, timeout_s=8.0)
            assert srv.drop_connections() == 1
            await wait_for(client, lambda b: (b.quality == Quality.COMM_FAILURE).all())
            await srv.update([7.0, 8.0, 9.0], t_s=30.0)
            await wait_for(client, lambda b: b.t_s == 30.0)
            return outage, after, back_at, list(client.gaps)

    outage, after, back_at, gaps = run(main())
    assert outage[-1].tags.tolist() == [0, 1, 2]
    assert after[-1].values.tolist() == [4.0, 5.0, 6.0] and (after[-1].quality == Quality.GOOD).all()
    assert len(gaps) == 2 and all(g.end_s is not None and g.end_s > g.start_s for g in gaps)
    assert gaps[0].end_s - back_at < deadline(5.0) and gaps[0].end_s - gaps[0].start_s >= 1.5
    assert "lost" in gaps[0].reason


def serve_with_a_restart(m, restart_at_s, down_s, stop, events):
    """A spawned process: serves `m` (every tag = the time, 5 updates/s) until `stop` is set and
    restarts once (`OpcUaServer.restart`) at `restart_at_s`, down `down_s`; puts ("up"/"down",
    Unix time) on `events`."""
    async def main():
        srv, n = OpcUaServer(m), len(m.tags)
        await srv.start()
        events.put(("up", time.time()))
        t0, restarted = time.monotonic(), False
        while not stop.is_set() and time.monotonic() - t0 < 60.0:
            if not restarted and time.monotonic() - t0 >= restart_at_s:
                restarted = True
                events.put(("down", time.time()))
                await srv.restart(down_s)
                events.put(("up", time.time()))
            now = time.time()
            await srv.update(np.full(n, now % 1000.0), t_s=now)
            await asyncio.sleep(0.2)
        await srv.stop()
    asyncio.run(main())


def test_values_keep_arriving_after_a_server_process_restarts():
    """End to end, the server in its own process: every link is back within 5 s of the server's
    return, with a gap recorded, and values keep coming (the race of a client reconnecting to a
    server that is shutting down is pinned by test_a_stopping_server_closes_its_listener_...)."""
    import multiprocessing as mp
    import queue
    n, m = 1500, tagmap(1500)
    cfg = OpcUaClientConfig(publishing_interval_ms=100, reconnect_initial_s=0.05, reconnect_max_s=1.0, watchdog_s=1.0,
                            tags_per_subscription=100, connections=3)
    ctx = mp.get_context("spawn")
    events, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=serve_with_a_restart, args=(m, 1.5, 1.0, stop, events), daemon=True)
    server.start()
    arrivals = []  # (arrival time, tags with a GOOD value, block)
    heard = np.full(n, -np.inf)  # arrival time of each tag's last GOOD value

    def on_block(block):
        good = block.tags[block.quality == Quality.GOOD]
        arrivals.append((time.time(), good, block))
        heard[good] = time.time()

    def all_back(back_at):
        return (heard > back_at).all()

    async def next_event(timeout_s):
        timeout_s = deadline(timeout_s)
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            try:
                return events.get_nowait()
            except queue.Empty:
                await asyncio.sleep(0.02)
        raise AssertionError(f"the server process said nothing within {timeout_s} s")

    async def main():
        assert (await next_event(60))[0] == "up"
        async with OpcUaClient(m, cfg, on_block=on_block) as client:
            assert (await next_event(10))[0] == "down"
            kind, back_at = await next_event(20)
            assert kind == "up"
            while not all_back(back_at) and time.time() < back_at + deadline(5.0):
                await asyncio.sleep(0.1)
            settled, end = time.time(), time.monotonic() + deadline(5.0)
            while not (heard > settled + 1.0).all() and time.monotonic() < end:  # values must keep coming
                await asyncio.sleep(0.1)
            stop.set()
            return back_at, list(client.gaps)

    try:
        back_at, gaps = run(main(), timeout_s=90)
    finally:  # what is tested is over: the server process need not wind down its sessions (3 s)
        server.terminate()
        server.join(timeout=deadline(10))
    failed = np.zeros(n, bool)
    for _, _, b in arrivals:
        failed[b.tags[b.quality == Quality.COMM_FAILURE]] = True
    assert failed.all()  # every tag was reported lost
    first = np.full(n, np.inf)  # first GOOD value after the server's return, per tag
    for t, good, _ in arrivals:
        if t > back_at:
            first[good] = np.minimum(first[good], t)
    assert (first - back_at < deadline(5.0)).all(), f"{np.isinf(first).sum()} tags never heard from again"
    assert (heard > first.max() + 1.0).all()  # and values keep arriving afterwards
    assert {g.link for g in gaps} == {0, 1, 2} and all(g.end_s is not None for g in gaps)
    for link in range(3):
        last = [g for g in gaps if g.link == link][-1]
        assert last.end_s - back_at < deadline(5.0) and last.end_s > back_at and "lost" in last.reason


def test_a_stopping_server_closes_its_listener_before_its_connections():
    """asyncua's stop closes the connections, then (after closing their sessions, which takes a
    while with many subscriptions) the listener: a client reconnecting in between would stay
    connected to a server that never publishes again."""
    m = tagmap(2)

    async def main():
        srv = OpcUaServer(m)
        await srv.start()
        bserver = srv._server.bserver
        close_tasks = bserver._close_tasks

        async def slow_close_tasks():
            await asyncio.sleep(1.0)
            await close_tasks()

        bserver._close_tasks = slow_close_tasks
        stopping = asyncio.create_task(srv.stop())
        await until(lambda: srv._server is None, 3.0, "the server beginning to stop")
        late = Client(m.endpoint.opcua_url, timeout=2)
        try:
            await late.connect()
        except (OSError, asyncio.TimeoutError):
            connected = False
        else:
            connected = True
        await stopping
        await until(lambda: not bserver.iserver.asyncio_transports, 2.0, "every connection closing")
        transports = len(bserver.iserver.asyncio_transports)
        if connected:
            late.disconnect_socket()
        return connected, transports

    connected, transports = run(main())
    assert not connected and transports == 0


def test_a_subscription_that_stops_publishing_is_a_lost_link():
    m = tagmap(3)
    cfg = OpcUaClientConfig(publishing_interval_ms=100, keepalive_s=0.5, reconnect_initial_s=0.2, watchdog_s=0.5)

    async def main():
        async with OpcUaServer(m) as srv, OpcUaClient(m, cfg) as client:
            await srv.update([1.0, 2.0, 3.0], t_s=10.0)
            await wait_for(client, lambda b: b.t_s == 10.0)
            for isub in list(srv._server.iserver.subscription_service.subscriptions.values()):
                await isub.stop()  # the connection stays up and answers, but nothing is published
            stopped = time.monotonic()
            await wait_for(client, lambda b: (b.quality == Quality.COMM_FAILURE).all(), timeout_s=5.0)
            noticed = time.monotonic() - stopped
            await srv.update([4.0, 5.0, 6.0], t_s=20.0)
            after = await wait_for(client, lambda b: b.t_s == 20.0)
            return noticed, after[-1], list(client.gaps)

    noticed, after, gaps = run(main())
    assert noticed < deadline(1.5 * 0.5 + 1.0 + 0.5 + 0.5)  # silence limit + watchdog interval + slack
    assert after.values.tolist() == [4.0, 5.0, 6.0] and (after.quality == Quality.GOOD).all()
    assert len(gaps) == 1 and "neither data nor keep-alive" in gaps[0].reason and gaps[0].end_s is not None


def test_a_server_whose_clock_stops_is_a_lost_link():
    """asyncua's server, once stopped, keeps answering a connection left open (and its
    subscriptions send keep-alives) but its clock stands still."""
    m = tagmap(2)
    cfg = OpcUaClientConfig(publishing_interval_ms=100, server_clock_timeout_s=1.0, reconnect_initial_s=0.2,
                            watchdog_s=0.3)

    async def main():
        async with OpcUaServer(m) as srv, OpcUaClient(m, cfg) as client:
            await srv.update([1.0, 2.0], t_s=10.0)
            await wait_for(client, lambda b: b.t_s == 10.0)
            await until(lambda: all(link.clock_ticks for link in client._links), 3.0,
                        "the client seeing the server's clock advance")
            iserver = srv._server.iserver
            iserver._time_task_stop = True
            await iserver.time_task
            await wait_for(client, lambda b: (b.quality == Quality.COMM_FAILURE).all(), timeout_s=4.0)
            iserver._time_task_stop = False
            iserver.time_task = asyncio.create_task(iserver._set_current_time_loop())
            await srv.update([3.0, 4.0], t_s=20.0)
            await wait_for(client, lambda b: b.t_s == 20.0)
            await asyncio.sleep(1.5)  # the clock runs again: no further loss
            return list(client.gaps)

    gaps = run(main())
    assert len(gaps) == 1 and "clock stood still" in gaps[0].reason and gaps[0].end_s is not None


def test_a_tag_that_hears_nothing_past_its_stale_limit_is_flagged_stale_once():
    m = tagmap(3, t1={"stale_after_s": 0.6})

    async def main():
        async with OpcUaServer(m) as srv, OpcUaClient(m, FAST) as client:
            await srv.update([1.0, 2.0, 3.0], t_s=10.0)
            await wait_for(client, lambda b: b.t_s == 10.0)
            stale = (await wait_for(client, lambda b: (b.quality == Quality.STALE).any(), timeout_s=2.0))[-1]
            quiet = await drain(client, quiet_s=1.2)  # flagged once per silence
            await srv.update([1.0, 4.0, 3.0], t_s=20.0)
            fresh = (await wait_for(client, lambda b: b.t_s == 20.0))[-1]
            again = await wait_for(client, lambda b: (b.quality == Quality.STALE).any(), timeout_s=2.0)
            return stale, quiet, fresh, again[-1]

    stale, quiet, fresh, again = run(main())
    assert stale.tags.tolist() == [1] and stale.values.tolist() == [2.0] and stale.t_s > 1e9
    assert quiet == []
    assert fresh.quality.tolist() == [Quality.GOOD] * 3
    assert again.tags.tolist() == [1] and again.values.tolist() == [4.0]


def test_writes_are_refused_unless_the_tag_is_read_write_and_writes_are_enabled():
    m = tagmap(2, t0={"access": "read_write", "dtype": "int16", "scale": 0.5})

    async def main():
        async with OpcUaServer(m) as srv:
            await srv.update([0.0, 2.0])
            async with OpcUaClient(m, FAST) as client:
                with pytest.raises(PermissionError, match="writes_enabled is False"):
                    await client.write("t0", 10.0)
                with pytest.raises(PermissionError, match="has access 'read'"):
                    await client.write("t1", 10.0)
            async with OpcUaClient(m, OpcUaClientConfig(writes_enabled=True)) as client:
                with pytest.raises(PermissionError, match="has access 'read'"):
                    await client.write("t1", 10.0)
                with pytest.raises(ValueError, match="outside int16"):
                    await client.write("t0", 1e6)
                await client.write("t0", 10.0)
            raw = Client(m.endpoint.opcua_url)  # the server's access levels hold against any client
            async with raw:
                with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                    await raw.get_node("ns=2;s=crane.t1").write_value(ua.Variant(1.0, ua.VariantType.Float))
            return srv.value("t0"), srv.value("t1")

    assert run(main()) == (10.0, 2.0)


def test_a_frozen_server_repeats_values_with_new_timestamps_which_go_stale():
    m = tagmap(2, t0={"stale_after_s": 1.5})

    async def main():
        async with OpcUaServer(m) as srv, OpcUaClient(m, FAST) as client:
            await srv.update([1.0, 2.0], t_s=100.0)
            srv.freeze()
            for k in range(1, 4):
                await srv.update([float(k), float(k)], t_s=100.0 + k)
                await asyncio.sleep(0.15)
            return await wait_for(client, lambda b: b.t_s == 103.0)

    blocks = [b for b in run(main()) if b.t_s < 1e6]  # not the initial 'waiting for data' block
    assert [b.t_s for b in blocks] == [100.0, 101.0, 102.0, 103.0]
    assert all(b.values.tolist() == [1.0, 2.0] for b in blocks)
    assert [int(b.quality[0]) for b in blocks] == [Quality.GOOD, Quality.GOOD, Quality.STALE, Quality.STALE]


def test_connections_and_subscriptions_deliver_each_tag_once_per_update():
    m = tagmap(40)
    cfg = OpcUaClientConfig(publishing_interval_ms=100, connections=2, tags_per_subscription=7)

    async def main():
        async with OpcUaServer(m) as srv, OpcUaClient(m, cfg) as client:
            for k in range(3):
                await srv.update(np.arange(40.0) + k, t_s=200.0 + k)
                await asyncio.sleep(0.05)
            blocks = await drain(client, quiet_s=0.8)
            return blocks, len(client._links), [len(link.client.uaclient.session._subscription_callbacks)
                                                for link in client._links]

    blocks, links, subs = run(main())
    assert links == 2 and subs == [3, 3]
    seen = [(b.t_s, tag) for b in blocks if b.t_s < 1e6 for tag in b.tags.tolist()]
    assert sorted(seen) == [(200.0 + k, tag) for k in range(3) for tag in range(40)]


def test_process_shards_deliver_each_tag_once_per_update():
    m = tagmap(30)

    async def serve():
        async with OpcUaServer(m) as srv:
            await srv.update(np.arange(30.0), t_s=300.0)
            shards = ProcessShards(m, OpcUaClientConfig(publishing_interval_ms=100), processes=2)
            await asyncio.to_thread(shards.start)
            try:
                for k in range(1, 3):
                    await srv.update(np.arange(30.0) + k, t_s=300.0 + k)
                    await asyncio.sleep(0.3)
                blocks = []
                while (block := await asyncio.to_thread(shards.get, deadline(1.0))) is not None:
                    blocks.append(block)
            finally:
                reports = await asyncio.to_thread(shards.stop)
            return blocks, reports

    blocks, reports = run(serve(), timeout_s=60)
    seen = sorted((b.t_s, tag) for b in blocks for tag in b.tags.tolist())
    assert seen == [(300.0 + k, tag) for k in range(3) for tag in range(30)]
    assert [r.shard for r in reports] == [0, 1] and all(r.error is None and r.drops == 0 for r in reports)
    assert sum(r.notifications for r in reports) == 90


def serve_12000_tags(url, ready, stop, out):
    """A spawned process: 12,000 float32 tags updated at 1 Hz until `stop` is set."""
    async def main():
        async with OpcUaServer(bench_map(url)) as srv:
            ready.set()
            rng, k, cpu0, wall0, next_t = np.random.default_rng(0), 0, time.process_time(), time.monotonic(), time.monotonic()
            while not stop.is_set():
                await srv.update(rng.normal(size=12_000), t_s=float(k))
                k, next_t = k + 1, next_t + 1.0
                await asyncio.sleep(max(0.0, next_t - time.monotonic()))
            out.put((k, (time.process_time() - cpu0) / (time.monotonic() - wall0)))
    asyncio.run(main())


def bench_map(url):
    return tagmap_from_dict({"name": "bench", "endpoint": {"opcua_url": url}, "tags": [
        {"name": f"s{i}", "quantity": "x", "asset": i // 12, "opcua": {"node_id": f"ns=2;s=crane{i // 12}.s{i % 12}"}}
        for i in range(12_000)]})


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("SIMENGINE_OPCUA_BENCH") != "1", reason="set SIMENGINE_OPCUA_BENCH=1 to measure")
@pytest.mark.parametrize("processes", [1, 2, 3])
def test_ingest_rate_of_12000_tags_at_1_hz(processes, capsys):
    """Prints (does not assert) values/s delivered and CPU share, the server in its own process."""
    import multiprocessing as mp
    url, window_s = f"opc.tcp://127.0.0.1:{free_port()}/simengine/", 10.0
    ctx = mp.get_context("spawn")
    ready, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    server = ctx.Process(target=serve_12000_tags, args=(url, ready, stop, out))
    server.start()
    assert ready.wait(deadline(120))
    counts, m = {}, bench_map(url)

    def count(block):
        counts[block.t_s] = counts.get(block.t_s, 0) + len(block.tags)

    async def one_process():
        async with OpcUaClient(m, on_block=count) as client:
            cpu0, wall0 = time.process_time(), time.monotonic()
            await asyncio.sleep(window_s)
            return [(time.process_time() - cpu0) / (time.monotonic() - wall0)], client.drops + client.lost_messages

    try:
        if processes == 1:
            cpu, lost = asyncio.run(one_process())
        else:
            with ProcessShards(m, processes=processes) as shards:
                deadline = time.monotonic() + window_s
                while time.monotonic() < deadline:
                    if (block := shards.get(0.5)) is not None:
                        count(block)
            cpu = [r.cpu_s / r.wall_s for r in shards.reports]
            lost = sum(r.drops + r.lost_messages for r in shards.reports)
    finally:
        stop.set()
        updates, server_cpu = out.get(timeout=deadline(30))
        server.join()
    complete = sorted(t for t, n in counts.items() if n == 12_000)
    rate = 12_000 * len(complete) / (complete[-1] - complete[0] + 1)  # t_s counts server updates, 1 s apart
    with capsys.disabled():
        print(f"\n{processes} client process(es): {len(complete)} complete updates of 12,000 tags, {rate:,.0f} "
              f"values/s; client CPU {' '.join(f'{c:.0%}' for c in cpu)}; flagged drops + lost messages {lost}; "
              f"server CPU {server_cpu:.0%} over {updates} updates")
