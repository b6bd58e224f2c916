"""Built-in contract profiles and the support calendars they run on.

A profile is written exactly as a ``[[contract]]`` table would be, so a contract
that says ``profile = "saas-standard"`` starts from these keys and overrides
only the ones it gives, and both pass through the same validation. Facts come
from ``shared/reference/contracts.md`` (sections 1 and 2).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

DEFAULT_PROFILE: Final = "saas-standard"

# Section 1: hosted SaaS availability SLA. Support Mon-Fri 08:00 GMT to 02:00 GMT
# the next day, so one support day is 18 hours.
_SAAS_STANDARD: dict[str, Any] = {
    "timezone": "UTC",
    "basis": "percent",
    "unknown_minutes": "available",
    "degraded_is_down": False,
    "report_within": "72h",
    # "promptly reported ... through the support channel (e-mail, for this provider)"
    "report_channels": ["email"],
    "calendar": "saas-support",
    "bands": [
        {"min_availability": 99.5, "max_downtime_minutes": 216, "credit_percent": 0},
        {"min_availability": 95.0, "max_downtime_minutes": 2160, "credit_percent": 25},
        {"min_availability": 50.0, "max_downtime_minutes": 21600, "credit_percent": 50},
        {"min_availability": 0.0, "credit": "100-availability"},
    ],
    "priorities": {
        "critical": {"response": "30m", "clock": "business"},
        "high": {"response": "1h", "clock": "business"},
        "medium": {"response": "1bd", "clock": "business"},
        "low": {"response": "2bd", "clock": "business"},
    },
}

# Section 2: enterprise unified support. Severities 1 and A answer within an hour
# around the clock; B and C within 2 and 4 business hours (Mon-Fri 09:00-17:30).
# The service description states no availability credit, so the profile's one
# band owes nothing; a contract adds its own bands when it has them.
_STAFF_24X7 = "allocate resources for 24x7 work, with quick access and response"
_ENTERPRISE_UNIFIED: dict[str, Any] = {
    "timezone": "UTC",
    "basis": "percent",
    "unknown_minutes": "available",
    "degraded_is_down": False,
    "report_within": "72h",
    "calendar": "enterprise-business",
    "bands": [{"min_availability": 0.0, "credit_percent": 0}],
    "priorities": {
        "1": {
            "response": "1h",
            "clock": "24x7",
            "customer": _STAFF_24X7 + "; notify your senior executives when asked",
        },
        "A": {"response": "1h", "clock": "24x7", "customer": _STAFF_24X7},
        "B": {
            "response": "2h",
            "clock": "business",
            "customer": "change-approval authority reachable within 4 business hours",
        },
        "C": {
            "response": "4h",
            "clock": "business",
            "customer": "accurate contact details; answer the provider within 24 hours",
        },
    },
}


def _enterprise_tier(first_response: str) -> dict[str, Any]:
    """An enterprise tier: ``enterprise-unified`` with severities 1 and A answered
    within ``first_response`` around the clock."""
    priorities = dict(_ENTERPRISE_UNIFIED["priorities"])
    for severity in ("1", "A"):  # the customer's own obligation stays
        priorities[severity] = {
            **priorities[severity],
            "response": first_response,
            "clock": "24x7",
        }
    return {**_ENTERPRISE_UNIFIED, "priorities": priorities}


# Section 2's other tiers. Enhanced shortens severities 1 and A to 30 minutes, or
# 15 minutes for cloud platform components: a service that is such a component
# takes the "-cloud" profile (a contract's terms are per service in slawatch).
# Its post-incident review for severity 1 is a service of the tier, not a
# deadline. Rapid answers in 15 minutes and follows up around the clock (the
# follow-up is not a deadline either). B and C stay as in the unified profile:
# the tiers change only severities 1 and A; the unified profile's own 15 minutes
# for cloud platform components (severity 1 only) is "enterprise-unified-cloud".
_ENTERPRISE_UNIFIED_CLOUD: dict[str, Any] = {
    **_ENTERPRISE_UNIFIED,
    "priorities": {
        **_ENTERPRISE_UNIFIED["priorities"],
        "1": {**_ENTERPRISE_UNIFIED["priorities"]["1"], "response": "15m", "clock": "24x7"},
    },
}
_ENTERPRISE_ENHANCED = _enterprise_tier("30m")
_ENTERPRISE_ENHANCED_CLOUD = _enterprise_tier("15m")
_ENTERPRISE_RAPID = _enterprise_tier("15m")

PROFILES: Final[Mapping[str, Mapping[str, Any]]] = MappingProxyType(
    {
        "saas-standard": _SAAS_STANDARD,
        "enterprise-unified": _ENTERPRISE_UNIFIED,
        "enterprise-unified-cloud": _ENTERPRISE_UNIFIED_CLOUD,
        "enterprise-enhanced": _ENTERPRISE_ENHANCED,
        "enterprise-enhanced-cloud": _ENTERPRISE_ENHANCED_CLOUD,
        "enterprise-rapid": _ENTERPRISE_RAPID,
    }
)

# The profiles whose business hours are the customer's *local* time with its
# public holidays (section 2): their calendar must name its time zone.
LOCAL_HOURS_PROFILES: Final = frozenset(p for p in PROFILES if p.startswith("enterprise-"))

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")

# Calendars a profile names; used when the config file does not define one of
# that name (a file's own calendar of the same name always wins).
CALENDARS: Final[Mapping[str, Mapping[str, Any]]] = MappingProxyType(
    {
        "saas-support": {
            "timezone": "UTC",
            "business_day": "18h",
            "hours": dict.fromkeys(_WEEKDAYS, "08:00-02:00"),
        },
        "enterprise-business": {
            "timezone": "UTC",
            "business_day": "8h30m",
            "hours": dict.fromkeys(_WEEKDAYS, "09:00-17:30"),
        },
    }
)
