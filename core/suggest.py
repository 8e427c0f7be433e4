"""Explainable mapping suggestions: which Odoo record an unmapped external value most likely means.

Plain Python, no ORM, no model download: fuzzy string ratios (rapidfuzz) on normalized codes and
names, exact barcode/EAN matches, and what the backend accepted before. Every suggestion carries a
score (0-100) and the reason in plain words, so a manager can judge it before accepting.
"""

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

_NON_ALNUM = re.compile(r"[^0-9A-Za-z]+")
_GTIN_LENGTHS = (8, 12, 13, 14)
# A code found whole inside a longer value (a supplier prefix or suffix) scores this, minus the
# extra characters, so the exact code still wins over a contained one.
_CONTAINED_SCORE = 94
_MIN_CONTAINED_LENGTH = 4
# Bonus for a candidate the backend accepted before for a similar external value.
_HISTORY_BONUS = 8
_HISTORY_MIN_SIMILARITY = 80
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
_BOOLEANS = {"true", "false", "yes", "no"}
# sample type -> the Odoo field types that hold it exactly, and those that merely accept it as text
_EXACT_TYPES = {"int": {"integer"}, "float": {"float", "monetary"}, "bool": {"boolean"}, "date": {"date"},
                "datetime": {"datetime"}, "str": {"char", "text", "selection", "many2one", "html"}}
_TEXT_TYPES = {"char", "text"}
_TYPE_WORDS = {"int": "whole numbers", "float": "numbers", "bool": "yes/no values", "date": "dates",
               "datetime": "date-times", "str": "text"}
_TYPE_BONUS = 5
_TYPE_PENALTY = 40


@dataclass(frozen=True)
class Candidate:
    """An Odoo record that could be meant: ``code`` is the internal reference, ``barcode`` the EAN."""

    id: int
    name: str
    code: str = None
    barcode: str = None
    field_type: str = None  # for Odoo field candidates: ``ir.model.fields.ttype``


@dataclass(frozen=True)
class Suggestion:
    candidate_id: int
    score: int
    reason: str


def normalize_code(value):
    """``wid_100-blu.m`` -> ``WID100BLUM``: separators and case do not make another SKU."""
    return _NON_ALNUM.sub("", _strip_accents(value or "")).upper()


def normalize_name(value):
    """Lower case, accents and punctuation removed, one space between words."""
    return " ".join(_NON_ALNUM.sub(" ", _strip_accents(value or "")).lower().split())


def normalize_gtin(value):
    """The digits of an EAN-8/UPC-A/EAN-13/GTIN-14 without leading zeros (they pad to 14), or None."""
    digits = re.sub(r"[\s-]", "", value or "")
    if not digits.isdigit() or len(digits) not in _GTIN_LENGTHS:
        return None
    return digits.lstrip("0") or None


def _strip_accents(value):
    return "".join(c for c in unicodedata.normalize("NFKD", str(value)) if not unicodedata.combining(c))


def _code_score(value, code):
    """(score, reason) of an external code against an internal reference."""
    nv, nc = normalize_code(value), normalize_code(code)
    if not nv or not nc:
        return 0, ""
    if nv == nc:
        return 99, f"SKU {value} = internal reference {code} once separators and case are ignored"
    ratio = fuzz.ratio(nv, nc)
    if len(nc) >= _MIN_CONTAINED_LENGTH and nc in nv:
        extra = nv.replace(nc, "", 1)
        contained = _CONTAINED_SCORE - min(len(extra), 10)
        if contained > ratio:
            return contained, f"SKU {value} contains internal reference {code} (extra {extra!r})"
    return round(ratio), f"SKU {value} ≈ internal reference {code}"


def _name_score(value, name):
    nv, nn = normalize_name(value), normalize_name(name)
    if not nv or not nn:
        return 0, ""
    # token_sort forgives word order; token_set forgives missing words but alone calls any
    # subset a perfect match ("mug" vs every mug), hence the mean.
    score = (fuzz.token_sort_ratio(nv, nn) + fuzz.token_set_ratio(nv, nn)) / 2
    return round(score), f"name {value!r} ≈ {name!r}"


def _score(value, candidate):
    """The best evidence for one candidate, and a tie-breaker summing the other evidence."""
    gtin = normalize_gtin(value)
    if gtin and gtin == normalize_gtin(candidate.barcode):
        return 100, 100, f"EAN {value} = barcode of {candidate.name}"
    scored = [_code_score(value, candidate.code), _name_score(value, candidate.name)]
    best = max(scored, key=lambda s: s[0])
    return best[0], sum(s[0] for s in scored), best[1]


def suggest(value, candidates, accepted=(), limit=3, min_score=50):
    """Rank ``candidates`` for the external ``value``; best first.

    ``accepted`` is the backend's history as ``(external value, candidate id)`` pairs: a candidate
    accepted before for a similar value gets a bonus (the same product under a changed SKU).
    Returns at most ``limit`` :class:`Suggestion` whose score is at least ``min_score``.
    """
    if not value or not str(value).strip():
        return []
    value = str(value).strip()
    history = {}
    for past_value, candidate_id in accepted:
        similarity = fuzz.ratio(normalize_code(value), normalize_code(past_value))
        if similarity >= _HISTORY_MIN_SIMILARITY and similarity > history.get(candidate_id, (0,))[0]:
            history[candidate_id] = (similarity, past_value)
    ranked = []
    for candidate in candidates:
        score, tie, reason = _score(value, candidate)
        reason = f"{reason} ({score})"
        if candidate.id in history:
            similarity, past_value = history[candidate.id]
            score = min(100, score + _HISTORY_BONUS)
            reason += f"; {past_value} was accepted for it before (+{_HISTORY_BONUS})"
        ranked.append((score, tie, -candidate.id, Suggestion(candidate.id, int(score), reason)))
    ranked.sort(key=lambda r: r[:3], reverse=True)
    return [r[3] for r in ranked if r[0] >= min_score][:limit]


def sample_type(samples):
    """What the sample values of an attribute are: int, float, bool, date, datetime or str."""
    kinds = {_value_type(v) for v in samples if v not in (None, "")}
    if kinds <= {"int", "float"} and "float" in kinds:
        return "float"
    return kinds.pop() if len(kinds) == 1 else "str"


def _value_type(value):
    if isinstance(value, bool) or str(value).strip().lower() in _BOOLEANS:
        return "bool"
    text = str(value).strip()
    for kind, parse in (("int", int), ("float", float)):
        try:
            parse(text)
            return kind
        except ValueError:
            pass  # not this type: try the next one
    if _ISO_DATE.match(text):
        return "date"
    return "datetime" if _ISO_DATETIME.match(text) else "str"


def suggest_field(attribute, samples, fields, limit=3, min_score=50):
    """Rank Odoo field candidates (``code`` = technical name, ``field_type`` = ttype) for a custom
    attribute: name similarity, then whether the sample values' type fits the field."""
    label = _CAMEL.sub(" ", attribute or "")
    kind = sample_type(samples)
    ranked = []
    for field in fields:
        name_score, _reason = _name_score(label, field.name)
        code_score, _reason = _code_score(attribute, (field.code or "").removeprefix("x_"))
        score = max(name_score, code_score)
        reason = f"attribute {attribute} ≈ field {field.name} ({field.code}) ({score})"
        if field.field_type in _EXACT_TYPES[kind]:
            score = min(100, score + _TYPE_BONUS)
            reason += f"; samples are {_TYPE_WORDS[kind]}, like the {field.field_type} field (+{_TYPE_BONUS})"
        elif field.field_type not in _TEXT_TYPES:
            score = max(0, score - _TYPE_PENALTY)
            reason += f"; but samples are {_TYPE_WORDS[kind]}, the field is {field.field_type} (-{_TYPE_PENALTY})"
        ranked.append((score, -field.id, Suggestion(field.id, int(score), reason)))
    ranked.sort(key=lambda r: r[:2], reverse=True)
    return [r[2] for r in ranked if r[0] >= min_score][:limit]
