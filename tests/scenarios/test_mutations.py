"""Mutation testing of the scenario library (issue 12).

1. References: in every shipped file, every name a rubric uses (documents, drafts, seed mails
   and their files, units and people, addresses, mails of ``rubric.mails``, tasks, criteria
   in ``requires``) and every name the world and the variants use is changed, one at a time,
   to an unknown name: validation must fail, naming a line.
2. Answers: every criterion's answer (the address, the subject, the words, the file, the unit,
   the role, the deadline, the document…) is changed, one at a time, and the criterion is
   graded again on the golden path's sandbox: its points must drop. A criterion with no answer
   to change (``mail.not_opened``: the golden path opened nothing, whichever mail is named) is
   listed as such.

Each part prints its mutation score (killed / mutants)."""
from __future__ import annotations

import copy
import datetime as dt
from typing import Any, Iterator

import pytest

from grader.checks import REGISTRY, load_all, validate_check
from grader.checks.base import references
from grader.engine import grade_criterion
from grader.state import SandboxState
from scenarios import templates
from scenarios.library import library_paths, load, scenario_id
from scenarios.validate import validate_source, validate_text
from scenarios.yamlsrc import Source, parse
from scenarios.variants import context
from tests.conftest import open_runtime

from .harness import Candidate
from .test_drills import DRILLS
from .test_exam_sets import SETS, golden

UNKNOWN = "khong_co_ten_nay"
PATHS = library_paths()
IDS = [scenario_id(p) for p in PATHS]


# -- 1. references ------------------------------------------------------------------------------
def _get(data, path):
    for p in path:
        data = data[p]
    return data


def _set(data, path, value):
    _get(data, path[:-1])[path[-1]] = value


def _variant_paths(data: dict, ref: str) -> Iterator[tuple]:
    """The places in the variants a placeholder's value comes from (every choice)."""
    root, _, rest = ref.partition(".")
    var = data.get("variants", {}).get(root)
    if var is None:
        return
    for source in ("person", "unit", "incoming", "draft"):
        if source in var:
            if rest in ("", "id"):
                for i in range(len(var[source])):
                    yield ("variants", root, source, i)
            return
    for i, choice in enumerate(var.get("choices", [])):
        if isinstance(choice, dict) and rest in choice and isinstance(choice[rest], str):
            yield ("variants", root, "choices", i, rest)
        elif not rest and isinstance(choice, str):
            yield ("variants", root, "choices", i)


def reference_mutants(data: dict) -> Iterator[tuple[tuple, str]]:
    """(path, what) of every name the file uses, to be replaced by an unknown one."""
    load_all()
    w = data["world"]
    for i, p in enumerate(w["people"]):
        yield ("world", "people", i, "org"), f"người {p['id']}: org"
        if p.get("unit"):
            yield ("world", "people", i, "unit"), f"người {p['id']}: unit"
    yield ("world", "candidate"), "world.candidate"
    for i, _t in enumerate(w.get("extra_tokens", [])):
        yield ("world", "extra_tokens", i, "holder"), "extra_tokens.holder"
        yield ("world", "extra_tokens", i, "certificate_of"), "extra_tokens.certificate_of"
    init = data.get("initial", {})
    for i, m in enumerate(init.get("mail", [])):
        yield ("initial", "mail", i, "mailbox"), f"thư {m.get('id')}: mailbox"
    for i, d in enumerate(init.get("incoming", [])):
        yield ("initial", "incoming", i, "org"), f"văn bản đến {d['id']}: org"
        if d.get("directed_by"):
            yield ("initial", "incoming", i, "directed_by"), f"văn bản đến {d['id']}: directed_by"
        for j, _a in enumerate(d.get("assignments", [])):
            yield ("initial", "incoming", i, "assignments", j, "target"), f"văn bản đến {d['id']}: target"
    for i, d in enumerate(init.get("drafts", [])):
        for key in ("org", "drafter", "signer"):
            yield ("initial", "drafts", i, key), f"dự thảo {d['id']}: {key}"
        for j, r in enumerate(d.get("recipients", [])):
            for key in ("unit", "org"):
                if r.get(key):
                    yield ("initial", "drafts", i, "recipients", j, key), f"dự thảo {d['id']}: nơi nhận"
    for name, var in data.get("variants", {}).items():
        for source in ("person", "unit", "org", "incoming", "draft"):
            for j, _v in enumerate(var.get(source, [])):
                yield ("variants", name, source, j), f"tham số {name}"
    rubric = data["rubric"]
    for iid, intent in rubric.get("mails", {}).items():
        for j, a in enumerate(intent.get("attachments", [])):
            yield ("rubric", "mails", iid, "attachments", j, "seed_mail"), f"thư {iid}: seed_mail"
            yield ("rubric", "mails", iid, "attachments", j, "name"), f"thư {iid}: tệp"
        if intent.get("reply_to"):
            yield ("rubric", "mails", iid, "reply_to"), f"thư {iid}: reply_to"
        if intent.get("task"):
            yield ("rubric", "mails", iid, "task"), f"thư {iid}: task"
    for i, c in enumerate(rubric["criteria"]):
        if c.get("task"):
            yield ("rubric", "criteria", i, "task"), f"{c['id']}: task"
        if c.get("requires"):
            yield ("rubric", "criteria", i, "requires"), f"{c['id']}: requires"
        checks = [("rubric", "criteria", i, "check")] + [("rubric", "criteria", i, "partial", j, "check")
                                                         for j, _p in enumerate(c.get("partial", []))]
        for cpath in checks:
            chk = _get(data, cpath)
            cls = REGISTRY[chk["type"]]
            fields = {n: f for n, f in cls.Params.model_fields.items()}
            for pname, raw in chk.get("params", {}).items():
                if pname not in fields or not _is_ref_field(cls, pname):
                    continue
                items = raw if isinstance(raw, list) else [raw]
                for k, item in enumerate(items):
                    ipath = cpath + ("params", pname) + ((k,) if isinstance(raw, list) else ())
                    if isinstance(item, dict):          # {unit: ..., phrases: ...}
                        item, ipath = item.get("unit"), ipath + ("unit",)
                    if not isinstance(item, str):
                        continue
                    refs = templates.references(item)
                    if not refs:
                        yield ipath, f"{c['id']}: {pname}"
                    elif item == "{" + refs[0] + "}":
                        for vpath in _variant_paths(data, refs[0]):
                            yield vpath, f"{c['id']}: {pname} qua tham số {refs[0]}"


def _is_ref_field(cls, name: str) -> bool:
    """Whether a parameter (or the items of a parameter group) names something."""
    from grader.checks.base import Ref, _ref_of
    f = cls.Params.model_fields[name]
    if any(isinstance(m, Ref) for m in f.metadata) or _ref_of(f.annotation) is not None:
        return True
    return name == "expected"


@pytest.mark.parametrize("path", PATHS, ids=IDS)
def test_every_reference_changed_to_an_unknown_name_fails_validation(path, capsys):
    src = parse(path.read_text(encoding="utf-8"))
    data = src.data
    survivors, seen, killed = [], set(), 0
    for mpath, what in reference_mutants(data):
        if mpath in seen:
            continue
        seen.add(mpath)
        mutant = copy.deepcopy(data)
        _set(mutant, mpath, UNKNOWN)
        _sc, problems = validate_source(Source(mutant, src.lines), path.name, validate_check)
        if problems and all(p.line for p in problems):
            killed += 1
        else:
            survivors.append((what, mpath))
    with capsys.disabled():
        print(f"\n{path.name}: tham chiếu bị đổi {killed}/{len(seen)} bị phát hiện")
    assert len(seen) >= 10
    assert not survivors, survivors


def test_the_typo_of_the_issue_is_caught_with_its_line():
    """Finding 2: `doc: kh98` changed to `doc: kh99` validated as "hợp lệ"."""
    path = next(p for p in PATHS if p.name == "thi-2022-de-1.yaml")
    text = path.read_text(encoding="utf-8")
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if "docflow.directive, params: {doc: kh98}" in ln)
    _sc, problems = validate_text(text.replace("params: {doc: kh98}}", "params: {doc: kh99}}", 1),
                                  "thi-2022-de-1.yaml", validate_check)
    assert [str(p) for p in problems] == [
        f"thi-2022-de-1.yaml:{line}: tiêu chí D1: tham số 'doc' của docflow.directive: "
        "văn bản đến 'kh99' không có trong đề"]


# -- 2. answers ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def golden_sandboxes(tmp_path_factory):
    rt = open_runtime(tmp_path_factory.mktemp("mutations"))
    out = {}
    for sid in IDS:
        loaded = load(sid)
        c = Candidate(rt, loaded, 2, f"gold-{sid}")
        if sid in SETS:
            golden(c, SETS[sid])
        else:
            DRILLS[sid](c)
        out[sid] = (loaded, c)
    yield rt, out
    rt.close()


def _other_address(state, value: str) -> str:
    """Someone else of the world, whom the golden path wrote to in no field."""
    reached = {a for m in state.sent_mail() for a in m.recipients}
    return next((p.email.lower() for p in state.scenario.world.people
                 if p.email.lower() not in reached | {value, state.candidate_address}),
                "nguoi-khac@" + state.candidate_address.split("@")[1])


def answer_mutants(state, check_type: str, params: dict) -> Iterator[tuple[str, dict]]:
    """(what, params) with the answer of a rendered check changed."""
    units = sorted(state.anchors.get("units", {}))
    drafts = sorted(state.anchors.get("drafts", {}))
    docs = sorted(state.anchors.get("incoming", {}))

    def other(seq, value):
        return next((x for x in seq if x != value), None)

    for key, value in params.items():
        m = dict(params)
        if key in ("address", "to") and isinstance(value, str):
            m[key] = _other_address(state, value.lower())
        elif key == "allowed":
            m[key] = list(value)[1:]
        elif key == "equals":
            m[key] = value + " (sai)"
        elif key in ("contains", "phrases"):
            m[key] = ["cụm từ không có trong thư"]
        elif key == "attachment" and params.get("seed_mail"):
            files = list(state.seed_mail(params["seed_mail"])["attachments"])
            alt = other(files, value)
            if alt is None:
                continue
            m[key] = alt
        elif key == "target" and value is not None:
            alt = other([u for u in units] + sorted(state.anchors.get("people", {})), value)
            m[key] = alt
        elif key == "role" and check_type == "docflow.assigned" and params.get("target") is not None:
            m[key] = {"xlc": "ph", "ph": "db", "db": "ph"}[value]
        elif key == "deadline" and value is not None:
            m[key] = value + dt.timedelta(days=1)
        elif key == "field":
            m[key] = {"to": "cc", "cc": "bcc", "bcc": "to", "any": "bcc"}[value]
        elif key == "expected":
            items = value if isinstance(value, list) else [value]
            first = items[0]["unit"] if isinstance(items[0], dict) else items[0]
            m[key] = [other(units, first)]
        elif key == "draft":
            alt = other(drafts, value)
            if alt is None:
                continue
            m[key] = alt
        elif key == "doc" and value is not None:
            alt = other(docs, value)
            if alt is None:
                continue
            m[key] = alt
        elif key == "seed_mail" and check_type in ("mail.reported", "mail.reply_in_thread"):
            alt = other(sorted(state.anchors.get("mail", {})), value)
            if alt is None:
                continue
            m[key] = alt
        else:
            continue
        yield f"{key}: {value!r} → {m[key]!r}", m


#: criteria whose check has no answer the golden path could get wrong by a change of name
NO_ANSWER = {"mail.not_opened"}


@pytest.mark.parametrize("sid", IDS)
def test_every_answer_changed_changes_the_golden_score(golden_sandboxes, sid, capsys):
    load_all()
    rt, sandboxes = golden_sandboxes
    loaded, c = sandboxes[sid]
    sc = loaded.scenario
    state = SandboxState(rt, c.sid)
    ctx = context(sc, state.values, state.start_date)
    state.use_rubric(sc, ctx)
    survivors, killed, total, exempt = [], 0, 0, []
    done: dict[str, dict] = {}
    for crit in sc.rubric.criteria:
        base = done[crit.id] = grade_criterion(state, crit, ctx, done)
        assert base["verdict"] == "pass", (crit.id, base)
        if crit.check.type in NO_ANSWER:
            exempt.append(crit.id)
            continue
        rendered = templates.render_value(crit.check.params, ctx)
        mutants = list(answer_mutants(state, crit.check.type, rendered))
        if not mutants:   # e.g. a directive on the only document, the only draft's signature
            exempt.append(crit.id)
            continue
        for what, params in mutants:
            total += 1
            changed = crit.model_copy(deep=True)
            changed.check = changed.check.model_copy(update={"params": params})
            changed.partial = []
            row = grade_criterion(state, changed, ctx, done)
            if row["awarded"] < base["awarded"]:
                killed += 1
            else:
                survivors.append((crit.id, what))
    with capsys.disabled():
        print(f"\n{sid}: đáp án bị đổi {killed}/{total} làm đổi điểm"
              + (f" (không có đáp án để đổi: {', '.join(exempt)})" if exempt else ""))
    assert not survivors, survivors
