"""API routes of the phone channel: calls (read), call imports, linking calls to inquiries,
wrap-up, the service calendar. Every `calls/…` route is here, the fixed ones
(`calls/import/`, `calls/missing-wrapup/`, `calls/mine/latest/`) before `calls/<call_id>/`,
so no other module's include order matters."""

from django.urls import path

from helpdesk.phone import api

urlpatterns = [
    path("calls/", api.CallListView.as_view(), name="api-call-list"),
    path("calls/import/", api.CallImportView.as_view(), name="api-call-import"),
    path("calls/missing-wrapup/", api.MissingWrapupView.as_view(), name="api-call-missing-wrapup"),
    path("calls/mine/latest/", api.MyLatestCallView.as_view(), name="api-call-mine-latest"),
    path("calls/<str:call_id>/", api.CallDetailView.as_view(), name="api-call-detail"),
    path("calls/<str:call_id>/inquiry/", api.CallInquiryView.as_view(), name="api-call-inquiry"),
    path("inquiries/<str:ref>/wrapup/", api.InquiryWrapupView.as_view(), name="api-inquiry-wrapup"),
    path("calendar/service-hours/", api.ServiceHoursView.as_view(), name="api-calendar-service-hours"),
    path("calendar/days/", api.CalendarDayListView.as_view(), name="api-calendar-days"),
    path("calendar/days/<str:date>/", api.CalendarDayDetailView.as_view(), name="api-calendar-day"),
]
