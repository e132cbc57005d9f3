"""Evidence coalescing on the live stream (pure): at most one ``evidence_added`` per alert per
window, every fix counted, other entries in order, ids never going down."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from api.stream.coalesce import EVIDENCE, EvidenceCoalescer
from api.stream.service import Item


def _item(i: int, alert: int, topic: str = EVIDENCE, fixes: int = 1) -> Item:
    data: dict[str, Any] = {"fixes": fixes, "latest": {"seq": i}} if topic == EVIDENCE else {}
    payload = {"event": {"at": f"t{i}", "data": data}, "alert": {"id": alert}}
    return Item(i, 1, topic, payload)


def test_first_goes_out_the_rest_fold_until_the_window_ends() -> None:
    c = EvidenceCoalescer(30.0)
    assert [x.id for x in c.offer(_item(1, 7), 0.0)] == [1]
    assert c.offer(_item(2, 7, fixes=2), 5.0) == []
    assert c.offer(_item(3, 7, fixes=3), 10.0) == []
    assert c.next_due() == 30.0
    assert c.due(29.9) == []
    (folded,) = c.due(30.0)
    data = folded.payload["event"]["data"]
    assert (folded.id, data["fixes"], data["latest"]) == (3, 5, {"seq": 3})
    assert data["coalesced"] == {
        "entries": 2, "fixes": 5, "first_event_at": "t2", "outbox_ids": [2, 3],
    }  # fmt: skip
    assert c.offer(_item(4, 7), 31.0) == []  # within 30 s of the folded one


def test_another_entry_of_the_alert_sends_the_fold_first() -> None:
    c = EvidenceCoalescer(30.0)
    c.offer(_item(1, 7), 0.0)
    c.offer(_item(2, 7), 1.0)
    out = c.offer(_item(3, 7, topic="alert.resolved"), 2.0)
    assert [(x.id, x.topic) for x in out] == [(2, EVIDENCE), (3, "alert.resolved")]


def test_ids_never_go_down_and_zero_folds_nothing() -> None:
    c = EvidenceCoalescer(30.0)
    c.offer(_item(1, 7), 0.0)
    c.offer(_item(2, 7), 1.0)  # held
    assert [x.id for x in c.offer(_item(5, 8), 2.0)] == [5]
    assert [x.id for x in c.flush()] == [5]  # alert 7's fold, sent after id 5
    plain = EvidenceCoalescer(0.0)
    assert [x.id for i in range(1, 4) for x in plain.offer(_item(i, 7), 0.0)] == [1, 2, 3]


@given(
    st.lists(
        st.tuples(st.integers(1, 3), st.sampled_from([EVIDENCE, EVIDENCE, "alert.escalated"]),
                  st.integers(0, 5), st.floats(0, 20)),
        max_size=60,
    ),
    st.floats(0.5, 30),
)  # fmt: skip
def test_stream_properties(entries: list[tuple[int, str, int, float]], every_s: float) -> None:
    """Whatever arrives: every fix is counted once, other entries all go out in order, ids never
    go down, and a window between two evidence entries of an alert is at least ``every_s``
    unless another entry of that alert forced the fold out."""
    c = EvidenceCoalescer(every_s)
    now = 0.0
    sent: list[tuple[float, Item, bool]] = []  # when, what, sent early (flush, other entry)
    for i, (alert, topic, fixes, step) in enumerate(entries, start=1):
        prev, now = now, now + step
        for t in (prev + step / 2, now):
            sent += [(t, x, False) for x in c.due(t)]
        forced = topic != EVIDENCE  # another entry of the alert sends its fold first
        sent += [(now, x, forced) for x in c.offer(_item(i, alert, topic, fixes), now)]
    sent += [(now, x, True) for x in c.flush()]
    items = [x for _, x, _ in sent]
    assert [x.id for x in items] == sorted(x.id for x in items)
    for alert in (1, 2, 3):
        want = sum(f for a, t, f, _ in entries if a == alert and t == EVIDENCE)
        mine = [s for s in sent if s[1].payload["alert"]["id"] == alert]
        got = sum(x.payload["event"]["data"]["fixes"] for _, x, _ in mine if x.topic == EVIDENCE)
        assert got == want
        others = [x.payload["event"]["at"] for _, x, _ in mine if x.topic != EVIDENCE]
        assert others == [f"t{i}" for i, (a, t, _, _) in enumerate(entries, 1)
                          if a == alert and t != EVIDENCE]  # fmt: skip
        last_evidence: float | None = None
        for t, x, early in mine:
            if x.topic != EVIDENCE:
                last_evidence = None  # the window starts afresh after another entry
                continue
            if last_evidence is not None and not early:
                assert t - last_evidence >= every_s - 1e-9
            last_evidence = t
