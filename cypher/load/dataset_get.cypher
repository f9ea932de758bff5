// Purpose: the provenance node(s) of what is loaded, with every property (status, checkpoints).
// Params: none
// Example:
//   (no parameters)
MATCH (d:Dataset)
RETURN d.name AS name, properties(d) AS props
