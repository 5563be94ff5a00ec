"""`sandbox log verify` (the hash chain) and `sandbox replay` (re-apply a log to a fresh copy)."""
from __future__ import annotations

import json
import sys

import click

from sandbox.kernel.errors import SandboxError


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    sys.exit(2)


@click.group()
def log():
    """A sandbox's action log (DESIGN.md §3)."""


@log.command("verify")
@click.argument("name")
@click.pass_obj
def log_verify(obj, name):
    """Check the hash chain of a sandbox's log; names the first broken entry (exit 1)."""
    from sqlalchemy import select

    from sandbox.kernel.actions import verify_chain
    from sandbox.kernel.models import Action
    from sandbox.kernel.sandboxes import find_sandbox

    rt = obj.runtime()
    try:
        with rt.db.read() as s:
            sb = find_sandbox(s, name)
            if sb is None:
                click.echo(f"Lỗi: không có sandbox {name}.", err=True)
                sys.exit(2)
            ok, bad = verify_chain(s, sb.id)
            if ok:
                click.echo(f"Nhật ký của {name} toàn vẹn: {sb.log_seq} bước, chuỗi băm khớp đến bước cuối.")
                return
            entry = s.scalar(select(Action).where(Action.sandbox_id == sb.id, Action.seq == bad))
            what = f" ({entry.name}, {entry.actor}, {entry.at:%d/%m/%Y %H:%M:%S})" if entry is not None else ""
            click.echo(f"Nhật ký của {name} bị sửa: mắt xích hỏng đầu tiên là bước {bad}{what}.")
            sys.exit(1)
    finally:
        rt.close()


@click.command("replay")
@click.argument("name", required=False)
@click.option("--until", "until", type=int, default=None, help="Stop after this step (look at the world as it was).")
@click.option("--keep", is_flag=True, help="Keep the copy NAME~replayN afterwards (it is removed otherwise).")
@click.option("--list", "list_kept", is_flag=True, help="List the kept copies (of NAME, or of every sandbox).")
@click.option("--discard", "discard_name", default=None, metavar="COPY",
              help="Remove a kept copy (NAME~replayN).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable result.")
@click.pass_obj
def replay_cmd(obj, name, until, keep, list_kept, discard_name, as_json):
    """Re-apply a sandbox's log to a fresh copy, step by step, comparing each step's result and
    state; exit 1 at the first step that differs. The copy is removed afterwards unless --keep."""

    from sandbox.replay.api import discard, kept_replays, replay

    if name is None and not list_kept and not discard_name:
        click.echo("Lỗi: hãy cho tên sandbox cần phát lại, hoặc --list, hoặc --discard TÊN~replaySỐ.", err=True)
        sys.exit(2)
    rt = obj.runtime()
    try:
        if list_kept:
            kept = kept_replays(rt, name)
            if as_json:
                click.echo(json.dumps([{"name": k.name, "original": k.original, "steps": k.steps,
                                        "read_only": k.read_only, "created_at": k.created_at.isoformat()}
                                       for k in kept], ensure_ascii=False, indent=1))
            elif not kept:
                click.echo("Không có bản phát lại nào được giữ lại.")
            for k in kept if not as_json else ():
                what = "bản xem của giám khảo (chỉ xem)" if k.read_only else "giữ lại theo yêu cầu"
                click.echo(f"{k.name}\t{k.steps} bước\t{what}")
            return
        if discard_name:
            discard(rt, discard_name)
            click.echo(f"Đã xoá bản phát lại {discard_name}.")
            return
        result = replay(rt, name, until=until, keep=keep)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=1))
    else:
        done = [s for s in result.steps if s.ok]
        where = f"vào {result.replay}" if result.kept else f"vào bản sao {result.replay} (đã xoá sau khi phát lại)"
        click.echo(f"Phát lại {name} {where}: {len(done)} bước khớp.")
        for note in result.notes:
            click.echo(note)
        if result.first_mismatch is not None:
            bad = next(s for s in result.steps if s.seq == result.first_mismatch)
            click.echo(f"Khác biệt đầu tiên ở bước {bad.seq} ({bad.name}, {bad.actor}): {bad.detail}")
        if result.report_same is not None:
            click.echo("Phiếu chấm của bản phát lại " + ("trùng khớp với bản gốc." if result.report_same
                                                          else "KHÁC bản gốc."))
    sys.exit(0 if result.first_mismatch is None and result.report_same is not False else 1)


def register(main: click.Group) -> None:
    main.add_command(log)
    main.add_command(replay_cmd)
