"""The member pages' views, one module per page group (member-web.md); each takes the member
from `portal.auth.member_required`, never from the URL or the form."""
