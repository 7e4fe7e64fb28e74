-- Run once as a superuser: psql -f deploy/postgres/setup.sql
-- Then set the password: \password crossclear
CREATE ROLE crossclear LOGIN;
CREATE DATABASE crossclear OWNER crossclear;
-- crossclear serve (or crossclear migrate) creates the
-- tables; it needs no more rights than owning its database.
