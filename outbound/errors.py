"""Our own API errors (Genesys' are in outbound/genesys.py); the one handler maps them."""

from genesys_gateway.problems import ProblemError


class IntegrationInvalid(ProblemError):
    """No usable Open Messaging integration for the request; `errors` names the field."""

    status = 400
    slug = "invalid-integration"
    title = "Invalid integration"


class DeliveryInProgress(ProblemError):
    """A request with the same idempotency key is still talking to Genesys."""

    status = 409
    slug = "request-in-progress"
    title = "The same request is still in progress"


class CustomerParticipantNotFound(ProblemError):
    status = 404
    slug = "customer-participant-not-found"
    title = "The conversation has no customer participant"
