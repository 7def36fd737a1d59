"""No tables of its own (yet): the back office composes the apps below. The module exists because
Django sends `post_migrate` only for apps with a models module, and the roles are synced on it."""
