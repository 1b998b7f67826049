"""The inbox service (merged per-role slices, pagination, capped counts, index range scans) and the diagram's
path markers, without a browser."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from sqlalchemy import event, select

from app import clock
from app.resources import shipped_process
from app.adapters.models import Agency, User
from app.services.administration.accounts import create_user
from app.services.queries.inbox import InboxFilter, badge, count_tasks, list_tasks, part_query, queue_filter
from app.web.staff.diagram import path_markers, process_graph

START = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # Monday 08:00 in Vietnam


def _user(system, username: str) -> User:
    with system.db.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        _ = user.roles, user.agency
        return user


def _two_role_user(system) -> User:
    with system.db.session() as session, session.begin():
        pcc1 = session.scalar(select(Agency).where(Agency.slug == "pcc1"))
        create_user(session, username="both.pcc1", password="demo", full_name="Vi Thị Hai Vai",
                    roles=["one_stop", "leader"], agency=pcc1)
    return _user(system, "both.pcc1")


def test_roles_are_merged_by_due_time_and_pages_cover_everything_once(system, api):
    codes = []
    for n in range(5):
        clock.set_global(START + timedelta(minutes=37 * n))
        codes.append(api.file_dossier(agency="pcc1").get_json()["code"])
    for code in codes[1::2]:  # these move on to the leader's assignment
        assert api.complete("one_stop.pcc1", code, "intake", {"decision": "accept"}).status_code == 200
    user = _two_role_user(system)
    now = START + timedelta(hours=3)
    with system.db.session() as session:
        everything = list_tasks(session, user, InboxFilter(), now, page=1, page_size=50).tasks
        assert [t.name for t in everything].count("assign") == 2 and len(everything) == 5
        assert [t.due_at for t in everything] == sorted(t.due_at for t in everything)
        seen = []
        for page in (1, 2, 3):
            result = list_tasks(session, user, InboxFilter(), now, page=page, page_size=2)
            seen += [t.id for t in result.tasks]
            assert result.has_next == (page < 3)
        assert seen == [t.id for t in everything]
        # a queue lists its task names only; the role filter keeps to one role
        assert {t.name for t in list_tasks(session, user, queue_filter("assign"), now).tasks} == {"assign"}
        assert {t.role for t in list_tasks(session, user, InboxFilter(role="one_stop"), now).tasks} == {"one_stop"}
        assert count_tasks(session, user, InboxFilter(), now) == 5
        assert count_tasks(session, user, InboxFilter(), now, cap=3) == 4 and badge(4, cap=3) == "3+"
        assert count_tasks(session, user, queue_filter("intake"), now) == 3
        # the signer sees nothing of these; an unknown role filter gives nothing
        signer = _user(system, "signer.pcc1")
        assert list_tasks(session, signer, InboxFilter(), now).tasks == []
        assert list_tasks(session, user, InboxFilter(role="clerk"), now).tasks == []


def test_due_filters_and_text_search(system, api):
    clock.set_global(START)
    early = api.file_dossier(agency="pcc1", document_type="Sổ hộ khẩu").get_json()["code"]
    clock.set_global(START + timedelta(days=1))
    late = api.file_dossier(agency="pcc1").get_json()["code"]
    user = _user(system, "one_stop.pcc1")
    now = START + timedelta(days=1, hours=1)  # Tuesday 09:00: the first is overdue, the second due today
    with system.db.session() as session:
        def codes(**kw):
            return [t.dossier.code for t in list_tasks(session, user, InboxFilter(**kw), now).tasks]
        assert codes(due="overdue") == [early]
        assert codes(due="today") == [late]
        assert codes(due="later") == []
        assert codes(q=late[-9:]) == [late]
        assert codes(q="nguyễn văn") == [early, late]
        assert codes(q="100%_") == []  # LIKE wildcards are searched for literally


@contextmanager
def captured_sql(engine):
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_inbox_slices_are_index_range_scans(system, api):
    """The plan reads the inbox index in due order and stops at the page: no sort of the whole queue."""
    api.file_dossier(agency="pcc1")
    user = _user(system, "one_stop.pcc1")
    engine = system.db.engine
    for flt in (InboxFilter(), queue_filter("intake"), InboxFilter(due="overdue")):
        with system.db.session() as session:
            with captured_sql(engine) as statements:
                session.scalars(part_query(user, "one_stop", flt.names[0] if flt.names else None, flt,
                                           clock.now(), 26)).all()
            statement, params = statements[-1]
            with engine.connect() as conn:
                if engine.dialect.name == "sqlite":
                    plan = " | ".join(str(row[-1]) for row in conn.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + statement, params))
                    assert "human_tasks USING INDEX ix_inbox_agency_" in plan, plan
                    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, plan
                else:
                    # a test database is tiny: ask whether the index can deliver the order without sorting the queue
                    conn.exec_driver_sql("SET enable_seqscan = off")
                    conn.exec_driver_sql("SET enable_sort = off")
                    plan = " | ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, params))
                    assert "ix_inbox_agency_" in plan, plan
                    assert not re.search(r"(?<!Incremental )Sort  \(", plan), plan  # presorted by the index


def _graph():
    return process_graph(shipped_process("commune"))


def test_path_markers_follow_the_dossier():
    graph = _graph()
    # at intake: only the start and the flow into intake
    markers = path_markers(graph, [], ["intake"], None)
    assert markers.current == ["intake"] and markers.done == ["start"] and markers.flows == ["f_start_intake"]
    # a supplement loop, then accepted and handled, waiting for the signer
    done = ["intake", "notify_supplement", "supplement", "intake", "receive", "handle"]
    markers = path_markers(graph, done, ["review_sign"], None)
    assert {"gw_intake", "fork", "gw_handle", "notify_supplement"} <= set(markers.done)
    assert {"f_gw_intake_supplement", "f_gw_intake_accept", "f_start_intake"} <= set(markers.flows)
    assert "gw_review" not in markers.done and "end_returned" not in markers.done
    assert "f_gw_intake_refuse" not in markers.flows
    # returned: the end event that was reached is marked, the others are not
    done += ["review_sign", "sign_copy_task", "seal", "seal_copy_task", "return", "notify_result"]
    markers = path_markers(graph, done, [], "returned")
    assert "end_returned" in markers.done and "end_refused" not in markers.done and markers.current == []
    # unknown ids (an older diagram) are ignored rather than breaking the page
    assert path_markers(graph, ["no_such_task"], ["nor_this"], None).done == []
    assert graph.names["review_sign"] == "Ký duyệt bản sao"
