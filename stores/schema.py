from drf_spectacular.extensions import OpenApiAuthenticationExtension


class TerminalApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "stores.authentication.TerminalApiKeyAuthentication"
    name = "TerminalApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: the key printed once by `create_terminal` or the admin.",
        }
