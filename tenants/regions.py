"""Genesys Cloud regions: each one's login (OAuth) host and API host.

From the official SDK's region table (purecloud_region_hosts.py). `custom` takes explicit
base URLs, e.g. a local emulator.
"""

from dataclasses import dataclass

CUSTOM = "custom"

# region domain -> AWS region, for people choosing in admin
REGIONS: dict[str, str] = {
    "mypurecloud.com": "us-east-1",
    "use2.us-gov-pure.cloud": "us-east-2 (FedRAMP)",
    "usw2.pure.cloud": "us-west-2",
    "cac1.pure.cloud": "ca-central-1",
    "sae1.pure.cloud": "sa-east-1",
    "mxc1.pure.cloud": "mx-central-1",
    "mypurecloud.ie": "eu-west-1",
    "euw2.pure.cloud": "eu-west-2",
    "mypurecloud.de": "eu-central-1",
    "euc2.pure.cloud": "eu-central-2",
    "mec1.pure.cloud": "me-central-1",
    "aps1.pure.cloud": "ap-south-1",
    "apse1.pure.cloud": "ap-southeast-1",
    "mypurecloud.com.au": "ap-southeast-2",
    "mypurecloud.jp": "ap-northeast-1",
    "apne2.pure.cloud": "ap-northeast-2",
    "apne3.pure.cloud": "ap-northeast-3",
}

REGION_CHOICES = [
    *((domain, f"{domain} ({aws})") for domain, aws in REGIONS.items()),
    (CUSTOM, "custom (explicit base URLs)"),
]


@dataclass(frozen=True)
class RegionUrls:
    login_base_url: str
    api_base_url: str


def region_urls(region: str, *, login_base_url: str = "", api_base_url: str = "") -> RegionUrls:
    """Base URLs (no trailing slash) for a region; `custom` uses the given ones."""
    if region == CUSTOM:
        return RegionUrls(login_base_url.rstrip("/"), api_base_url.rstrip("/"))
    if region not in REGIONS:
        raise ValueError(f"unknown region {region!r}")
    return RegionUrls(f"https://login.{region}", f"https://api.{region}")
