# Invented custom fields, resolved by the extractor from this module's source.
from django.db import models

from .utils import make_payload_field


class SealedTextField(models.TextField):
    """Stores an encrypted string; the column is the TextField's."""


PayloadField = make_payload_field("PayloadField")
