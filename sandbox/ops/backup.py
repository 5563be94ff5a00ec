"""Backup and restore of a whole installation (``sandbox backup``, ``sandbox restore``).

One ``.tar.gz`` holds everything an installation needs to come back on another machine:

* ``database/sandbox.sqlite``: SQLite copied with the online backup API
  (``sqlite3.Connection.backup``, one step: a consistent snapshot, safe while the installation
  serves; WAL readers never block its writers), or ``database/sandbox.pgdump``: PostgreSQL with
  ``pg_dump --format=custom`` in the snapshot of a REPEATABLE READ transaction that also
  counts the rows (``pg_export_snapshot``/``--snapshot``), so counts and dump agree;
* ``files/…``: the data folder but the database and the logs: the blobs, the installation's
  secret (``secret.key``: sessions, password tags), the test PKI's CA keys and revocations
  (``signing/ca/``), the TLS key, whatever else lives there;
* ``manifest.json`` (last): format and version, the database kind, row counts of every table,
  and per part (``database``, ``blobs``, ``secret``, ``signing``, ``other``) the number of files,
  their bytes and a SHA-256 (of the file for the database; of the sorted ``path sha256`` lines
  for a group of files).

The database is copied first and the files after it: every blob a copied row names was written
before its row committed, so it is in the archive (later blobs may be too, harmlessly).

Restore extracts into a staging folder beside the target, checks every part against the
manifest, refuses a non-empty target (data folder or database) unless ``force``, then installs:
the files, the SQLite file at the target's database path, or ``pg_restore`` into the target's
PostgreSQL database (created when missing: a new database name is the way to restore beside
a live one), and checks the restored row counts. The archive holds the secret and the CA keys:
it is written with mode 0600 and must be kept like them.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sandbox.kernel.errors import SandboxError

FORMAT = "sandbox-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DB_MEMBER = {"sqlite": "database/sandbox.sqlite", "postgresql": "database/sandbox.pgdump"}
FILES = "files/"
#: top-level entries of the data folder that are not backed up
SKIP_TOP = {"logs"}
GROUPS = ("blobs", "secret", "signing", "other")
_BLOB = re.compile(r"blobs/([0-9a-f]{2})/([0-9a-f]{62})")
WORK_PREFIX = ".sandbox-backup-"


class BackupError(SandboxError):
    pass


@dataclass
class Outcome:
    path: Path
    manifest: dict

    def summary_vi(self) -> str:
        m = self.manifest
        tables = m["counts"]["tables"]
        parts = m["parts"]
        where = "trong CSDL" if m.get("blobs") == "database" else "trong thư mục"
        return (f"{tables.get('sandboxes', 0)} sandbox, {tables.get('actions', 0)} bước nhật ký, "
                f"{sum(tables.values())} dòng trong {len(tables)} bảng; {m['counts']['blobs']} tệp dữ liệu "
                f"(blobs, {where}), {parts['signing']['files']} tệp khoá ký số, {parts['other']['files']} tệp khác; "
                f"CSDL {m['database']['kind']}")


# --- where things are ----------------------------------------------------------------------------


def database_kind(url: str) -> str:
    from sqlalchemy.engine import make_url

    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return "sqlite"
    if backend in ("postgresql", "postgres"):
        return "postgresql"
    raise BackupError(f"Chưa hỗ trợ sao lưu loại cơ sở dữ liệu {backend}.", f"unsupported backend {backend}")


def sqlite_path(url: str) -> Path:
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        raise BackupError("Cơ sở dữ liệu SQLite không nằm trong một tệp: không sao lưu được.", f"sqlite url {url!r}")
    return Path(name).resolve()


def _sqlite_siblings(path: Path) -> list[Path]:
    return [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]


def find_pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore``: in ``$SANDBOX_PG_BIN``, on the PATH, or the newest
    ``/usr/lib/postgresql/*/bin`` (Debian's client packages)."""
    folder = os.environ.get("SANDBOX_PG_BIN")
    if folder and (Path(folder) / name).is_file():
        return str(Path(folder) / name)
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
                        key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parts[-3].split(".")])
    if candidates:
        return str(candidates[-1])
    raise BackupError(f"Không tìm thấy {name}: cài gói postgresql-client (Debian) hoặc đặt SANDBOX_PG_BIN.",
                      f"{name} not found")


def _libpq(url: str) -> tuple[str, dict]:
    """A libpq URI for the PostgreSQL tools (no password in it) and their environment (the
    password in ``PGPASSWORD``, never on a command line)."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    env = dict(os.environ)
    if u.password:
        env["PGPASSWORD"] = str(u.password)
    uri = u.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(cmd: list[str], env: dict, what: str) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        raise BackupError(f"{what} không thành công: {' / '.join(tail) or f'mã thoát {proc.returncode}'}",
                          f"{cmd[0]} exited {proc.returncode}: {proc.stderr}")


# --- counting ------------------------------------------------------------------------------------


def _count_tables(conn) -> dict[str, int]:
    """Rows of every table (SQLAlchemy connection)."""
    from sqlalchemy import inspect, text

    quote = conn.dialect.identifier_preparer.quote
    return {t: conn.execute(text(f"SELECT count(*) FROM {quote(t)}")).scalar() or 0
            for t in sorted(inspect(conn).get_table_names())}


def _revision(conn) -> str | None:
    from sqlalchemy import inspect, text

    if not inspect(conn).has_table("alembic_version"):
        return None
    return ",".join(sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all())) or None


def _sqlite_counts(path: Path) -> tuple[dict[str, int], str | None]:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return _count_tables(conn), _revision(conn)
    finally:
        engine.dispose()


def _sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def group_of(rel: str) -> str:
    top = rel.split("/", 1)[0]
    if top == "blobs":
        return "blobs"
    if rel == "secret.key":
        return "secret"
    if top == "signing":
        return "signing"
    return "other"


class _Groups:
    """Per group: files, bytes and the lines ``path sha256`` whose SHA-256 is the group's."""

    def __init__(self):
        self.lines = {g: [] for g in GROUPS}
        self.bytes = {g: 0 for g in GROUPS}

    def add(self, rel: str, digest: str, size: int) -> None:
        g = group_of(rel)
        self.lines[g].append(f"{rel} {digest}\n")
        self.bytes[g] += size

    def parts(self) -> dict:
        return {g: {"files": len(self.lines[g]), "bytes": self.bytes[g],
                    "sha256": hashlib.sha256("".join(sorted(self.lines[g])).encode()).hexdigest()}
                for g in GROUPS}


# --- backup --------------------------------------------------------------------------------------


def _snapshot_sqlite(url: str, dest: Path) -> tuple[dict, str | None]:
    src_path = sqlite_path(url)
    if not src_path.is_file():
        raise BackupError(f"Không thấy cơ sở dữ liệu SQLite {src_path}.", f"no sqlite file {src_path}")
    src = sqlite3.connect(str(src_path), timeout=60)
    try:
        src.execute("PRAGMA busy_timeout=60000")
        dst = sqlite3.connect(str(dest))
        try:
            src.backup(dst)  # one step: the whole database as of one moment
            ok = dst.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    if ok != "ok":
        raise BackupError("Bản sao cơ sở dữ liệu SQLite bị lỗi khi kiểm tra.", f"quick_check: {ok}")
    return _sqlite_counts(dest)


def _snapshot_postgres(url: str, dest: Path) -> tuple[dict, str | None]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    pg_dump = find_pg_tool("pg_dump")
    uri, env = _libpq(url)
    engine = create_engine(url, poolclass=NullPool, isolation_level="REPEATABLE READ")
    try:
        with engine.connect() as conn:
            snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar()
            counts, revision = _count_tables(conn), _revision(conn)
            _run([pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={dest}", f"--dbname={uri}"],
                 env, "pg_dump")
            conn.rollback()
    except BackupError:
        raise
    except Exception as e:  # noqa: BLE001 - e.g. the server is away
        raise BackupError(f"Không kết nối được PostgreSQL để sao lưu ({type(e).__name__}).", str(e)) from e
    finally:
        engine.dispose()
    return counts, revision


def blob_storage(settings) -> str:
    """``files`` (the data folder's ``blobs/``) or ``database`` (the ``blobs`` table, the
    folder only a read-through cache, not backed up)."""
    try:
        from sandbox.kernel.blobs import blob_storage as storage
    except ImportError:  # a kernel that keeps blobs in files only
        return "files"
    try:
        return storage(settings)
    except ValueError as e:
        raise BackupError(f"Cấu hình nơi lưu tệp dữ liệu không hợp lệ: {e}.", str(e)) from e


def _data_files(data_dir: Path, skip: set[Path], *, skip_blobs: bool = False):
    """(relative posix path, absolute path) of every regular file of the data folder to keep."""
    for root, dirs, files in os.walk(data_dir):
        here = Path(root)
        if here == data_dir:
            dirs[:] = [d for d in dirs if d not in SKIP_TOP and not (skip_blobs and d == "blobs")]
        dirs[:] = sorted(d for d in dirs if not d.startswith(WORK_PREFIX))
        for name in sorted(files):
            path = here / name
            if name.startswith((".tmp-", ".health-")) or name.endswith(".tmp") or path.resolve() in skip:
                continue
            if not path.is_file() or path.is_symlink():
                continue
            yield path.relative_to(data_dir).as_posix(), path


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o600, mtime: float = 0) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = int(mtime)
    tar.addfile(info, io.BytesIO(data))


def backup(settings, out: Path | str, *, clock=None) -> Outcome:
    """Back the installation of ``settings`` up into ``out`` (a ``.tar.gz``, mode 0600)."""
    from sandbox.kernel.clock import Clock

    from .health import version

    out = Path(out).resolve()
    data_dir = Path(settings.data_dir).resolve()
    if not data_dir.is_dir():
        raise BackupError(f"Không có thư mục dữ liệu {data_dir}.", f"no data dir {data_dir}")
    kind = database_kind(settings.database_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    skip = {out, tmp_out}
    blobs_in = blob_storage(settings)
    if kind == "sqlite":
        skip.update(p.resolve() for p in _sqlite_siblings(sqlite_path(settings.database_url)))
    created_at = (clock or Clock()).now().isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=WORK_PREFIX) as work:
        db_file = Path(work) / PurePosixPath(DB_MEMBER[kind]).name
        if kind == "sqlite":
            counts, revision = _snapshot_sqlite(settings.database_url, db_file)
        else:
            counts, revision = _snapshot_postgres(settings.database_url, db_file)
        db_sha, db_size = _sha256_file(db_file)
        groups = _Groups()
        fd = os.open(tmp_out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw:
                with tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as tar:
                    tar.add(str(db_file), arcname=DB_MEMBER[kind], recursive=False, filter=_anonymous)
                    for rel, path in _data_files(data_dir, skip, skip_blobs=blobs_in == "database"):
                        try:
                            data = path.read_bytes()
                            st = path.stat()
                        except FileNotFoundError:  # removed while we walked (a temporary file)
                            continue
                        _add_bytes(tar, FILES + rel, data, st.st_mode & 0o777, st.st_mtime)
                        groups.add(rel, hashlib.sha256(data).hexdigest(), len(data))
                    manifest = {
                        "format": FORMAT, "format_version": FORMAT_VERSION, "version": version(),
                        "created_at": created_at,
                        "database": {"kind": kind, "member": DB_MEMBER[kind], "schema_revision": revision},
                        "blobs": blobs_in,
                        "counts": {"tables": counts, "blobs": len(groups.lines["blobs"]) if blobs_in == "files"
                                   else counts.get("blobs", 0)},
                        "parts": {"database": {"files": 1, "bytes": db_size, "sha256": db_sha}, **groups.parts()},
                    }
                    _add_bytes(tar, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True)
                               .encode("utf-8"), 0o644)
                raw.flush()
                os.fsync(raw.fileno())
            os.replace(tmp_out, out)
        except BaseException:
            try:
                os.unlink(tmp_out)
            except FileNotFoundError:
                pass
            raise
    return Outcome(out, manifest)


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    return info


# --- restore -------------------------------------------------------------------------------------


def read_manifest(archive: Path | str) -> dict:
    """The manifest of a backup (reads through the archive)."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.getmember(MANIFEST)
            return json.loads(tar.extractfile(member).read())
    except (OSError, tarfile.TarError, KeyError, ValueError) as e:
        raise BackupError(f"Tệp {archive} không phải bản sao lưu dùng được ({type(e).__name__}).", str(e)) from e


def _safe_member(name: str) -> str | None:
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        return None
    return p.as_posix()


def _extract(archive: Path, staging: Path) -> tuple[dict, dict[str, tuple[str, int]]]:
    """Every member into ``staging`` (regular files only, no path outside it): the manifest and
    ``{member: (sha256, size)}``."""
    seen: dict[str, tuple[str, int]] = {}
    manifest = None
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                name = _safe_member(member.name)
                if member.isdir():
                    continue
                if name is None or not member.isfile():
                    raise BackupError(f"Bản sao lưu chứa mục không hợp lệ: {member.name}.", f"bad member {member.name!r}")
                src = tar.extractfile(member)
                if name == MANIFEST:
                    manifest = json.loads(src.read())
                    continue
                dest = staging / name
                dest.parent.mkdir(parents=True, exist_ok=True)
                h = hashlib.sha256()
                size = 0
                fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, (member.mode & 0o777) or 0o600)
                with os.fdopen(fd, "wb") as f:
                    for chunk in iter(lambda: src.read(1 << 20), b""):
                        h.update(chunk)
                        size += len(chunk)
                        f.write(chunk)
                os.utime(dest, (member.mtime, member.mtime))
                seen[name] = (h.hexdigest(), size)
    except BackupError:
        raise
    except (OSError, tarfile.TarError, EOFError, ValueError) as e:
        raise BackupError(f"Không đọc được bản sao lưu {archive} ({type(e).__name__}): tệp hỏng hoặc không phải "
                          "bản sao lưu.", str(e)) from e
    if manifest is None:
        raise BackupError(f"Tệp {archive} không có manifest.json: không phải bản sao lưu của sandbox.", "no manifest")
    return manifest, seen


def check_manifest(manifest: dict, seen: dict[str, tuple[str, int]]) -> str:
    """The database kind, after checking format and every part; raises with the first mismatch."""
    if manifest.get("format") != FORMAT:
        raise BackupError("Tệp không phải bản sao lưu của sandbox (manifest sai định dạng).", "bad format")
    if int(manifest.get("format_version", 0)) > FORMAT_VERSION:
        raise BackupError(f"Bản sao lưu có định dạng mới hơn ({manifest.get('format_version')}) phiên bản này "
                          f"đọc được ({FORMAT_VERSION}): hãy khôi phục bằng phiên bản {manifest.get('version')}.",
                          "newer format")
    kind = manifest["database"]["kind"]
    if kind not in DB_MEMBER:
        raise BackupError(f"Bản sao lưu có loại cơ sở dữ liệu không biết: {kind}.", f"kind {kind}")
    parts = manifest["parts"]
    db = seen.get(DB_MEMBER[kind])
    if db is None or db != (parts["database"]["sha256"], parts["database"]["bytes"]):
        raise BackupError("Bản sao lưu bị hỏng: phần cơ sở dữ liệu không khớp manifest (SHA-256).", "database sha")
    groups = _Groups()
    for name, (digest, size) in seen.items():
        if name.startswith(FILES):
            rel = name[len(FILES):]
            blob = _BLOB.fullmatch(rel)
            if blob and blob.group(1) + blob.group(2) != digest:
                raise BackupError(f"Bản sao lưu bị hỏng: tệp dữ liệu {rel} không đúng nội dung.", f"blob {rel}")
            groups.add(rel, digest, size)
        elif name != DB_MEMBER[kind]:
            raise BackupError(f"Bản sao lưu có tệp lạ: {name}.", f"unexpected {name}")
    names_vi = {"blobs": "tệp dữ liệu (blobs)", "secret": "khoá bí mật", "signing": "khoá ký số",
                "other": "tệp khác"}
    for g, expected in groups.parts().items():
        want = parts.get(g, {})
        if (want.get("files"), want.get("sha256")) != (expected["files"], expected["sha256"]):
            raise BackupError(f"Bản sao lưu bị hỏng: phần {names_vi[g]} không khớp manifest "
                              f"({expected['files']} tệp, manifest ghi {want.get('files')}).", f"part {g}")
    return kind


def _occupied(data_dir: Path) -> list[str]:
    if not data_dir.exists():
        return []
    if not data_dir.is_dir():
        raise BackupError(f"{data_dir} không phải thư mục.", f"{data_dir} not a dir")
    return sorted(p.name for p in data_dir.iterdir() if p.name not in SKIP_TOP)


def _pg_engine(url: str, **kw):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(url, poolclass=NullPool, **kw)


def _pg_prepare(url: str, force: bool) -> None:
    """Make sure the target database exists (create it when missing) and is empty (drop its
    tables with ``force``, refuse otherwise)."""
    from sqlalchemy import inspect, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError, OperationalError

    u = make_url(url)
    engine = _pg_engine(url)
    try:
        try:
            with engine.connect() as conn:
                tables = inspect(conn).get_table_names()
        except OperationalError as e:
            admin = _pg_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    if conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database}):
                        raise BackupError(f"Không kết nối được cơ sở dữ liệu đích {u.database} ({type(e).__name__}).",
                                          str(e)) from e
                    conn.execute(text(f"CREATE DATABASE {conn.dialect.identifier_preparer.quote(u.database)}"))
            except DBAPIError as e2:
                raise BackupError(f"Không kết nối được PostgreSQL đích ({type(e2).__name__}).", str(e2)) from e2
            finally:
                admin.dispose()
            return
        if tables:
            if not force:
                raise BackupError(f"Cơ sở dữ liệu đích {u.database} không trống ({len(tables)} bảng): dùng --force "
                                  "để ghi đè (dữ liệu hiện có sẽ bị xoá) hoặc khôi phục vào một cơ sở dữ liệu mới.",
                                  "target database not empty")
            with engine.begin() as conn:
                quote = conn.dialect.identifier_preparer.quote
                for t in tables:
                    conn.execute(text(f"DROP TABLE IF EXISTS {quote(t)} CASCADE"))
    finally:
        engine.dispose()


def _counts_of(url: str) -> dict[str, int]:
    engine = _pg_engine(url)
    try:
        with engine.connect() as conn:
            return _count_tables(conn)
    finally:
        engine.dispose()


def restore(archive: Path | str, settings, *, force: bool = False) -> Outcome:
    """Restore ``archive`` into the installation of ``settings`` (its data folder and database)."""
    archive = Path(archive).resolve()
    if not archive.is_file():
        raise BackupError(f"Không có tệp sao lưu {archive}.", f"no file {archive}")
    data_dir = Path(settings.data_dir).resolve()
    target_kind = database_kind(settings.database_url)
    occupied = _occupied(data_dir)
    if occupied and not force:
        raise BackupError(f"Thư mục đích {data_dir} không trống ({', '.join(occupied[:5])}"
                          f"{', …' if len(occupied) > 5 else ''}): dùng --force để ghi đè (dữ liệu hiện có sẽ bị "
                          "xoá) hoặc chọn một thư mục mới bằng --data-dir.", "target not empty")
    if target_kind == "sqlite":
        db_target = sqlite_path(settings.database_url)
        if db_target.exists() and not force:
            raise BackupError(f"Đã có cơ sở dữ liệu {db_target}: dùng --force để ghi đè.", "sqlite target exists")
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=data_dir.parent, prefix=f".{data_dir.name}.restore-"))
    try:
        manifest, seen = _extract(archive, staging)
        kind = check_manifest(manifest, seen)
        if kind != target_kind:
            raise BackupError(f"Bản sao lưu là của {kind} nhưng nơi khôi phục dùng {target_kind}: đặt --database-url "
                              f"(hoặc SANDBOX_DATABASE_URL) đúng loại {kind}.", f"kind {kind} != {target_kind}")
        if kind == "postgresql":
            _pg_prepare(settings.database_url, force)
        # install: the files first, the database last (the data folder is complete before it)
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in _occupied(data_dir):
            path = data_dir / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
        files = staging / FILES
        if files.is_dir():
            for entry in files.iterdir():
                os.replace(entry, data_dir / entry.name)
        db_file = staging / DB_MEMBER[kind]
        if kind == "sqlite":
            db_target = sqlite_path(settings.database_url)
            db_target.parent.mkdir(parents=True, exist_ok=True)
            for p in _sqlite_siblings(db_target):
                if p.exists():
                    p.unlink()
            shutil.move(str(db_file), str(db_target))
            counts, _rev = _sqlite_counts(db_target)
        else:
            uri, env = _libpq(settings.database_url)
            _run([find_pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--no-comments", "--exit-on-error",
                  "--single-transaction", f"--dbname={uri}", str(db_file)], env, "pg_restore")
            counts = _counts_of(settings.database_url)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    want = manifest["counts"]["tables"]
    differ = sorted(t for t in set(want) | set(counts) if want.get(t) != counts.get(t))
    if differ:
        raise BackupError(f"Đã khôi phục nhưng số dòng không khớp manifest ở bảng {', '.join(differ[:5])}.",
                          f"counts differ: {differ}")
    return Outcome(data_dir, manifest)
