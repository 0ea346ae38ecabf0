"""The one pagination style for every list: ``?page=N&page_size=M`` → ``{count, next, previous, results}``."""
from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class DefaultPagination(PageNumberPagination):
    """Page-number pagination with a caller-chosen page size, capped so no request can ask for everything.

    A ``page_size`` that is not one positive integer is a 400 (DRF would silently use the default, so a
    client typo went unnoticed); a page past the end is DRF's 404.
    """

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        if len(values) > 1 or not values[0].isascii() or not values[0].isdigit() or int(values[0]) < 1:
            raise ValidationError({self.page_size_query_param: [_("Give one whole number, 1 or more.")]})
        return min(int(values[0]), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"] = {**parameter.get("schema", {}), "minimum": 1}
        return parameters
