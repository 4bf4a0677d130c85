"""Seals and validations per second, against the pyhanko CLI invoked once per document.

A DEMO PKI is made in a temporary folder, its OCSP/CRL/TSA services answering from a process of
their own (as a CA's would, so their work is not counted here); the bench makes its
own PDFs with pyHanko's writer: one-page and 50-page Decree 30 documents with the form fields,
certified by the leader. "Seal" is what the clerk's issue does: number and date filled, the
agency's seal signature (its image at real size) added, one incremental update
(``signing.issue``). Measured in one run:

- a batch of one-page seals (200 distinct documents by default), and 50-page seals;
- the attachment stamp (``signing.sign_attachment``) on a one-page PDF, for comparison;
- validations (``signing.verify_document``), per signature (wall and CPU time);
- the baseline: ``pyhanko sign addsig … pkcs12`` into the same seal field and
  ``pyhanko sign validate``, one process per document, on a sample of the same files.

Signing runs under the signing policy as shipped (chain, validity and revocation checked
against the DEMO services). The policy is checked once per batch (one ``signing_policy`` block,
at its first seal), so the timed batch is a block of its own; the check is also timed alone, and
the seal's CPU time is shown with its share of that one check (the check's CPU time divided by
the batch) and without it. Seals in a block without the online revocation check are timed too.

With ``--json`` the run prints one JSON object instead of the text: its figures and the pyhanko
CLI baseline measured in the same run (``seal_ms_median``, ``validation_ms_per_signature``,
``validation_cpu_ms_per_signature``, ``pyhanko_cli_addsig_ms``, ``pyhanko_cli_validate_ms``, …).

    python -m bench signing [--batch 200] [--cli-sample 10] [--json]
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter

from signing import (
    Box,
    FormLayout,
    SigningKey,
    SigningPolicy,
    add_form_fields,
    certify,
    check_signing_policy,
    issue,
    load_pkcs12,
    open_personal_key,
    seal_over_signer,
    sign_attachment,
    signing_policy,
    verify_document,
)
from signing.demo import (
    DemoPKI,
    Identity,
    create_demo_pki,
    draw_seal_image,
    draw_signature_image,
    ensure_pki_services,
)

SEAL_TARGET_MS = 15.0
VALIDATION_TARGET_MS = 10.0
SPEEDUP_TARGET = 70.0
AGENCY = Identity(
    common_name="DEMO Sở Nội vụ tỉnh Mẫu",
    organisation="DEMO Ủy ban nhân dân tỉnh Mẫu",
    unit=None,
    title=None,
    email=None,
)
LEADER = Identity(
    common_name="DEMO Nguyễn Văn An",
    organisation="DEMO Sở Nội vụ tỉnh Mẫu",
    unit="Ban Giám đốc",
    title="Giám đốc",
    email=None,
)
SIGNER_BOX = Box(0, 360, 250, 520, 320)
SEAL_FIELD = "chu_ky_co_quan"


def document_pdf(pages: int, serial: int) -> bytes:
    """An A4 document of ``pages`` pages; the signature block on the last one."""
    writer = PdfFileWriter(stream_xrefs=False)
    font = writer.add_object(
        generic.DictionaryObject(
            {
                pdf_name("/Type"): pdf_name("/Font"),
                pdf_name("/Subtype"): pdf_name("/Type1"),
                pdf_name("/BaseFont"): pdf_name("/Times-Roman"),
            }
        )
    )
    for page_no in range(1, pages + 1):
        lines = [(60, 780, b"SO NOI VU TINH MAU"), (60, 750, b"So:"), (310, 750, b"Tinh Mau,")]
        lines += [
            (80, 700 - 14 * i, b"Dieu %d. Noi dung so %d, trang %d." % (i, serial, page_no))
            for i in range(1, 30)
        ]
        if page_no == pages:
            lines = [*lines[:3], (405, 330, b"GIAM DOC"), (395, 235, b"Nguyen Van An")]
        ops = b" ".join(b"BT /F1 13 Tf %d %d Td (%s) Tj ET" % line for line in lines)
        writer.insert_page(
            PageObject(
                contents=writer.add_object(generic.StreamObject(stream_data=ops)),
                media_box=generic.ArrayObject(generic.NumberObject(v) for v in (0, 0, 595, 842)),
                resources=generic.DictionaryObject(
                    {pdf_name("/Font"): generic.DictionaryObject({pdf_name("/F1"): font})}
                ),
            )
        )
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def layout(pages: int) -> FormLayout:
    last = pages - 1
    signer = Box(last, *SIGNER_BOX.as_tuple())
    return FormLayout(
        number=Box(0, 85, 745, 250, 765),
        date=Box(0, 372, 745, 560, 765),
        signer=signer,
        seal=seal_over_signer(signer),
    )


@dataclass(frozen=True)
class Setup:
    pki: DemoPKI
    leader: SigningKey
    agency: SigningKey
    seal: bytes
    signature: bytes
    roots: list[bytes]


def certified(setup: Setup, pages: int, serial: int) -> bytes:
    with_fields = add_form_fields(document_pdf(pages, serial), layout(pages))
    return certify(with_fields, setup.leader, setup.signature, location="Tỉnh Mẫu")


def seal(setup: Setup, pdf: bytes, serial: int) -> bytes:
    return issue(
        pdf,
        number=f"{serial:02d}/QĐ-SNV",
        date_text="ngày 05 tháng 01 năm 2026",
        key=setup.agency,
        seal_image=setup.seal,
    )


def per_call_ms(calls: list[Callable[[], object]]) -> tuple[float, float]:
    """Median and mean milliseconds per call."""
    times = []
    for call in calls:
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), statistics.fmean(times)


CLI_CPU_MS: list[float] = []
"""CPU time of each CLI process (user + system), beside its wall time."""


def cli(*args: str | Path) -> float:
    """Milliseconds for one pyhanko CLI process; fails loudly if the CLI does."""
    command = [str(Path(sys.executable).with_name("pyhanko")), *map(str, args)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = (time.perf_counter() - started) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CLI_CPU_MS.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
    if done.returncode != 0:
        raise SystemExit(f"pyhanko CLI failed: {' '.join(command)}\n{done.stdout}{done.stderr}")
    return elapsed


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench signing")
    parser.add_argument("--batch", type=int, default=200, help="one-page documents to seal")
    parser.add_argument("--cli-sample", type=int, default=10, help="documents for the CLI")
    parser.add_argument("--big", type=int, default=10, help="50-page documents to seal")
    parser.add_argument("--json", action="store_true", help="one JSON object, no text")
    options = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="vanthu-bench-signing-"))
    try:
        figures = run(work, options.batch, options.cli_sample, options.big, options.json)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if options.json:
        print(json.dumps(figures, ensure_ascii=False))


@contextmanager
def services_in_their_own_process(pki: DemoPKI) -> Iterator[None]:
    """The DEMO OCSP, CRL and TSA answer from another process, as a CA's services would: their
    work is not counted in the signing and validation figures."""
    code = (
        "import sys; from pathlib import Path; from signing.demo import load_demo_pki, serve_pki; "
    )
    code += "serve_pki(load_demo_pki(Path(sys.argv[1])))"
    server = subprocess.Popen([sys.executable, "-c", code, str(pki.directory)])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", pki.port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the DEMO PKI services did not start") from None
                time.sleep(0.1)
        ensure_pki_services(pki)  # finds them answering; starts nothing here
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def run(work: Path, batch: int, sample: int, big: int, quiet: bool = False) -> dict[str, object]:
    """The figures; printed as text unless ``quiet`` (then only returned)."""
    pki = create_demo_pki(work / "pki", AGENCY, {"giamdoc": LEADER})
    with services_in_their_own_process(pki):
        return measure(work, pki, batch, sample, big, quiet)


def measure(
    work: Path, pki: DemoPKI, batch: int, sample: int, big: int, quiet: bool = False
) -> dict[str, object]:
    passphrase = pki.passphrase_file.read_bytes().strip()
    setup = Setup(
        pki=pki,
        leader=open_personal_key(pki.people["giamdoc"], pki.demo_pin("giamdoc")),
        agency=load_pkcs12(pki.agency_p12, passphrase),
        seal=draw_seal_image(AGENCY.common_name, AGENCY.organisation),
        signature=draw_signature_image(LEADER.common_name),
        roots=[pki.root_cert.read_bytes()],
    )
    shipped = SigningPolicy(trust_roots=tuple(setup.roots))
    offline = SigningPolicy(trust_roots=tuple(setup.roots), check_revocation=False)
    out = sys.stderr if quiet else sys.stdout
    print(f"preparing {batch} one-page and {big} fifty-page certified documents…", file=out)
    with signing_policy(shipped):
        ones = [certified(setup, 1, i) for i in range(batch)]
        fifties = [certified(setup, 50, i) for i in range(big)]
        seal(setup, ones[0], 0)  # first use prepares fonts and images (once per process)
        sign_attachment(document_pdf(1, 0), main_symbol="01/QĐ-SNV", key=setup.agency)
    with signing_policy(shipped):  # one batch: the agency's certificate checked at its first seal
        started, cpu = time.perf_counter(), time.process_time()
        issued = [seal(setup, pdf, i) for i, pdf in enumerate(ones)]
        batch_s = time.perf_counter() - started
        batch_cpu_ms = (time.process_time() - cpu) * 1000 / batch
        big_med, big_mean = per_call_ms([functools.partial(seal, setup, p, 1) for p in fifties])
        plain = document_pdf(1, 0)
        att_med, _ = per_call_ms(
            [lambda: sign_attachment(plain, main_symbol="01/QĐ-SNV", key=setup.agency)] * 50
        )
    with signing_policy(offline):
        offline_med, _ = per_call_ms([functools.partial(seal, setup, p, 1) for p in ones[:50]])
    policy_ms, policy_cpu_ms = {}, {}
    for online in (True, False):
        check = functools.partial(
            check_signing_policy,
            setup.agency.certificate,
            setup.agency.chain,
            kind="organisation",
            trust_roots=setup.roots,
            check_revocation=online,
        )
        cpu = time.process_time()
        policy_ms[online] = per_call_ms([check] * 30)[1]
        policy_cpu_ms[online] = (time.process_time() - cpu) * 1000 / 30

    checked = issued[:50]
    verify_document(issued[-1], setup.roots)  # first use: trust roots parsed, answers fetched
    started, cpu = time.perf_counter(), time.process_time()
    verdicts = [verify_document(pdf, setup.roots) for pdf in checked]
    validate_s = time.perf_counter() - started
    validate_cpu_s = time.process_time() - cpu
    per_document, _ = per_call_ms(
        [functools.partial(verify_document, pdf, setup.roots) for pdf in checked]
    )
    signatures = sum(len(v.signatures) for v in verdicts)
    bad = [v.verdict for v in verdicts if v.verdict != "valid"]

    p12, passfile = pki.agency_p12, pki.passphrase_file
    cli_dir = work / "cli"
    cli_dir.mkdir()
    sign_cli, big_cli, validate_cli = [], [], []

    def addsig(source: Path, out: Path) -> float:
        """``pyhanko sign addsig`` into the seal field with the agency's PKCS#12 file."""
        options = ("--field", SEAL_FIELD, "pkcs12", "--passfile", passfile)
        return cli("sign", "addsig", *options, source, out, p12)

    for i, pdf in enumerate(ones[:sample]):
        source = cli_dir / f"in-{i}.pdf"
        source.write_bytes(pdf)
        out = cli_dir / f"out-{i}.pdf"
        sign_cli.append(addsig(source, out))
        done = cli_dir / f"issued-{i}.pdf"
        done.write_bytes(issued[i])
        validate_cli.append(
            cli(
                "sign",
                "validate",
                "--trust",
                pki.root_cert,
                "--trust-replace",
                "--no-revocation-check",
                "--executive-summary",
                done,
            )
        )
    for i, pdf in enumerate(fifties[: max(1, sample // 2)]):
        source = cli_dir / f"big-{i}.pdf"
        source.write_bytes(pdf)
        big_cli.append(addsig(source, cli_dir / f"big-out-{i}.pdf"))

    seal_ms = batch_s * 1000 / batch
    cli_seal = statistics.fmean(sign_cli)
    cli_seal_cpu = statistics.fmean(CLI_CPU_MS[: 2 * len(sign_cli) : 2])
    cli_big = statistics.fmean(big_cli)
    per_signature = validate_s * 1000 / signatures
    per_signature_cpu = validate_cpu_s * 1000 / signatures
    cli_validate = statistics.fmean(validate_cli) / 2  # two signatures per issued document
    cli_validate_cpu = statistics.fmean(CLI_CPU_MS[1 : 2 * len(validate_cli) : 2]) / 2
    figures: dict[str, object] = {
        "seal_ms_median": round(statistics.median(seal_times(setup, ones[:50])), 2),
        "seal_ms_mean_batch": round(seal_ms, 2),
        "seal_cpu_ms": round(batch_cpu_ms, 2),
        "seal_offline_ms_median": round(offline_med, 2),
        "seal_50_pages_ms_median": round(big_med, 2),
        "attachment_stamp_ms_median": round(att_med, 2),
        "signing_policy_check_ms": round(policy_ms[True], 2),
        "validation_ms_per_signature": round(per_signature, 2),
        "validation_cpu_ms_per_signature": round(per_signature_cpu, 2),
        "validation_ms_per_signature_median": round(per_document / 2, 2),
        "validation_signatures": signatures,
        "validation_not_valid": len(bad),
        "pyhanko_cli_addsig_ms": round(cli_seal, 1),
        "pyhanko_cli_addsig_cpu_ms": round(cli_seal_cpu, 1),
        "pyhanko_cli_addsig_50_pages_ms": round(cli_big, 1),
        "pyhanko_cli_validate_ms": round(cli_validate, 1),
        "pyhanko_cli_validate_cpu_ms": round(cli_validate_cpu, 1),
        "batch": batch,
        "cli_sample": len(sign_cli),
        "targets": {
            "seal_ms": SEAL_TARGET_MS,
            "validation_ms_per_signature": VALIDATION_TARGET_MS,
            "speedup": SPEEDUP_TARGET,
        },
    }
    if quiet:
        return figures
    print(
        f"seal, 1 page   batch of {batch}: {batch_s:.2f} s, {seal_ms:.1f} ms each, "
        f"{batch / batch_s:.0f}/s  (target ≤ {SEAL_TARGET_MS:.0f} ms)"
    )
    print(f"seal, 1 page   without the online revocation check: {offline_med:.1f} ms (median)")
    print(
        f"seal, 50 pages {big} documents: median {big_med:.1f} ms, mean {big_mean:.1f} ms, "
        f"{1000 / big_mean:.0f}/s"
    )
    print(f"attachment stamp, 1 page: median {att_med:.1f} ms")
    print(
        f"of which       the signing policy check (chain, validity, revocation), once per batch: "
        f"{policy_ms[True]:.1f} ms ({policy_cpu_ms[True]:.1f} ms CPU) with OCSP, "
        f"{policy_ms[False]:.1f} ms without; the seal's CPU time with its share of it: "
        f"{batch_cpu_ms:.1f} ms, without it: {batch_cpu_ms - policy_cpu_ms[True] / batch:.1f} ms"
    )
    print(
        f"validation     {signatures} signatures in {len(checked)} documents: "
        f"{per_signature:.1f} ms per signature, {1000 / per_signature:.0f}/s  "
        f"(target ≤ {VALIDATION_TARGET_MS:.0f} ms); CPU time {per_signature_cpu:.1f} ms each"
        f"{'  NOT VALID: ' + str(bad) if bad else ''}"
    )
    print(
        f"pyhanko CLI    addsig 1 page: {cli_seal:.0f} ms per document ({len(sign_cli)} runs); "
        f"50 pages: {cli_big:.0f} ms ({len(big_cli)} runs); "
        f"validate: {cli_validate:.0f} ms per signature ({len(validate_cli)} runs)"
    )
    print(
        f"CPU time       seal 1 page: {batch_cpu_ms:.1f} ms; pyhanko CLI addsig: "
        f"{cli_seal_cpu:.0f} ms; ratio {cli_seal_cpu / batch_cpu_ms:.0f}× (what a loaded "
        "machine does not distort)"
    )
    print(
        f"ratio          seal 1 page: {cli_seal / seal_ms:.0f}× faster than the CLI "
        f"(target ≥ {SPEEDUP_TARGET:.0f}×); 50 pages: {cli_big / big_mean:.0f}×; "
        f"validation: {cli_validate / per_signature:.0f}×"
    )
    return figures


def seal_times(setup: Setup, pdfs: list[bytes]) -> list[float]:
    """Milliseconds for each seal of ``pdfs``, in one signing-policy block (checked once)."""
    with signing_policy(SigningPolicy(trust_roots=tuple(setup.roots))):
        seal(setup, pdfs[0], 0)
        times = []
        for i, pdf in enumerate(pdfs):
            started = time.perf_counter()
            seal(setup, pdf, i)
            times.append((time.perf_counter() - started) * 1000)
    return times


if __name__ == "__main__":
    main(sys.argv[1:])
