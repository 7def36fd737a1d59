"""The base of every django-import-export resource of the project.

- Headers are the model fields' verbose names through gettext, so a file reads in the console's
  language; an import accepts the Vietnamese or the English header (or the field's name), so a
  file exported in one language imports in the other.
- Export is formula-safe in xlsx and csv alike: every text cell goes through `neutralise`
  (numbers and dates are written as numbers and dates, never as text); an import gives our own
  quote back (`restore`).
- Numbers are written unlocalised ("12.5", not "12,5") so a csv reads the same in both
  languages.
- Imports write through the owning app's service (`service_save`), inside the library's
  transaction, with `full_clean` first (`clean_model_instances`); a refusal becomes that row's
  validation error, and the admin then writes nothing (`rollback_on_validation_errors`).
- Linked rows (many-to-many) are named by their code; an unknown code is that row's error
  instead of being dropped silently, as the library's widget does."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext
from import_export import widgets
from import_export.fields import Field
from import_export.resources import ModelResource

from loyalty_site.core.errors import DomainError
from loyalty_site.core.importexport.escape import neutralise, restore

# Widgets whose export value is a number, a date, a time or a boolean: never a formula.
_NOT_TEXT = (widgets.NumberWidget, widgets.DateWidget, widgets.DateTimeWidget, widgets.TimeWidget,
             widgets.BooleanWidget, widgets.DurationWidget)  # fmt: skip
HEADER_LANGUAGES = ("vi", "en")


class CodesWidget(widgets.ManyToManyWidget):
    """Linked rows named by a field (their code), separated by commas; unknown ones refused."""

    def __init__(self, model, field: str = "code", **kwargs):
        super().__init__(model, separator=",", field=field, **kwargs)

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return self.model.objects.none()
        wanted = [item.strip() for item in str(value).split(self.separator) if item.strip()]
        found = self.model.objects.filter(**{f"{self.field}__in": wanted})
        missing = sorted(set(wanted) - {str(getattr(obj, self.field)) for obj in found})
        if missing:
            raise ValueError(
                gettext("Not found: %(codes)s (%(model)s).")
                % {"codes": ", ".join(missing), "model": self.model._meta.verbose_name_plural}
            )
        return found

    def render(self, value, obj=None, **kwargs):
        if value is None:
            return ""
        return self.separator.join(sorted(str(getattr(item, self.field)) for item in value.all()))


class CodeWidget(widgets.ForeignKeyWidget):
    """One linked row named by its code (export, or a lookup on import)."""

    def __init__(self, model, field: str = "code", **kwargs):
        super().__init__(model, field=field, **kwargs)


def text_field(attribute: str, column_name, **kwargs) -> Field:
    """An export-only column (a dehydrate method or a dotted attribute)."""
    return Field(attribute=attribute, column_name=column_name, readonly=True, **kwargs)


def _error_messages(exc: DomainError) -> dict[str, list[str]] | list[str]:
    if exc.errors:
        return {name: [str(m) for m in messages] for name, messages in exc.errors.items()}
    return [str(exc.detail)]


class SafeModelResource(ModelResource):
    """See the module docstring. Subclasses list their fields explicitly in `Meta.fields`."""

    # Long texts are text: an empty cell is an empty text (xlsx gives None), as for CharField.
    WIDGETS_MAP = {**ModelResource.WIDGETS_MAP, "TextField": widgets.CharWidget}

    class Meta:
        clean_model_instances = True
        use_transactions = True
        skip_unchanged = True
        report_skipped = True

    # --- Headers

    @classmethod
    def field_from_django_field(cls, field_name, django_field, readonly):
        field = super().field_from_django_field(field_name, django_field, readonly)
        field.column_name = capfirst(django_field.verbose_name)
        return field

    @classmethod
    def widget_kwargs_for_field(cls, field_name, django_field):
        kwargs = super().widget_kwargs_for_field(field_name, django_field)
        widget = cls.widget_from_django_field(django_field)
        if widget is widgets.CharWidget and django_field.blank:
            kwargs.update({"coerce_to_string": True, "allow_blank": True})
        if isinstance(widget, type) and issubclass(widget, widgets.NumberWidget):
            kwargs.setdefault("coerce_to_string", False)  # "12.5" in csv, whatever the language
        return kwargs

    def header_aliases(self) -> dict[str, str]:
        """Every accepted spelling of a header (casefolded) -> the header in the active language."""
        aliases: dict[str, str] = {}
        for name, field in self.fields.items():
            current = str(field.column_name)
            aliases[name.casefold()] = current
            for language in HEADER_LANGUAGES:
                with translation.override(language):
                    aliases[str(field.column_name).strip().casefold()] = current
        return aliases

    def before_import(self, dataset, **kwargs):
        super().before_import(dataset, **kwargs)
        self.import_user = kwargs.get("user")
        aliases = self.header_aliases()
        if dataset.headers:
            dataset.headers = [
                aliases.get(str(header).strip().casefold(), header) if header is not None else header
                for header in dataset.headers
            ]

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        for key, value in row.items():
            row[key] = restore(value.strip() if isinstance(value, str) else value)

    # --- Export: formula-safe

    def export_field(self, field, instance, **kwargs):
        value = super().export_field(field, instance, **kwargs)
        if isinstance(field.widget, _NOT_TEXT):
            return value
        return neutralise(value)

    # --- Import: through the owning app's service

    def import_instance(self, instance, row, **kwargs):
        """The library leaves many-to-many columns to after the save: check them now, so an
        unknown code is this row's validation error, before anything is written."""
        errors: dict = {}
        try:
            super().import_instance(instance, row, **kwargs)
        except ValidationError as exc:
            errors = exc.update_error_dict(errors)
        for field in self.get_import_fields():
            if isinstance(field.widget, widgets.ManyToManyWidget) and field.column_name in row and not field.readonly:
                try:
                    field.clean(row)
                except ValueError as exc:
                    errors[field.attribute] = [ValidationError(str(exc), code="invalid")]
        if errors:
            raise ValidationError(errors)

    def service_save(self, instance, is_create: bool) -> None:
        raise NotImplementedError(f"{type(self).__name__} is export-only: it has no service to save through")

    def do_instance_save(self, instance, is_create):
        try:
            self.service_save(instance, is_create)
        except DomainError as exc:
            raise ValidationError(_error_messages(exc)) from exc
