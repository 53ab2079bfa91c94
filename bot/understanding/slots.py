"""Numbers found in free text, each given to the field it can only be: "商户号102100058120001
机身号LKL8A2301234 手机13800138000" in any order, with or without the labels."""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.understanding.normalize import simplified
from bot.validation import Invalid, Validator, normalize

# a label just before a value names its field, whatever the value looks like
LABELS: Mapping[str, re.Pattern[str]] = {
    "merchant_id": re.compile(
        r"(?:商户号|商户编号|商户|merchant(?:\s*(?:no|id|number))?)\W*$", re.I
    ),
    "serial": re.compile(
        r"(?:机身号|机身编号|機身號|序列号|终端号|sn号?|s/n|serial(?:\s*no)?)\W*$", re.I
    ),
    "phone": re.compile(r"(?:手机号?码?|手機號?|电话|電話|phone|mobile|tel)\W*$", re.I),
}
# a candidate: a word of letters and digits, or digits spaced or dashed ("138 0013 8000")
_CANDIDATE = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*|\+?[0-9]+(?:[ \-][0-9]+)*", re.ASCII)
_SEPARATORS = str.maketrans("", "", " -")
_ORDER = ("merchant_id", "phone", "serial")  # an unlabelled all-digit number: these first


def find_slots(text: str, validators: Mapping[str, Validator]) -> dict[str, str]:
    """Each field's value, when exactly one piece of ``text`` can be it; ambiguous pieces and
    fields named twice are left out (the bot asks)."""
    plain = simplified(normalize(text))
    found: dict[str, list[str]] = {}
    for match in _CANDIDATE.finditer(plain):
        before = plain[max(0, match.start() - 16) : match.start()]
        field, value = _field_of(match.group(0), before, validators)
        if field is None and " " in match.group(0):  # "102100058120001 13800138000"
            offset = match.start()
            for part in match.group(0).split(" "):
                start = plain.index(part, offset)
                offset = start + len(part)
                before = plain[max(0, start - 16) : start]
                part_field, part_value = _field_of(part, before, validators)
                if part_field is not None:
                    found.setdefault(part_field, []).append(part_value)
        elif field is not None:
            found.setdefault(field, []).append(value)
    return {f: values[0] for f, values in found.items() if len(set(values)) == 1}


def _field_of(
    piece: str, before: str, validators: Mapping[str, Validator]
) -> tuple[str | None, str]:
    if sum(c.isdigit() for c in piece) < 4:
        return None, ""  # a word, "180 天", "3 台": not an identifier
    labelled = [f for f, p in LABELS.items() if f in validators and p.search(before)]
    fits: list[tuple[str, str]] = []
    for field in labelled or [f for f in _ORDER if f in validators]:
        if field == "serial" and not labelled and piece.translate(_SEPARATORS).isdigit():
            continue  # a serial of digits only must be named ("SN 12345678")
        result = validators[field](piece)
        if not isinstance(result, Invalid):
            if labelled:
                return field, str(result.value)  # named: the label decides
            fits.append((field, str(result.value)))
    # unnamed, it is what it can only be: a number two fields accept (a provider whose merchant
    # numbers look like phones) is left for the bot to ask
    return fits[0] if len(fits) == 1 else (None, "")
