"""The dashboard's audit page offers the audit file and a PDF, to those who may read
the audit; the server keeps the Merkle tree and signs checkpoints as the record grows."""

from __future__ import annotations

import time

from peerlog import PeerLog
from peerlog.integrity.notes import Verifier
from peerlog.integrity.service import Integrity
from peerlog.projections.audit_file import recount
from peerlog.web.services import Services
from tests.support import Placement
from tests.web.conftest import Web


def test_the_audit_page_downloads_the_audit_file_and_a_pdf(web: Web) -> None:
    web.app.execute(web.placement.step("st1"))
    web.login("examiner")
    page = web.client.get("/dashboard/students/s1/audit", params={"course": "vfu-1"})
    assert page.status_code == 200
    assert 'id="audit-file"' in page.text
    assert 'id="audit-pdf"' in page.text
    found = web.client.get("/dashboard/students/s1/audit/file", params={"course": "vfu-1"})
    assert found.status_code == 200
    assert found.headers["content-disposition"] == 'attachment; filename="s1-vfu-1.audit.json"'
    key = Verifier.parse(str(Integrity.of(web.app).verifier()))
    checked = recount(found.content, key)
    assert checked.differences == []
    assert checked.checked.audit["student_id"] == "s1"
    pdf = web.client.get("/dashboard/students/s1/audit.pdf", params={"course": "vfu-1"})
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    web.login("s3")  # another pair's student reads neither
    for url in ("/dashboard/students/s1/audit/file", "/dashboard/students/s1/audit.pdf"):
        assert web.client.get(url, params={"course": "vfu-1"}).status_code == 403


def test_the_server_extends_the_tree_and_signs_checkpoints(app: PeerLog) -> None:
    Placement(app).seed()
    services = Services.of(app, follow=True)
    services.checkpoint_seconds = 0.2
    services.start()
    try:
        head = app.store.max_notification_id()
        integrity = Integrity.of(app)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            latest = integrity.store.checkpoint()
            if latest is not None and latest.size == head:
                break
            time.sleep(0.05)
        latest = integrity.store.checkpoint()
        assert latest is not None
        assert latest.size == head
        assert integrity.tree.size() == head
    finally:
        services.close()
