"""Phone API routes: call imports, linking calls to inquiries, wrap-up, the service calendar.
Included before core_urls (helpdesk/api/urls.py) so `calls/import/` and
`calls/missing-wrapup/` are not read as call ids by `calls/<call_id>/`."""

from django.urls import path

from helpdesk.phone import api as phone

urlpatterns = [
    path("calls/import/", phone.CallImportView.as_view(), name="api-call-import"),
    path("calls/missing-wrapup/", phone.MissingWrapupView.as_view(), name="api-call-missing-wrapup"),
    path("calls/mine/latest/", phone.MyLatestCallView.as_view(), name="api-call-mine-latest"),
    path("calls/<str:call_id>/inquiry/", phone.CallInquiryView.as_view(), name="api-call-inquiry"),
    path("inquiries/<str:ref>/wrapup/", phone.InquiryWrapupView.as_view(), name="api-inquiry-wrapup"),
    path("calendar/service-hours/", phone.ServiceHoursView.as_view(), name="api-calendar-service-hours"),
    path("calendar/days/", phone.CalendarDayListView.as_view(), name="api-calendar-days"),
    path("calendar/days/<str:date>/", phone.CalendarDayDetailView.as_view(), name="api-calendar-day"),
]
