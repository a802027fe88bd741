"""The one error a file that cannot be ingested raises."""


class IngestError(ValueError):
    """A file that cannot be ingested; the message says why and what to do."""
