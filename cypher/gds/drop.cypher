// Purpose: drop a projected graph from the GDS catalog (no error if it is already gone).
// Params:
//   $graphName  STRING  the catalog name
// Example:
//   :param {graphName: 'reelgraph-example'}
CALL gds.graph.drop($graphName, false) YIELD graphName
RETURN graphName
