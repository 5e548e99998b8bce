"""Filter fields shared by the API lists (django-filter). Request parameters reach the ORM only
through the FilterSets of each package. Datetimes without an offset are read as Asia/Tokyo."""

import datetime as dt

import django_filters as df
from django import forms
from django_filters.fields import IsoDateTimeField, ModelChoiceField


class BoundedIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 datetime the database can compare: an offset within ±15:59 (PostgreSQL's
    limit; real zones stay within ±14:00) and a moment that exists in UTC (0001-01-01+09:00
    and 9999-12-31-09:00 do not). Anything else is a 400 naming the parameter, never a 500."""

    MAX_OFFSET = dt.timedelta(hours=15, minutes=59)

    def to_python(self, value):
        moment = super().to_python(value)
        if moment is None:
            return None
        offset = moment.utcoffset()
        if offset is not None and abs(offset) > self.MAX_OFFSET:
            raise forms.ValidationError("時差は ±15:59 までです (offset beyond ±15:59)", code="invalid")
        try:
            moment.astimezone(dt.UTC)
        except OverflowError:
            raise forms.ValidationError("日時が扱える範囲の外です (datetime out of range)", code="invalid") from None
        return moment


class IsoDateTimeFilter(df.IsoDateTimeFilter):
    field_class = BoundedIsoDateTimeField


class FilterSet(df.FilterSet):
    """django-filter's FilterSet, its form class built once per FilterSet class instead of on
    every request (a new Form class of new fields each time: about 2 ms of CPU of an inquiry
    list request). The form instance is still made per request (Django deep-copies the fields
    into it), so nothing of a request's input is shared. A filter whose field depends on the
    request — a callable `queryset` or `choices` — keeps the per-request class."""

    def get_form_class(self):
        cls = type(self)
        cached = cls.__dict__.get("_form_class_built")
        if cached is not None:
            return cached
        form_class = super().get_form_class()
        if not any(
            callable(getattr(f, "queryset", None)) or callable(f.extra.get("choices")) for f in self.filters.values()
        ):
            cls._form_class_built = form_class
        return form_class

    @property
    def form(self):
        """The request's form; its user fields learn who signed in (UserChoiceField)."""
        form = super().form
        user = getattr(self.request, "user", None)
        if user is not None and getattr(user, "is_authenticated", False):
            for field in form.fields.values():
                if isinstance(field, UserChoiceField):
                    field.signed_in = user
        return form


class UserChoiceField(ModelChoiceField):
    """A user id, validated as ModelChoiceField does (`queryset.get(pk=…)`, else "select a valid
    choice") — except the signed-in user's own id, given exactly as the user's key: that row was
    read by the authentication of this very request, so it is not read again. "My queue" (about
    a third of the load test's requests) saves a query and ≈ 1.5 ms of CPU."""

    signed_in = None

    def to_python(self, value):
        user = self.signed_in
        if (
            user is not None
            and type(value) is str
            and value == str(user.pk)
            and isinstance(user, self.queryset.model)
            and not self.to_field_name
            and not self.queryset.query.where  # every user is a choice: the row is one of them
        ):
            return user
        return super().to_python(value)


class UserChoiceFilter(df.ModelChoiceFilter):
    field_class = UserChoiceField


class InFilter(df.MultipleChoiceFilter):
    """`?status=a&status=b` → `status IN (a, b)`. django-filter's own MultipleChoiceFilter
    ORs one condition per value and adds SELECT DISTINCT, which on 1 M rows stops PostgreSQL
    from reading the newest-first index in order (it hashes every match, then sorts)."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__in": value})
