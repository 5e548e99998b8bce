from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.desk.permissions import admin_required


@admin_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "desk/admin/home.html", {})
