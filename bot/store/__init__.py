"""BackTalk's own tables (SQLAlchemy), their migrations (Alembic) and the repository over them."""
