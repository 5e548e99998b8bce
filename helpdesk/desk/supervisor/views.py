from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.desk.permissions import supervisor_required


@supervisor_required
def board(request: HttpRequest) -> HttpResponse:
    return render(request, "desk/supervisor/board.html", {})
