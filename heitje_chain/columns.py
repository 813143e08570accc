"""The column headers of the service's CSV exports, in Dutch (the default) and English.

The exports' rows are the API's own fields (`amount`, `claimed_at`, ...); a spreadsheet
opened by the municipality's staff should say `bedrag`, `geclaimd_op`. The service writes
the Dutch header unless asked for English (`?lang=en`), and the auditor's reader
(`heitje_chain.audit.exports`) reads either, so a file downloaded from the web app in Dutch
reconciles as well as an English one.
"""

from __future__ import annotations

from typing import Final

#: API field -> Dutch column header. Every field an export has is here (a test checks).
DUTCH: Final[dict[str, str]] = {
    "action": "handeling",
    "active": "actief",
    "actor": "door",
    "address": "adres",
    "amount": "bedrag",
    "args": "gegevens",
    "at": "tijdstip",
    "bank_reference": "bankreferentie",
    "block": "blok",
    "card": "heitje_pas",
    "chain_job_id": "klus_id_op_chain",
    "claimed_at": "geclaimd_op",
    "code": "code",
    "counterparty": "tegenpartij",
    "created_at": "aangemaakt_op",
    "created_by": "aangemaakt_door",
    "custodial": "rekening_beheerd",
    "deadline": "uiterste_datum",
    "decided_at": "beoordeeld_op",
    "decided_by": "beoordeeld_door",
    "description": "omschrijving",
    "details": "details",
    "done_at": "klaar_op",
    "earned": "verdiend",
    "empty": "leeg",
    "event": "gebeurtenis",
    "iban": "iban",
    "id": "nr",
    "issuer": "aanbieder",
    "job_id": "klus_nr",
    "job_title": "klus",
    "jobs_claimed": "klussen_geclaimd",
    "jobs_done": "klussen_klaar",
    "jobs_posted": "klussen_geplaatst",
    "kind": "soort",
    "log_index": "logindex",
    "merchant": "winkel",
    "merchant_code": "winkelcode",
    "merchant_id": "winkel_nr",
    "month": "maand",
    "name": "naam",
    "neighbourhood": "wijk",
    "note": "notitie_inwoner",
    "paid": "uitbetaald",
    "paid_at": "uitbetaald_op",
    "payment": "betaling",
    "payment_error": "betaalfout",
    "photo": "foto",
    "places": "plaatsen",
    "places_left": "plaatsen_vrij",
    "pseudonym": "schuilnaam",
    "reason": "reden",
    "receipt": "bon",
    "refunded": "terugbetaald",
    "refunds": "terugbetalingen",
    "requested_at": "aangevraagd_op",
    "resident": "inwoner",
    "resident_id": "inwoner_nr",
    "residents": "inwoners",
    "retired": "gesloten",
    "reward": "beloning",
    "role": "rol",
    "signs_in_with": "logt_in_met",
    "spent": "besteed",
    "status": "status",
    "subject": "onderwerp",
    "suppressed": "weggelaten",
    "title": "titel",
    "tx_hash": "transactie",
    "username": "gebruikersnaam",
    "via": "betaalwijze",
}
ENGLISH: Final[dict[str, str]] = {dutch: field for field, dutch in DUTCH.items()}
LANGUAGES: Final = ("nl", "en")


def header(field: str, lang: str = "nl") -> str:
    """The column header of an export's field in `lang` (English: the field itself)."""
    return DUTCH.get(field, field) if lang == "nl" else field


def field_of(column: str) -> str:
    """The API field a column header (Dutch or English) stands for."""
    return ENGLISH.get(column, column)
