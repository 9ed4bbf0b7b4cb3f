"""The one table of the Convention's articles the gateway's rules cite, and the rules that cite them.

``docs/rules.md`` is generated from it (``python -m gateway.articles``); a test keeps it up to date and
checks that every article cited in the rules is here and every example file named is refused with its code.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.errors import TITLES, Code

# Citation -> what the provision says (Istanbul Convention 1990: main text, Annex A, Annexes B1/B2).
ARTICLES: dict[str, str] = {
    "Convention Art. 7": "goods are re-exported within the period customs set for the purpose",
    "Convention Art. 13": "temporary admission may end by clearance for home use",
    "Convention Art. 14": "it may end by destruction under supervision or abandonment after serious damage",
    "Annex A Art. 2.3": "the carnet may be accepted for transit on the same conditions",
    "Annex A Art. 2.4": "goods for processing or repair are not imported on a temporary admission paper",
    "Annex A Art. 5.1": "a carnet is valid for at most one year from issue",
    "Annex A Art. 5.2": "nothing is altered without the issuing or guaranteeing association's consent",
    "Annex A Art. 5.3": "no item is added to the general list once the carnet is issued",
    "Annex A Art. 6": "the carnet names the countries of use and their guaranteeing associations",
    "Annex A Art. 7": "the re-export period never runs past the carnet's validity",
    "Annex A Art. 8.1": "the guaranteeing association answers for duties when admission or transit "
    "conditions are not met",
    "Annex A Art. 8.2": "its liability is capped at 110 % of the import duties",
    "Annex A Art. 8.4": "no claim after one year from the carnet's expiry",
    "Annex A Art. 9.1c": "a deposit becomes final three months after payment",
    "Annex A Art. 10": "proof of re-exportation",
    "Annex A Art. 10.1": "the re-exportation voucher proves re-exportation",
    "Annex A Art. 10.2": "a later importation or re-importation elsewhere proves it too",
    "Annex A Art. 14": "a replacement carnet for goods that cannot be re-exported in time",
    "Annex A Art. 14.1": "customs accepting the replacement discharge the old carnet",
    "Annex A Appendix I": "the carnet's format: front cover, general list, totals",
    "Annex B1 Art. 4.1": "event goods get at least six months to be re-exported",
    "Annex B1 Art. 7": "products incidentally obtained from demonstrating machines at the event",
    "Annex B2 Art. 2.2": "spare parts for repairing professional equipment under temporary admission",
    "Annex B2 Art. 5": "professional equipment gets at least twelve months to be re-exported",
    "Annex B2 Appendix III": "equipment to install, test, maintain or repair machines",
}


@dataclass(frozen=True, slots=True)
class Rule:
    code: int
    rule: str
    article: str | None  # None: eATA practice or the gateway's own check, no Convention article
    example: str | None = None  # examples/ file refused with this code
    answer: str = "refused"  # what becomes of a customs answer breaking it (gateway/rules/answers.py)


RULES: tuple[Rule, ...] = (
    Rule(Code.VALIDITY_TOO_LONG, "validity at most one year", "Annex A Art. 5.1", "invalid-307-validity-too-long.json"),
    Rule(Code.TOTALS, "totals match the general list", "Annex A Appendix I", "invalid-108-totals.json"),
    Rule(Code.ITEM_ADDED, "no item added after issue", "Annex A Art. 5.3", "invalid-309-item-added.json"),
    Rule(Code.AMENDMENT_WINDOW, "amendment within 30 days, with consent", "Annex A Art. 5.2"),
    Rule(Code.NOT_SIGNED, "signed again after an amendment (eATA practice)", None, "invalid-208-signature-void.json"),
    Rule(Code.INTENDED_USE, "no processing, repair or manufacture", "Annex A Art. 2.4",
         "invalid-318-intended-use-processing.json"),
    Rule(Code.TERRITORY_NOT_COVERED, "used only where box P says", "Annex A Art. 6",
         "invalid-303-territory-not-covered.json"),
    Rule(Code.EXPIRED, "not used after expiry", "Annex A Art. 5.1", "invalid-203-expired.json"),
    Rule(Code.NOT_ACTIVATED, "activated by the issuing territory first (eATA practice)", None,
         "invalid-201-not-activated.json"),
    Rule(Code.ITEM_STATE, "goods are where the voucher needs them", "Convention Art. 7",
         "invalid-204-re-export-before-import.json"),
    Rule(Code.DEADLINE_PASSED, "re-exported within the period set", "Convention Art. 7",
         "invalid-205-deadline-passed.json"),
    Rule(Code.DEADLINE_PASSED, "EU two-step re-export: the deadline judged at the exit", "Convention Art. 7",
         "invalid-205-two-step-exit-after-deadline.json"),
    Rule(Code.NOT_CANCELLABLE, "EU two-step: the inland step cancelled only before the exit (eATA practice)",
         None),
    Rule(Code.DEADLINE_PAST_VALIDITY, "re-export period within validity", "Annex A Art. 7",
         "invalid-308-deadline-past-validity.json", answer="corrected to the validity"),
    Rule(Code.DEADLINE_TOO_SHORT, "at least the annex minimum period", "Annex B1 Art. 4.1",
         answer="corrected to the minimum"),
    Rule(Code.PROCESSED_ABROAD, "re-imported goods not processed abroad", "Annex A Art. 2.4",
         "invalid-306-processed-abroad.json"),
    Rule(Code.WRONG_OFFICE, "transit discharged at its destination office", None,
         "invalid-310-transit-wrong-office.json"),
    Rule(Code.SEALS, "seals intact at discharge", "Annex A Art. 8.1", "invalid-311-seals-broken.json"),
    Rule(Code.TRANSIT_OVERDUE, "transit ends by its final date: recorded and flagged", "Annex A Art. 8.1",
         "journey-late-transit.json", answer="accepted, flagged"),
    Rule(Code.ADMISSION_OPEN_ELSEWHERE, "imported elsewhere while admitted: recorded and flagged",
         "Annex A Art. 10.2", "journey-art-10-2.json", answer="accepted, flagged"),
    Rule(Code.TRANSIT_OPEN_ELSEWHERE, "imported elsewhere while in transit: recorded and flagged",
         "Annex A Art. 10.2", "journey-transit-imported-elsewhere.json", answer="accepted, flagged"),
    Rule(Code.ITEM_NOT_ON_LIST, "only items of the general list", "Annex A Art. 5.3",
         "invalid-302-item-not-on-list.json"),
    Rule(Code.UNKNOWN_OFFICE, "a known customs office", None, "invalid-304-unknown-office.json"),
    Rule(Code.CARNET_CLOSED, "a replaced carnet takes no new voucher", "Annex A Art. 14"),
    Rule(Code.CLAIM_BARRED, "claim within a year of expiry", "Annex A Art. 8.4"),
    Rule(Code.CLAIM_OVER_CAP, "liability capped at 110 %: recorded capped", "Annex A Art. 8.2",
         answer="capped, not refused"),
)  # fmt: skip


def render() -> str:
    lines = [
        "# The Convention's rules in the gateway",
        "",
        "Generated by `python -m gateway.articles` from `gateway/articles.py`; do not edit by hand.",
        "",
        "| code | title | rule | article | example | customs answer breaking it |",
        "|---|---|---|---|---|---|",
    ]
    for r in RULES:
        example = f"`examples/{r.example}`" if r.example else ""
        lines.append(
            f"| {r.code} | {TITLES.get(r.code, '')} | {r.rule} | {r.article or 'eATA practice'} | {example} "
            f"| {r.answer} |"
        )
    lines += ["", "## Articles", "", "| article | says |", "|---|---|"]
    lines += [f"| {a} | {text} |" for a, text in ARTICLES.items()]
    return "\n".join(lines) + "\n"


def doc_path() -> Path:
    return Path(__file__).resolve().parents[1] / "docs" / "rules.md"


if __name__ == "__main__":  # python -m gateway.articles regenerates docs/rules.md
    doc_path().write_text(render())
