"""Reading the event log from a node range by range, the ranges adapting to the density of logs and to
the limits a node sets (blocks of one log request, requests of one batch)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.chain.deploy import deploy_all
from ledger.chain.logs import LogEvent, iter_logs
from ledger.chain.session import ChainSession
from ledger.domain.types import MemberKind
from ledger.node import LocalNode
from ledger.services.client import LedgerClient
from tests.faults.proxy import LossyProxy
from tests.nodes import free_port, needs_anvil

pytestmark = needs_anvil
MEMBERS = 30


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ChainSession, dict[str, str]]]:
    node = LocalNode(tmp_path_factory.mktemp("logs") / "node", port=free_port())
    node.start()
    try:
        session = ChainSession.connect(node.url)
        regulator = session.new_account("regulator")
        record, contracts = deploy_all(session, regulator)
        client = LedgerClient(session, contracts)
        for i in range(MEMBERS):  # one block each
            account = session.new_account(f"member-{i}")
            client.enrol(regulator, account=account.address, kind=MemberKind.INDIVIDUAL, in_region=True, uscc=None)
        yield session, record.addresses
    finally:
        node.stop()


def _key(event: LogEvent) -> tuple[int, int]:
    return event.block, event.log_index


def test_small_ranges_give_every_event_once_in_order(chain: tuple[ChainSession, dict[str, str]]) -> None:
    session, addresses = chain
    whole = list(iter_logs(session, addresses, from_block=0, chunk=100_000))
    ranges: list[tuple[int, int, int]] = []
    piecewise = list(iter_logs(session, addresses, from_block=0, chunk=1, on_range=lambda *r: ranges.append(r)))
    assert [e.name for e in whole].count("MemberEnrolled") == MEMBERS
    assert [_key(e) for e in piecewise] == [_key(e) for e in whole]
    assert [_key(e) for e in piecewise] == sorted({_key(e) for e in piecewise})
    assert len(ranges) > 5  # the walk really went range by range (growing from one block)
    assert ranges[-1][0] == ranges[-1][1]  # and ended at the head


def test_a_range_starting_mid_history_reads_only_from_there(chain: tuple[ChainSession, dict[str, str]]) -> None:
    session, addresses = chain
    whole = list(iter_logs(session, addresses, from_block=0, chunk=4))
    middle = whole[len(whole) // 2].block
    later = list(iter_logs(session, addresses, from_block=middle, chunk=4))
    assert later == [e for e in whole if e.block >= middle]


def test_block_times_come_in_one_batch_and_match_each_block(
    chain: tuple[ChainSession, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, _ = chain
    head = session.head()
    fresh = ChainSession.connect(str(session.url))  # nothing known yet
    provider = fresh.w3.provider
    calls: list[str] = []
    for method in ("make_request", "make_batch_request"):
        original = getattr(provider, method)
        monkeypatch.setattr(provider, method, lambda *a, _m=method, _f=original: (calls.append(_m), _f(*a))[1])
    times = fresh.block_times([*range(head + 1), 3, 3])
    assert calls == ["make_batch_request"]
    assert times == {n: session.block_time(n) for n in range(head + 1)}
    assert fresh.block_times(range(3)) == {n: times[n] for n in range(3)} and calls == ["make_batch_request"]


def test_a_log_range_the_node_refuses_is_asked_for_again_in_halves(
    chain: tuple[ChainSession, dict[str, str]],
) -> None:
    """A node may limit the blocks of one `eth_getLogs` below the 2,048 the client asks for at most
    (Besu's `--rpc-max-logs-range`), or the logs of one answer: the history still arrives whole."""
    session, addresses = chain
    with LossyProxy(str(session.url), drop={}, max_log_range=6) as proxy:
        limited = ChainSession.connect(proxy.url)
        read = list(iter_logs(limited, addresses, from_block=0, chunk=64))
        assert proxy.refused["log range"] >= 1
    assert read == list(iter_logs(session, addresses, from_block=0))
    assert [e.name for e in read].count("MemberEnrolled") == MEMBERS


def test_a_batch_the_node_refuses_whole_is_sent_again_in_halves(chain: tuple[ChainSession, dict[str, str]]) -> None:
    """Statements ask for up to 1,000 block times in one batch; Besu takes 1,024 by default, and an
    operator may set fewer (`--rpc-http-max-batch-size`)."""
    session, _ = chain
    head = session.head()
    with LossyProxy(str(session.url), drop={}, max_batch=4) as proxy:
        times = ChainSession.connect(proxy.url).block_times(range(head + 1))
        assert proxy.refused["batch"] >= 1
    assert times == {n: session.block_time(n) for n in range(head + 1)}
