"""Write an app's current declaration (``<app>/rls.py``) into a migration, frozen as literals.

The migration keeps the tables and
policies as they were declared when it was written, and renders their SQL
with ``apply_sql`` / ``remove_sql``. A test compares each app's last frozen
declaration with its ``rls.py``, the way ``makemigrations --check`` compares
models.
"""

from __future__ import annotations

from collections.abc import Sequence

from growthcompass.rls.policies import AppDeclaration

_TEMPLATE = '''"""Row-level security of the {app_label} app, frozen from {app_label}/rls.py.

Written by growthcompass.rls.freezing.migration_source.

{extra}"""

from django.db import migrations

from growthcompass.rls.policies import Policy, apply_sql, remove_sql

TABLES = {tables}
POLICIES = (
{policies})
{functions}

class Migration(migrations.Migration):
    dependencies = [
{dependencies}    ]

    operations = [
{function_operation}        migrations.RunSQL(
            sql=apply_sql(tables=TABLES, policies=POLICIES),
            reverse_sql=remove_sql(tables=TABLES, policies=POLICIES),
        ),
    ]
'''


def migration_source(
    declaration: AppDeclaration,
    *,
    dependencies: Sequence[tuple[str, str]],
    functions_sql: str = "",
    drop_functions_sql: str = "",
    extra_doc: str = "",
) -> str:
    policies = "".join(
        f"    Policy(table={p.table!r}, name={p.name!r}, command={p.command!r}, "
        f"using={p.using!r}, check={p.check!r}),\n"
        for p in declaration.policies
    )
    functions = ""
    function_operation = ""
    if functions_sql:
        functions = f'\nFUNCTIONS = """{functions_sql}"""\n\nDROP_FUNCTIONS = """{drop_functions_sql}"""\n'
        function_operation = "        migrations.RunSQL(sql=FUNCTIONS, reverse_sql=DROP_FUNCTIONS),\n"
    return _TEMPLATE.format(
        app_label=declaration.app_label,
        extra=(extra_doc + "\n") if extra_doc else "",
        tables=repr(tuple(declaration.tables)),
        policies=policies,
        functions=functions,
        function_operation=function_operation,
        dependencies="".join(f"        ({app!r}, {name!r}),\n" for app, name in dependencies),
    )
