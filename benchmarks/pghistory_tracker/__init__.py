"""django-pghistory on ``attendances``, for the audit benchmark only (see ``__main__``)."""
