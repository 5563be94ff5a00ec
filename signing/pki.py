"""A TEST public-key infrastructure that mirrors the Vietnamese government hierarchy.

Everything here is for the practice sandbox only: every CA name carries "(TEST)", the
certificate policies live under the ``2.999`` arc (ITU-T X.660 / ISO/IEC 9834-1 reserve
``joint-iso-itu-t(2) example(999)`` for examples and documentation, so these OIDs can never
collide with a real policy), and no certificate carries a URL of a real service.

Hierarchy (all RSA 2048 by default, like the government's certificates)::

    Ban Cơ yếu Chính phủ (TEST)                      root CA, self-signed
    └── CA phục vụ các cơ quan Nhà nước (TEST)       issuing CA for state bodies (pathlen 0)
        ├── <personal certificates>                   policy PERSONAL_POLICY_OID
        ├── <organisation certificates>               policy ORGANISATION_POLICY_OID
        └── Dịch vụ cấp dấu thời gian (TEST)          TSA, EKU timeStamping (critical)

The issuing CA signs a CRL (:meth:`TestPKI.crl`; every end-entity certificate names it at
:data:`CRL_URL`) listing the serials passed to :meth:`TestPKI.revoke`. :meth:`TestPKI.timestamper` returns pyHanko's in-process
``DummyTimeStamper`` holding the TSA certificate, for PAdES B-T signatures.

Speed: RSA 2048 key generation costs ~45 ms. Keys are therefore taken from a process-wide
:class:`KeyPool` keyed by a label derived from the subject (the same subject gets the same key
for the lifetime of the process, different subjects never share one). ``key_type="ec-p256"``
is the documented faster option (~0.1 ms per key) when realism does not matter.

Names are NFC-normalised UTF8String values; serial numbers are derived from the issuer, the
subject label and an issuance counter, so a PKI built twice in one process yields identical
certificates. Validity runs from 2020-01-01 to 2035-12-31 so tests with a frozen clock work.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
import unicodedata
from dataclasses import dataclass
from typing import Literal, Union

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .errors import SigningError

__all__ = [
    "PERSONAL_POLICY_OID", "ORGANISATION_POLICY_OID", "TEST_ARC", "ROOT_CN", "ISSUING_CA_CN",
    "TSA_CN", "CRL_URL", "INFRASTRUCTURE_POLICY_OID", "DEFAULT_POOL", "VALID_FROM",
    "VALID_UNTIL", "CertBundle", "KeyPool", "TestPKI", "classify",
    "encrypt_key", "decrypt_key", "cert_pem", "key_pem", "chain_pem", "load_cert",
    "to_pkcs12", "from_pkcs12", "to_asn1_cert", "to_asn1_key", "fingerprint", "nfc",
]

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]
KeyType = Literal["rsa2048", "ec-p256"]

# --- policy OIDs -------------------------------------------------------------------------
#: Private test arc of this sandbox: 2.999 (example arc, X.660) . 84 ("T" for TEST) . 1.
TEST_ARC = "2.999.84.1"
#: Certificate policy of a personal certificate (chứng thư số cá nhân, Mẫu 01).
PERSONAL_POLICY_OID = x509.ObjectIdentifier(TEST_ARC + ".1")
#: Certificate policy of an organisation certificate (chứng thư số cơ quan, Mẫu 02).
ORGANISATION_POLICY_OID = x509.ObjectIdentifier(TEST_ARC + ".2")
#: Policy of the sandbox's CA and TSA certificates (infrastructure, never a signer).
INFRASTRUCTURE_POLICY_OID = x509.ObjectIdentifier(TEST_ARC + ".9")

# --- names ------------------------------------------------------------------------------
ROOT_CN = "Ban Cơ yếu Chính phủ (TEST)"
ISSUING_CA_CN = "CA phục vụ các cơ quan Nhà nước (TEST)"
TSA_CN = "Dịch vụ cấp dấu thời gian (TEST)"
CA_ORG = "Ban Cơ yếu Chính phủ (TEST)"
COUNTRY = "VN"
#: User notice carried in every certificate's policy (RFC 5280 explicitText, UTF8String).
TEST_NOTICE = "TEST - chỉ dùng để thực hành, không có giá trị pháp lý"

#: Where the issuing CA's CRL "lives". The ``.invalid`` TLD (RFC 2606) never resolves; the
#: sandbox always hands the CRL to the validator in process (``allow_fetching=False``). The
#: distribution point must be present: pyhanko-certvalidator only consults a CRL for a
#: certificate that declares one.
CRL_URL = "http://ca-test.bcy.invalid/crl/ca-co-quan-nha-nuoc-test.crl"

VALID_FROM = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
VALID_UNTIL = dt.datetime(2035, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)


def nfc(text: str) -> str:
    """The NFC form of ``text`` (names typed on different keyboards compare equal)."""
    return unicodedata.normalize("NFC", text).strip()


# --- key pool ---------------------------------------------------------------------------
class KeyPool:
    """Keys generated on first use and kept per label for the life of the process.

    ``KeyPool().get("person:Nguyễn Văn An")`` returns the same key every time; two labels
    never share a key. ``prefill(n)`` generates anonymous spare keys ahead of time (e.g. while
    a test session starts) that later labels consume before generating new ones.
    """

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], PrivateKey] = {}
        self._spare: dict[str, list[PrivateKey]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def generate(key_type: KeyType = "rsa2048") -> PrivateKey:
        if key_type == "rsa2048":
            return rsa.generate_private_key(public_exponent=65537, key_size=2048)
        if key_type == "ec-p256":
            return ec.generate_private_key(ec.SECP256R1())
        raise ValueError(f"unknown key type {key_type!r}")

    def prefill(self, n: int, key_type: KeyType = "rsa2048") -> None:
        new = [self.generate(key_type) for _ in range(n)]
        with self._lock:
            self._spare.setdefault(key_type, []).extend(new)

    def get(self, label: str, key_type: KeyType = "rsa2048") -> PrivateKey:
        k = (key_type, label)
        with self._lock:
            key = self._keys.get(k)
            if key is None:
                spare = self._spare.get(key_type)
                key = spare.pop() if spare else None
            if key is not None:
                self._keys[k] = key
                return key
        key = self.generate(key_type)  # outside the lock: ~45 ms for RSA
        with self._lock:
            return self._keys.setdefault(k, key)

    def __len__(self) -> int:
        return len(self._keys)


#: The process-wide pool used by :class:`TestPKI` unless another is given.
DEFAULT_POOL = KeyPool()


# --- bundles ----------------------------------------------------------------------------
@dataclass(frozen=True)
class CertBundle:
    """A certificate, its private key and the chain above it (issuer first, root last)."""

    cert: x509.Certificate
    key: PrivateKey
    chain: tuple[x509.Certificate, ...] = ()

    @property
    def common_name(self) -> str:
        attrs = self.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else ""

    @property
    def serial(self) -> int:
        return self.cert.serial_number

    @property
    def kind(self) -> str | None:
        return classify(self.cert)

    @property
    def sha256(self) -> str:
        return fingerprint(self.cert)

    def asn1_cert(self) -> asn1_x509.Certificate:
        return to_asn1_cert(self.cert)

    def asn1_key(self) -> asn1_keys.PrivateKeyInfo:
        return to_asn1_key(self.key)

    def asn1_chain(self) -> list[asn1_x509.Certificate]:
        return [to_asn1_cert(c) for c in self.chain]

    def signer(self, *, prefer_pss: bool = False):
        """A stock pyHanko ``SimpleSigner`` for this bundle (chain as its cert registry)."""
        from pyhanko.sign import signers
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        return signers.SimpleSigner(
            signing_cert=self.asn1_cert(), signing_key=self.asn1_key(),
            cert_registry=SimpleCertificateStore.from_certs(self.asn1_chain()),
            prefer_pss=prefer_pss)


# --- the PKI ----------------------------------------------------------------------------
def _name(*pairs: tuple[x509.ObjectIdentifier, str | None]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, nfc(v) if oid != NameOID.COUNTRY_NAME else v)
                      for oid, v in pairs if v])


def _serial(*parts: str) -> int:
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:15], "big") | 1  # positive, < 2**120, never 0


def _sig_hash(key: PrivateKey) -> hashes.HashAlgorithm:
    return hashes.SHA256()


class TestPKI:
    """The sandbox's test CA hierarchy: root, issuing CA, TSA, CRL, end-entity issuance.

    ``TestPKI()`` builds the default hierarchy (three keys from the pool). Pass other common
    names to build an *unknown* CA for the "certificate from an unknown CA" exercise, e.g.
    ``TestPKI(root_cn="CA giả mạo (TEST)", issuing_cn="CA giả mạo cấp cho cơ quan (TEST)")``.
    """

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, *, key_type: KeyType = "rsa2048", pool: KeyPool | None = None,
                 root_cn: str = ROOT_CN, issuing_cn: str = ISSUING_CA_CN, tsa_cn: str = TSA_CN,
                 ca_org: str = CA_ORG, crl_url: str = CRL_URL) -> None:
        self.crl_url = crl_url
        self.key_type: KeyType = key_type
        self.pool = pool or DEFAULT_POOL
        self._counter: dict[str, int] = {}
        self._revoked: dict[int, tuple[dt.datetime, x509.ReasonFlags | None]] = {}
        self._crl_number = 0

        root_name = _name((NameOID.COUNTRY_NAME, COUNTRY), (NameOID.ORGANIZATION_NAME, ca_org),
                          (NameOID.COMMON_NAME, root_cn))
        root_key = self._key("root:" + nfc(root_cn))
        root_cert = self._build(root_name, root_key.public_key(), root_name, root_key,
                                ca=True, path_length=1, label="root")
        self.root = CertBundle(root_cert, root_key, ())

        ica_name = _name((NameOID.COUNTRY_NAME, COUNTRY), (NameOID.ORGANIZATION_NAME, ca_org),
                         (NameOID.COMMON_NAME, issuing_cn))
        ica_key = self._key("ca:" + nfc(issuing_cn))
        ica_cert = self._build(ica_name, ica_key.public_key(), root_name, root_key, ca=True,
                               path_length=0, label="issuing-ca", issuer_cert=root_cert)
        self.issuing_ca = CertBundle(ica_cert, ica_key, (root_cert,))

        tsa_name = _name((NameOID.COUNTRY_NAME, COUNTRY), (NameOID.ORGANIZATION_NAME, ca_org),
                         (NameOID.COMMON_NAME, tsa_cn))
        self.tsa = self._issue(tsa_name, "tsa:" + nfc(tsa_cn), policy=INFRASTRUCTURE_POLICY_OID,
                               eku=[ExtendedKeyUsageOID.TIME_STAMPING])

    # -- helpers --
    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """Issuing CA then root: the chain every end-entity certificate carries."""
        return (self.issuing_ca.cert, self.root.cert)

    def _key(self, label: str) -> PrivateKey:
        return self.pool.get(label, self.key_type)

    def _build(self, subject: x509.Name, public_key, issuer: x509.Name, issuer_key: PrivateKey,
               *, ca: bool, label: str, path_length: int | None = None,
               issuer_cert: x509.Certificate | None = None,
               policy: x509.ObjectIdentifier | None = None,
               eku: list[x509.ObjectIdentifier] | None = None,
               email: str | None = None, serial_salt: str | None = None) -> x509.Certificate:
        if serial_salt is not None:  # deterministic: the same world gets the same certificate
            serial = _serial(issuer.rfc4514_string(), label, "salt:" + serial_salt)
        else:
            n = self._counter.get(label, 0)
            self._counter[label] = n + 1
            serial = _serial(issuer.rfc4514_string(), label, str(n))
        b = (x509.CertificateBuilder()
             .subject_name(subject).issuer_name(issuer).public_key(public_key)
             .serial_number(serial).not_valid_before(VALID_FROM).not_valid_after(VALID_UNTIL)
             .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca else None),
                            critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key),
                            critical=False))
        if issuer_cert is not None:
            ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            b = b.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski.value),
                critical=False)
        if ca:
            ku = x509.KeyUsage(digital_signature=False, content_commitment=False,
                               key_encipherment=False, data_encipherment=False,
                               key_agreement=False, key_cert_sign=True, crl_sign=True,
                               encipher_only=False, decipher_only=False)
        else:
            ku = x509.KeyUsage(digital_signature=True, content_commitment=True,
                               key_encipherment=False, data_encipherment=False,
                               key_agreement=False, key_cert_sign=False, crl_sign=False,
                               encipher_only=False, decipher_only=False)
        b = b.add_extension(ku, critical=True)
        b = b.add_extension(x509.CertificatePolicies([x509.PolicyInformation(
            policy or INFRASTRUCTURE_POLICY_OID,
            [x509.UserNotice(None, TEST_NOTICE)])]),
            critical=False)
        if eku:
            b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=True)
        if not ca:
            b = b.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(self.crl_url)], None, None, None)]),
                critical=False)
        if email:
            b = b.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(email)]),
                                critical=False)
        return b.sign(issuer_key, _sig_hash(issuer_key))

    def _issue(self, subject: x509.Name, label: str, *, policy: x509.ObjectIdentifier,
               eku: list[x509.ObjectIdentifier] | None = None, email: str | None = None,
               fresh_key: bool = False, serial_salt: str | None = None) -> CertBundle:
        key = self.pool.generate(self.key_type) if fresh_key else self._key(label)
        cert = self._build(subject, key.public_key(), self.issuing_ca.cert.subject,
                           self.issuing_ca.key, ca=False, label=label,
                           issuer_cert=self.issuing_ca.cert, policy=policy, eku=eku, email=email,
                           serial_salt=serial_salt)
        return CertBundle(cert, key, self.chain)

    # -- issuance --
    def issue_personal(self, full_name: str, *, title: str | None = None,
                       unit: str | None = None, organisation: str | None = None,
                       email: str | None = None, uid: str | None = None,
                       locality: str | None = None, fresh_key: bool = False,
                       serial_salt: str | None = None) -> CertBundle:
        """A personal certificate: CN = full name, T = title, OU = unit, O = organisation,
        L = locality, UID = e.g. ``"CCCD:001080012345"``, e-mail in the SAN (and as E in the
        subject, as the government's certificates show it); policy PERSONAL_POLICY_OID."""
        if not nfc(full_name):
            raise SigningError("Thiếu họ tên người được cấp chứng thư số.", "empty full_name")
        subject = _name((NameOID.COUNTRY_NAME, COUNTRY), (NameOID.LOCALITY_NAME, locality),
                        (NameOID.ORGANIZATION_NAME, organisation),
                        (NameOID.ORGANIZATIONAL_UNIT_NAME, unit), (NameOID.TITLE, title),
                        (NameOID.USER_ID, uid), (NameOID.COMMON_NAME, full_name),
                        (NameOID.EMAIL_ADDRESS, email))
        label = "person:" + subject.rfc4514_string()
        return self._issue(subject, label, policy=PERSONAL_POLICY_OID, email=email,
                           fresh_key=fresh_key, serial_salt=serial_salt)

    def issue_organisation(self, name: str, *, parent: str | None = None,
                           locality: str | None = None, email: str | None = None,
                           fresh_key: bool = False, serial_salt: str | None = None) -> CertBundle:
        """An organisation certificate: CN = O = organisation name (O = ``parent`` when given,
        like ``CN=CỤC THUẾ, O=BỘ TÀI CHÍNH``); policy ORGANISATION_POLICY_OID."""
        if not nfc(name):
            raise SigningError("Thiếu tên cơ quan, tổ chức được cấp chứng thư số.", "empty name")
        subject = _name((NameOID.COUNTRY_NAME, COUNTRY), (NameOID.LOCALITY_NAME, locality),
                        (NameOID.ORGANIZATION_NAME, parent or name), (NameOID.COMMON_NAME, name),
                        (NameOID.EMAIL_ADDRESS, email))
        label = "org:" + subject.rfc4514_string()
        return self._issue(subject, label, policy=ORGANISATION_POLICY_OID, email=email,
                           fresh_key=fresh_key, serial_salt=serial_salt)

    # -- revocation --
    def revoke(self, cert_or_serial: x509.Certificate | CertBundle | int, *,
               when: dt.datetime | None = None,
               reason: x509.ReasonFlags | None = x509.ReasonFlags.key_compromise) -> int:
        """Mark a serial revoked (listed by the next :meth:`crl`); returns the serial."""
        if isinstance(cert_or_serial, CertBundle):
            cert_or_serial = cert_or_serial.cert
        serial = (cert_or_serial.serial_number if isinstance(cert_or_serial, x509.Certificate)
                  else int(cert_or_serial))
        when = when or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self._revoked[serial] = (when, reason)
        return serial

    def unrevoke(self, serial: int) -> None:
        self._revoked.pop(serial, None)

    @property
    def revoked_serials(self) -> frozenset[int]:
        return frozenset(self._revoked)

    def crl(self, *, this_update: dt.datetime | None = None,
            next_update: dt.datetime | None = None) -> x509.CertificateRevocationList:
        """A CRL signed by the issuing CA listing every revoked serial.

        Defaults: this_update = one hour ago, next_update = 30 days later (pass explicit
        values when validating at a frozen or past time)."""
        now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        this_update = this_update or now - dt.timedelta(hours=1)
        next_update = next_update or this_update + dt.timedelta(days=30)
        self._crl_number += 1
        ica = self.issuing_ca
        ski = ica.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        b = (x509.CertificateRevocationListBuilder()
             .issuer_name(ica.cert.subject).last_update(this_update).next_update(next_update)
             .add_extension(x509.CRLNumber(self._crl_number), critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
                 ski.value), critical=False))
        for serial, (when, reason) in sorted(self._revoked.items()):
            rb = (x509.RevokedCertificateBuilder().serial_number(serial)
                  .revocation_date(when))
            if reason is not None:
                rb = rb.add_extension(x509.CRLReason(reason), critical=False)
            b = b.add_revoked_certificate(rb.build())
        return b.sign(ica.key, _sig_hash(ica.key))

    def crl_der(self, **kw) -> bytes:
        return self.crl(**kw).public_bytes(serialization.Encoding.DER)

    # -- validation / time-stamping for pyHanko --
    def validation_context(self, *, with_crl: bool = True, **kw):
        """A fresh pyHanko ``ValidationContext``: this root as the only trust anchor, no
        fetching, and (by default) the current CRL. Extra keywords go to the constructor."""
        from pyhanko_certvalidator import ValidationContext

        kw.setdefault("allow_fetching", False)
        kw.setdefault("other_certs", [to_asn1_cert(self.issuing_ca.cert)])
        if with_crl:
            kw.setdefault("crls", [self.crl_der()])
        return ValidationContext(trust_roots=[to_asn1_cert(self.root.cert)], **kw)

    def timestamper(self, *, fixed_dt: dt.datetime | None = None):
        """pyHanko's in-process ``DummyTimeStamper`` signing with the TSA certificate; the
        tokens embed the TSA chain so a validator needs only the root. Deterministic: no
        nonce, the serial derived from the request and the time."""
        from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
        from pyhanko_certvalidator.registry import SimpleCertificateStore

        class DeterministicTimeStamper(DummyTimeStamper):
            """Same request, same time → same token (no random nonce or serial), so an
            action that signs inside the log (the automatic clerk) replays byte for byte."""

            def _build_tst_info(self, message_imprint, dt, req):
                info = super()._build_tst_info(message_imprint, dt, req)
                digest = hashlib.sha256(message_imprint.dump() + dt.isoformat().encode()).digest()
                info["serial_number"] = int.from_bytes(digest[:15], "big") | 1
                return info

        return DeterministicTimeStamper(
            tsa_cert=to_asn1_cert(self.tsa.cert), tsa_key=to_asn1_key(self.tsa.key),
            certs_to_embed=SimpleCertificateStore.from_certs(
                [to_asn1_cert(c) for c in self.chain]),
            fixed_dt=fixed_dt, include_nonce=False)


# --- classification ---------------------------------------------------------------------
def _as_crypto_cert(cert) -> x509.Certificate:
    if isinstance(cert, x509.Certificate):
        return cert
    if isinstance(cert, CertBundle):
        return cert.cert
    if isinstance(cert, asn1_x509.Certificate):
        return x509.load_der_x509_certificate(cert.dump())
    if isinstance(cert, (bytes, bytearray)):
        return load_cert(bytes(cert))
    raise TypeError(f"not a certificate: {type(cert).__name__}")


def classify(cert) -> Literal["personal", "organisation"] | None:
    """``"personal"`` or ``"organisation"`` by the sandbox policy OID, else ``None``.

    Accepts a ``cryptography`` certificate, a :class:`CertBundle`, an asn1crypto certificate
    (what pyHanko reports as ``signing_cert``) or PEM/DER bytes."""
    c = _as_crypto_cert(cert)
    try:
        policies = c.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return None
    oids = {p.policy_identifier for p in policies}
    if PERSONAL_POLICY_OID in oids and ORGANISATION_POLICY_OID not in oids:
        return "personal"
    if ORGANISATION_POLICY_OID in oids and PERSONAL_POLICY_OID not in oids:
        return "organisation"
    return None


def fingerprint(cert) -> str:
    """SHA-256 fingerprint of the certificate, lower-case hex without separators."""
    return _as_crypto_cert(cert).fingerprint(hashes.SHA256()).hex()


# --- serialisation ----------------------------------------------------------------------
def to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def to_asn1_key(key: PrivateKey) -> asn1_keys.PrivateKeyInfo:
    return asn1_keys.PrivateKeyInfo.load(key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def chain_pem(bundle: CertBundle) -> bytes:
    """The bundle's certificate followed by its chain, PEM."""
    return b"".join(cert_pem(c) for c in (bundle.cert, *bundle.chain))


def key_pem(key: PrivateKey, password: str | bytes | None = None) -> bytes:
    enc = (serialization.BestAvailableEncryption(_pw(password)) if password
           else serialization.NoEncryption())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, enc)


def load_cert(data: bytes) -> x509.Certificate:
    """A certificate from PEM or DER bytes."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)


def _pw(password: str | bytes) -> bytes:
    return password.encode("utf-8") if isinstance(password, str) else bytes(password)


def to_pkcs12(bundle: CertBundle, password: str | bytes, *,
              friendly_name: str | None = None) -> bytes:
    """A PKCS#12 (.p12/.pfx) file with the key, the certificate and its chain."""
    if not password:
        raise SigningError("Mật khẩu tệp PKCS#12 không được để trống.", "empty PKCS#12 password")
    name = (friendly_name or bundle.common_name).encode("utf-8")
    return pkcs12.serialize_key_and_certificates(
        name, bundle.key, bundle.cert, list(bundle.chain) or None,
        serialization.BestAvailableEncryption(_pw(password)))


def from_pkcs12(data: bytes, password: str | bytes) -> CertBundle:
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, _pw(password))
    except ValueError as exc:
        raise SigningError("Mật khẩu tệp PKCS#12 không đúng hoặc tệp bị hỏng.",
                           f"PKCS#12 load failed: {exc}") from exc
    if key is None or cert is None:
        raise SigningError("Tệp PKCS#12 không chứa khóa bí mật và chứng thư số.",
                           "PKCS#12 without key or certificate")
    return CertBundle(cert, key, tuple(extra or ()))


def encrypt_key(key: PrivateKey, pin: str) -> bytes:
    """The key as encrypted PKCS#8 DER (``BestAvailableEncryption`` with the PIN): what a
    virtual token keeps at rest.

    TEST strength only: cryptography picks PBES2 (PBKDF2-HMAC-SHA256 + AES-256-CBC) with a
    modest iteration count; a 6-digit PIN protects nothing against an offline attacker. The
    PIN retry counter of the token layer is the real control in the sandbox."""
    if not pin:
        raise SigningError("Mã PIN không được để trống.", "empty PIN")
    return key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                             serialization.BestAvailableEncryption(_pw(pin)))


def decrypt_key(blob: bytes, pin: str) -> PrivateKey:
    """The key from :func:`encrypt_key`'s output; a wrong PIN raises :class:`SigningError`."""
    if not pin:
        raise SigningError("Mã PIN không được để trống.", "empty PIN")
    try:
        # The blob was written by encrypt_key, so the (45 ms) RSA consistency check is skipped.
        key = serialization.load_der_private_key(blob, password=_pw(pin),
                                                 unsafe_skip_rsa_key_validation=True)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise SigningError("Mã PIN không đúng. Không mở được khóa bí mật trên thiết bị ký số.",
                           f"PKCS#8 decryption failed: {exc}") from exc
    return key  # type: ignore[return-value]
