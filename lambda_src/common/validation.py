"""Validation and normalization of an incoming payment transaction.

One set of rules for every stack that accepts transactions (cdk_payments' payment_validation,
pulumi_fraud_pipeline's validator). Pure functions: no boto3, no environment.

Rules
- Required: transaction_id, customer_id, merchant_id (ids: 3-64 characters, letters, digits,
  ``_`` and ``-``, starting with a letter or digit), amount, currency.
- amount: a JSON number or a decimal string, > 0, at most 2 decimal places and no more than the
  currency's minor unit allows (JPY: none), at most 999,999,999.99.
- currency: an active ISO-4217 code in upper case (funds and precious-metal codes are refused).
- description (optional): a string of at most 256 characters.
Unknown fields are dropped from the normalized transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
MAX_AMOUNT = Decimal("999999999.99")
MAX_DECIMALS = 2
MAX_DESCRIPTION = 256
ID_FIELDS = ("transaction_id", "customer_id", "merchant_id")
REQUIRED_FIELDS = (*ID_FIELDS, "amount", "currency")

# Active ISO-4217 currencies and their minor units (2 unless listed otherwise).
_ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
_TWO_DECIMALS = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF "
    "CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD "
    "HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA "
    "MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN "
    "QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP "
    "TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
)
CURRENCY_MINOR_UNITS: dict[str, int] = {
    **{code: 2 for code in _TWO_DECIMALS.split()},
    **{code: 0 for code in _ZERO_DECIMALS.split()},
    **{code: 3 for code in _THREE_DECIMALS.split()},
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ValidationFailed(Exception):
    """The transaction breaks one or more rules; ``errors`` names every offending field."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors

    @property
    def field(self) -> str:
        return self.errors[0].field


def _amount(value: Any, currency: str | None) -> tuple[Decimal | None, str | None]:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        return None, "must be a number or a decimal string"
    try:
        amount = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        return None, "must be a number or a decimal string"
    if not amount.is_finite():
        return None, "must be a finite number"
    if amount <= 0:
        return None, "must be greater than 0"
    if amount > MAX_AMOUNT:
        return None, f"must not exceed {MAX_AMOUNT}"
    places = max(0, -int(amount.normalize().as_tuple().exponent))
    allowed = min(MAX_DECIMALS, CURRENCY_MINOR_UNITS.get(currency or "", MAX_DECIMALS))
    if places > allowed:
        return None, f"must have at most {allowed} decimal places" + (f" for {currency}" if currency else "")
    return amount.quantize(Decimal(1).scaleb(-allowed)), None


def validate_transaction(payload: Any) -> dict[str, Any]:
    """Return the normalized transaction, or raise ValidationFailed naming each bad field."""
    if not isinstance(payload, dict):
        raise ValidationFailed([FieldError("body", "must be a JSON object")])
    errors: list[FieldError] = []
    for name in REQUIRED_FIELDS:
        if payload.get(name) in (None, ""):
            errors.append(FieldError(name, "is required"))
    for name in ID_FIELDS:
        value = payload.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            errors.append(
                FieldError(name, "must be 3-64 letters, digits, '_' or '-', starting with a letter or digit")
            )

    currency = payload.get("currency")
    if currency not in (None, "") and (not isinstance(currency, str) or currency not in CURRENCY_MINOR_UNITS):
        errors.append(FieldError("currency", "must be an active ISO-4217 code such as USD or EUR"))
        currency = None
    amount = None
    if payload.get("amount") not in (None, ""):
        amount, problem = _amount(payload["amount"], currency)
        if problem:
            errors.append(FieldError("amount", problem))

    description = payload.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > MAX_DESCRIPTION):
        errors.append(FieldError("description", f"must be a string of at most {MAX_DESCRIPTION} characters"))

    if errors:
        raise ValidationFailed(errors)
    normalized = {name: payload[name] for name in ID_FIELDS}
    normalized.update(amount=amount, currency=currency)
    if description is not None:
        normalized["description"] = description
    return normalized
