"""Commands of `sandbox contest` (see sandbox/contest/cli/) for the organiser, and the
`sandbox admin` group (organiser, examiner and trainer logins for /quan-tri)."""
from __future__ import annotations

import sys

import click

from sandbox.contest.cli.group import contest
from sandbox.kernel.errors import SandboxError


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    sys.exit(2)


@click.group()
def admin():
    """Logins of organisers, examiners and trainers (the /quan-tri pages)."""


@admin.command("add")
@click.argument("login")
@click.option("--name", "full_name", required=True, help='Full name, e.g. "Nguyễn Văn An".')
@click.option("--role", type=click.Choice(["organiser", "examiner", "trainer"]), required=True)
@click.option("--password", required=True, help="At least 8 characters.")
@click.pass_obj
def admin_add(obj, login, full_name, role, password):
    """Create (or reset) the admin login LOGIN."""
    from sandbox.contest.api import add_admin
    rt = obj.runtime()
    try:
        ref = add_admin(rt, login, full_name, role, password)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đã tạo tài khoản quản trị {ref.login} ({ref.full_name}, {ref.role_vi}).")


@admin.command("list")
@click.pass_obj
def admin_list(obj):
    """The admin logins."""
    from sandbox.contest.api import list_admins
    rt = obj.runtime()
    try:
        for ref in list_admins(rt):
            click.echo(f"{ref.login:24} {ref.role_vi:12} {ref.full_name}")
    finally:
        rt.close()


# --- sandbox contest … ----------------------------------------------------------------------

def _run(obj, fn):
    """Open the runtime, run ``fn(rt)``, print a SandboxError as one Vietnamese line (exit 2)."""
    rt = obj.runtime()
    try:
        return fn(rt)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()


def _num(x: float) -> str:
    from sandbox.kernel import vnformat
    return vnformat.number(x, 0) if float(x).is_integer() else vnformat.number(x, 1)


@contest.command("create")
@click.argument("code")
@click.option("--name", required=True, help='The contest\'s name, e.g. "Cuộc thi … năm 2023".')
@click.option("--year", type=int, required=True)
@click.option("--part", "parts", multiple=True, required=True, help='A part and its points: "Lý thuyết=60" (repeat).')
@click.option("--duration", type=int, default=60, show_default=True, help="Minutes.")
@click.option("--rule", "rules", multiple=True, help="Override a rule: key=value (e.g. zero_part_fails=false, "
                                                     "awards.city.first=2).")
@click.pass_obj
def create_cmd(obj, code, name, year, parts, duration, rules):
    """Create the contest CODE with its parts, duration and rules."""
    from sandbox.contest.api import create_contest, rules_vi
    info = _run(obj, lambda rt: create_contest(rt, code, name, year, list(parts), duration, list(rules), actor="cli"))
    click.echo(f"Đã tạo cuộc thi {info.code}: {info.name} ({info.year}), {info.duration_minutes} phút, "
               f"tổng {_num(info.total_points)} điểm.")
    for line in rules_vi(info):
        click.echo(f"  - {line}")


@contest.command("list")
@click.pass_obj
def list_cmd(obj):
    """The contests."""
    from sandbox.contest.api import list_contests
    for info in _run(obj, list_contests):
        parts = " + ".join(f"{p.name} {_num(p.points)}" for p in info.parts)
        click.echo(f"{info.code:16} {info.year}  {info.name}  ({parts}; {info.duration_minutes} phút)")


@contest.command("show")
@click.argument("code")
@click.pass_obj
def show_cmd(obj, code):
    """A contest: parts, rules, units, shifts, rooms and the number of candidates."""
    from sandbox.contest.api import contest_info, list_candidates, list_rooms, list_shifts, list_units, rules_vi

    def show(rt):
        info = contest_info(rt, code)
        click.echo(f"{info.name} ({info.code}, năm {info.year}), {info.duration_minutes} phút")
        click.echo("Quy định:")
        for line in rules_vi(info):
            click.echo(f"  - {line}")
        units, cands = list_units(rt, code), list_candidates(rt, code)
        click.echo(f"Đơn vị: {len(units)}; thí sinh: {len(cands)}")
        for sh in list_shifts(rt, code):
            n = sum(1 for c in cands if c.shift == sh.name)
            click.echo(f"Ca «{sh.name}»: đề {sh.scenario_id}, dự phòng {sh.backup_scenario_id or '(chưa có)'}, {n} thí sinh")
        for r in list_rooms(rt, code):
            click.echo(f"Phòng «{r.name}»: {r.seats} chỗ")
    _run(obj, show)


def _print_report(report) -> None:
    for line in report.lines():
        click.echo(line)


def _import(obj, fn, file, partial, dry_run):
    from pathlib import Path
    report = _run(obj, lambda rt: fn(rt, Path(file), partial=partial, dry_run=dry_run, actor="cli"))
    _print_report(report)
    if report.problems and not report.saved:
        sys.exit(2)
    sys.exit(1 if report.problems else 0)


_partial = click.option("--partial", is_flag=True, help="Save the good rows even when others are rejected.")
_dry = click.option("--dry-run", is_flag=True, help="Only check the file and print the report.")


@contest.command("import-units")
@click.argument("code")
@click.argument("file", type=click.Path(dir_okay=False))
@_partial
@_dry
@click.pass_obj
def import_units_cmd(obj, code, file, partial, dry_run):
    """Declare units from FILE (.xlsx/.csv, columns "Đơn vị", "Cấp"). Exit 2 when nothing was saved."""
    from sandbox.contest.roster import import_units
    _import(obj, lambda rt, f, **kw: import_units(rt, code, f, **kw), file, partial, dry_run)


@contest.command("add-unit")
@click.argument("code")
@click.argument("name")
@click.option("--tier", required=True, help="sở, huyện or xã")
@click.pass_obj
def add_unit_cmd(obj, code, name, tier):
    """Declare one unit."""
    from sandbox.contest.roster import add_unit
    _run(obj, lambda rt: add_unit(rt, code, name, tier))
    click.echo(f"Đã thêm đơn vị «{name}».")


@contest.command("import-roster")
@click.argument("code")
@click.argument("file", type=click.Path(dir_okay=False))
@_partial
@_dry
@click.pass_obj
def import_roster_cmd(obj, code, file, partial, dry_run):
    """Import candidates from FILE (.xlsx/.csv). Prints every problem by row and column; exit 2
    when rows were rejected and nothing saved, 1 when saved with --partial and rows rejected."""
    from sandbox.contest.roster import import_roster
    _import(obj, lambda rt, f, **kw: import_roster(rt, code, f, **kw), file, partial, dry_run)


@contest.command("import-scores")
@click.argument("code")
@click.argument("file", type=click.Path(dir_okay=False))
@_partial
@_dry
@click.pass_obj
def import_scores_cmd(obj, code, file, partial, dry_run):
    """Import part scores from FILE: "Số báo danh", one column per part, "Vắng" (absence reason)."""
    from sandbox.contest.scores_import import import_scores
    _import(obj, lambda rt, f, **kw: import_scores(rt, code, f, **kw), file, partial, dry_run)


@contest.command("add-shift")
@click.argument("code")
@click.argument("name")
@click.option("--scenario", required=True, help="Exam set id (sandbox scenario list).")
@click.option("--backup", default="", help="Backup exam set id.")
@click.option("--start", default=None, help='Start, local time: "2023-06-10 08:00".')
@click.pass_obj
def add_shift_cmd(obj, code, name, scenario, backup, start):
    """Add (or change) the shift NAME with its exam set and backup set."""
    from sandbox.contest.shifts import add_shift
    starts_at = _parse_start(start) if start else None
    _run(obj, lambda rt: add_shift(rt, code, name, scenario, backup, starts_at))
    click.echo(f"Đã lưu ca thi «{name}»: đề {scenario}" + (f", dự phòng {backup}" if backup else "") + ".")


def _parse_start(text: str):
    from datetime import datetime

    from sandbox.kernel.clock import VN_TZ, as_utc
    for fmt in ("%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M"):
        try:
            return as_utc(datetime.strptime(text.strip(), fmt).replace(tzinfo=VN_TZ))
        except ValueError:
            continue
    click.echo(f"Lỗi: thời điểm bắt đầu «{text}» không hợp lệ (dạng \"2023-06-10 08:00\" hoặc \"10/06/2023 08:00\").",
               err=True)
    sys.exit(2)


@contest.command("add-room")
@click.argument("code")
@click.argument("name")
@click.option("--seats", type=int, required=True)
@click.pass_obj
def add_room_cmd(obj, code, name, seats):
    """Add (or resize) the room NAME."""
    from sandbox.contest.shifts import add_room
    _run(obj, lambda rt: add_room(rt, code, name, seats))
    click.echo(f"Đã lưu phòng thi «{name}»: {seats} chỗ.")


@contest.command("seat")
@click.argument("code")
@click.option("--number", default=None, help="Place one candidate (with --shift, --room, --seat).")
@click.option("--shift", default=None)
@click.option("--room", default=None)
@click.option("--seat", "seat_no", type=int, default=None)
@click.pass_obj
def seat_cmd(obj, code, number, shift, room, seat_no):
    """Give every unseated candidate a shift, room and seat (or place one candidate)."""
    from sandbox.contest.shifts import assign_seat, seat_candidates
    if number:
        if not (shift and room and seat_no):
            click.echo("Lỗi: xếp một thí sinh cần đủ --shift, --room và --seat.", err=True)
            sys.exit(2)
        _run(obj, lambda rt: assign_seat(rt, code, number, shift, room, seat_no))
        click.echo(f"Đã xếp thí sinh {number}: ca «{shift}», phòng «{room}», ghế {seat_no}.")
        return
    res = _run(obj, lambda rt: seat_candidates(rt, code))
    click.echo(f"Đã xếp chỗ cho {res.seated} thí sinh ({res.already} đã có chỗ từ trước).")
    for name, n in res.per_shift.items():
        click.echo(f"  Ca «{name}»: thêm {n} thí sinh")


@contest.command("roster")
@click.argument("code")
@click.option("--shift", default=None)
@click.option("--room", default=None)
@click.pass_obj
def roster_cmd(obj, code, shift, room):
    """The candidates with their place, exam set, sandbox and attendance."""
    from sandbox.contest.shifts import list_candidates
    att = {"present": "có mặt", "absent": "vắng", "": ""}
    for c in _run(obj, lambda rt: list_candidates(rt, code, shift, room)):
        place = f"{c.shift}/{c.room}/{c.seat}" if c.shift else "-"
        click.echo(f"{c.number:12} {c.full_name:28} {c.unit[:30]:30} {place:20} {c.scenario_id:16} "
                   f"{c.sandbox_name:20} {att[c.attendance]}" + (f" ({c.absence_reason})" if c.absence_reason else ""))


@contest.command("candidate")
@click.argument("code")
@click.argument("number")
@click.pass_obj
def candidate_cmd(obj, code, number):
    """One candidate by number."""
    from sandbox.contest.shifts import candidate_by_number
    c = _run(obj, lambda rt: candidate_by_number(rt, code, number))
    click.echo(f"{c.number}: {c.full_name}, {c.title}, {c.unit}")
    click.echo(f"  Ca «{c.shift}», phòng «{c.room}», ghế {c.seat}; đề {c.scenario_id}; sandbox {c.sandbox_name or '(chưa tạo)'}")
    if c.backup_reason:
        click.echo(f"  Đã chuyển đề dự phòng: {c.backup_reason}")


@contest.command("attendance")
@click.argument("code")
@click.argument("numbers", nargs=-1, required=True)
@click.option("--present/--absent", default=True, help="Present (default) or absent (with --reason).")
@click.option("--reason", default="", help="Absence reason.")
@click.pass_obj
def attendance_cmd(obj, code, numbers, present, reason):
    """Mark candidates present, or absent with a reason."""
    from sandbox.contest.shifts import mark_attendance

    def mark(rt):
        for n in numbers:
            mark_attendance(rt, code, n, present, reason)
    _run(obj, mark)
    click.echo(f"Đã ghi {'có mặt' if present else 'vắng'}: {', '.join(numbers)}.")


@contest.command("switch-backup")
@click.argument("code")
@click.option("--number", default=None, help="One candidate.")
@click.option("--shift", default=None, help="With --room: the whole room of this shift.")
@click.option("--room", default=None)
@click.option("--reason", required=True, help="Why (recorded).")
@click.pass_obj
def switch_backup_cmd(obj, code, number, shift, room, reason):
    """Give one candidate, or a room of a shift, the backup exam set (then run `provision`)."""
    from sandbox.contest.shifts import switch_to_backup
    done = _run(obj, lambda rt: switch_to_backup(rt, code, reason, number=number, shift=shift, room=room))
    click.echo(f"Đã chuyển {len(done)} thí sinh sang đề dự phòng" + (f": {', '.join(done)}." if done else ".")
               + " Chạy lại lệnh provision để tạo sandbox mới.")


@contest.command("provision")
@click.argument("code")
@click.option("--shift", required=True)
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes building at once (default: every core, for 48 sandboxes or more).")
@click.pass_obj
def provision_cmd(obj, code, shift, workers):
    """Build the sandboxes of a shift (skips those already built), with a progress bar."""
    from sandbox.contest.provision import provision_shift, shift_candidates

    def run(rt):
        _, _, ids = shift_candidates(rt, code, shift)
        with click.progressbar(length=len(ids), label=f"Tạo sandbox ca «{shift}»", show_pos=True,
                               file=sys.stderr) as bar:
            return provision_shift(rt, code, shift, progress=lambda done, total, n: bar.update(1), actor="cli",
                                   workers=workers)
    res = _run(obj, run)
    for line in res.lines():
        click.echo(line)
    sys.exit(2 if res.errors else 0)


@contest.command("slips")
@click.argument("code")
@click.option("--shift", default=None, help="Only this shift.")
@click.option("--room", default=None, help="Only this room.")
@click.option("--url", "portal_url", default="", envvar="SANDBOX_PORTAL_URL",
              help="The portal address printed on the slips, e.g. http://thi.cantho.gov.vn/thi-sinh.")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False))
@click.pass_obj
def slips_cmd(obj, code, shift, room, portal_url, out_file):
    """Print login slips (PDF, eight to an A4 page)."""
    from pathlib import Path

    from sandbox.contest.slips import slips_pdf
    data = _run(obj, lambda rt: slips_pdf(rt, code, shift, portal_url, room=room))
    Path(out_file).write_bytes(data)
    click.echo(f"Đã ghi {out_file}.")
