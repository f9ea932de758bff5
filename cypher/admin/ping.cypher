// Purpose: the smallest statement a server can answer: connection and credentials check.
// Params: none
// Example:
//   (no parameters)
RETURN 1 AS ok
