"""The SDK-model checker for the gateway's Genesys bodies: the emulator's, under the names the
outbound tests use. `sdk_problems(body, "OpenInboundNormalizedMessage")` is [] when it fits."""

from emulator.validation import EVENT_OVERRIDES, problems

sdk_problems = problems

__all__ = ["EVENT_OVERRIDES", "sdk_problems"]
