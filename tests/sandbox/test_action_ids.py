"""Every action declares the ids of its arguments and results (what a replay translates,
nothing by name); registration refuses an action whose ids are not declared; the path
syntax; the state digest's registry; the in-place column migration."""
from __future__ import annotations

import pytest
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from sandbox.kernel import actions
from sandbox.kernel.actions import (ACTIONS, ID_KINDS, SPECS, STATE_CONTRIBUTORS, ActionDeclarationError, KindBy, action,
                             id_kinds, map_ids, paired_ids, parse_id_path, undeclared_ids)


def test_every_registered_action_declares_its_ids(runtime):
    """(The runtime imports every package, so every action is registered.)"""
    assert set(SPECS) == set(ACTIONS) and len(SPECS) > 40
    from sandbox.kernel.db import Base

    for spec in SPECS.values():
        assert spec.handler is ACTIONS[spec.name]
        assert isinstance(spec.ids, tuple) and isinstance(spec.result_ids, tuple)
    # every kind declared is the id of a known table, whose created rows the log records
    declared = {k for spec in SPECS.values() for k in spec.kinds_used() | spec.kinds_made()}
    assert declared <= set(ID_KINDS), declared - set(ID_KINDS)
    assert set(ID_KINDS.values()) <= set(Base.metadata.tables)
    # an id an argument declares must be made by some action (returned, or created), or a
    # replay could never translate it
    used = {k for spec in SPECS.values() for k in spec.kinds_used()}
    assert used <= {k for spec in SPECS.values() for k in spec.kinds_made()}
    assert SPECS["docflow.viewed"].ids[0].kind == KindBy("doc_kind", {"in": "incoming", "out": "outgoing"},
                                                         default="outgoing")
    # every package contributes to the state digest, naming the tables it reads
    assert set(STATE_CONTRIBUTORS) == {"mail", "docflow", "docflow_views", "signing", "scenario"}
    assert all(c.tables for c in STATE_CONTRIBUTORS.values())


def test_an_undeclared_id_is_refused_at_registration():
    def handler(ctx, *, doc_id: int, text: str = "") -> dict:
        return {}

    with pytest.raises(ActionDeclarationError, match="'doc_id' looks like an id"):
        action("test.undeclared", ids={}, result_ids={})(handler)
    with pytest.raises(ActionDeclarationError, match="declare ids="):
        action("test.undeclared")
    with pytest.raises(ActionDeclarationError, match="declare result_ids="):
        action("test.undeclared", ids={"doc_id": "incoming"})

    def counted(ctx, *, target: int, limit: int | None = None) -> dict:  # int-typed: ids unless said
        return {}

    with pytest.raises(ActionDeclarationError, match="'target' looks like an id"):
        action("test.undeclared", ids={}, result_ids={}, not_ids=("limit",))(counted)
    with pytest.raises(ActionDeclarationError, match="'nothing', which the handler does not take"):
        action("test.undeclared", ids={"nothing": "item"}, result_ids={})(handler)
    with pytest.raises(ActionDeclarationError, match="both an id and not an id"):
        action("test.undeclared", ids={"doc_id": "incoming"}, result_ids={}, not_ids=("doc_id",))(handler)
    with pytest.raises(ActionDeclarationError, match="bad kind"):
        action("test.undeclared", ids={"doc_id": "Incoming Doc"}, result_ids={})
    with pytest.raises(ActionDeclarationError, match="cannot read"):
        action("test.undeclared", ids={"rows[x]": "unit"}, result_ids={})
    with pytest.raises(ActionDeclarationError, match="must be the last step"):
        action("test.undeclared", ids={"flags{}.x": "item"}, result_ids={})
    assert "test.undeclared" not in ACTIONS and "test.undeclared" not in SPECS

    action("test.declared", ids={"doc_id": "incoming"}, result_ids={"made_id": "incoming"})(handler)
    action("test.counted", ids={"target": "unit"}, result_ids={}, not_ids=("limit",))(counted)
    assert SPECS["test.declared"].ids[0].root == "doc_id"
    for name in ("test.declared", "test.counted"):
        del ACTIONS[name], SPECS[name]


def _paths(decl: dict):
    return tuple(parse_id_path(t, k) for t, k in decl.items())


def test_declared_paths_translate_exactly_what_they_name():
    paths = _paths({"incoming_id": "incoming", "assignments[].unit_id": "unit", "assignments[].person_id": "person",
                    "recipients[].id": KindBy("kind", {"unit": "unit", "org": "org"}), "flags{}": "item",
                    "mapping[][2]": "item", "anchors.orgs.*": "org", "anchors.incoming.*.incoming_id": "incoming"})
    value = {"incoming_id": 1, "unit_id": 5, "note": "giữ nguyên 5",
             "assignments": [{"unit_id": 5, "role": "xlc"}, {"person_id": 7, "role": "ph"}],
             "recipients": [{"kind": "unit", "id": 5}, {"kind": "org", "id": 2}, {"kind": "email", "address": "a@b.vn"}],
             "flags": {"9": "\\Seen", "10": ""}, "mapping": [[1, 4, 9], [2, 5, 10]],
             "anchors": {"orgs": {"snv": 2}, "incoming": {"kh98": {"incoming_id": 1, "arrival_number": 5}}}}
    new = map_ids(value, paths, lambda kind, old, _p: {"incoming": 100, "unit": 500, "person": 700, "org": 200,
                                                        "item": 900}[kind] + old)
    assert new == {"incoming_id": 101, "unit_id": 5, "note": "giữ nguyên 5",  # not declared: left alone
                   "assignments": [{"unit_id": 505, "role": "xlc"}, {"person_id": 707, "role": "ph"}],
                   "recipients": [{"kind": "unit", "id": 505}, {"kind": "org", "id": 202},
                                  {"kind": "email", "address": "a@b.vn"}],
                   "flags": {"909": "\\Seen", "910": ""}, "mapping": [[1, 4, 909], [2, 5, 910]],
                   "anchors": {"orgs": {"snv": 202},
                               "incoming": {"kh98": {"incoming_id": 101, "arrival_number": 5}}}}
    assert value["assignments"][0]["unit_id"] == 5  # the original is not changed
    # pairing a recorded value with its replayed twin (keys used as ids are not learnt from)
    assert sorted(paired_ids(value, new, paths)) == sorted([
        ("incoming", 1, 101), ("unit", 5, 505), ("person", 7, 707), ("unit", 5, 505), ("org", 2, 202),
        ("item", 9, 909), ("item", 10, 910), ("org", 2, 202), ("incoming", 1, 101)])


def test_undeclared_ids_in_a_logged_entry_are_found():
    action("test.gaps", ids={"rows[].unit_id": "unit"}, result_ids={"made_id": "item"})(
        lambda ctx, *, rows: {})
    try:
        assert undeclared_ids("test.gaps", {"rows": [{"unit_id": 1, "person_id": 2}]},
                              {"made_id": 3, "other_ids": [4, 5], "open": {"id": 6}}) == [
            "rows.0.person_id", "other_ids.0", "other_ids.1", "open.id"]
        assert undeclared_ids("test.gaps", {"rows": [{"unit_id": 1}]}, {"made_id": 3, "count": 2}) == []
    finally:
        del ACTIONS["test.gaps"], SPECS["test.gaps"]


def test_every_logged_entry_of_a_built_exam_is_declared(sqlite_runtime):
    from sandbox.kernel.models import Action
    from scenarios.library import load
    from tests.scenarios.harness import Candidate

    c = Candidate(sqlite_runtime, load("thi-2024-de-1"), 3, "ts003")
    with sqlite_runtime.db.read() as s:
        log = list(s.scalars(select(Action).where(Action.sandbox_id == c.sid)))
    assert [(e.name, gap) for e in log for gap in undeclared_ids(e.name, e.args, e.result)] == []
    assert all(e.state_digest and e.state_parts for e in log)
    # the rows each action created, by kind: the build's accounts come with their five folders
    first = next(e for e in log if e.name == "mail.create_account")
    assert first.created["account"] == [first.result["account_id"]]
    assert first.created["mailbox"] == sorted(first.result["mailbox_ids"])
    with pytest.raises(ActionDeclarationError):
        id_kinds({"item": "another_table"})  # one table per kind, one kind per table


def test_a_state_digest_leaves_out_database_ids(sqlite_runtime):
    """Two sandboxes built alike (different row ids) have the same state digest."""
    from sandbox.kernel.models import Sandbox
    from scenarios.library import load
    from tests.scenarios.harness import Candidate

    rt = sqlite_runtime
    a = Candidate(rt, load("thi-2022-de-1"), 5, "ts005")
    Candidate(rt, load("thi-2022-de-2"), 5, "other")  # rows in between: the ids shift
    b = Candidate(rt, load("thi-2022-de-1"), 5, "ts005b")
    with rt.db.read() as s:
        pa, pb = actions.state_parts(s, a.sid), actions.state_parts(s, b.sid)
        assert s.get(Sandbox, a.sid).log_seq == s.get(Sandbox, b.sid).log_seq
    # only what the sandbox's name goes into differs: its certificates' serials (so the
    # tokens' fingerprints) - no id
    assert set(pa) == set(pb) and sorted(k for k in pa if pa[k] != pb[k]) == ["signing/tokens"]


def test_nullable_columns_are_added_to_an_older_database(tmp_path):
    """A data folder made before ``actions.state_digest`` (and before migrations: ``create_all``,
    no ``alembic_version``): adopted at the next start, the columns added (issue 15:
    ``migrations._add_baseline_nullable_columns``)."""
    from sandbox.kernel.db import Database
    from sandbox.runtime import register_models
    from tests.conftest import open_runtime

    from sandbox.kernel import migrations

    md = register_models()
    url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    old = Database(url)
    baseline = set(migrations.script_directory().get_revision(migrations.BASELINE).module.TABLES)
    md.create_all(old.engine, tables=[t for t in md.sorted_tables if t.name in baseline])   # as create_all did
    with old.engine.begin() as conn:
        for column in ("state_parts", "state_digest", "created"):
            conn.exec_driver_sql(f"ALTER TABLE actions DROP COLUMN {column}")
    assert "state_digest" not in {c["name"] for c in sa_inspect(old.engine).get_columns("actions")}
    old.dispose()
    rt = open_runtime(tmp_path)
    try:
        assert {"state_digest", "state_parts", "created"} <= {
            c["name"] for c in sa_inspect(rt.db.engine).get_columns("actions")}
    finally:
        rt.close()
