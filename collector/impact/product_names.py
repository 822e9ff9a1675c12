"""Makers' and products' names reduced to keys, so that the ways firmware, WMI, EDID and the
makers' footprint sheets write one product compare equal and two products never do.

- A maker: case, punctuation and company suffixes dropped ("Dell Inc." -> "dell"), known
  aliases ("Hewlett-Packard", "HPE" -> "hp"; "ASUSTeK COMPUTER INC." -> "asus") and EDID's
  three-letter PNP ids ("DEL", "HWP", "GSM" -> "dell", "hp", "lg") mapped to one name.
- A model: case and punctuation dropped ("+" is "plus"), the maker's own name and the words
  that end a name with its category rather than the product ("Monitor", "Notebook PC",
  "Thin Client") removed, generations written
  one way ("Gen 3", "Gen3", "3rd Gen", "G3" -> "g3"), and the footnote mark HPE's sheets glue
  to names ("ProLiant DL380 Gen10 server4") cut. What is left (family, number, variant words
  such as "2 in 1", "Tower", "Extended") must be equal for two names to be one product.
"""

from __future__ import annotations

import re

# EDID manufacturer ids (the UEFI/PNP registry) of the makers of most office displays.
PNP_MAKERS = {
    "ACR": "acer", "AOC": "aoc", "APP": "apple", "AUS": "asus", "BNQ": "benq", "DEL": "dell",
    "ENC": "eizo", "FUS": "fujitsu", "GSM": "lg", "HPN": "hp", "HPQ": "hp", "HWP": "hp",
    "IVM": "iiyama", "LEN": "lenovo", "LGD": "lg", "MEI": "panasonic", "MSI": "msi", "NEC": "nec",
    "PHL": "philips", "SAM": "samsung", "SEC": "samsung", "SNY": "sony", "VSC": "viewsonic",
}
_MAKER_ALIASES = {
    "hewlett packard": "hp", "hpe": "hp", "hp enterprise": "hp", "hewlett packard enterprise": "hp",
    "dell emc": "dell", "asustek": "asus", "lg electronics": "lg", "goldstar": "lg",
    "fujitsu siemens": "fujitsu", "microsoft surface": "microsoft",
}
_COMPANY_WORDS = {
    "inc", "incorporated", "corp", "corporation", "co", "company", "ltd", "limited", "llc", "gmbh", "ag",
    "sa", "plc", "bv", "electronics", "electric", "computer", "computers", "technology", "technologies",
    "international", "group", "holdings",
}
# Words that name a category, not a product, at the end of a name: a sheet's "P2419H Monitor" is
# EDID's "DELL P2419H", "EliteBook 840 G7 Notebook PC" firmware's "HP EliteBook 840 G7".
_TRAILING_CATEGORY_WORDS = {
    "monitor", "display", "laptop", "notebook", "pc", "desktop", "computer", "series", "server", "thin",
    "client", "mobile", "workstation", "system",
}


def _words(text: str) -> list[str]:
    text = re.sub(r"\((r|tm|c)\)|[®™©]", " ", text.lower())
    return re.findall(r"[a-z0-9]+", text)


def maker_key(raw: str) -> str:
    """One name per maker: "Dell Inc.", "DELL", "DEL" (EDID) -> "dell"; "" when none is given."""
    text = raw.strip()
    if text in PNP_MAKERS:  # as EDID writes them: three capitals
        return PNP_MAKERS[text]
    words = [w for w in _words(text.replace("-", " ")) if w not in _COMPANY_WORDS]
    name = " ".join(words)
    for alias, maker in _MAKER_ALIASES.items():
        if name == alias or name.startswith(alias + " "):
            return maker
    return name


def _generations(text: str) -> str:
    text = re.sub(r"\b(\d+)\s*(st|nd|rd|th)\s+gen(eration)?\b", r" g\1 ", text)
    text = re.sub(r"\bgen(eration)?\s*(\d+)\b", r" g\2 ", text)
    return re.sub(r"\b(server|module|system|plus)4$", r"\1", text.strip())  # HPE's footnote mark


def model_key(maker: str, raw: str) -> str:
    """A product's model reduced to its distinguishing words, in order ("latitude 5310 2 in 1")."""
    text = re.sub(r"\((r|tm|c)\)|[®™©]|\(?without stand\)?", " ", raw.lower())  # a monitor sold without stand is one
    text = _generations(text.replace("+", " plus "))
    own = (set(maker.split()) | {alias for alias, name in _MAKER_ALIASES.items() if name == maker and " " not in alias}
           | {pnp.lower() for pnp, name in PNP_MAKERS.items() if name == maker})  # "LEN LT2452pwC"
    words: list[str] = []
    for word in re.findall(r"[a-z0-9]+", text):
        if word not in own and word not in words:
            words.append(word)
    while words and words[-1] in _TRAILING_CATEGORY_WORDS:  # "Surface Laptop Go" keeps its "laptop"
        words.pop()
    return " ".join(words)


def product_key(maker: str, model: str) -> str:
    """The key a product is found by: "dell|latitude 5310"; "" when the model says nothing."""
    maker_name = maker_key(maker)
    model_words = model_key(maker_name, model)
    return f"{maker_name}|{model_words}" if maker_name and model_words else ""
