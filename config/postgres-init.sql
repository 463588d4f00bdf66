-- docker-compose only: the registry's database beside the engine's (scripts/stack does the same).
CREATE DATABASE apicurio OWNER fraud;
