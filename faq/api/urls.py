"""FAQ API routes, mounted at /api/faq/."""

from django.urls import path

from faq.api import views

urlpatterns = [
    path("entries/", views.PublicEntryListView.as_view(), name="api-faq-entry-list"),
    path("entries/<int:pk>/", views.EntryDetailView.as_view(), name="api-faq-entry-detail"),
    path("entries/<int:pk>/publish/", views.EntryPublishView.as_view(), name="api-faq-entry-publish"),
    path("entries/<int:pk>/retire/", views.EntryRetireView.as_view(), name="api-faq-entry-retire"),
    path("categories/", views.CategoryListView.as_view(), name="api-faq-category-list"),
    path("suggestions/", views.SuggestionView.as_view(), name="api-faq-suggestions"),
    path("usages/", views.UsageCreateView.as_view(), name="api-faq-usage-create"),
    path("usage-share/", views.UsageShareView.as_view(), name="api-faq-usage-share"),
    path("clusters/", views.ClusterListView.as_view(), name="api-faq-cluster-list"),
    path("surges/", views.SurgeListView.as_view(), name="api-faq-surge-list"),
    path("ivr/", views.IvrListCreateView.as_view(), name="api-faq-ivr-list"),
    path("ivr/active/", views.IvrActiveView.as_view(), name="api-faq-ivr-active"),
    path("ivr/<int:pk>/approve/", views.IvrApproveView.as_view(), name="api-faq-ivr-approve"),
    path("ivr/<int:pk>/close/", views.IvrCloseView.as_view(), name="api-faq-ivr-close"),
    path("settings/", views.SettingsView.as_view(), name="api-faq-settings"),
]
