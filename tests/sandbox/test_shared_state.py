"""Issue 15, state that machines share: blobs in the database behind the blob store's
interface, the installation secret and the test CA in the database on PostgreSQL, and the
login throttle's counters seen by every process of the installation. On both databases."""
from __future__ import annotations

import hashlib

import pytest
from limits import parse, storage, strategies
from sqlalchemy import select

from sandbox.kernel import shared
from sandbox.kernel.blobs import BlobStore, DatabaseBlobStore, blob_storage, open_blob_store
from sandbox.kernel.errors import RateLimited
from sandbox.kernel.settings import Settings
from sandbox.kernel.throttle import DatabaseStorage, LoginThrottle
from sandbox.runtime import Runtime


def _second(rt, tmp_path, name="second") -> Runtime:
    """Another "process" of the installation: its own data folder, the same database."""
    settings = Settings(data_dir=tmp_path / name, database_url=rt.settings.database_url)
    settings.secret_key = rt.settings.secret_key
    return Runtime.open(settings)


# --- blobs ------------------------------------------------------------------------------------

def test_blobs_in_the_database_behave_as_the_file_store(runtime, tmp_path):
    files = BlobStore(tmp_path / "files")
    store = DatabaseBlobStore(runtime.db)
    data = "Công văn số 12/SNV".encode()
    digest = store.put(data)
    assert digest == files.put(data) == hashlib.sha256(data).hexdigest()
    assert store.put(data) == digest                      # idempotent
    assert store.get(digest) == data and store.exists(digest) and store.size(digest) == len(data)
    with runtime.db.read() as s:
        assert s.execute(select(shared.Base.metadata.tables["blobs"].c.sha256)).scalars().all() == [digest]
    missing = hashlib.sha256(b"never stored").hexdigest()
    for st in (files, store):                             # the same errors from both
        assert not st.exists(missing)
        with pytest.raises(FileNotFoundError):
            st.get(missing)
        with pytest.raises(FileNotFoundError):
            st.size(missing)
        with pytest.raises(ValueError):
            st.get("../../etc/passwd")
    assert store.put(b"") == hashlib.sha256(b"").hexdigest() and store.get(store.put(b"")) == b""


def test_a_put_inside_a_write_transaction(runtime):
    """A blob put by an action is readable in the action and stays once it commits; on
    PostgreSQL it is committed on its own connection before the action (kept when the action
    fails: an orphan is harmless), on SQLite it joins the action's transaction."""
    store = DatabaseBlobStore(runtime.db)
    with runtime.db.write() as s:
        s.execute(select(1))                  # an action's transaction has begun (it locks its sandbox)
        digest = store.put(b"in an action")
        assert store.get(digest) == b"in an action" and store.exists(digest)
        s.flush()
    assert store.get(digest) == b"in an action"

    class Refused(Exception):
        pass

    with pytest.raises(Refused):
        with runtime.db.batch():
            orphan = store.put(b"an action that failed")
            assert store.get(orphan) == b"an action that failed"
            raise Refused
    assert store.exists(orphan) is (not runtime.db.is_sqlite)


def test_the_read_through_copy_is_filled_by_reads_only(runtime, tmp_path):
    store = DatabaseBlobStore(runtime.db, cache=tmp_path / "cache")
    digest = store.put(b"x" * 1000)
    assert not (tmp_path / "cache" / digest[:2] / digest[2:]).exists()
    other = DatabaseBlobStore(runtime.db, cache=tmp_path / "cache2")   # another machine
    assert other.get(digest) == b"x" * 1000
    assert (tmp_path / "cache2" / digest[:2] / digest[2:]).read_bytes() == b"x" * 1000
    assert other.get(digest) == b"x" * 1000 and other.size(digest) == 1000


def test_which_store_an_installation_uses(runtime, tmp_path, monkeypatch):
    expected = "files" if runtime.db.is_sqlite else "database"
    assert runtime.blobs.kind == expected and blob_storage(runtime.settings, runtime.db) == expected
    monkeypatch.setenv("SANDBOX_BLOBS", "database")
    s = Settings(data_dir=tmp_path / "d", database_url=runtime.settings.database_url)
    assert isinstance(open_blob_store(s, runtime.db), DatabaseBlobStore)
    assert isinstance(open_blob_store(Settings(data_dir=tmp_path / "d", database_url=runtime.settings.database_url,
                                               blobs="files"), runtime.db), BlobStore)
    with pytest.raises(ValueError):
        blob_storage(Settings(data_dir=tmp_path / "d", blobs="s3"))


def test_two_processes_with_different_data_folders_read_the_same_blobs(runtime, tmp_path):
    if runtime.db.is_sqlite:
        pytest.skip("one machine: SQLite keeps blobs in the data folder")
    other = _second(runtime, tmp_path)
    try:
        digest = runtime.blobs.put(b"%PDF-1.7 shared")
        assert other.blobs.get(digest) == b"%PDF-1.7 shared"
    finally:
        other.close()


# --- the installation secret ---------------------------------------------------------------------

def test_the_secret_is_shared_through_postgresql(runtime, tmp_path, monkeypatch):
    monkeypatch.delenv("SANDBOX_SECRET_KEY", raising=False)
    url = runtime.settings.database_url
    a = Settings(data_dir=tmp_path / "a", database_url=url)
    b = Settings(data_dir=tmp_path / "b", database_url=url)
    if runtime.db.is_sqlite:
        assert a.get_secret_key() != Settings(data_dir=tmp_path / "c", database_url=url).get_secret_key()
        assert (tmp_path / "a" / "secret.key").read_text() == a.get_secret_key()
    else:
        (tmp_path / "a").mkdir()
        (tmp_path / "a" / "secret.key").write_text("f" * 64)   # an existing data folder's secret is kept
        assert a.get_secret_key() == "f" * 64 == b.get_secret_key()
        assert not (tmp_path / "b" / "secret.key").exists()
    monkeypatch.setenv("SANDBOX_SECRET_KEY", "from-the-environment")
    assert Settings(data_dir=tmp_path / "e", database_url=url).get_secret_key() == "from-the-environment"


def test_a_shared_file_is_made_once(runtime):
    made = []

    def make(value):
        def fn():
            made.append(value)
            return value
        return fn

    assert shared.get_or_create(runtime.db, "x/one", make(b"first")) == b"first"
    assert shared.get_or_create(runtime.db, "x/one", make(b"second")) == b"first"
    shared.put_if_absent(runtime.db, "x/two", b"2")
    shared.put_if_absent(runtime.db, "x/two", b"3")
    shared.put_if_absent(runtime.db, "x_three", b"not under x/")
    assert made == [b"first"] and shared.files_under(runtime.db, "x/") == {"x/one": b"first", "x/two": b"2"}


# --- the test CA ---------------------------------------------------------------------------------

def test_the_ca_in_the_database_is_the_same_for_every_process(runtime, tmp_path):
    from signing import api
    from signing.sandbox_pki import DatabasePKI, InstallationPKI

    a, b = DatabasePKI(runtime.db), DatabasePKI(runtime.db)
    assert a.root.sha256 == b.root.sha256 and a.issuing_ca.sha256 == b.issuing_ca.sha256 and a.tsa.sha256 == b.tsa.sha256
    bundle = a.issue_personal("Lê Văn Cường", title="Chuyên viên", organisation="SỞ NỘI VỤ")
    serial = a.revoke(bundle)
    assert serial in b.revoked_serials
    assert b.crl().get_revoked_certificate_by_serial_number(serial) is not None
    report = api.verify_pdf(api.sign_leader(api.sample_draft("Lê Văn Cường"), None, bundle,
                                            api.signature_png("Lê Văn Cường")), validation_context=b.validation_context)
    assert report.signatures[0].revoked and not report.signatures[0].ok   # the CRL of the other process lists it

    # a data folder's existing CA is what the database keeps first
    files = InstallationPKI(tmp_path / "old" / "signing" / "ca")
    old_serial = files.revoke(files.issue_personal("Trần Thị Bình", title="Chuyên viên", organisation="SỞ NỘI VỤ"))
    other_db = _second(runtime, tmp_path, "x")
    try:
        if not runtime.db.is_sqlite:
            shared_pki = api.pki_for(runtime)
            assert isinstance(shared_pki, DatabasePKI) and shared_pki.root.sha256 == a.root.sha256
            assert api.pki_for(other_db).root.sha256 == a.root.sha256       # another data folder
            assert serial in api.pki_for(other_db).revoked_serials
    finally:
        other_db.close()
    from sandbox.kernel import migrations
    from sandbox.kernel.db import Database
    migrations.prepare(f"sqlite:///{tmp_path / 'fresh.db'}")  # the schema, shared_files included (0002)
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        seeded = DatabasePKI(fresh, seed_folder=tmp_path / "old" / "signing" / "ca")
        assert seeded.root.sha256 == files.root.sha256 and old_serial in seeded.revoked_serials
    finally:
        fresh.dispose()


# --- the login throttle --------------------------------------------------------------------------

def test_failures_counted_in_one_process_are_seen_by_another(runtime, tmp_path):
    other = _second(runtime, tmp_path)
    try:
        a = LoginThrottle(database=runtime.db, per_address="300/minute")
        b = LoginThrottle(database=other.db, per_address="300/minute")
        for _ in range(10):                       # the policy: 10 failures per (login, address) per 5 minutes
            a.check("lanhdao@cantho.gov.vn", "10.0.0.1")
            a.failed("lanhdao@cantho.gov.vn", "10.0.0.1")
        with pytest.raises(RateLimited):
            b.check(" LanhDao@cantho.gov.vn", "10.0.0.1")
        b.check("lanhdao@cantho.gov.vn", "10.0.0.2")     # the same name from another address
        b.check("vanthu@cantho.gov.vn", "10.0.0.1")      # another login from the same room
        a.succeeded("lanhdao@cantho.gov.vn", "10.0.0.1")   # a success clears the pair's failures
        b.check("lanhdao@cantho.gov.vn", "10.0.0.1")
        for i in range(300):                               # the address ceiling (here 300 a minute)
            b.failed(f"u{i}@x.vn", "10.9.9.9")
        with pytest.raises(RateLimited):
            a.check("someone@x.vn", "10.9.9.9")
        a.check("someone@x.vn", "10.9.9.8")
    finally:
        other.close()


def test_the_database_storage_counts_as_limits_memory_storage(runtime, monkeypatch):
    import time as time_mod

    clock = [1_000_000.0]
    monkeypatch.setattr(time_mod, "time", lambda: clock[0])
    mem = strategies.MovingWindowRateLimiter(storage.MemoryStorage())
    db = strategies.MovingWindowRateLimiter(DatabaseStorage(runtime.db))
    item = parse("3/minute")
    seen = []
    for step in range(12):
        clock[0] += 17
        row = []
        for lim in (mem, db):
            row.append((lim.test(item, "k"), lim.hit(item, "k"), lim.test(item, "k")))
        seen.append(row)
        if step == 7:
            mem.clear(item, "k")
            db.clear(item, "k")
    assert all(m == d for m, d in seen), seen
    assert any(not hit for (_, hit, _), _d in seen)     # the window did fill up


def test_a_throttle_without_a_database_keeps_to_its_process():
    t = LoginThrottle(per_login="2/minute")
    t.failed("a", None)
    t.failed("a", None)
    with pytest.raises(RateLimited):
        t.check("a", None)
    LoginThrottle(per_login="2/minute").check("a", None)
