"""Storage: SQLModel tables, Alembic migrations, and the one repository that writes SQL."""
