// Purpose: the server's Neo4j version and edition (`engine db status`, `engine demo`); run on the system database.
// Params: none
// Example:
//   (no parameters)
CALL dbms.components() YIELD versions, edition
RETURN versions[0] AS version, edition
