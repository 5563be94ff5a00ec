"""`sandbox training …`: drill classes from the command line (create, join, board, reset)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from sandbox.kernel.errors import SandboxError


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    sys.exit(2)


def _echo_logins(joined) -> None:
    click.echo(f"Học viên số {joined.number}: {joined.name}" + (f" <{joined.email}>" if joined.email else ""))
    for x in joined.logins:
        click.echo(f"  Bài {x.position}: {x.title} (vai {x.person})")
        click.echo(f"    Đăng nhập: {x.login} / mật khẩu: {x.password}")
        if x.pin:
            click.echo(f"    Mã PIN thiết bị ký số: {x.pin}")


@click.group()
def training():
    """Drill classes: trainers run drills in practice mode; trainees join by code or roster."""


@training.command("create")
@click.argument("name")
@click.option("--drill", "drills", multiple=True, required=True,
              help="A drill or exam set (id from `sandbox scenario list`, or a .yaml file); repeat for more.")
@click.option("--code", default=None, help="Join code (letters, digits, '-'); drawn at random if omitted.")
@click.option("--no-code", is_flag=True, help="No join code: trainees come from --roster only.")
@click.option("--roster", "roster_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A UTF-8 file, one trainee a line: «Họ và tên, email». Their logins are printed.")
@click.option("--by", "actor", default="cli", show_default=True, help="Who creates the class (recorded).")
@click.pass_obj
def create(obj, name, drills, code, no_code, roster_file, actor):
    """Create the drill class NAME."""
    from sandbox.training import api as tr

    rt = obj.runtime()
    try:
        roster = tr.parse_roster(Path(roster_file).read_text(encoding="utf-8")) if roster_file else []
        info, joined = tr.create_class(rt, name, drills, code=code, use_code=not no_code, roster=roster, actor=actor)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đã tạo lớp «{info.name}» với {len(info.items)} bài: {', '.join(info.items)}.")
    if info.join_code:
        click.echo(f"Mã tham gia: {info.join_code} (học viên nhập tại /luyen-tap/tham-gia "
                   f"hoặc: sandbox training join {info.join_code} --name \"Họ và tên\")")
    for j in joined:
        _echo_logins(j)


@training.command("join")
@click.argument("code")
@click.option("--name", required=True, help='The trainee\'s full name, e.g. "Nguyễn Văn An".')
@click.pass_obj
def join(obj, code, name):
    """Join the class whose code is CODE; prints the trainee's logins."""
    from sandbox.training import api as tr

    rt = obj.runtime()
    try:
        joined = tr.join(rt, code, name)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    _echo_logins(joined)


@training.command("board")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="The whole board as JSON.")
@click.option("--workers", type=int, default=None, help="Grading processes (default: one per core).")
@click.pass_obj
def board_cmd(obj, name, as_json, workers):
    """The live board of the class NAME: per trainee and criterion, passed / failed / not yet."""
    from sandbox.training import api as tr

    rt = obj.runtime()
    try:
        b = tr.board(rt, tr.class_by_name(rt, name).id, workers=workers)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    if as_json:
        click.echo(json.dumps(b, ensure_ascii=False, indent=1))
        return
    click.echo(f"Lớp «{b['class']['name']}»: {len(b['trainees'])} học viên.")
    for it in b["items"]:
        ids = [c["id"] for c in it["criteria"]]
        click.echo(f"\nBài {it['position']}: {it['title']}")
        click.echo("  " + f"{'Học viên':<28}" + "".join(f"{i:<10}" for i in ids))
        for t in b["trainees"]:
            cell = t["slots"][it["position"] - 1]
            marks = [tr.STATUS_VI[cell["criteria"][i]["status"]] if i in cell["criteria"] else tr.STATUS_VI.get(cell["status"], "")
                     for i in ids]
            click.echo("  " + f"{str(t['number']) + '. ' + t['name']:<28}" + "".join(f"{m:<10}" for m in marks))
        for c in it["criteria"]:
            n = c["counts"]
            click.echo(f"  {c['id']}: {n['passed']} đạt, {n['failed']} chưa đạt, {n['not_yet']} chưa làm — {c['description']}")
    if b["mistakes"]:
        click.echo("\nLỗi thường gặp:")
        for m in b["mistakes"]:
            click.echo(f"  {m['count']} lượt · Bài {m['position']} · {m['criterion']}. {m['description']}")
            for msg in m["messages"][:3]:
                click.echo(f"      {msg['count']} × {msg['text']}")


@training.command("reset")
@click.argument("name")
@click.argument("number", type=int)
@click.option("--drill", "position", type=int, default=None, help="Only this drill (its position, 1, 2, …).")
@click.option("--by", "actor", default="cli", show_default=True, help="Who resets (recorded).")
@click.pass_obj
def reset_cmd(obj, name, number, position, actor):
    """Set trainee NUMBER of the class NAME back to the drill's initial state."""
    from sandbox.training import api as tr

    rt = obj.runtime()
    try:
        info = tr.class_by_name(rt, name)
        who = next((t for t in tr.trainees(rt, info.id) if t["number"] == number), None)
        if who is None:
            raise SandboxError(f"Lớp «{info.name}» không có học viên số {number}.")
        done = tr.reset(rt, info.id, who["id"], position, by=actor)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    for d in done:
        click.echo(f"Đã đặt lại bài {d['position']} của {who['name']}; bài làm cũ được lưu là {d['archived_as']}.")


def register(main: click.Group) -> None:
    main.add_command(training)
