from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.desk.permissions import operator_required


@operator_required
def queue(request: HttpRequest) -> HttpResponse:
    return render(request, "desk/agent/queue.html", {})
