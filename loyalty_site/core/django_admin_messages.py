"""Messages of Django's own admin that Django 5.2's Vietnamese catalogue leaves untranslated
("Show counts" on every filtered list, the theme toggle, the skip link, ...). Listing them here
lets `makemessages` collect them so `locale/vi.json` translates them; Django looks every msgid up
in our catalogue first. Never imported at run time; `tests/test_i18n.py` fails when a Django
upgrade leaves another admin message untranslated."""

from django.utils.translation import gettext_noop

MESSAGES = (
    gettext_noop("Select this object for an action - {}"),
    gettext_noop("Breadcrumbs"),
    gettext_noop("Model name"),
    gettext_noop("Add link"),
    gettext_noop("Change or view list link"),
    gettext_noop("After you’ve created a user, you’ll be able to edit more user options."),
    gettext_noop("Error:"),
    gettext_noop("Set password"),
    gettext_noop("This action will <strong>enable</strong> password-based authentication for this user."),
    gettext_noop("Disable password-based authentication"),
    gettext_noop("Enable password-based authentication"),
    gettext_noop("Skip to main content"),
    gettext_noop("Hide counts"),
    gettext_noop("Show counts"),
    gettext_noop("Toggle theme (current theme: auto)"),
    gettext_noop("Toggle theme (current theme: light)"),
    gettext_noop("Toggle theme (current theme: dark)"),
    gettext_noop("Added:"),
    gettext_noop("Changed:"),
    gettext_noop("Deleted:"),
    gettext_noop("Forgotten your login credentials?"),
    gettext_noop("Toggle navigation"),
    gettext_noop("Sidebar"),
    gettext_noop("Filter navigation items"),
    gettext_noop("entry"),
    gettext_noop("View selected %(model)s"),
    gettext_noop("In case you’ve forgotten, you are:"),
    gettext_noop("Select all objects on this page for an action"),
    # django-simple-history's history pages (settings and member history), which ship no
    # Vietnamese catalogue.
    gettext_noop("Change History"),
    gettext_noop("Change reason"),
    gettext_noop("Changed by"),
    gettext_noop("Changes"),
    gettext_noop("Comment"),
    gettext_noop("Object"),
    gettext_noop("View history: %s"),
    gettext_noop("This object doesn't have a change history."),
)
