"""The ``sandbox`` command: serve, accounts, demo. Errors print one Vietnamese line and exit 2."""
from __future__ import annotations

import os
import sys

import click

from sandbox.kernel.errors import SandboxError
from .runtime import Runtime
from sandbox.kernel.settings import Settings


class _Ctx:
    def __init__(self, data_dir, database_url):
        self.settings = Settings(**({"data_dir": data_dir} if data_dir else {}), database_url=database_url)

    def runtime(self) -> Runtime:
        from sandbox.kernel.migrations import SchemaError

        try:
            return Runtime.open(self.settings)
        except SchemaError as e:  # a schema newer than the code (refused at start): exit 2
            from .dbcli import _fail as _fail_schema
            _fail_schema(e)


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    sys.exit(2)


@click.group()
@click.option("--data-dir", envvar="SANDBOX_DATA_DIR", type=click.Path(file_okay=False), default=None,
              help="Data folder (default ./sandbox-data).")
@click.option("--database-url", envvar="SANDBOX_DATABASE_URL", default=None,
              help="SQLAlchemy URL (default SQLite in the data folder).")
@click.pass_context
def main(ctx, data_dir, database_url):
    """Practical-skills sandbox: mail, document workflow and signing for public servants."""
    from sandbox.kernel.actions import DOOR
    DOOR.set("cli")
    ctx.obj = _Ctx(data_dir, database_url)


@main.command()
@click.argument("components", nargs=-1, type=click.Choice(["all", "web", "smtp", "imap", "worker"]))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--http-port", default=8080, show_default=True, type=int)
@click.option("--smtp-port", default=2525, show_default=True, type=int)
@click.option("--imap-port", default=1143, show_default=True, type=int)
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Web worker processes on gunicorn (Linux; `serve web` alone). Default: the web app "
                   "in this process (waitress). SANDBOX_WEB_WORKERS.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads per web process (default 8, SANDBOX_WEB_THREADS).")
@click.option("--proxy-hops", type=click.IntRange(min=0), default=None,
              help="Proxies in front of the web app whose X-Forwarded-* headers are believed "
                   "(nginx: 1; default 0, SANDBOX_PROXY_HOPS).")
@click.pass_obj
def serve(obj: _Ctx, components, host, http_port, smtp_port, imap_port, workers, threads, proxy_hops):
    """Run the web app, the mail servers and the job worker (all in one process by default;
    name some, e.g. `serve web smtp imap` beside a `serve worker` process). `serve web
    --workers N --threads T` runs the web app on gunicorn (N processes, restarted when one
    dies; waitress in one process on Windows), e.g. behind nginx (`sandbox deploy nginx`)."""
    from .server import gunicorn_available, serve_workers
    from .server import serve as run
    chosen = {"web", "smtp", "imap", "worker"} if not components or "all" in components else set(components)
    settings = obj.settings
    if threads is not None:
        settings.web_threads = threads
    if proxy_hops is not None:
        settings.proxy_hops = proxy_hops
    n = workers if workers is not None else (settings.web_workers if chosen == {"web"} else None)
    if n is not None:
        if chosen != {"web"}:
            click.echo("Lỗi: --workers chỉ dùng với `sandbox serve web` (chạy smtp, imap, worker bằng "
                       "tiến trình riêng, ví dụ `sandbox serve smtp imap` và `sandbox serve worker`).", err=True)
            sys.exit(2)
        if gunicorn_available():
            serve_workers(settings, host, http_port, n, settings.web_threads)
            return
        if os.name == "posix" and n > 1:
            click.echo("Lỗi: cần gunicorn để chạy nhiều tiến trình web (pip install gunicorn).", err=True)
            sys.exit(2)
        click.echo(f"gunicorn không dùng được ở đây: web chạy trong một tiến trình (waitress, "
                   f"{settings.web_threads} luồng).")
    run(obj.runtime(), host, http_port, smtp_port, chosen, imap_port=imap_port)


@main.group()
def account():
    """Mail accounts."""


@account.command("add")
@click.argument("sandbox_name")
@click.argument("address")
@click.option("--password", required=True, help="Password for webmail, SMTP and IMAP.")
@click.option("--name", "display_name", default="", help='Full name, e.g. "Nguyễn Văn An".')
@click.pass_obj
def account_add(obj: _Ctx, sandbox_name, address, password, display_name):
    """Create ADDRESS in SANDBOX_NAME (the sandbox is created if missing)."""
    from mailserver import api as mail_api

    from sandbox.kernel.sandboxes import get_or_create_sandbox
    rt = obj.runtime()
    try:
        sandbox_id = get_or_create_sandbox(rt.db, rt.clock, sandbox_name)
        mail_api.add_account(rt.dispatcher, rt.secret, sandbox_id, address, password, display_name, actor="cli")
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    click.echo(f"Đã tạo tài khoản {address.strip().lower()} trong sandbox {sandbox_name}.")


@main.group()
def sign():
    """Digital signing (Decree 30 two-layer signing)."""


@sign.command("example")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write into.")
def sign_example(out_dir):
    """Write draft.pdf, leader-signed.pdf, issued.pdf (two layers) and root.pem of a throwaway world."""
    from pathlib import Path

    from signing.example import write_example
    try:
        paths = write_example(Path(out_dir))
    except SandboxError as e:
        _fail(e)
    for name, path in paths.items():
        click.echo(f"Đã ghi {path}")


def _trust_context(trust: str):
    """A factory of fresh validation contexts trusting only the given root (pyHanko keeps
    state in a context, so each signature gets its own)."""
    from pathlib import Path

    from pyhanko_certvalidator import ValidationContext

    from signing.pki import load_cert, to_asn1_cert
    try:
        root = to_asn1_cert(load_cert(Path(trust).read_bytes()))
    except (OSError, ValueError) as e:
        click.echo(f"Lỗi: tệp chứng thư gốc {trust} không dùng được ({e}).", err=True)
        sys.exit(2)
    return lambda: ValidationContext(trust_roots=[root], allow_fetching=False)


STATUS_VI = {"valid": "HỢP LỆ: đủ chữ ký, không có gì bị sửa sau khi ký.",
             "incomplete": "CHƯA HOÀN THÀNH: còn trường chữ ký để trống.",
             "invalid": "KHÔNG HỢP LỆ."}


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--trust", "trust", type=click.Path(dir_okay=False), default=None,
              help="Root certificate (PEM or DER) to trust, e.g. root.pem of `sandbox sign example`.")
@click.option("--data-dir", "data_dir", type=click.Path(file_okay=False), default=None,
              help="Data folder of the installation (trust its test root and CRL; find --sandbox there).")
@click.option("--sandbox", "sandbox_name", default=None, help="Name signers after the tokens of this sandbox.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report (fields in README).")
@click.pass_obj
def verify(obj: _Ctx, file, trust, data_dir, sandbox_name, as_json):
    """Check every signature of a PDF. Exit 0 valid, 1 incomplete or invalid, 2 unusable input.

    With --data-dir or --sandbox (and no --trust), the installation's test root and its
    revocation list are trusted."""
    import json
    from pathlib import Path

    from signing.errors import SigningError
    from signing.verify import verify_pdf

    try:
        data = Path(file).read_bytes()
    except OSError as e:
        click.echo(f"Lỗi: không đọc được tệp {file}: {e.strerror}.", err=True)
        sys.exit(2)
    make_context = _trust_context(trust) if trust else None
    people = {}
    if data_dir or sandbox_name:
        from signing.api import people_of, pki_for

        from sandbox.kernel.sandboxes import find_sandbox
        if data_dir:
            obj = _Ctx(data_dir, None)
        rt = obj.runtime()
        try:
            if make_context is None:
                make_context = pki_for(rt).validation_context
            if sandbox_name:
                with rt.db.read() as s:
                    sb = find_sandbox(s, sandbox_name)
                    if sb is None:
                        click.echo(f"Lỗi: không có sandbox {sandbox_name}.", err=True)
                        sys.exit(2)
                    people = people_of(s, sb.id)
        finally:
            rt.close()
    try:
        report = verify_pdf(data, validation_context=make_context, people=people)
    except SigningError as e:
        click.echo(f"Lỗi: {e.message_vi}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        for i, sig in enumerate(report.signatures, 1):
            who = sig.person or sig.signer
            click.echo(f"{i}. {sig.field}: {who} ({'cá nhân' if sig.kind == 'personal' else 'cơ quan' if sig.kind else '?'}), "
                       f"ký lúc {sig.signing_time}; {'nguyên vẹn' if sig.intact else 'BỊ SỬA'}, "
                       f"{'tin cậy' if sig.trusted else 'KHÔNG tin cậy'}{', ĐÃ THU HỒI' if sig.revoked else ''}; "
                       f"{sig.modification_vi}")
        for f in report.empty_fields:
            click.echo(f"   Trường chữ ký {f.field}: còn trống.")
        for v in report.verdicts:
            click.echo(f"[{'đạt' if v.ok else 'KHÔNG ĐẠT'}] {v.message}")
        click.echo(STATUS_VI[report.status])
    sys.exit(0 if report.status == "valid" else 1)


@main.group()
def scenario():
    """Exam sets and drills (scenario files)."""


def _check_validator():
    """The grader's check-type validator when the grader is installed (it is, in this
    distribution); scenarios alone validate structure and cross-references."""
    try:
        from grader.checks import validate_check
    except ImportError:  # pragma: no cover - grader is part of the distribution
        return None
    return validate_check


@scenario.command("list")
def scenario_list():
    """The shipped exam sets and drills."""
    from scenarios.library import library_paths, scenario_id
    from scenarios.validate import validate_file

    kinds = {"exam": "Đề chính", "backup": "Đề dự phòng", "drill": "Bài luyện tập"}
    for path in library_paths():
        sc, problems = validate_file(path, _check_validator())
        if sc is None:
            click.echo(f"{scenario_id(path):32} (LỖI: {len(problems)} vấn đề, chạy: sandbox scenario validate {path})")
            continue
        click.echo(f"{scenario_id(path):32} {kinds[sc.kind]:14} {sc.year}  {_pts(sc.points):>4} điểm  {sc.title}")


def _pts(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x).replace(".", ",")


@scenario.command("validate")
@click.argument("files", nargs=-1, required=True)
def scenario_validate(files):
    """Check scenario files (paths or library ids). Exit 0 when all are valid, 2 otherwise."""
    from scenarios.library import find
    from scenarios.validate import validate_file

    bad = 0
    for ref in files:
        try:
            path = find(ref)
        except SandboxError as e:
            click.echo(f"{ref}: {e.message_vi}", err=True)
            bad += 1
            continue
        _sc, problems = validate_file(path, _check_validator())
        for p in problems:
            click.echo(str(p), err=True)
        if problems:
            bad += 1
        else:
            click.echo(f"{path}: hợp lệ.")
    sys.exit(2 if bad else 0)


@main.group("sandbox")
def sandbox_group():
    """Sandboxes built from exam sets and drills."""


@sandbox_group.command("create")
@click.option("--scenario", "scenario_ref", required=True, help="Scenario id (see `sandbox scenario list`) or a .yaml file.")
@click.option("--seed", type=int, required=True, help="The candidate's seed: it draws their task values.")
@click.option("--name", required=True, help="Sandbox name, e.g. the candidate number.")
@click.option("--practice", is_flag=True, help="Practice mode: per-criterion feedback on demand.")
@click.pass_obj
def sandbox_create(obj: _Ctx, scenario_ref, seed, name, practice):
    """Build a sandbox from a scenario and a seed; prints the candidate's logins and task sheet."""
    from scenarios.build import build
    from scenarios.library import load

    rt = obj.runtime()
    try:
        res = build(rt, load(scenario_ref, _check_validator()), seed, name, practice=practice)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    c = res.candidate
    click.echo(f"Sandbox {res.name}: đề {res.scenario_id}, hạt giống {res.seed}.")
    click.echo(f"Thí sinh: {c.name} - {c.title}")
    click.echo(f"  Đăng nhập (web, SMTP, IMAP): {c.address} / mật khẩu: {c.password}")
    if c.pin:
        click.echo(f"  Mã PIN thiết bị ký số: {c.pin}")
    click.echo("Đề bài:")
    for title, text in res.task_sheet:
        click.echo(f"  {title}\n    {text}")


@main.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the score report as JSON (canonical, byte-stable).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False), default=None, help="Write the HTML report.")
@click.option("--pdf", "pdf_file", type=click.Path(dir_okay=False), default=None, help="Write the PDF report.")
@click.option("--sign", is_flag=True, help="Sign the PDF with the organiser's organisation certificate.")
@click.option("--organiser", default=None, help='Organisation signing the sheet (default "SỞ NỘI VỤ THÀNH PHỐ CẦN THƠ").')
@click.pass_obj
def grade(obj: _Ctx, name, as_json, html_file, pdf_file, sign, organiser):
    """Grade a sandbox against its scenario's rubric."""
    from pathlib import Path

    from grader.engine import grade as grade_state
    from grader.engine import report_json
    from grader.report import num, report_html, report_pdf
    from grader.state import SandboxState
    from scenarios.library import load

    from sandbox.kernel.sandboxes import find_sandbox
    rt = obj.runtime()
    try:
        with rt.db.read() as s:
            sb = find_sandbox(s, name)
        if sb is None:
            click.echo(f"Lỗi: không có sandbox {name}.", err=True)
            sys.exit(2)
        # what the sandbox's NPCs still have to do (the automatic clerk's release) is done first
        from sandbox.kernel.jobs import run_pending
        run_pending(rt, sandbox_id=sb.id)
        state = SandboxState(rt, sb.id)
        report = grade_state(state, load(state.scenario_ref, _check_validator()).scenario)
    except SandboxError as e:
        _fail(e)
    finally:
        rt.close()
    if html_file:
        Path(html_file).write_text(report_html(report), encoding="utf-8")
    if pdf_file:
        pdf = report_pdf(report)
        if sign:
            from grader.sheets import DEFAULT_ORGANISER, sign_sheet
            rt = obj.runtime()
            try:
                pdf = sign_sheet(rt, pdf, f"Phiếu điểm {report['candidate']}", organiser=organiser or DEFAULT_ORGANISER)
            finally:
                rt.close()
        Path(pdf_file).write_bytes(pdf)
    errors = [c for c in report["criteria"] if c["verdict"] == "error"]
    if as_json:
        click.echo(report_json(report), nl=False)
    else:
        verdicts = {"pass": "đạt", "partial": "một phần", "fail": "không đạt", "skipped": "không xét",
                    "error": "LỖI BỘ CHẤM"}
        for c in report["criteria"]:
            click.echo(f"{c['id']:<5} {num(c['awarded']):>4}/{num(c['points']):<4} "
                       f"{verdicts[c['verdict']]:<{12 if errors else 10}} {c['message']}")
        click.echo(f"Tổng: {num(report['total'])}/{num(report['max'])} điểm"
                   + (" (CHƯA PHẢI ĐIỂM CHÍNH THỨC)" if errors else ""))
    if errors:   # the exam's fault, not the candidate's: say so on stderr, even with --json
        click.echo(f"Lỗi bộ chấm: {len(errors)} tiêu chí không chấm được do lỗi của đề thi "
                   f"({', '.join(c['id'] for c in errors)}); điểm trên chưa phải điểm chính thức. "
                   "Sửa đề rồi chấm lại.", err=True)
        for c in errors:
            click.echo(f"  {c['id']}: {c['error']}", err=True)
        sys.exit(2)


@main.group()
def rubric():
    """The rubric as published to candidates."""


@rubric.command("render")
@click.argument("scenario_ref")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True)
@click.option("--out", "out_file", type=click.Path(dir_okay=False), default=None, help="File to write (default: stdout for HTML).")
def rubric_render(scenario_ref, fmt, out_file):
    """Render a scenario's rubric (no parameters, no answer values) from the file the grader runs."""
    from pathlib import Path

    from grader.report import rubric_html, rubric_pdf
    from scenarios.library import load

    try:
        sc = load(scenario_ref, _check_validator()).scenario
    except SandboxError as e:
        _fail(e)
    if fmt == "html":
        if out_file:
            Path(out_file).write_text(rubric_html(sc), encoding="utf-8")
        else:
            click.echo(rubric_html(sc), nl=False)
    else:
        if not out_file:
            click.echo("Lỗi: hãy chỉ định tệp PDF bằng --out.", err=True)
            sys.exit(2)
        Path(out_file).write_bytes(rubric_pdf(sc))


@main.group()
def jobs():
    """Background jobs (the automatic clerk's releases): list, retry, run."""


_STATUS_VI = {"pending": "chờ", "running": "đang chạy", "done": "xong", "failed": "lỗi", "skipped": "bỏ qua"}


@jobs.command("list")
@click.option("--status", "statuses", multiple=True,
              type=click.Choice(["pending", "running", "done", "failed", "skipped"]),
              help="Only these statuses (repeatable). Default: pending, running and failed.")
@click.option("--sandbox", "sandbox_name", default=None, help="Only this sandbox's jobs.")
@click.pass_obj
def jobs_list(obj: _Ctx, statuses, sandbox_name):
    """Jobs, newest first, with their last failure reason."""
    from sqlalchemy import select

    from sandbox.kernel import jobs as kjobs
    from sandbox.kernel.models import Sandbox
    from sandbox.kernel.sandboxes import find_sandbox
    from sandbox.kernel.vnformat import date_time

    rt = obj.runtime()
    try:
        with rt.db.read() as s:
            sb_id = None
            if sandbox_name:
                sb = find_sandbox(s, sandbox_name)
                if sb is None:
                    click.echo(f"Lỗi: không có sandbox {sandbox_name}.", err=True)
                    sys.exit(2)
                sb_id = sb.id
            rows = kjobs.listing(s, statuses=tuple(statuses) or (kjobs.PENDING, kjobs.RUNNING, kjobs.FAILED),
                                 sandbox_id=sb_id)
            names = dict(s.execute(select(Sandbox.id, Sandbox.name).where(
                Sandbox.id.in_({j.sandbox_id for j in rows}))).all()) if rows else {}
            if not rows:
                click.echo("Không có việc nền nào.")
            for j in rows:
                last = j.errors[-1]["reason"] if j.errors else ""
                click.echo(f"#{j.id}\t{names.get(j.sandbox_id, j.sandbox_id)}\t{j.kind}\t{j.key}\t"
                           f"{_STATUS_VI.get(j.status, j.status)}\tlần thử {j.attempts}/{j.max_attempts}\t"
                           f"xếp hàng {date_time(j.queued_at)}" + (f"\t{last}" if last else ""))
            failed = sum(1 for j in rows if j.status == kjobs.FAILED)
    finally:
        rt.close()
    if failed:
        click.echo(f"{failed} việc nền bị lỗi: sửa nguyên nhân rồi chạy `sandbox jobs retry --failed`.", err=True)
        sys.exit(1)


@jobs.command("retry")
@click.argument("job_ids", nargs=-1, type=int)
@click.option("--failed", "all_failed", is_flag=True, help="Every failed job.")
@click.option("--run", "run_now", is_flag=True, help="Run them now in this process (no worker needed).")
@click.pass_obj
def jobs_retry(obj: _Ctx, job_ids, all_failed, run_now):
    """Queue failed jobs again (by id, or every failed one)."""
    from sandbox.kernel import jobs as kjobs

    if not job_ids and not all_failed:
        click.echo("Lỗi: hãy ghi số hiệu việc nền hoặc dùng --failed.", err=True)
        sys.exit(2)
    rt = obj.runtime()
    try:
        again = kjobs.retry(rt, list(job_ids), failed=all_failed, by="cli")
        click.echo(f"Đã xếp hàng lại {len(again)} việc nền" + (": " + ", ".join(f"#{i}" for i in again) if again else ".")
                   )
        if run_now and again:
            ran = kjobs.run_pending(rt)
            bad = [r for r in ran if r.status != kjobs.DONE]
            click.echo(f"Đã chạy {len(ran)} việc nền; {len(bad)} chưa xong.")
            for r in bad:
                click.echo(f"#{r.id}: {r.reason}", err=True)
            if bad:
                sys.exit(1)
    finally:
        rt.close()


@jobs.command("run")
@click.pass_obj
def jobs_run(obj: _Ctx):
    """Run every due job now in this process (where no worker runs)."""
    from sandbox.kernel import jobs as kjobs

    rt = obj.runtime()
    try:
        ran = kjobs.run_pending(rt)
    finally:
        rt.close()
    bad = [r for r in ran if r.status != kjobs.DONE]
    click.echo(f"Đã chạy {len(ran)} việc nền; {len(bad)} chưa xong.")
    for r in bad:
        click.echo(f"#{r.id}: {r.reason}", err=True)
    if bad:
        sys.exit(1)


from sandbox.contest.cli import register as _register_contest  # noqa: E402

_register_contest(main)
from sandbox.training.cli import register as _register_training  # noqa: E402
from sandbox.appeals.cli import register as _register_appeals  # noqa: E402

from sandbox.replay.cli import register as _register_replay  # noqa: E402
from sandbox.demo.cli import register as _register_demo  # noqa: E402

_register_demo(main)  # `sandbox demo`
_register_replay(main)  # `sandbox log verify`, `sandbox replay`
_register_training(main)  # `sandbox training …`
_register_appeals(main)  # regrade, grade-history, appeal
from sandbox.ops.cli import register as _register_ops  # noqa: E402

_register_ops(main)  # `sandbox backup`, `sandbox restore`
from .dbcli import register as _register_db  # noqa: E402

_register_db(main)  # `sandbox db upgrade|current`
from sandbox.deploy.cli import register as _register_deploy  # noqa: E402

_register_deploy(main)  # `sandbox deploy nginx`


if __name__ == "__main__":
    main()
