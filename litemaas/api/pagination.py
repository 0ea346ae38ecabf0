"""The one pagination style for every list: ``?page=N&page_size=M`` → ``{count, next, previous, results}``."""
from rest_framework.pagination import PageNumberPagination


class DefaultPagination(PageNumberPagination):
    """Page-number pagination with a caller-chosen page size, capped so no request can ask for everything."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
