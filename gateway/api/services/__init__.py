"""What the REST API does, without HTTP, one module per role over a shared carnet repository.

:mod:`~gateway.api.services.repository` reads and writes carnets (ownership, one versioned row per
write, :func:`replace_transaction`); each role's module holds what that role may do.
:class:`gateway.api.service.Service` composes them for the API, the runtime and the console.
"""
