"""The demo agency's DEMO keys: a PKI made at run time, and the signature and seal images."""

from __future__ import annotations

from pathlib import Path

from engine.core.accounts import set_initial_passwords
from engine.core.agency import DEMO_AGENCY, DEMO_PEOPLE, DEMO_UNITS, Person, create_demo_agency
from engine.core.models import Agency
from engine.core.workspace import Workspace
from engine.signatures.keys import IMAGES, SEAL_IMAGE
from signing.demo import Identity, create_demo_pki, draw_seal_image, draw_signature_image


def create_demo_keys(directory: Path, agency: Agency, people: tuple[Person, ...]) -> None:
    """A DEMO PKI: personal certificates for the leaders and the heads of units (who sign
    one-stop results and apology letters), each key under a random DEMO PIN of
    its own (``DemoPKI.demo_pin``, kept in the PKI's DEMO-PINS.json), one for the agency, and
    images."""
    leaders = {p.username: p for p in people if p.role in ("leader", "head")}
    create_demo_pki(
        directory,
        Identity(
            common_name=f"DEMO {agency.name}",
            organisation=f"DEMO {agency.parent_name or agency.name}",
            unit=None,
            title=None,
            email=None,
        ),
        {
            username: Identity(
                common_name=f"DEMO {p.full_name}",
                organisation=f"DEMO {agency.name}",
                unit=DEMO_UNITS.get(p.unit),
                title=p.title,
                email=None,
            )
            for username, p in leaders.items()
        },
    )
    images = directory / IMAGES
    images.mkdir(exist_ok=True)
    for username, person in leaders.items():
        (images / f"{username}.png").write_bytes(draw_signature_image(person.full_name))
    (images / SEAL_IMAGE).write_bytes(draw_seal_image(agency.name, agency.parent_name))


def setup_demo_agency(ws: Workspace) -> dict[str, str]:
    """The demo agency in ``ws``: its units, people and registers, DEMO keys for them, and a
    random DEMO password for each person (returned, to be shown once: only hashes are kept)."""
    create_demo_agency(ws)
    create_demo_keys(ws.settings.effective_pki_dir, DEMO_AGENCY, DEMO_PEOPLE)
    return set_initial_passwords(ws, [person.username for person in DEMO_PEOPLE])
