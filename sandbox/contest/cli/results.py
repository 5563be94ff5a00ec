"""Commands of `sandbox contest` for the examiner: `grade` (the whole contest's practical part on
every core) and `report` (the official report as DOCX, PDF, XLSX, and its text)."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from sandbox.contest.cli.group import contest
from sandbox.kernel.errors import SandboxError


def _fail(e: SandboxError):
    click.echo(f"Lỗi: {e.message_vi}", err=True)
    sys.exit(2)


@contest.command("grade")
@click.argument("contest_id")
@click.option("--workers", type=int, default=None, help="Worker processes (default: every core).")
@click.option("--actor", default="giam-khao", show_default=True, help="Who grades (recorded).")
@click.option("--include-imported", is_flag=True,
              help="Also grade candidates whose practical score was imported from a file (replacing it).")
@click.pass_obj
def grade_cmd(obj, contest_id, workers, actor, include_imported):
    """Grade every present candidate's practical part and store the score reports (imported
    and hand-entered scores are kept)."""
    from sandbox.contest.grading import grade_contest
    try:
        summary = grade_contest(obj.runtime(), contest_id, workers=workers, actor=actor,
                                include_imported=include_imported)
    except SandboxError as e:
        _fail(e)
    for line in summary.lines():
        click.echo(line)
    if summary.grader_errors or summary.failed_jobs:   # graded, but not final: the exam set must be fixed and graded again
        sys.exit(2)
    if summary.errors:
        sys.exit(1)


@contest.command("report")
@click.argument("contest_id")
@click.option("--docx", "docx_path", type=click.Path(dir_okay=False), default=None, help="Write the report as DOCX.")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False), default=None, help="Write the report as PDF.")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), default=None,
              help="Write the results to Excel (candidates, units, tiers, awards).")
@click.option("--text", "as_text", is_flag=True, help="Print the report's text (the default when no file is asked).")
@click.option("--no-appendix", is_flag=True, help="Leave out the per-candidate table of the DOCX and PDF.")
@click.pass_obj
def report_cmd(obj, contest_id, docx_path, pdf_path, xlsx_path, as_text, no_appendix):
    """The official results report of a contest."""
    from sandbox.contest import report
    from sandbox.contest.results import results_for
    try:
        res = results_for(obj.runtime(), contest_id)
    except SandboxError as e:
        _fail(e)
    written = []
    if docx_path:
        Path(docx_path).write_bytes(report.report_docx(res, appendix=not no_appendix))
        written.append(docx_path)
    if pdf_path:
        Path(pdf_path).write_bytes(report.report_pdf(res, appendix=not no_appendix))
        written.append(pdf_path)
    if xlsx_path:
        Path(xlsx_path).write_bytes(report.results_xlsx(res))
        written.append(xlsx_path)
    if as_text or not written:
        click.echo(report.report_text(res), nl=False)
    for path in written:
        click.echo(f"Đã ghi {path}", err=True)


@contest.command("sheet")
@click.argument("code")
@click.option("--number", default=None, help="A candidate's sheet (số báo danh).")
@click.option("--unit", "unit_name", default=None, help="A unit's sheet (its name as on the roster).")
@click.option("--out", "out_file", required=True, type=click.Path(dir_okay=False))
@click.option("--no-sign", is_flag=True, help="Do not sign with the organiser's certificate.")
@click.option("--organiser", default=None, help="Organisation that signs (default SỞ NỘI VỤ THÀNH PHỐ CẦN THƠ).")
@click.pass_obj
def sheet_cmd(obj, code, number, unit_name, out_file, no_sign, organiser):
    """A signed score sheet of one candidate or one unit (check it later with `sandbox verify`)."""
    import sys
    from pathlib import Path

    from sandbox.kernel.errors import SandboxError

    from sandbox.contest.sheets import candidate_sheet_pdf, signed, unit_sheet_pdf

    if bool(number) == bool(unit_name):
        click.echo("Lỗi: chọn một thí sinh (--number) hoặc một đơn vị (--unit).", err=True)
        sys.exit(2)
    rt = obj.runtime()
    try:
        pdf = candidate_sheet_pdf(rt, code, number) if number else unit_sheet_pdf(rt, code, unit_name)
        if not no_sign:
            pdf = signed(rt, pdf, f"Phiếu điểm {number}" if number else f"Bảng điểm {unit_name}", organiser)
    except SandboxError as e:
        click.echo(f"Lỗi: {e.message_vi}", err=True)
        sys.exit(2)
    finally:
        rt.close()
    Path(out_file).write_bytes(pdf)
    click.echo(f"Đã ghi {out_file}" + ("" if no_sign else " (đã ký số bằng chứng thư số của cơ quan tổ chức)."))
