// Purpose: every genre name in the graph, sorted (to name an unknown --genre and suggest a close one).
// Params: none
// Example:
//   (no parameters)
MATCH (g:Genre)
RETURN g.name AS name
ORDER BY name
