from django.urls import path

from helpdesk.desk.admin import views

app_name = "admin"
urlpatterns = [
    path("", views.home, name="home"),
    path("faq/", views.faq_list, name="faq"),
    path("faq/<int:pk>/", views.faq_detail, name="faq-detail"),
    path("faq/<int:pk>/check/", views.faq_check, name="faq-check"),
    path("faq/<int:pk>/split/", views.faq_split, name="faq-split"),
    path("faq/<int:pk>/split/search/", views.faq_split_search, name="faq-split-search"),
    path("faq/<int:pk>/splits/<int:split_pk>/withdraw/", views.faq_split_withdraw, name="faq-split-withdraw"),
    path("ivr/", views.ivr, name="ivr"),
    path("ivr/<int:pk>/approve/", views.ivr_approve, name="ivr-approve"),
    path("ivr/<int:pk>/close/", views.ivr_close, name="ivr-close"),
    path("calendar/", views.calendar, name="calendar"),
    path("calendar/month/", views.calendar_month, name="calendar-month"),
    path("calendar/targets/", views.calendar_target, name="calendar-target-new"),
    path("calendar/targets/<int:pk>/", views.calendar_target, name="calendar-target"),
    path("calendar/days/", views.calendar_day, name="calendar-day"),
    path("calendar/days/remove/", views.calendar_day_remove, name="calendar-day-remove"),
    path("calendar/hours/", views.calendar_hours, name="calendar-hours"),
    path("imports/", views.imports, name="imports"),
    path("imports/<int:pk>/", views.import_run, name="import-run"),
    path("imports/<int:pk>/progress/", views.import_run_progress, name="import-run-progress"),
    path("users/", views.users, name="users"),
    path("users/<int:pk>/role/", views.user_role, name="user-role"),
    path("users/<int:pk>/active/", views.user_active, name="user-active"),
]
